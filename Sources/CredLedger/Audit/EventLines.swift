import CredLedgerCore
import LMDB

extension Ledger.Audit {
    /// Writes the events from seq `from` on, at most `limit`, as JSON lines — the export's `events.jsonl`
    /// objects (same keys in the same order, same canonical form, docs/EXPORT.md) without `record` — and
    /// hands them to `output` in buffers of about 1 MiB of whole lines, on the calling thread, up to the head when
    /// it starts, in short read transactions (`ReadBudget`). Returns how many events were written. What `credledger log --json` prints: it streams
    /// at export speed instead of building a dictionary and serializing it per event.
    public func writeEventLines(from: UInt64, limit: Int, to output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        let from = max(from, 1)
        guard limit > 0 else { return 0 }
        let fields = try EventFields(audit: self)
        var writer = EventRowWriter(sink: ExportSink(name: "log", consumer: output), fields: fields, format: .jsonl, includeRecord: false)
        let schema = self.schema
        var written = 0
        let environment = self.environment
        // The head when the listing starts; bounded read transactions up to it (`ReadBudget`): exactly one snapshot's lines.
        let (pinned, first): (UInt64, SHA256Digest?) = try environment.read { txn in
            // prev_hash of the first line: the stored hash of event from − 1 (genesis for event 1).
            let previous = from == 1 ? HashChain.genesis : try EventLog.event(from - 1, schema: schema, in: txn)?.hash
            return (try EventLog.lastSeq(schema: schema, in: txn), previous)
        }
        var previous = first
        try EventLog.scanRaw(from: from, through: pinned, schema: schema, environment: environment) { seq, record in
            let stored = try EventLog.decodeOrThrow(seq: seq, record: record)
            guard let link = previous else {
                throw LedgerError("chain_broken", "event \(seq - 1) is missing before event \(seq) (run `credledger verify`)", kind: .integrity)
            }
            let body = UnsafeRawBufferPointer(rebasing: record[0..<(record.count - EventCodec.hashSize)])
            try writer.write(stored, body: body, previous: link)
            previous = stored.hash
            written += 1
            return written < limit
        }
        try writer.sink.flush()
        return written
    }
}
