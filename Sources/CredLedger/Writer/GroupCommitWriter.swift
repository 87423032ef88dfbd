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

    /// Only touched on the writer thread (and read under `headLock`).
    private var log: EventLog
    private var projector = Projector()
    private let headLock = NSLock()
    private var committedHead: ChainHead

    /// Batches committed, requests and events written (under `headLock`).
    private var counters = WriterStatistics()
    var statistics: WriterStatistics { headLock.withLock { counters } }

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
        let thread = Thread { [self] in run() }
        thread.name = "credledger-writer"
        thread.stackSize = 4 << 20
        self.thread = thread
        thread.start()
    }

    /// Finishes queued work, then stops the thread.
    func stop() {
        condition.lock()
        let wasRunning = thread != nil && !stopping
        stopping = true
        condition.broadcast()
        condition.unlock()
        if wasRunning { finished.wait() }
    }

    func submit(_ request: WriteRequest) {
        condition.lock()
        if stopping {
            condition.unlock()
            request.complete(LedgerError("ledger_closed", "the ledger is closed", kind: .badInput))
            return
        }
        queue.append(request)
        condition.signal()
        condition.unlock()
    }

    func submit(_ requests: [WriteRequest]) {
        condition.lock()
        if stopping {
            condition.unlock()
            for r in requests { r.complete(LedgerError("ledger_closed", "the ledger is closed", kind: .badInput)) }
            return
        }
        queue.append(contentsOf: requests)
        condition.signal()
        condition.unlock()
    }

    private func nextBatch() -> [WriteRequest]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopping { condition.wait() }
        if queue.isEmpty { return nil }
        // Take requests while their events fit in maxBatch (always at least one request).
        var taken = 0, weight = 0
        while taken < queue.count {
            let w = queue[taken].weight
            if taken > 0 && weight + w > maxBatch { break }
            weight += w
            taken += 1
        }
        if taken == queue.count {
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        let batch = Array(queue.prefix(taken))
        queue.removeFirst(taken)
        return batch
    }

    private func run() {
        while let batch = nextBatch() {
            var outcomes: [Error?] = []
            var newHead = head
            var hasCommand = false
            var startSeq: UInt64 = 0
            do {
                try environment.write { txn in
                    // Re-run from scratch if LMDB asks (map growth): state lives only in these locals.
                    outcomes = []
                    // Another process may have appended since our last batch: the txn's own view is the truth.
                    newHead = try EventLog.head(schema: schema, in: txn)
                    startSeq = newHead.seq
                    hasCommand = false
                    projector.discard()
                    let store = LMDBStore(txn: txn, schema: schema)
                    for request in batch {
                        switch request.job {
                        case .use(let company, let use):
                            let actor: Actor = use.credential == 0 ? .system : .credential(use.credential)
                            try append(company: company, actor: actor, .credentialUsed(use), head: &newHead, store: store)
                            outcomes.append(nil)
                        case .uses(let list):
                            for (company, use) in list {
                                let actor: Actor = use.credential == 0 ? .system : .credential(use.credential)
                                try append(company: company, actor: actor, .credentialUsed(use), head: &newHead, store: store)
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
                            try body(store, &projector)
                            outcomes.append(nil)
                        }
                    }
                    try projector.flush(to: store)
                    try writeCheckpoints(newHead.seq, txn: txn)
                }
                if durability == .ackBeforeSync && hasCommand { try environment.sync(force: true) }
                let appended = newHead.seq &- startSeq
                headLock.withLock {
                    committedHead = newHead
                    counters.batches += 1
                    counters.requests += batch.count
                    counters.events += appended
                }
            } catch {
                projector.discard()
                outcomes = Array(repeating: error, count: batch.count)
            }
            for (request, outcome) in zip(batch, outcomes) { request.complete(outcome) }
            if durability == .ackBeforeSync { try? environment.sync(force: true) }
        }
        finished.signal()
    }

    private func append(company: UInt32, actor: Actor, _ payload: EventPayload, head: inout ChainHead, store: LMDBStore,
                        at time: Timestamp? = nil) throws {
        let t = max(time ?? clock.now(), head.timestamp)
        let event = Event(seq: head.seq + 1, timestamp: t, company: company, actor: actor, payload: payload)
        try log.append(event, head: &head, in: store.txn)
        try projector.apply(event, to: store)
    }

    private func writeCheckpoints(_ seq: UInt64, txn: borrowing Transaction) throws {
        for p in ProjectionName.allCases {
            let key = Meta.projectionKey(p)
            var checkpoint = try txn.get(schema.meta, key).flatMap(Meta.Checkpoint.init)
                ?? Meta.Checkpoint(codeVersion: p.codeVersion, lastSeq: 0, digestSeq: 0, digest: .zero)
            checkpoint.lastSeq = seq
            try txn.put(schema.meta, key, checkpoint.bytes)
        }
    }

    /// Runs operator work on the writer thread in its own batch position and waits for the commit.
    func maintain(_ body: @escaping (LMDBStore, inout Projector) throws -> Void) throws {
        let ack = Acknowledgement()
        submit(WriteRequest(.maintenance(body)) { ack.signal($0) })
        try ack.wait()
    }

    /// Runs one command and waits for its batch to be durable; the command's own result comes back.
    func perform<R>(_ body: @escaping (inout BatchContext) throws -> R) throws -> R {
        let box = ResultBox<R>()
        let ack = Acknowledgement()
        submit(WriteRequest(.command { context in box.value = try body(&context) }) { ack.signal($0) })
        try ack.wait()
        guard let value = box.value else { throw LedgerError("internal", "command finished without a result", kind: .integrity) }
        return value
    }
}

final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
