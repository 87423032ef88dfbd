/// Counters of the group-commit writer since the ledger was opened (for benchmarks and operators).
public struct WriterStatistics: Sendable, Equatable {
    /// Write transactions committed.
    public var batches: Int
    /// Requests acknowledged in those batches (a batch of decisions counts once).
    public var requests: Int
    /// Events appended by this process.
    public var events: UInt64

    public init(batches: Int = 0, requests: Int = 0, events: UInt64 = 0) {
        self.batches = batches
        self.requests = requests
        self.events = events
    }
}

extension Ledger {
    /// The writer's counters; all zero for a read-only ledger.
    public var writerStatistics: WriterStatistics { writer?.statistics ?? WriterStatistics() }
}
