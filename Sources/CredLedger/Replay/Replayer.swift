import CredLedgerCore
import CredLedgerProjections
import LMDB

/// Where a chain check stopped, precisely.
public struct ChainFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first sequence number that is wrong (or missing).
    public var seq: UInt64
    public var reason: String
    public var description: String { "event \(seq): \(reason)" }
}

/// Streams the log, checking sequence, chain and time order, and feeding a projector.
enum Replayer {
    /// Visits every event with seq in `range`, verifying each link; stops at the first break.
    /// `body` gets each decoded event and its record's hash; it is not called for the broken one.
    static func stream(schema: Schema, txn: borrowing Transaction, through last: UInt64 = UInt64.max,
                       _ body: (Event, SHA256Digest) throws -> Void) throws -> Result<ChainHead, ChainFailure> {
        var head = ChainHead.empty
        var failure: ChainFailure?
        try EventLog.scanRaw(from: 1, schema: schema, in: txn) { seq, record in
            guard seq <= last else { return false }
            guard seq == head.seq + 1 else {
                failure = ChainFailure(seq: head.seq + 1, reason: "missing (next stored is \(seq))")
                return false
            }
            switch HashChain.check(seq: seq, record: record, previous: head.hash) {
            case .failure(.undecodable(let e)):
                failure = ChainFailure(seq: seq, reason: e.description)
                return false
            case .failure:
                failure = ChainFailure(seq: seq, reason: "hash does not match its content and predecessor")
                return false
            case .success(let hash):
                let stored: StoredEvent
                do {
                    stored = try EventCodec.decode(seq: seq, record: record)
                } catch {
                    failure = ChainFailure(seq: seq, reason: "\(error)")
                    return false
                }
                guard stored.event.timestamp >= head.timestamp else {
                    failure = ChainFailure(seq: seq, reason: "timestamp goes backwards")
                    return false
                }
                try body(stored.event, hash)
                head = ChainHead(seq: seq, hash: hash, timestamp: stored.event.timestamp)
                return true
            }
        }
        if let failure { return .failure(failure) }
        return .success(head)
    }

    /// Empties every projection table of `store`, registered projections' included.
    static func emptyProjections(txn: borrowing Transaction, schema: Schema) throws {
        for database in schema.allTables { try txn.empty(database) }
    }

    /// Projects events into `store`, flushing counters every `flushEvery` events to bound memory.
    static func project(schema: Schema, source: borrowing Transaction, into store: some KeyValueStore, projector: inout Projector,
                        through last: UInt64 = UInt64.max, flushEvery: Int = 200_000) throws -> Result<ChainHead, ChainFailure> {
        var pending = 0
        let result = try stream(schema: schema, txn: source, through: last) { event, hash in
            try projector.apply(event, hash: hash, to: store)
            pending += 1
            if pending >= flushEvery {
                try projector.flush(to: store)
                pending = 0
            }
        }
        try projector.flush(to: store)
        return result
    }
}
