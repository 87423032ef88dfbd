/// Counters of the group-commit writer since the ledger was opened (for benchmarks and operators).
public struct WriterStatistics: Sendable, Equatable {
    /// Write transactions committed.
    public var batches: Int
    /// Requests acknowledged in those batches (a batch of decisions counts once).
    public var requests: Int
    /// Events appended by this process.
    public var events: UInt64
    /// Time spent building the batches' transactions (encode, hash, append, project), in nanoseconds.
    public var applyNanos: UInt64
    /// Time spent committing them (`mdb_txn_commit`, which includes the fsync), in nanoseconds.
    public var commitNanos: UInt64
    /// Time spent waking callers (on the acknowledgement thread, or on the writer for a batch it acknowledged
    /// itself), in nanoseconds.
    public var ackNanos: UInt64
    /// Batches the writer acknowledged itself (small batches of async or blocking callers while the acknowledgement
    /// thread was idle): the hand-off to that thread would have cost more than the acknowledgement.
    public var inlineAcknowledgedBatches: Int = 0
    /// Batches taken while the writer polled its queue after the previous one, instead of sleeping until signalled.
    public var takenWhilePolling: Int = 0
    /// With `Durability.ackBeforeSync`: fsyncs that failed after their batch had committed. The batch stays
    /// committed and acknowledged (the durability promise of that mode is "a crash loses at most the last batches");
    /// the next batch syncs again. Zero with `.sync`, where a failed fsync fails the commit itself.
    public var syncFailures: Int = 0
    /// The last of those failures (an LMDB/errno message), for operators.
    public var lastSyncFailure: String?

    public init(batches: Int = 0, requests: Int = 0, events: UInt64 = 0, applyNanos: UInt64 = 0, commitNanos: UInt64 = 0,
                ackNanos: UInt64 = 0) {
        self.batches = batches
        self.requests = requests
        self.events = events
        self.applyNanos = applyNanos
        self.commitNanos = commitNanos
        self.ackNanos = ackNanos
    }

    /// The counters accumulated since `earlier`.
    public func since(_ earlier: WriterStatistics) -> WriterStatistics {
        var delta = WriterStatistics(batches: batches - earlier.batches, requests: requests - earlier.requests,
                                     events: events &- earlier.events, applyNanos: applyNanos &- earlier.applyNanos,
                                     commitNanos: commitNanos &- earlier.commitNanos, ackNanos: ackNanos &- earlier.ackNanos)
        delta.syncFailures = syncFailures - earlier.syncFailures
        delta.inlineAcknowledgedBatches = inlineAcknowledgedBatches - earlier.inlineAcknowledgedBatches
        delta.takenWhilePolling = takenWhilePolling - earlier.takenWhilePolling
        delta.lastSyncFailure = lastSyncFailure
        return delta
    }
}
