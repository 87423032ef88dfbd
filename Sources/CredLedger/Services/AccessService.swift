import CredLedgerCore
import CredLedgerProjections
import LMDB

extension Ledger {
    /// The access decision and the record of a use: `authorize` decides (the hot path: one read transaction, fields
    /// read in place), `record` appends the answer as `credential_used`, `check` does both. Each blocking, with a
    /// completion, or `async`. Holds the tables it reads, the clock, and the writer that records uses.
    public final class Access: Sendable {
        // Held directly, not through `LedgerReads`: the decision is the hot path, and this keeps its read exactly one
        // `environment.read` with nothing in between.
        let environment: Environment
        let schema: Schema
        /// Records uses; nil for a read-only ledger.
        let writer: GroupCommitWriter?
        let clock: any LedgerClock
        /// The facts of recent decisions (the writer keeps it current); nil when off or read-only.
        let cache: DecisionCache?

        init(_ reads: LedgerReads, clock: any LedgerClock) {
            environment = reads.environment
            schema = reads.schema
            writer = reads.writer
            self.clock = clock
            cache = reads.writer?.decisionCache
        }

        func requireWriter() throws -> GroupCommitWriter { try CommandRunner(writer: writer).requireWriter() }

        /// Runs `body` on a read snapshot of the projections.
        func withState<R>(_ body: (StateReader<LMDBStore>) throws -> R) throws -> R {
            try environment.read { txn in try body(StateReader(LMDBStore(txn: txn, schema: schema))) }
        }
    }
}

extension Ledger.Access {
    /// Decides without recording (the hot path's read part). Never throws for bad input: it denies.
    public func authorize(header: String, company: String, project: String, operation: Operation) throws -> Decision {
        var inPlace = false
        return try decide(header: header, company: company, project: project, operation: operation, inPlace: &inPlace)
    }

    /// `authorize` reading the map even when the facts are kept (`DecisionCache`): the benchmark's same-run figure of
    /// a decision that misses.
    package func authorizeFromTheMap(header: String, company: String, project: String, operation: Operation) throws -> Decision {
        let now = clock.now()
        return try decide(AuthorizationHeader.presentedSecret(header), header: header, company: company, project: project,
                          operation: operation, now: now, recorder: nil).decision
    }

    /// `check` whose decision reads the map (`authorizeFromTheMap`): the benchmark's same-run figure without kept facts.
    package func checkFromTheMap(header: String, company: String, project: String, operation: Operation) async throws -> Decision {
        let decision = try authorizeFromTheMap(header: header, company: company, project: project, operation: operation)
        try await record(decision)
        return decision
    }

    /// `authorize`, also telling which path decided (`inPlace` false: the reference path). Tests check with it that
    /// ordinary requests take the hot path.
    func authorizeReportingPath(header: String, company: String, project: String, operation: Operation) throws
        -> (decision: Decision, inPlace: Bool) {
        var inPlace = false
        let decision = try decide(header: header, company: company, project: project, operation: operation, inPlace: &inPlace)
        return (decision, inPlace)
    }

    /// The decision of `authorize`; `inPlace` is set to whether the hot path decided.
    ///
    /// The hot path builds no `String` of the secret (the header is hashed in place: `presentedSecret`) and reads through
    /// the non-generic `readSnapshot`, so no generic dispatch crosses into the LMDB module per decision. The decision is
    /// moved out of the closure (`take`), never held in a tuple: each copy of a `Decision` retains and releases its
    /// strings, and a `(Decision, Bool)?` was copied through the runtime's generic tuple witnesses.
    private func decide(header: String, company: String, project: String, operation: Operation, inPlace: inout Bool) throws
        -> Decision {
        let now = clock.now()
        let presented = AuthorizationHeader.presentedSecret(header)
        // A secret decided a moment ago: its facts are in memory (see `DecisionCache`), no read transaction.
        var recorder: FactsRecorder?
        var fillTag: UInt64 = 0
        if let cache, case .success(let secret) = presented {
            if let (kept, tag) = cache.decision(secret, company: company, project: project, operation: operation, now: now) {
                #if DEBUG
                // The map must agree while nothing changed: the same rules over the same facts.
                if let read = try? decide(presented, header: header, company: company, project: project, operation: operation,
                                          now: now, recorder: nil).decision {
                    assert(!cache.isCurrent(tag) || read == kept, "authorize: kept decision \(kept) differs from the map's \(read)")
                }
                #endif
                inPlace = true
                return kept
            }
            if let tag = cache.fillGeneration() {
                recorder = FactsRecorder()
                fillTag = tag
            }
        }
        let (decision, fast, snapshot) = try decide(presented, header: header, company: company, project: project,
                                                    operation: operation, now: now, recorder: recorder)
        if fast, let recorder, let cache, case .success(let secret) = presented {
            cache.store(recorder.facts, for: secret, company: company, project: project, generation: fillTag, snapshot: snapshot)
        }
        inPlace = fast
        return decision
    }

    /// The decision from a read snapshot: in place when it can (what it read also written to `recorder`), else by the
    /// reference path; with whether the hot path decided and the snapshot's transaction id.
    private func decide(_ presented: Result<PresentedSecret, DenialReason>, header: String, company: String, project: String,
                        operation: Operation, now: Timestamp, recorder: FactsRecorder?) throws
        -> (decision: Decision, fast: Bool, snapshot: Int) {
        var outcome: Decision?
        var fast = false
        var snapshot = 0
        try environment.readSnapshot { txn in
            snapshot = txn.id
            // The hot path reads the few fields it needs in place; unusual rows or inputs take the reference path.
            if let decided = try Ledger.decideInPlace(presented, company: company, project: project, operation: operation, now: now,
                                                      txn: txn, schema: schema, recorder: recorder) {
                #if DEBUG
                // The reference parses the header into strings and decodes whole records: both must agree.
                let reference = try Ledger.decide(AuthorizationHeader.parse(header), company: company, project: project,
                                                  operation: operation, now: now, state: StateReader(LMDBStore(txn: copy txn, schema: schema)))
                assert(decided == reference, "authorize: in-place decision \(decided) differs from the reference \(reference)")
                #endif
                outcome = consume decided
                fast = true
            } else {
                outcome = try Ledger.decide(AuthorizationHeader.parse(header), company: company, project: project, operation: operation,
                                            now: now, state: StateReader(LMDBStore(txn: copy txn, schema: schema)))
            }
        }
        guard let decision = outcome.take() else {
            throw LedgerError("internal", "authorize finished without a decision", kind: .integrity)
        }
        return (decision, fast, snapshot)
    }

    /// Both paths' answers to one request, without the debug assertion: the in-place one (nil when it hands over to
    /// the reference; from the header hashed in place) and the reference one (from the header parsed into strings).
    /// Tests compare them on random histories.
    func decisionsOfBothPaths(header: String, company: String, project: String, operation: Operation) throws
        -> (inPlace: Decision?, reference: Decision) {
        let now = clock.now()
        return try withState { state in
            (try Ledger.decideInPlace(AuthorizationHeader.presentedSecret(header), company: company, project: project,
                                      operation: operation, now: now, txn: state.store.txn, schema: schema),
             try Ledger.decide(AuthorizationHeader.parse(header), company: company, project: project, operation: operation, now: now,
                               state: state))
        }
    }

    /// Decides and records the answer as a `credential_used` event (two for a credential of another company:
    /// one in its own company's trail, one anonymous in the company addressed); returns once durable.
    public func check(header: String, company: String, project: String, operation: Operation) throws -> Decision {
        let decision = try authorize(header: header, company: company, project: project, operation: operation)
        try record(decision)
        return decision
    }

    /// Records a decision made by `authorize` (durable before returning).
    public func record(_ decision: Decision) throws {
        try requireWriter().submitAndWait(WriteRequest(decision.job))
    }

    /// Records a decision; `completion` runs on the writer's acknowledgement thread once it is durable (or failed).
    /// Keep it short and never call a blocking ledger method from it: acknowledgements of later batches wait for it.
    public func record(_ decision: Decision, completion: @escaping @Sendable (Error?) -> Void) {
        guard let writer else {
            completion(LedgerError("read_only", "the ledger was opened read-only", kind: .badInput))
            return
        }
        writer.submit(WriteRequest(decision.job, completion: completion))
    }

    /// Records many decisions with one acknowledgement: returns once all of them are durable (or throws, and then
    /// none of them was recorded). For auth layers that answer many requests at once; each decision is still its
    /// own `credential_used` event (two for a use at another company).
    public func record(batch decisions: [Decision]) throws {
        guard !decisions.isEmpty else { return }
        try requireWriter().submitAndWait(WriteRequest(.uses(Self.entries(decisions))))
    }

    /// The events of `decisions`, in order.
    static func entries(_ decisions: [Decision]) -> [(company: UInt32, use: CredentialUse)] {
        var list: [(company: UInt32, use: CredentialUse)] = []
        list.reserveCapacity(decisions.count)
        for decision in decisions { decision.entries(into: &list) }
        return list
    }

    /// Records many decisions; `completion` runs on the writer's acknowledgement thread once all are durable (or failed).
    public func record(batch decisions: [Decision], completion: @escaping @Sendable (Error?) -> Void) {
        guard let writer else {
            completion(LedgerError("read_only", "the ledger was opened read-only", kind: .badInput))
            return
        }
        guard !decisions.isEmpty else {
            completion(nil)
            return
        }
        writer.submit(WriteRequest(.uses(Self.entries(decisions)), completion: completion))
    }

    /// Async form of `record`: suspends (no thread blocked) until the use is durable.
    ///
    /// The request carries the continuation itself (no completion closure per use), and the writer resumes it exactly
    /// once — after its batch, or at once when the ledger is closed — so an unchecked continuation is enough.
    /// Inlinable: it takes from `decision` only the plain fields a use records; the request holds none of its strings.
    @inlinable
    public func record(_ decision: Decision) async throws {
        let recorded = decision.recorded
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, Error>) in
            submit(recorded, resuming: continuation)
        }
    }

    /// Queues `recorded` for the writer, which resumes `continuation` once it is durable (or failed); resumes it at
    /// once with `read_only` on a read-only ledger.
    @usableFromInline
    func submit(_ recorded: RecordedUse, resuming continuation: UnsafeContinuation<Void, Error>) {
        guard let writer else {
            return continuation.resume(throwing: LedgerError("read_only", "the ledger was opened read-only", kind: .badInput))
        }
        writer.submit(WriteRequest(recorded.job, continuation: continuation))
    }

    /// Async form of `record(batch:)`.
    public func record(batch decisions: [Decision]) async throws {
        let writer = try requireWriter()
        guard !decisions.isEmpty else { return }
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, Error>) in
            writer.submit(WriteRequest(.uses(Self.entries(decisions)), continuation: continuation))
        }
    }

    /// Async form of `check`: decides on the caller's task, then suspends (no thread blocked) until the use is
    /// durable. Inlinable, as `record` is.
    @inlinable
    public func check(header: String, company: String, project: String, operation: Operation) async throws -> Decision {
        let decision = try authorize(header: header, company: company, project: project, operation: operation)
        let recorded = decision.recorded
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, Error>) in
            submit(recorded, resuming: continuation)
        }
        return decision
    }
}
