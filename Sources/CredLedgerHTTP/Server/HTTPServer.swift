import CHTTPShim
import Foundation
import Glibc

/// The HTTP/1.1 server: `configuration.loops` event-loop threads, each with its own SO_REUSEPORT listener and
/// connections, running `handler` in a Task per request (docs/HTTP.md §1).
///
/// ```
/// HTTPServer.blockTerminationSignals()          // first thing in main, before any thread exists
/// let server = try HTTPServer(configuration, handler: router.handler)
/// server.shutdownOnTerminationSignals()
/// try server.start()
/// print(server.url)
/// await server.stopped()                       // returns after SIGTERM/SIGINT and the drain
/// ```
public final class HTTPServer: @unchecked Sendable {
    private struct State {
        var started = false
        var shuttingDown = false
        var finishedLoops = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var onSignal: (@Sendable (Int32) -> Void)?
    }

    public let configuration: HTTPServerConfiguration
    /// The port actually bound (the chosen one when the configuration asked for 0).
    public let port: UInt16
    private let counter: ConnectionCounter
    private let lock = NSCondition()
    private var state = State()
    private var loops: [EventLoop] = []
    private var threads: [Thread] = []

    /// Binds the listeners (one per loop, SO_REUSEPORT) without serving yet; ignores SIGPIPE for the process and
    /// raises the soft RLIMIT_NOFILE to the hard one. Throws `HTTPServerError` when the address cannot be bound.
    public init(_ configuration: HTTPServerConfiguration, handler: @escaping HTTPHandler) throws {
        precondition(configuration.loops >= 1, "at least one loop")
        chttp_ignore_sigpipe()
        let limit = chttp_raise_fd_limit()
        // Keep descriptors in reserve for the loops' own fds, the ledger's files and the EMFILE trick.
        let available = limit > 0 ? Int(limit) - 64 - 8 * configuration.loops : configuration.maxConnections
        self.configuration = configuration
        counter = ConnectionCounter(cap: max(1, min(configuration.maxConnections, available)))
        var listeners: [Int32] = []
        var bound: UInt16 = configuration.port
        for i in 0..<configuration.loops {
            var actual: UInt16 = 0
            let fd = chttp_listen(configuration.host, bound, configuration.backlog, 1, &actual)
            guard fd >= 0 else {
                let code = errno
                listeners.forEach { _ = chttp_close($0) }
                throw HTTPServerError(operation: "listen on \(configuration.host):\(bound)", code: code)
            }
            if i == 0 { bound = actual }
            listeners.append(fd)
        }
        port = bound
        do {
            for (i, fd) in listeners.enumerated() {
                loops.append(try EventLoop(index: i, listenerFD: fd, configuration: configuration, handler: handler,
                                           counter: counter, server: self))
            }
        } catch {
            for fd in listeners.dropFirst(loops.count) { _ = chttp_close(fd) }
            loops = []
            throw error
        }
    }

    /// `http://host:port` of the bound address.
    public var url: String {
        configuration.host.contains(":") ? "http://[\(configuration.host)]:\(port)" : "http://\(configuration.host):\(port)"
    }

    /// The connection cap in force (the configured one, lowered to fit RLIMIT_NOFILE).
    public var connectionCap: Int { counter.cap }

    /// Open connections across all loops.
    public var connectionCount: Int { counter.current }

    /// Blocks SIGTERM and SIGINT in the calling thread, so threads started afterwards inherit the mask and the
    /// signals reach only the signalfd. Call it first thing in `main`, before anything spawns a thread.
    public static func blockTerminationSignals() {
        _ = chttp_block_termination_signals(1)
    }

    /// Shuts the server down gracefully on SIGTERM or SIGINT (read through a signalfd on loop 0), calling
    /// `onSignal` first with the signal number. Requires `blockTerminationSignals()`; call before `start()`.
    public func shutdownOnTerminationSignals(_ onSignal: (@Sendable (Int32) -> Void)? = nil) throws {
        lock.lock()
        state.onSignal = onSignal
        lock.unlock()
        try loops[0].watchTerminationSignals()
    }

    /// Starts the loop threads.
    public func start() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !state.started else { return }
        state.started = true
        for loop in loops {
            let thread = Thread { [self] in
                // The loops never take terminal signals themselves (a signalfd reads them).
                _ = chttp_block_termination_signals(1)
                loop.run()
                loopFinished()
            }
            thread.name = "http-loop-\(loop.index)"
            thread.stackSize = 1 << 20
            threads.append(thread)
        }
        threads.forEach { $0.start() }
    }

    /// Graceful shutdown (any thread, idempotent): stop accepting, close idle connections, let requests in flight
    /// (and requests being received) finish with `Connection: close`, close everything after the drain timeout.
    public func shutdown() {
        lock.lock()
        let first = !state.shuttingDown
        state.shuttingDown = true
        let started = state.started
        lock.unlock()
        guard first else { return }
        if started {
            loops.forEach { $0.wake() }
        } else {
            finishAll()
        }
    }

    /// Blocks until every loop has stopped (after `shutdown()`).
    public func wait() {
        lock.lock()
        while state.finishedLoops < loops.count { lock.wait() }
        lock.unlock()
    }

    /// Returns when every loop has stopped (after `shutdown()`).
    public func stopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if state.finishedLoops >= loops.count {
                lock.unlock()
                continuation.resume()
            } else {
                state.waiters.append(continuation)
                lock.unlock()
            }
        }
    }

    var isShuttingDown: Bool {
        lock.lock()
        defer { lock.unlock() }
        return state.shuttingDown
    }

    /// pthread ids of the loop threads (tests direct a signal at loop 0).
    var loopThreads: [UInt64] { loops.map(\.thread) }

    func terminationSignalReceived(_ signal: Int32) {
        lock.lock()
        let callback = state.onSignal
        lock.unlock()
        callback?(signal)
        shutdown()
    }

    private func loopFinished() {
        lock.lock()
        state.finishedLoops += 1
        let waiters = state.finishedLoops >= loops.count ? state.waiters : []
        if !waiters.isEmpty { state.waiters = [] }
        lock.broadcast()
        lock.unlock()
        waiters.forEach { $0.resume() }
    }

    /// Never started: nothing runs, release the loops (and their listeners) at once.
    private func finishAll() {
        lock.lock()
        state.finishedLoops = loops.count
        let waiters = state.waiters
        state.waiters = []
        lock.broadcast()
        lock.unlock()
        waiters.forEach { $0.resume() }
    }
}
