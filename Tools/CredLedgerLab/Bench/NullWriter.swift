import CredLedger
import CredLedgerCore
import Foundation

/// The group-commit writer's shape with no ledger work in it (issue 15): the limit of the per-request async API on
/// this machine, measured in the same run as the ledger's rows.
///
/// Callers queue their continuation itself (a plain value, as the library's `WriteRequest` does) under a lock; one thread
/// takes the whole queue, makes the batch durable the cheapest honest way — one 4 KiB `pwrite` at one of 16
/// preallocated page offsets of a scratch file, then `fdatasync` (the rate of section 9's probe) — and hands the
/// batch to a second thread that resumes every continuation, in batch order. The raw baseline's LMDB commit for the same
/// batch writes more (the batch's pages, then the meta page, each synced), so this is an upper bound: what the tasks,
/// continuations and acknowledgements allow when durability costs only one small synced write per batch.
/// Written here, not imported: the lab measures the shape, the library's writer stays internal.
///
/// Blocking callers (`submitAndWait`, the `threads` rows' limit) wait as the ledger's blocking `record` does in
/// `GroupCommitWriter.submitAndWait`: a caller object per request, a condition shared by the callers queued between two
/// batches (a generation), one lock and one broadcast per generation and batch on the acknowledgement thread.
final class NullWriter: @unchecked Sendable {
    /// One queued use, acknowledged on the acknowledgement thread once the batch is durable (or failed): an async
    /// caller's continuation, resumed, or a blocked caller, marked done and woken with its generation.
    enum Request {
        case resume(UnsafeContinuation<Void, any Error>)
        case wake(BlockedCaller)
    }

    /// A blocked caller's outcome and whether it is done (under its generation's condition).
    final class BlockedCaller: @unchecked Sendable {
        let generation: Generation
        var error: Error?
        var isDone = false
        init(_ generation: Generation) { self.generation = generation }
    }

    /// The condition the callers queued between two batches wait on.
    final class Generation: @unchecked Sendable {
        let condition = NSCondition()
    }

    static let pageSize = 4096
    static let pages = 16

    private let fd: Int32
    private let path: String
    private let condition = NSCondition()
    private var queue: [Request] = []
    /// The generation blocking callers queued now join (a new one after the writer takes the queue).
    private var openGeneration: Generation?
    private var stopping = false
    private let ackCondition = NSCondition()
    private var ackQueue: [(requests: [Request], error: Error?)] = []
    private var ackStopping = false
    private let writerFinished = DispatchSemaphore(value: 0)
    private let ackFinished = DispatchSemaphore(value: 0)
    private var started = false
    private let countersLock = NSLock()
    private var counters = WriterStatistics()

    /// Creates the scratch file `path` with its 16 pages written and synced, so a batch's `pwrite` never grows it.
    init(path: String) throws {
        fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0o600)
        guard fd >= 0 else { throw LedgerError("bench_failed", "null writer: cannot create \(path) (errno \(errno))", kind: .badInput) }
        self.path = path
        let page = [UInt8](repeating: 0x4E, count: NullWriter.pageSize * NullWriter.pages)
        let written = page.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == page.count, fdatasync(fd) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw LedgerError("bench_failed", "null writer: cannot write \(path) (errno \(code))", kind: .badInput)
        }
    }

    /// Batches, requests (= events: one per request), time taking the queue (`applyNanos`), in `pwrite`+`fdatasync`
    /// (`commitNanos`) and calling completions (`ackNanos`), as the ledger's writer counts them.
    var statistics: WriterStatistics { countersLock.withLock { counters } }

    func start() {
        started = true
        let acker = Thread { [self] in acknowledge() }
        acker.name = "null-writer-ack"
        acker.stackSize = 1 << 20
        acker.start()
        let writer = Thread { [self] in run() }
        writer.name = "null-writer"
        writer.stackSize = 1 << 20
        writer.start()
    }

    /// Completes what is queued, stops both threads, and removes the scratch file.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        if started { writerFinished.wait() }
        close(fd)
        unlink(path)
    }

    private static var stoppedError: LedgerError { LedgerError("bench_failed", "null writer stopped", kind: .badInput) }

    /// Queues one async request (resumed with an error if the writer has stopped).
    func submit(_ continuation: UnsafeContinuation<Void, any Error>) {
        condition.lock()
        if stopping {
            condition.unlock()
            continuation.resume(throwing: NullWriter.stoppedError)
            return
        }
        queue.append(.resume(continuation))
        condition.signal()
        condition.unlock()
    }

    /// Queues one request and blocks the calling thread until its batch is durable (throws if it failed or the writer
    /// has stopped).
    func submitAndWait() throws {
        condition.lock()
        if stopping {
            condition.unlock()
            throw NullWriter.stoppedError
        }
        let generation: Generation
        if let open = openGeneration {
            generation = open
        } else {
            generation = Generation()
            openGeneration = generation
        }
        let caller = BlockedCaller(generation)
        queue.append(.wake(caller))
        condition.signal()
        condition.unlock()
        generation.condition.lock()
        while !caller.isDone { generation.condition.wait() }
        generation.condition.unlock()
        if let error = caller.error { throw error }
    }

    private func run() {
        var batch: [Request] = []
        var page = 0
        let bytes = [UInt8](repeating: 0x55, count: NullWriter.pageSize)
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                break
            }
            let t0 = BenchClock.nanos()
            // The whole queue, as the ledger's writer takes it (its batch cap is far above these caller counts).
            swap(&batch, &queue)
            // Blocking callers queued from now on wait on a new generation, as in the ledger's writer.
            openGeneration = nil
            condition.unlock()
            let t1 = BenchClock.nanos()
            let offset = off_t(NullWriter.pageSize * page)
            page = (page + 1) % NullWriter.pages
            var error: Error?
            let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
            if written != NullWriter.pageSize || fdatasync(fd) != 0 {
                error = LedgerError("bench_failed", "null writer: pwrite or fdatasync failed (errno \(errno))", kind: .badInput)
            }
            let t2 = BenchClock.nanos()
            let n = batch.count
            countersLock.withLock {
                counters.batches += 1
                counters.requests += n
                counters.events += UInt64(n)
                counters.applyNanos += t1 &- t0
                counters.commitNanos += t2 &- t1
            }
            ackCondition.lock()
            ackQueue.append((batch, error))
            ackCondition.signal()
            ackCondition.unlock()
            // The array went to the acknowledgement thread; the next batch swaps into a fresh one.
            batch = []
            batch.reserveCapacity(n)
        }
        ackCondition.lock()
        ackStopping = true
        ackCondition.signal()
        ackCondition.unlock()
        ackFinished.wait()
        writerFinished.signal()
    }

    private func acknowledge() {
        var pending: [(requests: [Request], error: Error?)] = []
        while true {
            ackCondition.lock()
            while ackQueue.isEmpty && !ackStopping { ackCondition.wait() }
            if ackQueue.isEmpty {
                ackCondition.unlock()
                break
            }
            swap(&pending, &ackQueue)
            ackCondition.unlock()
            let t0 = BenchClock.nanos()
            for (requests, error) in pending {
                // Blocked callers of one generation are consecutive: one lock and one broadcast per run of them.
                var open: Generation?
                for request in requests {
                    switch request {
                    case .resume(let continuation):
                        if let error { continuation.resume(throwing: error) } else { continuation.resume() }
                    case .wake(let caller):
                        if open !== caller.generation {
                            open?.condition.broadcast()
                            open?.condition.unlock()
                            caller.generation.condition.lock()
                            open = caller.generation
                        }
                        caller.error = error
                        caller.isDone = true
                    }
                }
                open?.condition.broadcast()
                open?.condition.unlock()
            }
            pending.removeAll(keepingCapacity: true)
            let spent = BenchClock.nanos() &- t0
            countersLock.withLock { counters.ackNanos += spent }
        }
        ackFinished.signal()
    }
}
