import CredLedgerCore
import CredLedgerProjections
import Foundation

/// One unit of work for the writer thread, acknowledged when its batch is durable (or failed).
final class WriteRequest: @unchecked Sendable {
    enum Job {
        /// A recorded authorization answer: appended as `credential_used`.
        case use(company: UInt32, use: CredentialUse)
        /// Several recorded answers acknowledged together (one request, one acknowledgement).
        case uses([(company: UInt32, use: CredentialUse)])
        /// An admin or OAuth command: decides from the state it reads, then stages events.
        case command((inout BatchContext) throws -> Void)
        /// Operator work on the raw projections (rebuild); runs alone in its transaction.
        case maintenance((LMDBStore, inout Projector) throws -> Void)
    }

    let job: Job
    private let completion: @Sendable (Error?) -> Void

    init(_ job: Job, completion: @escaping @Sendable (Error?) -> Void) {
        self.job = job
        self.completion = completion
    }

    func complete(_ error: Error?) { completion(error) }

    /// How many events the request may append, at least 1: what `maxBatch` counts.
    var weight: Int {
        if case .uses(let list) = job { return max(1, list.count) }
        return 1
    }
}

/// A one-shot latch a synchronous caller waits on.
final class Acknowledgement: @unchecked Sendable {
    private let condition = NSCondition()
    private var done = false
    private var error: Error?

    func signal(_ error: Error?) {
        condition.lock()
        self.error = error
        done = true
        condition.signal()
        condition.unlock()
    }

    func wait() throws {
        condition.lock()
        while !done { condition.wait() }
        let error = self.error
        condition.unlock()
        if let error { throw error }
    }
}
