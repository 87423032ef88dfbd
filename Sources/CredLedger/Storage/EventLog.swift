import CredLedgerCore
import LMDB

/// The last event of the chain: where the next append links to.
public struct ChainHead: Equatable, Sendable {
    public var seq: UInt64
    public var hash: SHA256Digest
    public var timestamp: Timestamp

    public static let empty = ChainHead(seq: 0, hash: HashChain.genesis, timestamp: 0)
}

/// Appends to and reads the `events` database. There is no update or delete path.
struct EventLog {
    let schema: Schema
    private var buffer = ByteWriter(capacity: 1024)

    init(schema: Schema) { self.schema = schema }

    /// Encodes `event` (its seq and timestamp already set from `head`), links it and appends it with MDB_APPEND.
    mutating func append(_ event: Event, head: inout ChainHead, in txn: borrowing Transaction) throws {
        precondition(event.seq == head.seq + 1, "sequence must be dense")
        if UseRecord.isExact, case .credentialUsed(let use) = event.payload, use.targetCompany == 0 {
            try UseRecord.append(event, use, head: &head, in: txn, events: schema.events)
            return
        }
        buffer.removeAll()
        EventCodec.encodeBody(event, into: &buffer)
        let hash = buffer.bytes.withUnsafeBytes { HashChain.link(previous: head.hash, seq: event.seq, body: $0) }
        hash.withUnsafeBytes { buffer.write(bytes: $0) }
        var key = event.seq.bigEndian
        try withUnsafeBytes(of: &key) { k in
            try buffer.bytes.withUnsafeBytes { v in try txn.put(schema.events, k, v, flags: .append) }
        }
        head = ChainHead(seq: event.seq, hash: hash, timestamp: event.timestamp)
    }

    /// The last stored event's seq, hash and time.
    static func head(schema: Schema, in txn: borrowing Transaction) throws -> ChainHead {
        try txn.withCursor(schema.events) { cursor in
            guard let last = try cursor.last() else { return .empty }
            guard let seq = UInt64(bigEndianBytes: last.key), last.key.count == 8 else {
                throw LedgerError("corrupt_log", "the last log key is not an 8-byte sequence number", kind: .integrity)
            }
            let header: EventCodec.Header
            do {
                header = try EventCodec.decodeHeader(seq: seq, record: last.value)
            } catch {
                throw LedgerError("corrupt_log", "\(error)", kind: .integrity)
            }
            guard let hash = SHA256Digest(bytes: UnsafeRawBufferPointer(rebasing: last.value[header.bodyLength...])) else {
                throw LedgerError("corrupt_log", "event \(seq) has no hash", kind: .integrity)
            }
            return ChainHead(seq: seq, hash: hash, timestamp: header.timestamp)
        }
    }

    /// Reads one event.
    static func event(_ seq: UInt64, schema: Schema, in txn: borrowing Transaction) throws -> StoredEvent? {
        var key = seq.bigEndian
        let record = try withUnsafeBytes(of: &key) { try txn.get(schema.events, $0) }
        guard let record else { return nil }
        return try decodeOrThrow(seq: seq, record: record)
    }

    static func decodeOrThrow(seq: UInt64, record: UnsafeRawBufferPointer) throws -> StoredEvent {
        do {
            return try EventCodec.decode(seq: seq, record: record)
        } catch {
            throw LedgerError("corrupt_log", "\(error)", kind: .integrity)
        }
    }

    /// Visits stored records with seq ≥ `from`, ascending, raw (valid only inside `body`), until `body` returns false.
    static func scanRaw(from: UInt64, schema: Schema, in txn: borrowing Transaction,
                        _ body: (UInt64, UnsafeRawBufferPointer) throws -> Bool) throws {
        try txn.withCursor(schema.events) { cursor in
            var entry = try cursor.seek(atLeast: from.bigEndianBytes)
            while let e = entry {
                guard e.key.count == 8, let seq = UInt64(bigEndianBytes: e.key) else {
                    throw LedgerError("corrupt_log", "a log key is not an 8-byte sequence number", kind: .integrity)
                }
                guard try body(seq, e.value) else { return }
                entry = try cursor.next()
            }
        }
    }

    /// The first seq whose timestamp is > `time` (timestamps never decrease along the log), by binary search.
    static func firstSeq(after time: Timestamp, head: UInt64, schema: Schema, in txn: borrowing Transaction) throws -> UInt64 {
        var low: UInt64 = 1, high = head + 1
        while low < high {
            let mid = low + (high - low) / 2
            var key = mid.bigEndian
            let t: Timestamp = try withUnsafeBytes(of: &key) { k in
                guard let record = try txn.get(schema.events, k), let h = try? EventCodec.decodeHeader(seq: mid, record: record) else {
                    throw LedgerError("corrupt_log", "event \(mid) is missing or unreadable", kind: .integrity)
                }
                return h.timestamp
            }
            if t <= time { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// The hot path's `credential_used` record, built on the stack: the hashed bytes are laid out contiguously
/// (previous hash, domain byte, seq, body), padded in place and hashed in one two-block compression (no streaming
/// hasher), and the record (body + hash) stored from the same buffer (a use at another company, with its 4-byte
/// target, takes the codec path). The layout is EventCodec's; `isExact` checks at start-up that both write the same bytes and the same link for sample
/// uses, and the codec path is used otherwise.
enum UseRecord {
    /// Body: the 22-byte header + credential u32, project u32, operation u8, denial u8.
    static let bodySize = EventCodec.headerSize + 10
    /// previous hash (32) ‖ 0x45 ‖ seq (8): what precedes the body in the hashed bytes.
    static let linkPrefix = 41

    /// Where each field sits in the body (EventCodec's header, then the use's payload): the writer below and the
    /// in-place reader (`LogEntry(seq:record:)`) share these.
    enum Offset {
        static let version = 0, type = 1, schema = 2, actorKind = 3, actorID = 4, timestamp = 8, company = 16
        static let payloadLength = 20, credential = 22, project = 26, operation = 30, denial = 31
    }

    /// Whether this encoder reproduces `EventCodec.encodeBody` and `HashChain.link` exactly.
    static let isExact: Bool = {
        let samples: [(Actor, UInt32, CredentialUse)] = [
            (.credential(7), 3, CredentialUse(credential: 7, project: 11, operation: .read, denial: nil)),
            (.credential(0xFFFF_FFFE), 0xFFFF_FFFF, CredentialUse(credential: 0xFFFF_FFFE, project: 0, operation: .write, denial: .readOnlyScope)),
            (.system, 0, CredentialUse(credential: 0, project: 0, operation: .write, denial: .badChecksum)),
        ]
        var previous = SHA256.hash([1, 2, 3])
        for (i, (actor, company, use)) in samples.enumerated() {
            let event = Event(seq: UInt64(1) << 40 | UInt64(i + 1), timestamp: 1_767_225_600_123_456 + Int64(i), company: company,
                              actor: actor, payload: .credentialUsed(use))
            var w = ByteWriter(capacity: 64)
            EventCodec.encodeBody(event, into: &w)
            let link = w.bytes.withUnsafeBytes { HashChain.link(previous: previous, seq: event.seq, body: $0) }
            let expected = w.bytes + link.bytes
            var ok = false
            withRecord(event, use, previous: previous) { record, hash in
                ok = hash == link && Array(record) == expected
            }
            guard ok else { return false }
            previous = link
        }
        return true
    }()

    /// Builds the record of `event` in a stack buffer and calls `body` with it and its hash.
    @inline(__always)
    static func withRecord<R>(_ event: Event, _ use: CredentialUse, previous: SHA256Digest,
                              _ body: (UnsafeRawBufferPointer, SHA256Digest) throws -> R) rethrows -> R {
        // 128 bytes: the hashed bytes (73) padded to two SHA-256 blocks in place; the record's hash then overwrites
        // the padding after the body.
        var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return try withUnsafeMutableBytes(of: &storage) { raw in
            let p = raw.baseAddress!
            previous.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: 32) }
            p.storeBytes(of: HashChain.domainByte, toByteOffset: 32, as: UInt8.self)
            p.storeBytes(of: event.seq.bigEndian, toByteOffset: 33, as: UInt64.self)
            let b = p + linkPrefix
            b.storeBytes(of: EventCodec.formatVersion, toByteOffset: Offset.version, as: UInt8.self)
            b.storeBytes(of: EventType.credentialUsed.rawValue, toByteOffset: Offset.type, as: UInt8.self)
            b.storeBytes(of: EventType.credentialUsed.currentSchema, toByteOffset: Offset.schema, as: UInt8.self)
            b.storeBytes(of: event.actor.kind, toByteOffset: Offset.actorKind, as: UInt8.self)
            b.storeBytes(of: event.actor.id.bigEndian, toByteOffset: Offset.actorID, as: UInt32.self)
            b.storeBytes(of: event.timestamp.bigEndian, toByteOffset: Offset.timestamp, as: Int64.self)
            b.storeBytes(of: event.company.bigEndian, toByteOffset: Offset.company, as: UInt32.self)
            b.storeBytes(of: UInt16(10).bigEndian, toByteOffset: Offset.payloadLength, as: UInt16.self)
            b.storeBytes(of: use.credential.bigEndian, toByteOffset: Offset.credential, as: UInt32.self)
            b.storeBytes(of: use.project.bigEndian, toByteOffset: Offset.project, as: UInt32.self)
            b.storeBytes(of: use.operation.rawValue, toByteOffset: Offset.operation, as: UInt8.self)
            b.storeBytes(of: use.denial?.rawValue ?? 0, toByteOffset: Offset.denial, as: UInt8.self)
            // FIPS 180-4 padding of the 73 hashed bytes: 0x80, zeros (the buffer starts zeroed), the bit length.
            p.storeBytes(of: 0x80, toByteOffset: linkPrefix + bodySize, as: UInt8.self)
            p.storeBytes(of: UInt64((linkPrefix + bodySize) * 8).bigEndian, toByteOffset: 120, as: UInt64.self)
            let hash = SHA256.hash(paddedBlocks: p, count: 2)
            hash.withUnsafeBytes { (b + bodySize).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            return try body(UnsafeRawBufferPointer(start: b, count: bodySize + EventCodec.hashSize), hash)
        }
    }

    /// Appends the use with MDB_APPEND and moves `head` past it.
    @inline(__always)
    static func append(_ event: Event, _ use: CredentialUse, head: inout ChainHead, in txn: borrowing Transaction,
                       events: Database) throws {
        let hash = try withRecord(event, use, previous: head.hash) { record, hash in
            var key = event.seq.bigEndian
            try withUnsafeBytes(of: &key) { k in try txn.put(events, k, record, flags: .append) }
            return hash
        }
        head = ChainHead(seq: event.seq, hash: hash, timestamp: event.timestamp)
    }
}
