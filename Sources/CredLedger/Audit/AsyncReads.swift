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
                // Named from inside and again from here once started (15 bytes at most): on Linux a name set before
                // `start` does not reach the thread, and one set inside before `start` returned here is dropped too (the
                // thread keeps the name it inherited from the thread that started the pool).
                let name = "credledger-rd-\(i)"
                let thread = Thread { [self] in work(name: name) }
                thread.start()
                thread.name = name
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
