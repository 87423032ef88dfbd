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
