import CredLedgerCore
import CredLedgerProjections
import Foundation

/// One unit of work for the writer thread, acknowledged when its batch is durable (or failed).
///
/// Two ways to be acknowledged: a `completion` closure (async callers), or — for callers that block —
/// the `CommitSignal` shared by the blocking requests queued since the writer last took a batch, so one
/// broadcast per batch wakes them instead of one condition variable per request; each caller returns once
/// its own request is done.
///
/// Each request succeeds or fails on its own (see `GroupCommitWriter`): a command's error undoes only its
/// own events; uses are validated before they are queued.
final class WriteRequest: @unchecked Sendable {
    enum Job {
        /// A recorded authorization answer: appended as `credential_used`. Uses stay special jobs rather than
        /// `LedgerCommand`s: they are the hot path, decide nothing on the writer (the answer was made and validated
        /// before queueing) and need no child transaction, and a command would cost a `QueuedCommand` allocation, a
        /// `BatchContext` and a staged-event array per use.
        case use(company: UInt32, use: CredentialUse)
        /// Several recorded answers acknowledged together (one request, one acknowledgement).
        case uses([(company: UInt32, use: CredentialUse)])
        /// A typed command (admin, OAuth): decides from the state it reads, then stages events; keeps its own result.
        case command(any CommandRun)
        /// Operator work on the raw projections (rebuild); runs alone in its batch (no child transaction: its
        /// failure fails that batch, which holds nothing else). The events it returns (no
        /// company, actor system) are appended after it, in the same transaction.
        case maintenance(any MaintenanceRun)
    }

    let job: Job
    private let completion: (@Sendable (Error?) -> Void)?
    /// The signal a blocking caller waits on; set when the request is queued.
    var signal: CommitSignal?
    /// The outcome of a blocking request, written before its signal fires.
    private(set) var error: Error?
    /// Whether a blocking request is acknowledged (under its signal's lock).
    fileprivate(set) var isDone = false

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
    /// (woken when its signal marks it done).
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

/// Wakes the blocking callers of one generation — those queued between two moments the writer took a batch —
/// with one broadcast per batch that completes some of them. Each caller waits for its own request, not for the
/// whole generation, so it returns when its own batch is acknowledged whatever the queue depth behind it.
final class CommitSignal: @unchecked Sendable {
    private let condition = NSCondition()

    /// Blocks until `request` (queued with this signal) is acknowledged.
    func wait(for request: WriteRequest) {
        condition.lock()
        while !request.isDone { condition.wait() }
        condition.unlock()
    }

    /// Starts marking requests done (the acknowledgement thread, after storing their outcomes).
    func beginMarking() { condition.lock() }

    /// Marks one request of this generation done; its caller wakes at `endMarking`.
    func markDone(_ request: WriteRequest) { request.isDone = true }

    /// Wakes the callers whose requests were marked.
    func endMarking() {
        condition.broadcast()
        condition.unlock()
    }
}
