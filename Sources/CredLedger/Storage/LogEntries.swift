import CredLedgerCore
import CredLedgerProjections
import LMDB

/// The log as the usage and index projections read it (docs/FORMAT.md §6.0): they store closed segments only, so
/// their open segment — from the segment of the projection's checkpoint up to the log's head — comes from `events`.
extension LMDBStore {
    public func openSegment(_ projection: ProjectionName) throws -> ClosedRange<UInt64>? {
        let head = try EventLog.head(schema: schema, in: txn).seq
        guard head > 0 else { return nil }
        // The checkpoint is the seq the projection's tables were last flushed at (the batch before, inside a write
        // transaction): segments before its segment are folded. No checkpoint yet: nothing is folded.
        // A checkpoint ahead of the head (a log cut at its tail: an integrity failure `verify` reports) still says what
        // the tables hold: the segments before its own. Its segment may then start after the head: nothing is open.
        let applied = try txn.get(schema.meta, Meta.projectionKey(projection)).flatMap(Meta.Checkpoint.init)?.lastSeq ?? 0
        let start = applied == 0 ? 1 : PostingIndex.seqs(of: PostingIndex.segment(of: applied)).lowerBound
        return start <= head ? start...head : nil
    }

    public func visitLog(_ range: ClosedRange<UInt64>, descending: Bool, _ body: (LogEntry) throws -> Bool) throws {
        try txn.withCursor(schema.events) { cursor in
            var entry: Cursor.Entry?
            if descending {
                let start = range.upperBound.bigEndianBytes
                if let e = try cursor.seek(atLeast: start) {
                    entry = e.key.elementsEqual(start) ? e : try cursor.previous()
                } else {
                    entry = try cursor.last()
                }
            } else {
                entry = try cursor.seek(atLeast: range.lowerBound.bigEndianBytes)
            }
            while let e = entry {
                guard e.key.count == 8 else {
                    throw LedgerError("corrupt_log", "a log key is not an 8-byte sequence number", kind: .integrity)
                }
                let seq = UInt64(bigEndian: e.key.loadUnaligned(as: UInt64.self))
                guard range.contains(seq) else { return }
                guard try body(try LogEntry(seq: seq, record: e.value)) else { return }
                entry = descending ? try cursor.previous() : try cursor.next()
            }
        }
    }
}

extension LogEntry {
    /// The entry of a stored record: a use of the hot path's layout (`UseRecord`: 64 bytes, no target company) is read
    /// in place, checked as the codec checks it; any other record is decoded by `EventCodec`.
    init(seq: UInt64, record: UnsafeRawBufferPointer) throws {
        typealias At = UseRecord.Offset
        func u32(_ offset: Int) -> UInt32 { UInt32(bigEndian: record.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        if record.count == UseRecord.bodySize + EventCodec.hashSize, record[At.version] == EventCodec.formatVersion,
           record[At.type] == EventType.credentialUsed.rawValue, record[At.schema] == EventType.credentialUsed.currentSchema,
           Actor(kind: record[At.actorKind], id: u32(At.actorID)) != nil,
           UInt16(bigEndian: record.loadUnaligned(fromByteOffset: At.payloadLength, as: UInt16.self)) == 10,
           Operation(rawValue: record[At.operation]) != nil, record[At.denial] == 0 || DenialReason(rawValue: record[At.denial]) != nil {
            self.init(seq: seq, company: u32(At.company), credential: u32(At.credential), project: u32(At.project),
                      allowed: record[At.denial] == 0,
                      time: Int64(bigEndian: record.loadUnaligned(fromByteOffset: At.timestamp, as: Int64.self)))
            return
        }
        self.init(try EventLog.decodeOrThrow(seq: seq, record: record).event)
    }
}
