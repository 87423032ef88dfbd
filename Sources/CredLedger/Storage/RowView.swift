import CredLedgerCore
import CredLedgerProjections
import LMDB

/// A projection row read in place (big-endian fields at fixed offsets), for the authorization hot path.
///
/// Every accessor checks bounds and returns nil instead of trapping; a row that does not have exactly the
/// shape its `ProjectionRow` codec writes is reported as nil, so that the caller can fall back to the codec
/// (which reports the corruption). The buffer points into the map: valid only inside its read closure.
struct RowView {
    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var count: Int { bytes.count }

    @inline(__always) func u8(_ offset: Int) -> UInt8? {
        offset >= 0 && offset < bytes.count ? bytes[offset] : nil
    }

    @inline(__always) func u32(_ offset: Int) -> UInt32? {
        offset >= 0 && offset + 4 <= bytes.count ? UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) : nil
    }

    @inline(__always) func i64(_ offset: Int) -> Int64? {
        offset >= 0 && offset + 8 <= bytes.count ? Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self)) : nil
    }

    /// The bytes `offset ..< offset + count`, or nil if out of bounds.
    @inline(__always) func slice(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, count >= 0, offset + count <= bytes.count else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// Walks a u16-length-prefixed string at `offset`: its bytes, and the offset after it. Nil when it runs past
    /// the end or is not plain ASCII (the codec validates other UTF-8; such rows take the codec's path).
    @inline(__always) func asciiString(_ offset: Int) -> (bytes: UnsafeRawBufferPointer, end: Int)? {
        guard offset >= 0, offset + 2 <= bytes.count else { return nil }
        let length = Int(UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))
        guard let body = slice(offset + 2, length) else { return nil }
        for byte in body where byte >= 0x80 { return nil }
        return (body, offset + 2 + length)
    }

    /// The offset after `count` consecutive strings starting at `offset`, validating each as `asciiString` does.
    @inline(__always) func skipStrings(_ count: Int, from offset: Int) -> Int? {
        var at = offset
        for _ in 0..<count {
            guard let s = asciiString(at) else { return nil }
            at = s.end
        }
        return at
    }

    /// The value as `UInt32(bigEndianBytes:)` reads it: the first four bytes, nil if shorter.
    var leadingU32: UInt32? { u32(0) }
}

extension String {
    /// A string from ASCII bytes already checked by `RowView.asciiString`.
    init(ascii bytes: UnsafeRawBufferPointer) {
        self.init(decoding: bytes, as: UTF8.self)
    }
}

/// Raw point reads of the projections inside one transaction, with keys built on the stack.
struct RawReads {
    let txn: Transaction
    let schema: Schema

    init(_ store: LMDBStore) {
        txn = store.txn
        schema = store.schema
    }

    /// `body` gets the value under the key built by `key` (at most 16 bytes), or nil.
    @inline(__always)
    func get<R>(_ table: Table, keyLength: Int, _ key: (UnsafeMutableRawPointer) -> Void,
                _ body: (RowView?) throws -> R) throws -> R {
        var words: (UInt64, UInt64) = (0, 0)
        return try withUnsafeMutableBytes(of: &words) { buffer in
            key(buffer.baseAddress!)
            let value = try txn.get(schema.database(table), UnsafeRawBufferPointer(start: buffer.baseAddress!, count: keyLength))
            return try body(value.map(RowView.init))
        }
    }

    /// The value under a u32 key.
    @inline(__always)
    func get<R>(_ table: Table, _ number: UInt32, _ body: (RowView?) throws -> R) throws -> R {
        try get(table, keyLength: 4, { $0.storeBytes(of: number.bigEndian, as: UInt32.self) }, body)
    }

    /// The value under a (u32, u32) key.
    @inline(__always)
    func get<R>(_ table: Table, _ a: UInt32, _ b: UInt32, _ body: (RowView?) throws -> R) throws -> R {
        try get(table, keyLength: 8, {
            $0.storeBytes(of: a.bigEndian, toByteOffset: 0, as: UInt32.self)
            $0.storeBytes(of: b.bigEndian, toByteOffset: 4, as: UInt32.self)
        }, body)
    }

    /// The value under the 16-byte hash prefix of `digest` (`Keys.hashPrefix`).
    @inline(__always)
    func get<R>(_ table: Table, hashPrefixOf digest: SHA256Digest, _ body: (RowView?) throws -> R) throws -> R {
        try digest.withUnsafeBytes { d in
            try get(table, keyLength: 16, { $0.copyMemory(from: d.baseAddress!, byteCount: 16) }, body)
        }
    }

    /// The value under `prefix` (0 or 4 bytes: a big-endian u32) followed by the UTF-8 of `text`
    /// (`Keys.companySlug`, `Keys.projectSlug`). The caller keeps the key within LMDB's 1…511 bytes.
    func get<R>(_ table: Table, prefix: UInt32?, text: String, _ body: (RowView?) throws -> R) throws -> R {
        var text = text
        return try text.withUTF8 { utf8 in
            let prefixLength = prefix == nil ? 0 : 4
            return try withUnsafeTemporaryAllocation(byteCount: prefixLength + utf8.count, alignment: 1) { key in
                if let prefix { key.baseAddress!.storeBytes(of: prefix.bigEndian, as: UInt32.self) }
                if utf8.count > 0 {
                    (key.baseAddress! + prefixLength).copyMemory(from: utf8.baseAddress!, byteCount: utf8.count)
                }
                let value = try txn.get(schema.database(table), UnsafeRawBufferPointer(key))
                return try body(value.map(RowView.init))
            }
        }
    }
}
