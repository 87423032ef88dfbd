import CredLedgerCore

/// Posting lists of sequence numbers in the `ix` table, packed in blocks so an index entry costs ~4 bytes.
///
/// Key: kind u8 + id (u32, or u8 for event types) + first seq of the block u64.
/// Value: count u16, then `count` u32 entries: bits 0…29 = seq − first seq, bits 30…31 = `Flag`.
/// A block holds at most `capacity` entries and offsets below 2^30, so block boundaries depend only on the
/// sequence numbers appended — live writes and a rebuild produce identical bytes.
public enum PostingIndex {
    public static let capacity = 128
    static let maxOffset: UInt64 = 1 << 30

    public enum Kind: UInt8, Sendable, CaseIterable {
        case company = 0x43      // 'C'
        case credential = 0x4B   // 'K'
        case project = 0x50      // 'P'
        case user = 0x55         // 'U' (events a user did)
        case type = 0x54         // 'T' (non-use event types)
        case admin = 0x41        // 'A' (every non-use event: as-of replays read only these)
    }

    /// What an entry points at: as-of counters count allowed uses without reading events.
    public enum Flag: UInt32, Sendable {
        case allowedUse = 0, deniedUse = 1, other = 2
    }

    public struct ListKey: Hashable, Sendable {
        public var kind: Kind
        public var id: UInt32
        public init(_ kind: Kind, _ id: UInt32) {
            self.kind = kind
            self.id = id
        }
        var prefix: [UInt8] { kind == .type ? [kind.rawValue, UInt8(id)] : [kind.rawValue] + id.bigEndianBytes }
        var prefixLength: Int { kind == .type ? 2 : 5 }
    }

    public struct Entry: Equatable, Sendable {
        public var seq: UInt64
        public var flag: Flag
        public init(seq: UInt64, flag: Flag) {
            self.seq = seq
            self.flag = flag
        }
    }

    /// The lists an event belongs to.
    public static func lists(for event: Event, into out: inout [(ListKey, Flag)]) {
        let flag: Flag
        if case .credentialUsed(let use) = event.payload {
            flag = use.allowed ? .allowedUse : .deniedUse
        } else {
            flag = .other
            out.append((ListKey(.type, UInt32(event.type.rawValue)), flag))
            out.append((ListKey(.admin, 0), flag))
            if case .user(let u) = event.actor { out.append((ListKey(.user, u), flag)) }
        }
        if event.company != 0 { out.append((ListKey(.company, event.company), flag)) }
        if let c = event.payload.credential { out.append((ListKey(.credential, c), flag)) }
        if let p = event.payload.project { out.append((ListKey(.project, p), flag)) }
    }

    /// Appends entries (ascending seqs) to a list, filling its last block first.
    public static func append(_ entries: [Entry], to list: ListKey, in store: some KeyValueStore) throws {
        guard let firstNew = entries.first else { return }
        let prefix = list.prefix
        var blockFirst: UInt64 = 0
        var block: [UInt8] = []
        try store.scanBackward(.index, from: prefix + UInt64.max.bigEndianBytes) { key, value in
            if key.starts(with: prefix), key.count == prefix.count + 8, let first = UInt64(bigEndianBytes: Array(key.suffix(8))) {
                blockFirst = first
                block = value
            }
            return false
        }
        var count = block.count >= 2 ? Int(UInt16(block[0]) << 8 | UInt16(block[1])) : 0
        if block.isEmpty || count >= capacity || firstNew.seq - blockFirst >= maxOffset {
            block = [0, 0]
            blockFirst = firstNew.seq
            count = 0
        }
        for entry in entries {
            if count >= capacity || entry.seq - blockFirst >= maxOffset {
                try store.put(.index, prefix + blockFirst.bigEndianBytes, block)
                block = [0, 0]
                blockFirst = entry.seq
                count = 0
            }
            let word = UInt32(entry.seq - blockFirst) | (entry.flag.rawValue << 30)
            block.append(contentsOf: word.bigEndianBytes)
            count += 1
            block[0] = UInt8(count >> 8)
            block[1] = UInt8(count & 0xFF)
        }
        try store.put(.index, prefix + blockFirst.bigEndianBytes, block)
    }

    /// `append` over a raw store: the same blocks, built in `block` (reused) and written from it without
    /// an array per key. Keeps the reference path's rules exactly: the list's last block is extended while it
    /// holds fewer than `capacity` entries and offsets stay below 2^30; otherwise a block starts at the entry.
    static func appendRaw(_ entries: [Entry], to list: ListKey, cursor: any RawCursor, block: inout [UInt8]) throws {
        guard let firstNew = entries.first else { return }
        // key = prefix (5 bytes, or 2 for `type`) + first seq of the block (u64 BE).
        var keyWords: (UInt64, UInt64) = (0, 0)
        try withUnsafeMutableBytes(of: &keyWords) { keyBuffer in
            let key = keyBuffer.baseAddress!
            key.storeBytes(of: list.kind.rawValue, as: UInt8.self)
            let prefixLength: Int
            if list.kind == .type {
                key.storeBytes(of: UInt8(truncatingIfNeeded: list.id), toByteOffset: 1, as: UInt8.self)
                prefixLength = 2
            } else {
                key.storeBytes(of: list.id.bigEndian, toByteOffset: 1, as: UInt32.self)
                prefixLength = 5
            }
            let keyLength = prefixLength + 8
            let keyBytes = UnsafeRawBufferPointer(start: key, count: keyLength)
            key.storeBytes(of: UInt64.max.bigEndian, toByteOffset: prefixLength, as: UInt64.self)

            var blockFirst: UInt64 = 0
            block.removeAll(keepingCapacity: true)
            if let last = try cursor.lastEntry(atMost: keyBytes), last.key.count == keyLength,
               (0..<prefixLength).allSatisfy({ last.key[$0] == key.load(fromByteOffset: $0, as: UInt8.self) }) {
                blockFirst = UInt64(bigEndian: last.key.loadUnaligned(fromByteOffset: prefixLength, as: UInt64.self))
                block.append(contentsOf: last.value)
            }
            var count = block.count >= 2 ? Int(UInt16(block[0]) << 8 | UInt16(block[1])) : 0
            if block.isEmpty || count >= capacity || firstNew.seq - blockFirst >= maxOffset {
                block.removeAll(keepingCapacity: true)
                block.append(0)
                block.append(0)
                blockFirst = firstNew.seq
                count = 0
            }
            func put() throws {
                block[0] = UInt8(truncatingIfNeeded: count >> 8)
                block[1] = UInt8(truncatingIfNeeded: count)
                key.storeBytes(of: blockFirst.bigEndian, toByteOffset: prefixLength, as: UInt64.self)
                try block.withUnsafeBytes { try cursor.put(keyBytes, $0, atCurrent: false) }
            }
            for entry in entries {
                if count >= capacity || entry.seq - blockFirst >= maxOffset {
                    try put()
                    block.removeAll(keepingCapacity: true)
                    block.append(0)
                    block.append(0)
                    blockFirst = entry.seq
                    count = 0
                }
                let word = UInt32(entry.seq - blockFirst) | (entry.flag.rawValue << 30)
                block.append(UInt8(truncatingIfNeeded: word >> 24))
                block.append(UInt8(truncatingIfNeeded: word >> 16))
                block.append(UInt8(truncatingIfNeeded: word >> 8))
                block.append(UInt8(truncatingIfNeeded: word))
                count += 1
            }
            try put()
        }
    }

    /// Visits a list's entries with seq in `range`, ascending or descending, until `body` returns false.
    public static func visit(_ list: ListKey, in store: some KeyValueStore, range: ClosedRange<UInt64> = 1...UInt64.max,
                             descending: Bool = false, _ body: (Entry) throws -> Bool) throws {
        let prefix = list.prefix
        var keepGoing = true
        func entries(_ key: [UInt8], _ value: [UInt8]) -> [Entry]? {
            guard key.starts(with: prefix), key.count == prefix.count + 8, value.count >= 2,
                  let first = UInt64(bigEndianBytes: Array(key.suffix(8))) else { return nil }
            let count = Int(UInt16(value[0]) << 8 | UInt16(value[1]))
            guard value.count == 2 + 4 * count else { return nil }
            return (0..<count).map { i in
                let w = UInt32(value[2 + 4 * i]) << 24 | UInt32(value[3 + 4 * i]) << 16 | UInt32(value[4 + 4 * i]) << 8 | UInt32(value[5 + 4 * i])
                return Entry(seq: first + UInt64(w & 0x3FFF_FFFF), flag: Flag(rawValue: w >> 30) ?? .other)
            }
        }
        if descending {
            try store.scanBackward(.index, from: prefix + range.upperBound.bigEndianBytes) { key, value in
                guard let list = entries(key, value) else { return false }
                for e in list.reversed() where range.contains(e.seq) {
                    keepGoing = try body(e)
                    if !keepGoing { return false }
                }
                return (list.first?.seq ?? 0) > range.lowerBound
            }
        } else {
            // Start at the block that may contain range.lowerBound: the last block whose first seq ≤ it.
            var start = prefix + UInt64(0).bigEndianBytes
            try store.scanBackward(.index, from: prefix + range.lowerBound.bigEndianBytes) { key, _ in
                if key.starts(with: prefix) { start = key }
                return false
            }
            try store.scan(.index, from: start) { key, value in
                guard let list = entries(key, value) else { return false }
                for e in list where range.contains(e.seq) {
                    keepGoing = try body(e)
                    if !keepGoing { return false }
                }
                return (list.last?.seq ?? UInt64.max) < range.upperBound
            }
        }
    }
}
