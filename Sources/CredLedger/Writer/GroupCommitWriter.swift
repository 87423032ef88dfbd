import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// How a use is acknowledged.
public enum Durability: Sendable {
    /// Acknowledge after the batch's commit is fsync'd (default): an acknowledged event survives power loss.
    case sync
    /// Acknowledge after commit, fsync right after: a crash can lose at most the last batch. A failed fsync does not
    /// undo or fail a committed batch: it is counted in `WriterStatistics.syncFailures` and the next batch syncs again.
    case ackBeforeSync
}

/// The single LMDB writer: one dedicated thread, many callers, one durable commit per batch.
/// Every write transaction begins and commits on this thread (LMDB's rule).
///
/// Every request succeeds or fails on its own: uses (validated before they are queued) are appended directly; an
/// admin or OAuth command first decides from what it reads (writing nothing, so any error it throws there — a
/// refusal, a storage or codec error — costs nobody else anything), then its staged events are appended in its own
/// child transaction (`Transaction.nested`), so a failure while appending them (a storage, codec or projection
/// error) undoes exactly its events and projection writes. Either way the error is reported to its caller alone and
/// the rest of the batch commits. Only a failure of the batch
/// transaction itself (its commit, the checkpoint check, an append of uses) fails every request of the batch.
///
/// Acknowledgements run on a second thread: once a batch has committed (durably), the writer hands it over and
/// starts the next batch, so waking callers (one broadcast per batch and generation for blocking callers, one
/// continuation resumed or completion called per request for async ones) overlaps the next batch's work and fsync
/// instead of delaying it. A small batch of async or blocking callers (no completion closure: no caller code runs on
/// the writer) is acknowledged by the writer itself when the acknowledgement thread is idle: at one caller in a loop
/// the hand-off (a futex wake and that thread's wake-up) cost more than the acknowledgement, and the order of
/// acknowledgements stays the commit order.
///
/// After a batch the writer polls its queue for a bounded time (`pollNanos`) before it sleeps, when traffic is
/// steady (it slept briefly or not at all before that batch): a caller resumed by the batch that comes straight
/// back then finds the writer awake and signals nobody. An idle ledger does not poll: after a long sleep, none.
/// A blocking caller returns when its own batch is acknowledged, however deep the queue behind it.
final class GroupCommitWriter: @unchecked Sendable {
    private let environment: Environment
    private let schema: Schema
    private let clock: any LedgerClock
    private let random: any RandomBytesGenerator
    private let durability: Durability
    private let maxBatch: Int
    private let lifetimes: TokenLifetimes
    /// How long the writer polls its queue after a batch before it sleeps (0: never).
    private let pollNanos: UInt64
    /// Largest batch the writer acknowledges itself (async and blocking callers only).
    static let inlineAcknowledgementLimit = 4
    /// A sleep shorter than this before a batch means steady traffic: the writer polls after that batch.
    static let steadyTrafficGapNanos: UInt64 = 2_000_000
    /// Writer thread only: whether to poll after the current batch, and whether it was taken while polling.
    private var pollAfterBatch = false
    private var takenWhilePolling = false

    private let condition = NSCondition()
    private var queue: [WriteRequest] = []
    private var stopping = false
    /// Whether the writer thread waits on `condition` for work (under `condition`): only then does a submit signal,
    /// and only the first one — the others would each pay a futex wake for a thread already woken.
    private var writerWaiting = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// The signal shared by blocking requests queued since the writer last took a batch (under `condition`).
    private var openSignal: CommitSignal?

    /// Committed batches waiting for their acknowledgements, and the thread that sends them.
    private let ackCondition = NSCondition()
    private var ackQueue: [CommittedBatch] = []
    private var ackStopping = false
    /// Whether the acknowledgement thread is delivering batches it took (under `ackCondition`).
    private var ackBusy = false
    private let ackFinished = DispatchSemaphore(value: 0)

    /// Read under `headLock`.
    private let headLock = NSLock()
    private var committedHead: ChainHead

    /// The facts of recent decisions (nil: not kept): the writer tells it which batches may change them, and which
    /// LMDB transactions it accounted for.
    let decisionCache: DecisionCache?
    /// Writer thread only: the id of the writer's last commit (or of the newest commit when it started). A write
    /// transaction with another id than the next one means another writer committed in between.
    private var ownTransactionID: Int

    /// Batches committed, requests and events written, time spent (under `headLock`).
    private var counters = WriterStatistics()
    var statistics: WriterStatistics { headLock.withLock { counters } }

    /// A batch whose transaction ended: its requests and their outcomes (nil = success).
    private struct CommittedBatch {
        var requests: [WriteRequest]
        var outcomes: [Error?]
    }

    init(environment: Environment, schema: Schema, head: ChainHead, clock: any LedgerClock,
         random: any RandomBytesGenerator, durability: Durability, maxBatch: Int, pollNanos: UInt64 = 0,
         cachesDecisions: Bool = true, lifetimes: TokenLifetimes) {
        self.environment = environment
        self.schema = schema
        self.committedHead = head
        self.clock = clock
        self.random = random
        self.durability = durability
        self.maxBatch = maxBatch
        self.pollNanos = pollNanos
        self.lifetimes = lifetimes
        let newest = environment.lastCommittedTransactionID() ?? 0
        self.ownTransactionID = newest
        self.decisionCache = cachesDecisions ? DecisionCache(environment: environment, accountedUpTo: newest) : nil
    }

    var head: ChainHead { headLock.withLock { committedHead } }

    /// Whether the writer thread sleeps, waiting for work (tests: an idle writer must not keep polling).
    var isWaitingForWork: Bool { condition.withLock { writerWaiting } }

    func start() {
        let acker = Thread { [self] in acknowledge() }
        acker.name = "credledger-ack"
        acker.stackSize = 1 << 20
        acker.start()
        let thread = Thread { [self] in run() }
        thread.name = "credledger-writer"
        thread.stackSize = 4 << 20
        self.thread = thread
        thread.start()
    }

    /// Finishes queued work (and its acknowledgements), then stops the threads.
    func stop() {
        condition.lock()
        let wasRunning = thread != nil && !stopping
        stopping = true
        condition.broadcast()
        condition.unlock()
        if wasRunning { finished.wait() }
    }

    // MARK: - Submitting

    /// Queues a request whose caller gets its completion closure or is resumed through its continuation.
    func submit(_ request: WriteRequest) {
        condition.lock()
        if stopping {
            condition.unlock()
            request.complete(GroupCommitWriter.closedError)
            return
        }
        queue.append(request)
        wakeWriter()
        condition.unlock()
    }

    /// Queues requests whose callers get their completion closures or are resumed through their continuations.
    func submit(_ requests: [WriteRequest]) {
        condition.lock()
        if stopping {
            condition.unlock()
            for r in requests { r.complete(GroupCommitWriter.closedError) }
            return
        }
        queue.append(contentsOf: requests)
        wakeWriter()
        condition.unlock()
    }

    /// Wakes the writer if it waits for work (under `condition`).
    @inline(__always)
    private func wakeWriter() {
        guard writerWaiting else { return }
        writerWaiting = false
        condition.signal()
    }

    /// Queues a request made with `WriteRequest(_:)` and blocks until its batch is durable (or failed).
    func submitAndWait(_ request: WriteRequest) throws {
        guard let caller = request.blockedCaller else {
            preconditionFailure("submitAndWait takes a request made with WriteRequest(_:)")
        }
        condition.lock()
        if stopping {
            condition.unlock()
            throw GroupCommitWriter.closedError
        }
        let signal: CommitSignal
        if let open = openSignal {
            signal = open
        } else {
            signal = CommitSignal()
            openSignal = signal
        }
        caller.signal = signal
        queue.append(request)
        wakeWriter()
        condition.unlock()
        signal.wait(for: caller)
        if let error = caller.error { throw error }
    }

    private static var closedError: LedgerError { LedgerError("ledger_closed", "the ledger is closed", kind: .badInput) }

    // MARK: - The writer thread

    private func nextBatch() -> [WriteRequest]? {
        condition.lock()
        defer { condition.unlock() }
        takenWhilePolling = false
        if queue.isEmpty && !stopping && pollAfterBatch {
            // Bounded by the clock, not by a count: yielding lets the caller we just resumed (or another tenant) run.
            let until = DispatchTime.now().uptimeNanoseconds &+ pollNanos
            repeat {
                condition.unlock()
                sched_yield()
                condition.lock()
            } while queue.isEmpty && !stopping && DispatchTime.now().uptimeNanoseconds < until
            takenWhilePolling = !queue.isEmpty
        }
        var slept: UInt64 = 0
        if queue.isEmpty && !stopping {
            let asleep = DispatchTime.now().uptimeNanoseconds
            while queue.isEmpty && !stopping {
                writerWaiting = true
                condition.wait()
            }
            slept = DispatchTime.now().uptimeNanoseconds &- asleep
        }
        writerWaiting = false
        pollAfterBatch = pollNanos > 0 && slept < Self.steadyTrafficGapNanos
        if queue.isEmpty { return nil }
        // Take requests while their events fit in maxBatch (always at least one request).
        var taken = 0, weight = 0
        while taken < queue.count {
            let w = queue[taken].weight
            // Maintenance (an operator's rebuild) runs in a batch of its own: it skips the checkpoint check it repairs.
            if taken > 0 && (weight + w > maxBatch || queue[0].isMaintenance || queue[taken].isMaintenance) { break }
            weight += w
            taken += 1
        }
        // Blocking callers queued from now on share a new signal: a generation never outlives the batches that hold
        // its requests, so its broadcasts wake few callers whose batch is still to come.
        openSignal = nil
        if taken == queue.count {
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        let batch = Array(queue.prefix(taken))
        queue.removeFirst(taken)
        return batch
    }

    private func run() {
        // The log and the projections are the writer thread's own: locals here, passed `inout`, not properties of this
        // class, whose every access the runtime checks for exclusivity (7.5 % of the writer's samples at 4,096 tasks).
        var appender = Appender(log: EventLog(schema: schema), projector: schema.makeProjector(), clock: clock)
        while let batch = nextBatch() {
            let started = DispatchTime.now().uptimeNanoseconds
            var bodyEnded = started
            var outcomes: [Error?] = []
            var newHead = head
            var hasCommand = false
            // False for a batch that appended nothing and maintained nothing: its transaction changes no page.
            var wrote = false
            var startSeq: UInt64 = 0
            // Whether the decision cache's facts may change in this batch: its kept facts are then not used until the
            // transaction has ended (see `DecisionCache`).
            var changingFacts = false
            var transactionID = 0
            do {
                defer {
                    if changingFacts { decisionCache?.endChange() }
                }
                try environment.write { txn in
                    // Re-run from scratch if LMDB asks (map growth): state lives only in these locals.
                    outcomes.removeAll(keepingCapacity: true)
                    outcomes.reserveCapacity(batch.count)
                    // Another process may have appended since our last batch: the txn's own view is the truth.
                    newHead = try EventLog.head(schema: schema, in: txn)
                    startSeq = newHead.seq
                    transactionID = txn.id
                    if let cache = decisionCache {
                        // An id the writer did not expect: another writer committed since our last batch, and what it
                        // changed is unknown. The facts read before are dropped before its commit is accounted for.
                        if transactionID != ownTransactionID &+ 1, !changingFacts {
                            cache.beginChange()
                            changingFacts = true
                        }
                        // This transaction's own id is accounted for only once it has committed: one that writes
                        // nothing or fails leaves the id to the next writer, which may be another process.
                        cache.account(upTo: transactionID &- 1)
                    }
                    // Checkpoints that disagree with the head mean the log was cut or extended behind the writer's
                    // back: refuse rather than append on top of it (a few meta reads per batch, nothing per event).
                    if !(batch.count == 1 && batch[0].isMaintenance) {
                        try CheckpointStatus.requireAgreement(head: newHead.seq, keys: schema.checkpointKeys, schema: schema, txn: txn)
                    }
                    hasCommand = false
                    // Whether a command appended events that change what decisions read (`DecisionCache.changesKeptFacts`),
                    // or a rebuild ran.
                    var factsChanged = false
                    // The open segment's entries stay in the projector between batches (they are not stored); after a
                    // failed batch or a head moved by another process, its first event does not follow them and
                    // `apply` forgets them.
                    appender.projector.beginBatch()
                    let store = LMDBStore(txn: txn, schema: schema)
                    // One clock read, at the batch's first use, stamps all its uses (a read per use was 5 % of the
                    // writer's time): they become visible together, and `append` keeps the times non-decreasing.
                    var usesTime: Timestamp?
                    for request in batch {
                        switch request.job {
                        case .use(let company, let use):
                            if usesTime == nil { usesTime = clock.now() }
                            try appender.appendUse(company: company, use, at: usesTime, head: &newHead, store: store)
                            outcomes.append(nil)
                        case .uses(let list):
                            if usesTime == nil { usesTime = clock.now() }
                            for (company, use) in list {
                                try appender.appendUse(company: company, use, at: usesTime, head: &newHead, store: store)
                            }
                            outcomes.append(nil)
                        case .command(let command):
                            hasCommand = true
                            // The command decides from what it reads and only stages events: whatever it throws
                            // there has written nothing. Its events are appended (log, projections) in a child
                            // transaction, so a failure halfway through them undoes exactly this command's writes.
                            // A refusal or a command with nothing to append (an introspection) costs no child.
                            var context = BatchContext(store: store, now: max(clock.now(), newHead.timestamp), random: random,
                                                       lifetimes: lifetimes, nextSeq: newHead.seq + 1)
                            do {
                                try command.run(&context)
                            } catch {
                                if LMDBError.mapFull ~= error { throw error }
                                outcomes.append(GroupCommitWriter.requestError(error))
                                continue
                            }
                            if context.staged.isEmpty {
                                outcomes.append(nil)
                                continue
                            }
                            let outcome = try appender.isolated(txn, schema: schema, head: &newHead) { appender, child, head in
                                for e in context.staged {
                                    try appender.append(company: e.company, actor: e.actor, e.payload, head: &head, store: child, at: context.now)
                                }
                            }
                            if outcome == nil, context.staged.contains(where: { DecisionCache.changesKeptFacts($0.payload.type) }) {
                                factsChanged = true
                            }
                            outcomes.append(outcome)
                        case .maintenance(let job):
                            // No child: maintenance runs alone in its batch, so the batch is its isolation, and a
                            // rebuild rewrites whole tables (a child would copy and merge their page lists).
                            hasCommand = true
                            factsChanged = true
                            for payload in try job.run(store, &appender.projector) {
                                try appender.append(company: 0, actor: .system, payload, head: &newHead, store: store)
                            }
                            outcomes.append(nil)
                        }
                    }
                    // A batch that appended nothing (only refused commands, or reads such as an introspection) writes
                    // nothing: with no dirty page, LMDB's commit neither writes nor syncs.
                    wrote = newHead.seq != startSeq || batch[0].isMaintenance
                    if wrote {
                        try appender.projector.flush(to: store)
                        try writeCheckpoints(newHead.seq, txn: txn)
                    }
                    // A command's events (or a rebuild) may change what decisions read: kept facts stop being used
                    // before the commit makes the change visible. Uses change none of them, nor do the events that
                    // only add rows no kept decision read (a token issued, a consent, a refused OAuth request logged:
                    // `DecisionCache.changesKeptFacts`), and a command that appended nothing (a refusal, an
                    // introspection) changes nothing: none of these drops the kept facts, even in a batch with others.
                    if factsChanged, !changingFacts, let cache = decisionCache {
                        cache.beginChange()
                        changingFacts = true
                    }
                    bodyEnded = DispatchTime.now().uptimeNanoseconds
                }
                // The batch is committed: whatever its fsync does now, its events exist and its callers get their
                // results (a created key's secret included). A failure is counted and the next batch syncs again.
                if durability == .ackBeforeSync && hasCommand && wrote { syncAfterCommit() }
                let committed = DispatchTime.now().uptimeNanoseconds
                // A transaction that wrote nothing commits nothing (LMDB keeps its id for the next one).
                if wrote {
                    ownTransactionID = transactionID
                    decisionCache?.account(upTo: transactionID)
                }
                let appended = newHead.seq &- startSeq
                headLock.withLock {
                    committedHead = newHead
                    counters.batches += 1
                    counters.requests += batch.count
                    counters.events += appended
                    counters.applyNanos += bodyEnded &- started
                    counters.commitNanos += committed &- bodyEnded
                    if takenWhilePolling { counters.takenWhilePolling += 1 }
                }
            } catch {
                appender.projector.discard()
                let reported: Error = (error as? LMDBError).map { LedgerError.storage($0, "the batch was not written") } ?? error
                outcomes = Array(repeating: reported, count: batch.count)
            }
            let ended = CommittedBatch(requests: batch, outcomes: outcomes)
            if acknowledgesItself(batch) {
                // Counted before the callers are resumed: one that reads the statistics next must see its batch.
                headLock.withLock { counters.inlineAcknowledgedBatches += 1 }
                let ackStarted = DispatchTime.now().uptimeNanoseconds
                deliver(ended)
                let spent = DispatchTime.now().uptimeNanoseconds &- ackStarted
                headLock.withLock { counters.ackNanos += spent }
            } else {
                enqueueAcknowledgements(ended)
            }
            if durability == .ackBeforeSync { syncAfterCommit() }
        }
        // Drain the acknowledgements before reporting the writer stopped.
        ackCondition.lock()
        ackStopping = true
        ackCondition.signal()
        ackCondition.unlock()
        ackFinished.wait()
        finished.signal()
    }

    /// A failed request's error for its caller: a storage failure as its stable `LedgerError` code (as a failed batch
    /// reports it); anything else (a `LedgerError`, a codec or projection error) as thrown.
    static func requestError(_ error: Error) -> Error {
        (error as? LMDBError).map { LedgerError.storage($0, "the request was not written") } ?? error
    }

    /// `ackBeforeSync`: flushes committed batches; a failure is recorded, never reported as the batch's outcome.
    private func syncAfterCommit() {
        do {
            try environment.sync(force: true)
        } catch {
            let message = "\(error)"
            headLock.withLock {
                counters.syncFailures += 1
                counters.lastSyncFailure = message
            }
        }
    }

    /// Moves every projection's checkpoint to `seq`. A well-formed checkpoint row is patched in place (its
    /// `lastSeq` field only, as the decode/encode round trip would); anything else goes through the codec.
    private func writeCheckpoints(_ seq: UInt64, txn: borrowing Transaction) throws {
        for (p, key) in schema.checkpointKeys {
            let patched: Bool = try key.withUnsafeBytes { k in
                guard let stored = try txn.get(schema.meta, k), stored.count == Meta.Checkpoint.size else { return false }
                var row: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
                return try withUnsafeMutableBytes(of: &row) { raw in
                    raw.baseAddress!.copyMemory(from: stored.baseAddress!, byteCount: Meta.Checkpoint.size)
                    raw.storeBytes(of: seq.bigEndian, toByteOffset: Meta.Checkpoint.lastSeqOffset, as: UInt64.self)
                    try txn.put(schema.meta, k, UnsafeRawBufferPointer(rebasing: raw[0..<Meta.Checkpoint.size]))
                    return true
                }
            }
            if patched { continue }
            var checkpoint = try txn.get(schema.meta, key).flatMap(Meta.Checkpoint.init)
                ?? Meta.Checkpoint(codeVersion: p.codeVersion, lastSeq: 0, digestSeq: 0, digest: .zero)
            checkpoint.lastSeq = seq
            try txn.put(schema.meta, key, checkpoint.bytes)
        }
    }

    // MARK: - The acknowledgement thread

    /// Whether the writer acknowledges `batch` itself: a few requests, none with a completion closure (caller code
    /// stays off the writer thread), and the acknowledgement thread idle with nothing queued (so the commit order
    /// of acknowledgements holds).
    private func acknowledgesItself(_ batch: [WriteRequest]) -> Bool {
        guard batch.count <= Self.inlineAcknowledgementLimit else { return false }
        for request in batch {
            if case .call = request.acknowledgement { return false }
        }
        ackCondition.lock()
        defer { ackCondition.unlock() }
        return ackQueue.isEmpty && !ackBusy
    }

    private func enqueueAcknowledgements(_ batch: CommittedBatch) {
        ackCondition.lock()
        ackQueue.append(batch)
        ackCondition.signal()
        ackCondition.unlock()
    }

    /// Completes committed batches in order: completion closures are called, blocking callers' outcomes stored
    /// and their signals told how many of their requests are done.
    private func acknowledge() {
        var pending: [CommittedBatch] = []
        while true {
            ackCondition.lock()
            ackBusy = false
            while ackQueue.isEmpty && !ackStopping { ackCondition.wait() }
            if ackQueue.isEmpty {
                ackCondition.unlock()
                break
            }
            swap(&pending, &ackQueue)
            ackBusy = true
            ackCondition.unlock()
            let started = DispatchTime.now().uptimeNanoseconds
            for batch in pending { deliver(batch) }
            pending.removeAll(keepingCapacity: true)
            let spent = DispatchTime.now().uptimeNanoseconds &- started
            headLock.withLock { counters.ackNanos += spent }
        }
        ackFinished.signal()
    }

    /// Gives every caller of a committed batch its outcome, in order (on the acknowledgement thread, or on the writer
    /// for a batch it acknowledges itself).
    private func deliver(_ batch: CommittedBatch) {
        var blocking = false
        for (request, outcome) in zip(batch.requests, batch.outcomes) {
            request.complete(outcome)
            if case .wake = request.acknowledgement { blocking = true }
        }
        guard blocking else { return }
        // Blocking requests of one generation are consecutive (FIFO): one lock and one broadcast per run.
        var open: CommitSignal?
        for request in batch.requests {
            guard let caller = request.blockedCaller, let signal = caller.signal else { continue }
            if open !== signal {
                open?.endMarking()
                signal.beginMarking()
                open = signal
            }
            signal.markDone(caller)
        }
        open?.endMarking()
    }
}

/// The writer thread's event log and projector, and how a batch appends to them (`GroupCommitWriter.run` owns one).
private struct Appender {
    var log: EventLog
    var projector: Projector
    let clock: any LedgerClock

    /// A recorded decision: one `credential_used` event.
    @inline(__always)
    mutating func appendUse(company: UInt32, _ use: CredentialUse, at time: Timestamp?, head: inout ChainHead, store: LMDBStore) throws {
        let actor: Actor = use.credential == 0 ? .system : .credential(use.credential)
        try append(company: company, actor: actor, .credentialUsed(use), head: &head, store: store, at: time)
    }

    mutating func append(company: UInt32, actor: Actor, _ payload: EventPayload, head: inout ChainHead, store: LMDBStore,
                         at time: Timestamp? = nil) throws {
        let t = max(time ?? clock.now(), head.timestamp)
        let event = Event(seq: head.seq + 1, timestamp: t, company: company, actor: actor, payload: payload)
        try log.append(event, head: &head, in: store.txn)
        try projector.apply(event, hash: head.hash, to: store)
    }

    /// Appends one command's events in a child transaction of the batch: its events and projection writes stay only
    /// if `body` returns. Any error it throws undoes its writes, the projector's accumulation of its events and the
    /// head, and becomes its own outcome; `MDB_MAP_FULL` is rethrown, so the whole batch runs again on a grown map.
    mutating func isolated(_ txn: borrowing Transaction, schema: Schema, head: inout ChainHead,
                           _ body: (inout Appender, LMDBStore, inout ChainHead) throws -> Void) throws -> (any Error)? {
        let mark = projector.mark
        let before = head
        do {
            try txn.nested { child in
                try body(&self, LMDBStore(txn: child, schema: schema), &head)
            }
            return nil
        } catch {
            head = before
            projector.rollBack(to: mark)
            if LMDBError.mapFull ~= error { throw error }
            return GroupCommitWriter.requestError(error)
        }
    }
}
