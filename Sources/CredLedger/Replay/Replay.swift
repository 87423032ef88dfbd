import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// What `replay` found: the chain check of a range, and every projection rebuilt from the log and
/// compared with the live one.
public struct ReplayReport: Sendable {
    /// First event whose link was checked.
    public var from: UInt64
    /// The last event of the range: the head pinned at the start, or (projections compared) the head of the snapshot
    /// in which live and rebuilt projections were compared.
    public var head: ChainHead
    /// The last event whose link checked out (equals `head` when the chain is intact).
    public var lastGood: ChainHead
    /// Links checked and found good.
    public var eventsVerified: UInt64
    /// Events replayed into the scratch projections.
    public var eventsProjected: UInt64
    /// The first bad event, if any.
    public var chainFailure: ChainFailure?
    /// Checkpoints that disagree with the log head: a cut tail (also the chain failure at its first missing event,
    /// unless an earlier one exists) or events appended behind the writer's back.
    public var checkpoints: ProjectionDisagreement?
    /// Each projection, live against rebuilt; empty when not compared (see `projectionNote`).
    public var projections: [ProjectionStatus]
    /// Why projections were not compared (chain-only run, or a broken chain).
    public var projectionNote: String?
    /// Threads that verified links.
    public var threads: Int
    public var verifySeconds: Double
    public var projectSeconds: Double
    /// Wall time of the whole replay (verification and rebuild run at the same time).
    public var seconds: Double

    public var ok: Bool { chainFailure == nil && checkpoints == nil && projections.allSatisfy(\.matches) }
    /// Links verified per second of verification.
    public var verifyRate: Double { verifySeconds > 0 ? Double(eventsVerified) / verifySeconds : 0 }
    /// Events read per second of wall time (verification and rebuild together).
    public var rate: Double { seconds > 0 ? Double(max(eventsVerified, eventsProjected)) / seconds : 0 }
}

extension Ledger.Audit {
    /// Streams the log: verifies sequence, hash links and time order of events `from…head` on `threads` threads
    /// and, at the same time (unless `projections` is false), rebuilds every projection from event 1 into a
    /// scratch environment and compares each projection's digest with the live one. Read-only; the live
    /// ledger keeps working, map growth included: the log is read in short transactions (`ReadBudget`; the
    /// verifying threads one per chunk of `ChainVerifier.chunkSize` events) up to the head pinned at the start.
    /// The projections change as the writer appends, so they are compared in one snapshot: the rebuild catches up
    /// with the events appended meanwhile and digests the live projections in a snapshot whose head is exactly
    /// the last event it replayed; that head ends the range (its new links are verified too). That one transaction
    /// lasts as long as digesting the live projection tables (the posting index grows with the log, at a fraction
    /// of its size) plus applying at most `ReadBudget.maxEvents` new events.
    ///
    /// Every payload is decoded: by the rebuild, or (chain-only) by the verifying threads. The failure reported
    /// is the first bad event of the log, whichever check found it, and `lastGood` is the event before it.
    public func replay(from: UInt64 = 1, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                       projections: Bool = true) throws -> ReplayReport {
        try replay(from: from, threads: threads, projections: projections, chunkSize: ChainVerifier.chunkSize)
    }

    /// `replay` with the verification chunk size chosen (tests put breaks on chunk boundaries with small chunks), the
    /// rebuild's read budget and a hook it calls between its read transactions, and whether the transparency tree is
    /// rebuilt on a thread of its own (tests compare both ways).
    func replay(from: UInt64, threads: Int, projections: Bool, chunkSize: UInt64, readBudget: ReadBudget = .standard,
                treeThread: Bool = true, betweenReads: (@Sendable () -> Void)? = nil) throws -> ReplayReport {
        let started = DispatchTime.now()
        let threads = max(1, threads)
        var report = ReplayReport(from: max(from, 1), head: .empty, lastGood: .empty, eventsVerified: 0, eventsProjected: 0,
                                  chainFailure: nil, projections: [], projectionNote: nil, threads: threads,
                                  verifySeconds: 0, projectSeconds: 0, seconds: 0)
        let rebuild = projections ? ProjectionRebuild(audit: self, budget: readBudget, treeThread: treeThread, between: betweenReads) : nil
        let head: ChainHead
        let disagreement: ProjectionDisagreement?
        if let rebuild {
            rebuild.start()
            (head, disagreement) = try rebuild.waitForHead()
        } else {
            (head, disagreement) = try environment.read { txn in
                (try EventLog.head(schema: schema, in: txn), try CheckpointStatus.read(schema: schema, txn: txn).disagreement)
            }
        }
        report.head = head
        report.checkpoints = disagreement
        // Events deleted from the end of the log leave a shorter chain that links perfectly; the checkpoints,
        // written in the same transactions as the events, still record the last seq they applied.
        let tailFailure = disagreement.flatMap { $0.tailMissing ? ChainFailure(seq: $0.firstSeq, reason: $0.description) : nil }

        let verifyStarted = DispatchTime.now()
        report.lastGood = report.from > 1 ? head : .empty
        if head.seq >= report.from {
            let outcome: ChainVerifier.Outcome
            do {
                // Without a rebuild (which decodes every payload), the verifying threads decode them.
                outcome = try ChainVerifier.verify(environment: environment, schema: schema, range: report.from...head.seq, threads: threads,
                                                   chunkSize: chunkSize, decodePayloads: rebuild == nil, besideRebuild: rebuild != nil)
            } catch {
                rebuild?.cancel()
                _ = try? rebuild?.wait()
                throw error
            }
            report.eventsVerified = outcome.verified
            report.chainFailure = outcome.failure
            report.lastGood = outcome.failure == nil ? head : outcome.last
        } else {
            report.lastGood = head
        }
        report.verifySeconds = Ledger.Audit.seconds(since: verifyStarted)
        if report.chainFailure == nil, let tailFailure { report.chainFailure = tailFailure }
        // The rebuild goes on up to the break: an earlier event whose payload does not decode or apply is the first bad one.
        if let failure = report.chainFailure { rebuild?.stop(after: failure.seq) }

        if let rebuild {
            let result = try rebuild.wait()
            report.eventsProjected = result.projected
            report.projectSeconds = result.seconds
            // The rebuild compared the projections at a later snapshot than the pinned head (or failed at an event
            // appended after it): verify the links of the events appended meanwhile too, and end the range there.
            let tailEnd = result.head?.seq ?? result.failure.map { $0.seq - 1 } ?? 0
            if report.chainFailure == nil, tailEnd > head.seq {
                let first = max(report.from, head.seq + 1)
                if first <= tailEnd {
                    let tail = try ChainVerifier.verify(environment: environment, schema: schema, range: first...tailEnd, threads: threads,
                                                        chunkSize: chunkSize, decodePayloads: false)
                    report.eventsVerified += tail.verified
                    report.chainFailure = tail.failure
                    report.lastGood = tail.failure == nil ? (result.head ?? tail.last) : tail.last
                }
                report.head = try result.head ?? storedHead(tailEnd + 1)
                if result.head != nil, report.chainFailure == nil { report.lastGood = report.head }
            }
            if let failure = result.failure, report.chainFailure.map({ failure.seq < $0.seq }) ?? true {
                report.chainFailure = failure
            }
            if let failure = report.chainFailure {
                report.projectionNote = "not compared: chain broken at event \(failure.seq)"
            } else {
                report.projections = result.statuses
            }
        } else {
            report.projectionNote = "not compared: chain-only run"
        }
        if let failure = report.chainFailure {
            // The last good event is the one before the first bad one, whichever check found it.
            if report.lastGood.seq != failure.seq - 1 { report.lastGood = try storedHead(failure.seq - 1) }
            if failure.seq >= report.from { report.eventsVerified = min(report.eventsVerified, failure.seq - report.from) }
        }
        report.seconds = Ledger.Audit.seconds(since: started)
        return report
    }

    /// The stored seq, hash and time of event `seq` (`.empty` for 0).
    private func storedHead(_ seq: UInt64) throws -> ChainHead {
        guard seq > 0 else { return .empty }
        return try environment.read { txn in
            try txn.withCursor(schema.events) { cursor in
                guard let entry = try cursor.seek(exactly: seq.bigEndianBytes),
                      let header = try? EventCodec.decodeHeader(seq: seq, record: entry.value),
                      let hash = SHA256Digest(bytes: UnsafeRawBufferPointer(rebasing: entry.value[header.bodyLength...]))
                else { return ChainHead(seq: seq, hash: .zero, timestamp: 0) }
                return ChainHead(seq: seq, hash: hash, timestamp: header.timestamp)
            }
        }
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

/// Rebuilds every projection into a scratch environment on its own thread, from the log up to the head pinned at its
/// start (read in short transactions, `ReadBudget`), then catches up with the events appended meanwhile and digests the
/// live projections in one snapshot whose head is the last event it applied; the rebuilt tables are digested after.
final class ProjectionRebuild: @unchecked Sendable {
    struct Result {
        var projected: UInt64 = 0
        var failure: ChainFailure?
        var statuses: [ProjectionStatus] = []
        var seconds: Double = 0
        /// The snapshot's head at which live and rebuilt projections were compared (≥ the pinned head), if they were.
        var head: ChainHead?
    }

    private let audit: Ledger.Audit
    private let lock = NSLock()
    private let headReady = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var head: (ChainHead, ProjectionDisagreement?)?
    private var result = Result()
    private var error: Error?
    private var cancelled = false
    /// Events after this seq need not be replayed (a break was found there).
    private var limit = UInt64.max

    /// The transparency tree's rebuild on a second thread (set before this thread starts; nil without the tree).
    private let treeThread: ReplayTreeThread?

    /// How much each read transaction of the log may do.
    private let budget: ReadBudget
    /// Called between read transactions, with none open (a test hook).
    private let between: (() -> Void)?

    init(audit: Ledger.Audit, budget: ReadBudget = .standard, treeThread: Bool = true, between: (@Sendable () -> Void)? = nil) {
        self.audit = audit
        self.budget = budget
        self.between = between
        self.treeThread = !treeThread ? nil : ReplayTreeThread.tree(in: audit.schema).map { _ in
            ReplayTreeThread(environment: audit.environment, schema: audit.schema, budget: budget, between: between)
        }
    }

    func start() {
        let thread = Thread { [self] in
            do {
                try run()
            } catch {
                lock.withLock { self.error = error }
            }
            headReady.signal()   // in case run() failed before publishing the head
            finished.signal()
        }
        thread.name = "credledger-rebuild"
        thread.stackSize = 4 << 20
        thread.start()
    }

    func cancel() {
        lock.withLock { cancelled = true }
        treeThread?.cancel()
    }
    private var isCancelled: Bool { lock.withLock { cancelled } }

    /// Stops the replay once it is past `seq`; the events before it are still decoded and applied (one of them
    /// may be the first bad event).
    func stop(after seq: UInt64) {
        lock.withLock { limit = min(limit, seq) }
        treeThread?.stop(after: seq)
    }
    private func isPastLimit(_ seq: UInt64) -> Bool { lock.withLock { seq > limit } }

    /// The head of the snapshot being rebuilt, and the checkpoints' disagreement with it if there is one.
    func waitForHead() throws -> (ChainHead, ProjectionDisagreement?) {
        headReady.wait()
        return try lock.withLock {
            if let head { return head }
            throw error ?? LedgerError("internal", "rebuild thread ended without a head", kind: .integrity)
        }
    }

    func wait() throws -> Result {
        finished.wait()
        return try lock.withLock {
            if let error { throw error }
            return result
        }
    }

    private func run() throws {
        // The tree's thread ends before this one does, whatever happens here (no thread outlives the replay).
        treeThread?.start()
        var treeResult: ReplayTreeThread.Result?
        do {
            try rebuild(treeResult: &treeResult)
        } catch {
            treeThread?.cancel()
            _ = try? treeThread?.wait()
            throw error
        }
    }

    private func rebuild(treeResult: inout ReplayTreeThread.Result?) throws {
        let environment = audit.environment, schema = audit.schema, budget = self.budget, tree = self.treeThread
        let scratchPath = NSTemporaryDirectory() + "credledger-replay-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: scratchPath) }
        // The pinned head: events 1…head never change (the log is append-only), so they are read in short
        // transactions (`ReadBudget`) and the writer can grow the map meanwhile.
        let (head, disagreement) = try environment.read { source in
            (try EventLog.head(schema: schema, in: source), try CheckpointStatus.read(schema: schema, txn: source).disagreement)
        }
        lock.withLock { self.head = (head, disagreement) }
        headReady.signal()
        tree?.advance(through: head.seq)
        let started = DispatchTime.now()
        var configuration = Environment.Configuration()
        configuration.flags = [.noSync]
        configuration.mapSize = max(environment.mapSize, 64 << 20)
        configuration.maxDatabases = UInt32(Schema.databaseCount(extensions: schema.extensions) + 2)
        let scratch = try Environment(path: scratchPath, configuration: configuration)
        defer { scratch.close() }
        let scratchSchema = try Schema(environment: scratch, extensions: schema.extensions)
        var outcome = Result()
        var askedTree = false
        try ScratchWrite.run(scratch) { destination in
            // This closure re-runs from scratch if the map has to grow: all state is local to it (but the tree's
            // thread was told the comparison's head once: a second answer would not be at the same head).
            if askedTree {
                throw LedgerError("internal", "the replay's scratch map had to grow during the comparison: run the replay again", kind: .integrity)
            }
            // The tree, when its own thread rebuilds it, is left out of this projector.
            var applier = RebuildApplier(projector: tree == nil ? scratchSchema.makeProjector()
                                            : Projector(extensions: schema.extensions.filter { !($0 is MerkleTreeProjection) }),
                                         store: LMDBStore(txn: destination, schema: scratchSchema))
            defer { outcome = applier.outcome }
            let store = applier.store
            func replay(through last: UInt64, _ applier: inout RebuildApplier) throws {
                try EventLog.scanRaw(from: applier.expected, through: last, schema: schema, environment: environment, budget: budget,
                                     between: between) { seq, record in
                    if seq & 0xFFF == 0, isCancelled || isPastLimit(seq) { return false }
                    return try applier.apply(seq, record)
                }
                try applier.flush()
            }
            try replay(through: head.seq, &applier)
            guard applier.outcome.failure == nil, !isCancelled, !isPastLimit(head.seq), applier.outcome.projected == head.seq else { return }

            // The live projections are compared in ONE snapshot, at its own head: the rebuild first catches up with
            // the events appended meanwhile (in short transactions while many are missing), then applies the last few
            // and digests the live projections in that snapshot; the rebuilt ones are digested after it ends.
            var live: [(any ProjectionDescription, UInt64, SHA256Digest)] = []
            var rounds = 0
            while live.isEmpty {
                var behind: UInt64?
                try environment.read { source in
                    let now = try EventLog.head(schema: schema, in: source)
                    if now.seq >= applier.expected, now.seq - applier.expected + 1 > budget.maxEvents, rounds < 4 {
                        behind = now.seq
                        return
                    }
                    try EventLog.scanRaw(from: applier.expected, schema: schema, in: source) { seq, record in
                        guard seq <= now.seq else { return false }
                        return try applier.apply(seq, record)
                    }
                    try applier.flush()
                    guard applier.outcome.failure == nil, applier.outcome.projected == now.seq else { return }
                    // The tree's thread rebuilds up to this head and digests its tree while this one digests every
                    // live projection in this snapshot.
                    if let tree {
                        askedTree = true
                        tree.requestDigest(at: now.seq)
                    }
                    let liveStore = LMDBStore(txn: source, schema: schema)
                    for (p, key) in schema.checkpointKeys {
                        let checkpoint = try source.get(schema.meta, key).flatMap(Meta.Checkpoint.init)
                        live.append((p, checkpoint?.lastSeq ?? 0, try ProjectionDigest.compute(p, in: liveStore)))
                    }
                    applier.outcome.head = now
                }
                guard let behind else { break }
                rounds += 1
                tree?.advance(through: behind)
                try replay(through: behind, &applier)
                guard applier.outcome.failure == nil, !isCancelled else { return }
            }
            guard applier.outcome.failure == nil, applier.outcome.head != nil else { return }
            var rebuilt: [SHA256Digest?] = []
            for (p, _, _) in live {
                rebuilt.append(tree != nil && p is MerkleTreeProjection ? nil : try ProjectionDigest.compute(p, in: store))
            }
            // The rebuilt tree's digest comes from its thread.
            let treeOutcome = try tree?.wait()
            treeResult = treeOutcome
            for ((p, lastSeq, liveDigest), rebuiltDigest) in zip(live, rebuilt) {
                guard let rebuiltDigest = rebuiltDigest ?? treeOutcome?.rebuilt else {
                    // The tree stopped before the comparison: it found a bad record (reported below) or was stopped.
                    guard treeOutcome?.failure != nil else {
                        throw LedgerError("internal", "the transparency tree's rebuild ended without its digests", kind: .integrity)
                    }
                    applier.outcome.statuses = []
                    break
                }
                applier.outcome.statuses.append(ProjectionStatus(name: p.name, lastSeq: lastSeq, live: liveDigest, rebuilt: rebuiltDigest))
            }
        }
        // Whatever happened above, the tree's thread has ended before this one reports.
        if treeResult == nil, let tree {
            tree.cancel()
            treeResult = try tree.wait()
        }
        // A record the tree could not take is a bad event too (the decoding above names the same one or an earlier one).
        if let treeFailure = treeResult?.failure, outcome.failure.map({ treeFailure.seq < $0.seq }) ?? true {
            outcome.failure = treeFailure
            outcome.statuses = []
        }
        outcome.seconds = Ledger.Audit.seconds(since: started)
        lock.withLock { result = outcome }
    }
}

/// The rebuild's per-event state, a value passed inout: captured by nested functions it was boxed and each event paid
/// dynamic exclusivity checks (`swift_beginAccess`, a few percent of the rebuild thread, on the replay's critical path).
private struct RebuildApplier {
    var projector: Projector
    let store: LMDBStore
    var outcome = ProjectionRebuild.Result()
    /// The next seq to apply.
    var expected: UInt64 = 1
    /// Events applied since the last flush.
    var pending = 0

    /// Decodes and applies one event; false (with `outcome.failure` set) at a bad one.
    mutating func apply(_ seq: UInt64, _ record: UnsafeRawBufferPointer) throws -> Bool {
        guard seq == expected else {
            outcome.failure = ChainFailure(seq: expected, reason: "missing (next stored is \(seq))")
            return false
        }
        // Most of a log is uses: decoded and applied without building an `Event` (a quarter of this thread's time
        // was the general decode), unless registered projections need the event.
        if !projector.hasRegisteredProjections {
            let decoded: (header: EventCodec.Header, use: CredentialUse)?
            do {
                decoded = try EventCodec.decodeUse(seq: seq, record: record)
            } catch {
                outcome.failure = ChainFailure(seq: seq, reason: "\(error)")
                return false
            }
            if let (header, use) = decoded {
                projector.applyUse(seq: seq, company: header.company, timestamp: header.timestamp, use)
                return try advance()
            }
        }
        let stored: StoredEvent
        do {
            stored = try EventCodec.decode(seq: seq, record: record)
        } catch {
            outcome.failure = ChainFailure(seq: seq, reason: "\(error)")
            return false
        }
        do {
            try projector.apply(stored.event, hash: stored.hash, to: store)
        } catch let error as LMDBError {
            throw error   // storage trouble (e.g. a full map) is not the log's fault
        } catch {
            // The event does not fit the state before it (e.g. events swapped): report it here; the
            // chain check names an earlier break if there is one.
            outcome.failure = ChainFailure(seq: seq, reason: "cannot be applied to the state before it: \(error)")
            return false
        }
        return try advance()
    }

    /// Counts the event just applied; flushes every 200,000.
    private mutating func advance() throws -> Bool {
        outcome.projected += 1
        expected += 1
        pending += 1
        if pending >= 200_000 {
            try flush()
        }
        return true
    }

    /// Writes what the projector holds back to the scratch tables.
    mutating func flush() throws {
        try projector.flush(to: store)
        pending = 0
    }
}
