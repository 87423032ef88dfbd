import CredLedgerCore
import CredLedgerProjections
import Foundation

/// One unit of work for the writer thread, acknowledged when its batch is durable (or failed).
///
/// Two ways to be acknowledged: a `completion` closure (async callers), or — for callers that block —
/// the `CommitSignal` shared by every blocking request queued since the writer last took the queue,
/// so one broadcast wakes them all instead of one condition variable per request.
final class WriteRequest: @unchecked Sendable {
    enum Job {
        /// A recorded authorization answer: appended as `credential_used`.
        case use(company: UInt32, use: CredentialUse)
        /// Several recorded answers acknowledged together (one request, one acknowledgement).
        case uses([(company: UInt32, use: CredentialUse)])
        /// An admin or OAuth command: decides from the state it reads, then stages events.
        case command((inout BatchContext) throws -> Void)
        /// Operator work on the raw projections (rebuild); runs alone in its transaction. The events it returns (no
        /// company, actor system) are appended after it, in the same transaction.
        case maintenance((LMDBStore, inout Projector) throws -> [EventPayload])
    }

    let job: Job
    private let completion: (@Sendable (Error?) -> Void)?
    /// The signal a blocking caller waits on; set when the request is queued.
    var signal: CommitSignal?
    /// The outcome of a blocking request, written before its signal fires.
    private(set) var error: Error?

    /// A request whose caller gets `completion` (on the writer's acknowledgement thread).
    init(_ job: Job, completion: @escaping @Sendable (Error?) -> Void) {
        self.job = job
        self.completion = completion
    }

    /// A request whose caller blocks in `GroupCommitWriter.submitAndWait`.
    init(_ job: Job) {
        self.job = job
        self.completion = nil
    }

    /// Records the outcome: calls the completion, or stores the error for the blocked caller
    /// (whose signal fires once every request it covers is complete).
    func complete(_ error: Error?) {
        if let completion {
            completion(error)
        } else {
            self.error = error
        }
    }

    /// An operator's maintenance job (it runs in a batch of its own).
    var isMaintenance: Bool {
        if case .maintenance = job { return true }
        return false
    }

    /// How many events the request may append, at least 1: what `maxBatch` counts.
    var weight: Int {
        if case .uses(let list) = job { return max(1, list.count) }
        return 1
    }
}

/// Wakes, with one broadcast, the blocking callers of one generation of requests: those queued between
/// two moments the writer took the whole queue. It fires once the writer has closed the generation (its
/// size is then known) and the acknowledgement thread has completed that many of its requests.
final class CommitSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var total: Int?
    private var completed = 0
    private var done = false

    /// The generation holds `count` requests; no more will join.
    func close(total count: Int) {
        condition.lock()
        total = count
        fireIfComplete()
        condition.unlock()
    }

    /// `count` more of its requests are complete (their outcomes stored).
    func complete(_ count: Int) {
        condition.lock()
        completed += count
        fireIfComplete()
        condition.unlock()
    }

    private func fireIfComplete() {
        if let total, completed >= total, !done {
            done = true
            condition.broadcast()
        }
    }

    /// Blocks until the generation is complete.
    func wait() {
        condition.lock()
        while !done { condition.wait() }
        condition.unlock()
    }
}
