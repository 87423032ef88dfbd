import CredLedgerCore
import CredLedgerProjections
import Foundation

/// One unit of work for the writer thread, acknowledged when its batch is durable (or failed).
///
/// A plain value: the writer's queue and batches are contiguous arrays of them, so an async use costs no object of
/// its own (the hot path at thousands of callers in flight). How its caller learns the outcome is its
/// `Acknowledgement`.
///
/// Each request succeeds or fails on its own (see `GroupCommitWriter`): a command's error undoes only its
/// own events; uses are validated before they are queued.
struct WriteRequest: @unchecked Sendable {
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

    /// How the caller of a request learns its outcome: on the writer's acknowledgement thread (a completion closure
    /// always), or on the writer itself for a small batch it acknowledges without a hand-off (`.resume`, `.wake`).
    enum Acknowledgement {
        /// An async caller suspended in `withUnsafeThrowingContinuation`: resumed directly — no closure to allocate
        /// or call.
        case resume(UnsafeContinuation<Void, any Error>)
        /// A completion closure.
        case call(@Sendable (Error?) -> Void)
        /// A caller blocked in `GroupCommitWriter.submitAndWait`, woken through its generation's `CommitSignal`.
        case wake(BlockedCaller)
    }

    let job: Job
    let acknowledgement: Acknowledgement

    /// A request whose caller gets `completion` (on the writer's acknowledgement thread).
    init(_ job: Job, completion: @escaping @Sendable (Error?) -> Void) {
        self.job = job
        self.acknowledgement = .call(completion)
    }

    /// A request whose async caller is resumed through `continuation` once its batch is durable.
    init(_ job: Job, continuation: UnsafeContinuation<Void, any Error>) {
        self.job = job
        self.acknowledgement = .resume(continuation)
    }

    /// A request whose caller blocks in `GroupCommitWriter.submitAndWait`.
    init(_ job: Job) {
        self.job = job
        self.acknowledgement = .wake(BlockedCaller())
    }

    /// Delivers the outcome to an async or callback caller, or stores it for a blocked caller (woken when its
    /// signal marks it done). Called exactly once per request.
    func complete(_ error: Error?) {
        switch acknowledgement {
        case .resume(let continuation):
            if let error { continuation.resume(throwing: error) } else { continuation.resume() }
        case .call(let completion):
            completion(error)
        case .wake(let caller):
            caller.error = error
        }
    }

    /// The blocked caller, if this request has one.
    var blockedCaller: BlockedCaller? {
        if case .wake(let caller) = acknowledgement { return caller }
        return nil
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

/// The state a blocking caller waits on: its generation's signal, its outcome and whether it is done.
final class BlockedCaller: @unchecked Sendable {
    /// The signal the caller waits on; set when the request is queued (under the writer's lock).
    var signal: CommitSignal?
    /// The outcome, written (by whichever thread acknowledges) before its signal marks the caller done.
    var error: Error?
    /// Whether the request is acknowledged (under its signal's lock).
    fileprivate(set) var isDone = false
}

/// Wakes the blocking callers of one generation — those queued between two moments the writer took a batch —
/// with one broadcast per batch that completes some of them. Each caller waits for its own request, not for the
/// whole generation, so it returns when its own batch is acknowledged whatever the queue depth behind it.
final class CommitSignal: @unchecked Sendable {
    private let condition = NSCondition()

    /// Blocks until `caller` (queued with this signal) is acknowledged.
    func wait(for caller: BlockedCaller) {
        condition.lock()
        while !caller.isDone { condition.wait() }
        condition.unlock()
    }

    /// Starts marking callers done (the acknowledgement thread, after storing their outcomes).
    func beginMarking() { condition.lock() }

    /// Marks one caller of this generation done; it wakes at `endMarking`.
    func markDone(_ caller: BlockedCaller) { caller.isDone = true }

    /// Wakes the callers that were marked.
    func endMarking() {
        condition.broadcast()
        condition.unlock()
    }
}
