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
        guard let body = slice(offset + 2, length), RowView.isASCII(body) else { return nil }
        return (body, offset + 2 + length)
    }

    /// Whether every byte of `bytes` is below 0x80: eight bytes per step (a row's strings are most of the decision's
    /// in-place checking), the tail byte by byte.
    @inline(__always) static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= count {
            high |= base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            high |= UInt64(base.load(fromByteOffset: i, as: UInt8.self))
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }
}

/// What an in-place read of one row found.
enum Lookup<T> {
    case missing
    case found(T)
    /// The row does not have the exact shape its codec writes: let the reference path decide (and report it).
    case unusual
}

// MARK: - The rows the authorization decision reads, at the offsets their codecs declare (`<Record>.Layout`)

extension RowView {
    /// A slug row (`SlugRowLayout`: `CompanySlugEntry`, `ProjectSlugEntry`); nil when its shape differs from what the
    /// codecs write (a flag other than 0 or 1 included).
    var slugRow: (number: UInt32, flag: Bool)? {
        typealias L = SlugRowLayout
        guard count == L.size, let number = u32(L.number), let flag = u8(L.flag), flag <= 1 else { return nil }
        return (number, flag == 1)
    }

    /// A `company_slugs` row (`CompanySlugEntry`) as the rules see it.
    var companySlugFacts: CompanyFacts? { slugRow.map { CompanyFacts(number: $0.number, apiEnabled: $0.flag) } }

    /// A `project_slugs` row (`ProjectSlugEntry`) as the rules see it.
    var projectSlugFacts: ProjectFacts? { slugRow.map { ProjectFacts(number: $0.number, archived: $0.flag) } }

    /// A `secrets` row (`SecretEntry`) if its full hash is `hash` (compared in constant time), else `.missing`; with
    /// its credential's facts, the whole row checked as the codec decodes it (exact length, known enums, a 0/1 flag).
    /// The service user is only read for service-user types: a key of a user-delegated type has no principal.
    func secretFacts(matching hash: SHA256Digest) -> Lookup<SecretFacts> {
        typealias L = SecretEntry.Layout
        guard let credential = u32(L.credential), let until = i64(L.validUntil), let stored = slice(L.hash, L.company - L.hash),
              let company = u32(L.company), let t = u8(L.type), let type = CredentialType(rawValue: t),
              let s = u8(L.scope), let scope = Scope(rawValue: s), let deleted = u8(L.deleted), deleted <= 1,
              let expiresAt = i64(L.expiresAt), let publicID = asciiString(L.strings), let serviceUser = asciiString(publicID.end),
              serviceUser.end == count
        else { return .unusual }
        guard hash.withUnsafeBytes({ constantTimeEquals($0, stored) }) else { return .missing }
        let facts = CredentialFacts(company: company, type: type, scope: scope, deleted: deleted == 1, expiresAt: expiresAt,
                                    number: credential, publicID: String(ascii: publicID.bytes),
                                    principal: type.isUserDelegated ? nil : String(ascii: serviceUser.bytes))
        return .found(SecretFacts(validUntil: until, facts: facts))
    }

    /// A `tokens` row (`TokenRecord`) if its full hash is `hash` (compared in constant time), else `.missing`; with its
    /// credential's facts and principal, the whole row checked as the codec decodes it (exact length, known enums, a
    /// 0/1 flag).
    func tokenFacts(matching hash: SHA256Digest) -> Lookup<TokenFacts> {
        typealias L = TokenRecord.Layout
        guard let k = u8(L.kind), let kind = TokenRecord.Kind(rawValue: k),
              let s = u8(L.status), let status = TokenRecord.Status(rawValue: s), let credential = u32(L.credential),
              let user = u32(L.user), let expiresAt = i64(L.expiresAt), let stored = slice(L.hash, L.approvedAt - L.hash),
              let approvedAt = i64(L.approvedAt), let company = u32(L.company), let t = u8(L.type), let type = CredentialType(rawValue: t),
              let sc = u8(L.scope), let scope = Scope(rawValue: sc), let deleted = u8(L.credentialDeleted), deleted <= 1,
              let credentialExpiresAt = i64(L.credentialExpiresAt), let publicID = asciiString(L.strings),
              let principal = asciiString(publicID.end), principal.end == count
        else { return .unusual }
        guard hash.withUnsafeBytes({ constantTimeEquals($0, stored) }) else { return .missing }
        let facts = CredentialFacts(company: company, type: type, scope: scope, deleted: deleted == 1, expiresAt: credentialExpiresAt,
                                    number: credential, publicID: String(ascii: publicID.bytes), principal: String(ascii: principal.bytes))
        return .found(TokenFacts(kind: kind, status: status, user: user, expiresAt: expiresAt, approvedAt: approvedAt, facts: facts))
    }

    /// A `members` row (`MemberRecord`); nil when its shape differs from what the codec writes.
    var memberFacts: RoleFacts<CompanyRole>? {
        typealias L = MemberRecord.Layout
        guard count == L.size, let raw = u8(L.role), let role = CompanyRole(rawValue: raw), let since = i64(L.since) else { return nil }
        return RoleFacts(role: role, since: since)
    }

    /// An `access` or `user_roles` row (`RoleGrant`); nil when its shape differs from what the codec writes.
    var grantFacts: RoleFacts<ProjectRole>? {
        typealias L = RoleGrant.Layout
        guard count == L.size, let raw = u8(L.role), let role = ProjectRole(rawValue: raw), let since = i64(L.since) else { return nil }
        return RoleFacts(role: role, since: since)
    }
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

    init(txn: Transaction, schema: Schema) {
        self.txn = txn
        self.schema = schema
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
    ///
    /// A native string's bytes are read where they are and a key of up to 64 bytes is built on the stack: no copy of
    /// `text` and no closure context (each had cost a retain and a release of the transaction's state and the schema
    /// per slug). Longer keys and bridged strings take `getCopying`.
    @inline(__always)
    func get<R>(_ table: Table, prefix: UInt32?, text: String, _ body: (RowView?) throws -> R) throws -> R {
        let prefixLength = prefix == nil ? 0 : 4
        let value = try text.utf8.withContiguousStorageIfAvailable { utf8 -> UnsafeRawBufferPointer?? in
            guard prefixLength + utf8.count <= 64 else { return nil }
            var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
            return .some(try withUnsafeMutableBytes(of: &words) { key in
                if let prefix { key.storeBytes(of: prefix.bigEndian, as: UInt32.self) }
                if let source = utf8.baseAddress, utf8.count > 0 {
                    (key.baseAddress! + prefixLength).copyMemory(from: source, byteCount: utf8.count)
                }
                return try txn.get(schema.database(table), UnsafeRawBufferPointer(rebasing: key[0..<(prefixLength + utf8.count)]))
            })
        }
        guard let found = value ?? nil else { return try getCopying(table, prefix: prefix, text: text, body) }
        return try body(found.map(RowView.init))
    }

    /// `get(_:prefix:text:_:)` through a copy of `text` and a temporary allocation: any length, any string.
    private func getCopying<R>(_ table: Table, prefix: UInt32?, text: String, _ body: (RowView?) throws -> R) throws -> R {
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
