import CredLedgerCore
import CredLedgerProjections
import Foundation

extension Ledger {
    /// Everything that reads the log and the projections without changing them: audit events, who could act, the access
    /// review, usage and memberships (live or as of a past point), the credential table and detail, exports, and the
    /// integrity checks (`verify`, `replay`). Each blocking or `async` (on the reader pool). Holds the tables it reads
    /// and the clock; never the writer's queue.
    public final class Audit: ReadsLedger, Sendable {
        let reads: LedgerReads
        let clock: any LedgerClock

        init(_ reads: LedgerReads, clock: any LedgerClock) {
            self.reads = reads
            self.clock = clock
        }
    }
}

extension Ledger.Audit {
    /// Runs `body` on a read snapshot of the projections.
    @inline(__always)
    public func withState<R>(_ body: (StateReader<LMDBStore>) throws -> R) throws -> R {
        try reads.withState(body)
    }

    /// Reads one event.
    public func event(_ seq: UInt64) throws -> StoredEvent? {
        try environment.read { txn in try EventLog.event(seq, schema: schema, in: txn) }
    }

    /// Events with seq ≥ `from`, at most `limit`, up to the head when the call starts (read in short transactions).
    public func events(from: UInt64 = 1, limit: Int = Int.max) throws -> [StoredEvent] {
        var out: [StoredEvent] = []
        guard limit > 0 else { return out }
        try forEachEvent(from: from) { stored in
            out.append(stored)
            return out.count < limit
        }
        return out
    }

    /// Visits events with seq ≥ `from` in order without keeping them, until `body` returns false: the events up to the
    /// head when the call starts, in short read transactions (`ReadBudget`), so a long visit never holds up map growth.
    public func forEachEvent(from: UInt64 = 1, _ body: (StoredEvent) throws -> Bool) throws {
        let pinned = try environment.read { txn in try EventLog.lastSeq(schema: schema, in: txn) }
        try EventLog.scanRaw(from: max(from, 1), through: pinned, schema: schema, environment: environment) { seq, record in
            try body(try EventLog.decodeOrThrow(seq: seq, record: record))
        }
    }

    /// The first seq whose time is after `time` (timestamps never decrease along the log).
    public func firstSeq(after time: Timestamp) throws -> UInt64 {
        let head = self.head
        return try environment.read { txn in try EventLog.firstSeq(after: time, head: head.seq, schema: schema, in: txn) }
    }

    // MARK: - Async forms

    /// Runs a blocking read of this service on the reader pool (`ReaderPool`), suspending the calling task without
    /// holding a thread of the cooperative pool: the async form of any read, e.g.
    /// `try await ledger.audit.read { try $0.usage("acme") }`.
    public func read<R: Sendable>(_ body: @escaping @Sendable (Ledger.Audit) throws -> R) async throws -> R {
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
