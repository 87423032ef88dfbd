import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// How a use is acknowledged.
public enum Durability: Sendable {
    /// Acknowledge after the batch's commit is fsync'd (default): an acknowledged event survives power loss.
    case sync
    /// Acknowledge after commit, fsync right after: a crash can lose at most the last batch.
    case ackBeforeSync
}

/// The single LMDB writer: one dedicated thread, many callers, one durable commit per batch.
/// Every write transaction begins and commits on this thread (LMDB's rule).
///
/// Acknowledgements run on a second thread: once a batch has committed (durably), the writer hands it over and
/// starts the next batch, so waking callers (one broadcast per batch for blocking callers, one completion call per
/// request for async ones) overlaps the next batch's work and fsync instead of delaying it.
final class GroupCommitWriter: @unchecked Sendable {
    private let environment: Environment
    private let schema: Schema
    private let clock: any LedgerClock
    private let random: any RandomBytesGenerator
    private let durability: Durability
    private let maxBatch: Int

    private let condition = NSCondition()
    private var queue: [WriteRequest] = []
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// The signal of blocking requests queued since the writer last took the whole queue (under `condition`).
    private var openSignal: CommitSignal?
    private var openSignalCount = 0

    /// Committed batches waiting for their acknowledgements, and the thread that sends them.
    private let ackCondition = NSCondition()
    private var ackQueue: [CommittedBatch] = []
    private var ackStopping = false
    private let ackFinished = DispatchSemaphore(value: 0)

    /// Only touched on the writer thread (and read under `headLock`).
    private var log: EventLog
    private var projector = Projector()
    private let headLock = NSLock()
    private var committedHead: ChainHead

    /// Batches committed, requests and events written, time spent (under `headLock`).
    private var counters = WriterStatistics()
    var statistics: WriterStatistics { headLock.withLock { counters } }

    /// A batch whose transaction ended: its requests and their outcomes (nil = success).
    private struct CommittedBatch {
        var requests: [WriteRequest]
        var outcomes: [Error?]
    }

    init(environment: Environment, schema: Schema, head: ChainHead, clock: any LedgerClock,
         random: any RandomBytesGenerator, durability: Durability, maxBatch: Int) {
        self.environment = environment
        self.schema = schema
        self.committedHead = head
        self.clock = clock
        self.random = random
        self.durability = durability
        self.maxBatch = maxBatch
        self.log = EventLog(schema: schema)
    }

    var head: ChainHead { headLock.withLock { committedHead } }

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

    /// Queues a request whose caller gets its completion closure.
    func submit(_ request: WriteRequest) {
        condition.lock()
        if stopping {
            condition.unlock()
            request.complete(GroupCommitWriter.closedError)
            return
        }
        queue.append(request)
        condition.signal()
        condition.unlock()
    }

    /// Queues requests whose callers get their completion closures.
    func submit(_ requests: [WriteRequest]) {
        condition.lock()
        if stopping {
            condition.unlock()
            for r in requests { r.complete(GroupCommitWriter.closedError) }
            return
        }
        queue.append(contentsOf: requests)
        condition.signal()
        condition.unlock()
    }

    /// Queues a request made with `WriteRequest(_:)` and blocks until its batch is durable (or failed).
    func submitAndWait(_ request: WriteRequest) throws {
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
        openSignalCount += 1
        request.signal = signal
        queue.append(request)
        condition.signal()
        condition.unlock()
        signal.wait()
        if let error = request.error { throw error }
    }

    private static var closedError: LedgerError { LedgerError("ledger_closed", "the ledger is closed", kind: .badInput) }

    // MARK: - The writer thread

    private func nextBatch() -> [WriteRequest]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopping { condition.wait() }
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
        if taken == queue.count {
            // Everything queued so far is taken: the open generation of blocking callers is complete in size.
            if let signal = openSignal {
                signal.close(total: openSignalCount)
                openSignal = nil
                openSignalCount = 0
            }
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        let batch = Array(queue.prefix(taken))
        queue.removeFirst(taken)
        return batch
    }

    private func run() {
        while let batch = nextBatch() {
            let started = DispatchTime.now().uptimeNanoseconds
            var bodyEnded = started
            var outcomes: [Error?] = []
            var newHead = head
            var hasCommand = false
            // False for a batch that appended nothing and maintained nothing: its transaction changes no page.
            var wrote = false
            var startSeq: UInt64 = 0
            do {
                try environment.write { txn in
                    // Re-run from scratch if LMDB asks (map growth): state lives only in these locals.
                    outcomes.removeAll(keepingCapacity: true)
                    outcomes.reserveCapacity(batch.count)
                    // Another process may have appended since our last batch: the txn's own view is the truth.
                    newHead = try EventLog.head(schema: schema, in: txn)
                    startSeq = newHead.seq
                    // Checkpoints that disagree with the head mean the log was cut or extended behind the writer's
                    // back: refuse rather than append on top of it (a few meta reads per batch, nothing per event).
                    if !(batch.count == 1 && batch[0].isMaintenance) {
                        try CheckpointStatus.requireAgreement(head: newHead.seq, keys: GroupCommitWriter.checkpointKeys, schema: schema, txn: txn)
                    }
                    hasCommand = false
                    projector.discard()
                    let store = LMDBStore(txn: txn, schema: schema)
                    for request in batch {
                        switch request.job {
                        case .use(let company, let use):
                            try appendUse(company: company, use, head: &newHead, store: store)
                            outcomes.append(nil)
                        case .uses(let list):
                            for (company, use) in list {
                                try appendUse(company: company, use, head: &newHead, store: store)
                            }
                            outcomes.append(nil)
                        case .command(let body):
                            hasCommand = true
                            var context = BatchContext(store: store, now: max(clock.now(), newHead.timestamp), random: random,
                                                       nextSeq: newHead.seq + 1)
                            do {
                                try body(&context)
                            } catch let error as LedgerError {
                                outcomes.append(error)
                                continue
                            }
                            for e in context.staged {
                                try append(company: e.company, actor: e.actor, e.payload, head: &newHead, store: store, at: context.now)
                            }
                            outcomes.append(nil)
                        case .maintenance(let body):
                            hasCommand = true
                            for payload in try body(store, &projector) {
                                try append(company: 0, actor: .system, payload, head: &newHead, store: store)
                            }
                            outcomes.append(nil)
                        }
                    }
                    // A batch that appended nothing (only refused commands, or reads such as an introspection) writes
                    // nothing: with no dirty page, LMDB's commit neither writes nor syncs.
                    wrote = newHead.seq != startSeq || batch[0].isMaintenance
                    if wrote {
                        try projector.flush(to: store)
                        try writeCheckpoints(newHead.seq, txn: txn)
                    }
                    bodyEnded = DispatchTime.now().uptimeNanoseconds
                }
                if durability == .ackBeforeSync && hasCommand && wrote { try environment.sync(force: true) }
                let committed = DispatchTime.now().uptimeNanoseconds
                let appended = newHead.seq &- startSeq
                headLock.withLock {
                    committedHead = newHead
                    counters.batches += 1
                    counters.requests += batch.count
                    counters.events += appended
                    counters.applyNanos += bodyEnded &- started
                    counters.commitNanos += committed &- bodyEnded
                }
            } catch {
                projector.discard()
                let reported: Error = (error as? LMDBError).map { LedgerError.storage($0, "the batch was not written") } ?? error
                outcomes = Array(repeating: reported, count: batch.count)
            }
            enqueueAcknowledgements(CommittedBatch(requests: batch, outcomes: outcomes))
            if durability == .ackBeforeSync { try? environment.sync(force: true) }
        }
        // Drain the acknowledgements before reporting the writer stopped.
        ackCondition.lock()
        ackStopping = true
        ackCondition.signal()
        ackCondition.unlock()
        ackFinished.wait()
        finished.signal()
    }

    /// A recorded decision: one `credential_used` event.
    @inline(__always)
    private func appendUse(company: UInt32, _ use: CredentialUse, head: inout ChainHead, store: LMDBStore) throws {
        let actor: Actor = use.credential == 0 ? .system : .credential(use.credential)
        try append(company: company, actor: actor, .credentialUsed(use), head: &head, store: store)
    }

    private func append(company: UInt32, actor: Actor, _ payload: EventPayload, head: inout ChainHead, store: LMDBStore,
                        at time: Timestamp? = nil) throws {
        let t = max(time ?? clock.now(), head.timestamp)
        let event = Event(seq: head.seq + 1, timestamp: t, company: company, actor: actor, payload: payload)
        try log.append(event, head: &head, in: store.txn)
        try projector.apply(event, to: store)
    }

    /// The `meta` keys of the projections' checkpoints, built once.
    private static let checkpointKeys: [(ProjectionName, [UInt8])] = ProjectionName.allCases.map { ($0, Meta.projectionKey($0)) }

    /// Moves every projection's checkpoint to `seq`. A well-formed checkpoint row is patched in place (its
    /// `lastSeq` field only, as the decode/encode round trip would); anything else goes through the codec.
    private func writeCheckpoints(_ seq: UInt64, txn: borrowing Transaction) throws {
        for (p, key) in GroupCommitWriter.checkpointKeys {
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
            while ackQueue.isEmpty && !ackStopping { ackCondition.wait() }
            if ackQueue.isEmpty {
                ackCondition.unlock()
                break
            }
            swap(&pending, &ackQueue)
            ackCondition.unlock()
            let started = DispatchTime.now().uptimeNanoseconds
            for batch in pending {
                var run: (signal: CommitSignal, count: Int)?
                for (request, outcome) in zip(batch.requests, batch.outcomes) {
                    request.complete(outcome)
                    guard let signal = request.signal else { continue }
                    if let current = run, current.signal === signal {
                        run!.count += 1
                    } else {
                        if let current = run { current.signal.complete(current.count) }
                        run = (signal, 1)
                    }
                }
                if let current = run { current.signal.complete(current.count) }
            }
            pending.removeAll(keepingCapacity: true)
            let spent = DispatchTime.now().uptimeNanoseconds &- started
            headLock.withLock { counters.ackNanos += spent }
        }
        ackFinished.signal()
    }

    // MARK: - Commands

    /// Runs operator work on the writer thread in its own batch position and waits for the commit.
    func maintain(_ body: @escaping (LMDBStore, inout Projector) throws -> [EventPayload]) throws {
        try submitAndWait(WriteRequest(.maintenance(body)))
    }

    /// Runs one command and waits for its batch to be durable; the command's own result comes back.
    func perform<R>(_ body: @escaping (inout BatchContext) throws -> R) throws -> R {
        let box = ResultBox<R>()
        try submitAndWait(WriteRequest(.command { context in box.value = try body(&context) }))
        guard let value = box.value else { throw LedgerError("internal", "command finished without a result", kind: .integrity) }
        return value
    }
}

final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
