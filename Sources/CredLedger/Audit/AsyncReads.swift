import CredLedgerCore
import CredLedgerProjections
import Foundation

/// A few dedicated threads that run blocking reads for `async` callers.
///
/// Why not the cooperative pool: an LMDB read blocks its thread (page faults on the map, and a verify or export runs
/// for seconds), and the cooperative pool has one thread per core — a handful of long reads there would stall every
/// task of the process, the writer's acknowledgements of async commands included. Why not Dispatch's global queues:
/// they add a thread whenever one blocks, so thousands of concurrent async reads would become thousands of threads,
/// and each open read transaction holds one of LMDB's reader slots (254 by default), which would run out
/// (`MDB_READERS_FULL`). A fixed pool bounds both: reads queue in FIFO order, at most `threads` run at once, and the
/// awaiting tasks hold no thread.
final class ReaderPool: @unchecked Sendable {
    /// The process's pool: as many threads as cores, at least 2 and at most 8.
    static let shared = ReaderPool(threads: min(8, max(2, ProcessInfo.processInfo.activeProcessorCount)))

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var next = 0
    private let threads: Int
    private var started = false

    init(threads: Int) { self.threads = threads }

    /// Runs `body` on a pool thread; the caller's task suspends until it returns.
    func run<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<R, Error>) in
            enqueue { continuation.resume(with: Result { try body() }) }
        }
    }

    private func enqueue(_ job: @escaping () -> Void) {
        condition.lock()
        if !started {
            // Threads start with the first read: a process that never reads asynchronously never has them.
            started = true
            for i in 0..<threads {
                // Named from inside: on Linux a name set before `start` does not reach the thread (15 bytes at most).
                let thread = Thread { [self] in work(name: "credledger-rd-\(i)") }
                thread.start()
            }
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work(name: String) {
        Thread.current.name = name
        while true {
            condition.lock()
            while next == jobs.count { condition.wait() }
            let job = jobs[next]
            next += 1
            // Drop the consumed prefix once in a while, not per job (FIFO without an O(n) removeFirst per job).
            if next == jobs.count || next >= 1024 {
                jobs.removeFirst(next)
                next = 0
            }
            condition.unlock()
            job()
        }
    }
}

extension Ledger {
    /// Runs a blocking read of this ledger on the reader pool (`ReaderPool`), suspending the calling task without
    /// holding a thread of the cooperative pool: the async form of any read, e.g. `try await ledger.read { try $0.usage("acme") }`.
    public func read<R: Sendable>(_ body: @escaping @Sendable (Ledger) throws -> R) async throws -> R {
        try await ReaderPool.shared.run { [self] in try body(self) }
    }

    /// Async form of `auditEvents(_:)`.
    public func auditEvents(_ query: AuditQuery) async throws -> AuditPage {
        try await read { try $0.auditEvents(query) }
    }

    /// Async form of `whoCouldAct(company:project:operation:at:)`.
    public func whoCouldAct(company slug: String, project: String, operation: CredLedgerCore.Operation?, at point: AsOfPoint) async throws -> AccessAnswer {
        try await read { try $0.whoCouldAct(company: slug, project: project, operation: operation, at: point) }
    }

    /// Async form of `accessReview(_:staleDays:manyProjects:now:)`.
    public func accessReview(_ slug: String, staleDays: Int = 90, manyProjects: Int = 5, now: Timestamp? = nil) async throws -> [ReviewFinding] {
        try await read { try $0.accessReview(slug, staleDays: staleDays, manyProjects: manyProjects, now: now) }
    }

    /// Async form of `usage(_:)`.
    public func usage(_ slug: String) async throws -> [UsageRow] {
        try await read { try $0.usage(slug) }
    }

    /// Async form of `memberships(_:)`.
    public func memberships(_ slug: String) async throws -> Memberships {
        try await read { try $0.memberships(slug) }
    }

    /// Async form of `credentialTable(_:as:includeDeleted:)`.
    public func credentialTable(_ slug: String, as actor: String, includeDeleted: Bool = false) async throws -> [CredentialRow] {
        try await read { try $0.credentialTable(slug, as: actor, includeDeleted: includeDeleted) }
    }

    /// Async form of `credentialTable(_:as:includeDeleted:asOf:)`.
    public func credentialTable(_ slug: String, as actor: String, includeDeleted: Bool = false, asOf point: AsOfPoint) async throws -> [CredentialRow] {
        try await read { try $0.credentialTable(slug, as: actor, includeDeleted: includeDeleted, asOf: point) }
    }

    /// Async form of `credentialDetail(_:credential:as:)`.
    public func credentialDetail(_ slug: String, credential id: String, as actor: String) async throws -> CredentialRow {
        try await read { try $0.credentialDetail(slug, credential: id, as: actor) }
    }

    /// Async form of `events(from:limit:)`.
    public func events(from: UInt64 = 1, limit: Int = Int.max) async throws -> [StoredEvent] {
        try await read { try $0.events(from: from, limit: limit) }
    }

    /// Async form of `verify(projections:)`.
    public func verify(projections: Bool = true) async throws -> VerificationReport {
        try await read { try $0.verify(projections: projections) }
    }

    /// Async form of `replay(from:threads:projections:)`.
    public func replay(from: UInt64 = 1, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                       projections: Bool = true) async throws -> ReplayReport {
        try await read { try $0.replay(from: from, threads: threads, projections: projections) }
    }

    /// Async form of `export(_:progress:)`; `progress` runs on the reader thread, between read transactions.
    public func export(_ request: ExportRequest, progress: (@Sendable (ExportProgress) -> Void)? = nil) async throws -> ExportSummary {
        try await read { try $0.export(request, progress: progress) }
    }
}
