import CHTTPShim
import Glibc

/// One event-loop thread: its own epoll fd, listener (SO_REUSEPORT), eventfd, timers and connections. A connection
/// never changes loop, so nothing here is locked except the completion queue and the shared connection counter.
final class EventLoop: @unchecked Sendable {
    private static let listenerToken = UInt64.max
    private static let wakeToken = UInt64.max - 1
    private static let signalToken = UInt64.max - 2
    private static let readBufferSize = 64 * 1024
    /// Pipelined input or unsent output past this stops reading from the connection (docs/HTTP.md §1).
    private static let bufferCap = 64 * 1024
    private static let continueBytes = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    private static let busyBytes = Array(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 24\r\nConnection: close\r\n\r\n503 Service Unavailable\n".utf8)

    let index: Int
    let completions: CompletionQueue
    private let epollFD: Int32
    private let wakeFD: Int32
    private var listenerFD: Int32
    private var listenerRegistered = false
    private var acceptPausedUntil: UInt64?
    private var reserveFD: Int32
    private var signalFD: Int32 = -1
    private let configuration: HTTPServerConfiguration
    private let handler: HTTPHandler
    private let counter: ConnectionCounter
    private unowned let server: HTTPServer

    private var connections: [Int32: Connection] = [:]
    private var generation: UInt64 = 0
    private var readBuffer: UnsafeMutableRawBufferPointer
    private var dates = DateCache()
    private var readQueues: [DeadlineQueue]
    private let sendQueue: DeadlineQueue
    private var draining = false
    private var drainDeadline: UInt64 = 0
    private(set) var thread: UInt64 = 0

    init(index: Int, listenerFD: Int32, configuration: HTTPServerConfiguration, handler: @escaping HTTPHandler,
         counter: ConnectionCounter, server: HTTPServer) throws {
        self.index = index
        self.listenerFD = listenerFD
        self.configuration = configuration
        self.handler = handler
        self.counter = counter
        self.server = server
        epollFD = chttp_epoll_create()
        guard epollFD >= 0 else { throw HTTPServerError(operation: "epoll_create1", code: errno) }
        wakeFD = chttp_eventfd()
        guard wakeFD >= 0 else { throw HTTPServerError(operation: "eventfd", code: errno) }
        reserveFD = chttp_open_reserve()
        completions = CompletionQueue(wakeFD: wakeFD)
        let t = configuration.timeouts
        readQueues = ReadTimer.allCases.map { kind in
            switch kind {
            case .header: return DeadlineQueue(duration: t.header.nanoseconds, slot: .read)
            case .body: return DeadlineQueue(duration: t.body.nanoseconds, slot: .read)
            case .idle: return DeadlineQueue(duration: t.idle.nanoseconds, slot: .read)
            case .linger: return DeadlineQueue(duration: t.linger.nanoseconds, slot: .read)
            }
        }
        sendQueue = DeadlineQueue(duration: t.send.nanoseconds, slot: .send)
        readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
        guard chttp_epoll_add(epollFD, wakeFD, CHTTP_EPOLLIN, Self.wakeToken) == 0 else {
            throw HTTPServerError(operation: "epoll_ctl(eventfd)", code: errno)
        }
        registerListener()
    }

    deinit {
        readBuffer.deallocate()
        _ = chttp_close(epollFD)
        _ = chttp_close(wakeFD)
        if reserveFD >= 0 { _ = chttp_close(reserveFD) }
        if listenerFD >= 0 { _ = chttp_close(listenerFD) }
        if signalFD >= 0 { _ = chttp_close(signalFD) }
    }

    /// Watches SIGTERM/SIGINT through a signalfd (they must already be blocked in every thread).
    func watchTerminationSignals() throws {
        signalFD = chttp_termination_signalfd()
        guard signalFD >= 0 else { throw HTTPServerError(operation: "signalfd", code: errno) }
        guard chttp_epoll_add(epollFD, signalFD, CHTTP_EPOLLIN, Self.signalToken) == 0 else {
            throw HTTPServerError(operation: "epoll_ctl(signalfd)", code: errno)
        }
    }

    /// Wakes the loop (from any thread) so that it notices a shutdown request.
    func wake() {
        _ = chttp_eventfd_signal(wakeFD)
    }

    // MARK: the loop

    func run() {
        thread = chttp_current_thread()
        var events = [chttp_event](repeating: chttp_event(), count: 256)
        while true {
            let n = chttp_epoll_wait(epollFD, &events, Int32(events.count), timeoutMilliseconds())
            if n < 0 { break }
            for i in 0..<Int(n) {
                let event = events[i]
                switch event.token {
                case Self.listenerToken: acceptConnections()
                case Self.wakeToken: wakeUp()
                case Self.signalToken: readSignals()
                default: connectionEvent(Int32(truncatingIfNeeded: event.token), event.events)
                }
            }
            expireTimers(now: chttp_monotonic_ns())
            if draining && connections.isEmpty { break }
        }
        for connection in Array(connections.values) { close(connection) }
    }

    private func timeoutMilliseconds() -> Int32 {
        var next: UInt64?
        for queue in readQueues { if let d = queue.nextDeadline { next = min(next ?? d, d) } }
        if let d = sendQueue.nextDeadline { next = min(next ?? d, d) }
        if let d = acceptPausedUntil { next = min(next ?? d, d) }
        if draining { next = min(next ?? drainDeadline, drainDeadline) }
        guard let next else { return -1 }
        let now = chttp_monotonic_ns()
        guard next > now else { return 0 }
        return Int32(min((next - now + 999_999) / 1_000_000, 60_000))
    }

    private func wakeUp() {
        _ = chttp_eventfd_drain(wakeFD)
        if server.isShuttingDown && !draining { beginDrain() }
        for completion in completions.drain() {
            guard let c = connections[completion.fd], c.generation == completion.generation, c.inFlight else { continue }
            answer(c, completion.response)
        }
    }

    private func readSignals() {
        while true {
            let signal = chttp_signalfd_read(signalFD)
            guard signal > 0 else { return }
            server.terminationSignalReceived(signal)
        }
    }

    // MARK: accepting

    private func registerListener() {
        guard listenerFD >= 0, !listenerRegistered else { return }
        if chttp_epoll_add(epollFD, listenerFD, CHTTP_EPOLLIN, Self.listenerToken) == 0 { listenerRegistered = true }
    }

    private func pauseListener(now: UInt64) {
        if listenerRegistered { _ = chttp_epoll_remove(epollFD, listenerFD) }
        listenerRegistered = false
        acceptPausedUntil = now + configuration.timeouts.acceptBackoff.nanoseconds
    }

    private func acceptConnections() {
        var host = [CChar](repeating: 0, count: 64)
        var port: UInt16 = 0
        while listenerFD >= 0 && listenerRegistered {
            let fd = chttp_accept(listenerFD, &host, host.count, &port)
            if fd < 0 {
                acceptFailed(errno)
                return
            }
            if !counter.acquire() {
                // At the cap: close our oldest connection that has nothing in flight (idle, or silent since
                // accept / mid-header), else answer the newcomer 503 and let it go (nginx drain_connections).
                guard let victim = readQueues[ReadTimer.idle.rawValue].first ?? oldestMidHeader() else {
                    rejectBusy(fd)
                    continue
                }
                close(victim)
                guard counter.acquire() else {
                    rejectBusy(fd)
                    continue
                }
            }
            generation &+= 1
            let peer = PeerAddress(host: String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: port)
            let c = Connection(fd: fd, generation: generation, peer: peer, limits: configuration.limits)
            connections[fd] = c
            c.interest = CHTTP_EPOLLIN
            guard chttp_epoll_add(epollFD, fd, CHTTP_EPOLLIN, UInt64(UInt32(bitPattern: fd))) == 0 else {
                close(c)
                continue
            }
            // A silent fresh connection gets the header timeout (then a silent close).
            arm(c, .header, now: chttp_monotonic_ns())
        }
    }

    private func oldestMidHeader() -> Connection? {
        var c = readQueues[ReadTimer.header.rawValue].first
        while let candidate = c {
            if !candidate.inFlight && candidate.pendingOutput == 0 { return candidate }
            c = candidate.readNext
        }
        return nil
    }

    private func acceptFailed(_ code: Int32) {
        switch code {
        case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED:
            return
        case EMFILE, ENFILE:
            // Out of descriptors: free the reserve, accept one, tell it 503, close it, take the reserve back, and
            // pause the listener (else it stays readable and the loop spins).
            if reserveFD >= 0 { _ = chttp_close(reserveFD); reserveFD = -1 }
            var host = [CChar](repeating: 0, count: 64)
            var port: UInt16 = 0
            let fd = chttp_accept(listenerFD, &host, host.count, &port)
            if fd >= 0 { rejectBusy(fd) }
            reserveFD = chttp_open_reserve()
            pauseListener(now: chttp_monotonic_ns())
        default:
            pauseListener(now: chttp_monotonic_ns())
        }
    }

    /// Sends the canned 503 + Retry-After and closes at once (no slot is left to linger in); input already
    /// received is read first, since closing with unread input sends an RST that could destroy the 503.
    private func rejectBusy(_ fd: Int32) {
        _ = Self.busyBytes.withUnsafeBytes { chttp_send2(fd, $0.baseAddress, $0.count, nil, 0) }
        _ = chttp_shutdown_write(fd)
        for _ in 0..<4 where chttp_read(fd, readBuffer.baseAddress, readBuffer.count) > 0 {}
        _ = chttp_close(fd)
    }

    // MARK: connection events

    private func connectionEvent(_ fd: Int32, _ events: UInt32) {
        guard let c = connections[fd] else { return }
        if events & CHTTP_EPOLLOUT != 0 {
            flush(c)
            guard connections[fd] === c else { return }
        }
        if events & (CHTTP_EPOLLIN | CHTTP_EPOLLHUP | CHTTP_EPOLLERR) != 0 {
            readable(c)
        }
    }

    private func readable(_ c: Connection) {
        let n = chttp_read(c.fd, readBuffer.baseAddress, readBuffer.count)
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return }
            close(c)
            return
        }
        if c.lingering {
            if n == 0 { close(c) }
            return
        }
        if n == 0 {
            peerClosed(c)
            return
        }
        receive(c, UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
    }

    private func peerClosed(_ c: Connection) {
        // A second EOF arrives only through EPOLLHUP (reading is off by then): the socket is gone.
        if c.readClosed {
            close(c)
            return
        }
        c.readClosed = true
        if c.inFlight || c.pendingOutput > 0 {
            // Answer the request in flight (and any complete pipelined one), then close.
            updateInterest(c)
            return
        }
        close(c)
    }

    /// New bytes: parse them straight from the loop's buffer when nothing is queued, keep only the unparsed tail.
    private func receive(_ c: Connection, _ bytes: UnsafeRawBufferPointer) {
        if c.inFlight || !c.input.isEmpty {
            c.input.append(contentsOf: bytes)
            if c.inFlight {
                updateInterest(c)
                return
            }
            let queued = c.input
            c.input = []
            queued.withUnsafeBytes { parse(c, $0) }
        } else {
            parse(c, bytes)
        }
    }

    /// Runs the parser until a request is complete (then dispatches it) or the bytes run out.
    private func parse(_ c: Connection, _ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        var now: UInt64 = 0
        parsing: while !c.inFlight && !c.closeAfterWrite && !c.lingering {
            let step = c.parser.parse(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            offset += step.consumed
            guard let event = step.event else { break }
            if now == 0 { now = chttp_monotonic_ns() }
            switch event {
            case .head(let head):
                c.head = head
                c.headTime = now
                if head.hasBody {
                    arm(c, .body, now: now)
                    if head.expectsContinue { write(c, Self.continueBytes, []) }
                }
            case .end(let body):
                guard let head = c.head else { break parsing }
                disarmRead(c)
                c.inFlight = true
                dispatch(c, HTTPRequest(head: head, body: body, peer: c.peer))
            case .error(let error):
                fail(c, error, now: now)
                break parsing
            }
        }
        if offset < bytes.count && !c.closeAfterWrite && !c.lingering {
            c.input.append(contentsOf: bytes[offset...])
        }
        guard connections[c.fd] === c else { return }
        if !c.inFlight && !c.closeAfterWrite && !c.lingering {
            switch c.parser.phase {
            case .idle:
                if c.readClosed {
                    if c.pendingOutput == 0 { close(c) }
                    return
                }
                if c.input.isEmpty && !c.fresh { arm(c, .idle, now: now == 0 ? chttp_monotonic_ns() : now) }
            case .head:
                // Absolute: armed once from the first byte (re-arming per read would let slow-loris live on).
                if c.readTimer != .header { arm(c, .header, now: now == 0 ? chttp_monotonic_ns() : now) }
                if c.readClosed { close(c); return }
            case .body:
                if c.readClosed { close(c); return }
            case .failed:
                break
            }
        }
        updateInterest(c)
    }

    private func dispatch(_ c: Connection, _ request: HTTPRequest) {
        let completion = completions
        let handler = handler
        let fd = c.fd, generation = c.generation
        Task {
            let response = await handler(request)
            completion.push(Completion(fd: fd, generation: generation, response: response))
        }
    }

    // MARK: answering

    /// A handler's response: write it, then either close or read the next (pipelined) request.
    private func answer(_ c: Connection, _ response: HTTPResponse) {
        guard let head = c.head else { return }
        c.inFlight = false
        c.fresh = false
        // A half-closed client still gets answers to the complete requests it sent; the close follows them.
        let close = !head.keepAlive || draining
        let connection: ResponseSerializer.ConnectionField = close ? .close : (head.version.minor == 0 ? .keepAlive : .none)
        var response = response
        var headBytes = ResponseSerializer.head(response, date: date(), connection: connection)
        if headBytes == nil {
            response = .status(.internalServerError)
            headBytes = ResponseSerializer.head(response, date: date(), connection: connection)
        }
        log(head.method, head.path, response.status.code, since: c.headTime, peer: c.peer)
        c.head = nil
        if close { c.closeAfterWrite = true }
        write(c, headBytes ?? [], ResponseSerializer.sendsBody(response, method: head.method) ? response.body : [])
        guard connections[c.fd] === c, !c.closeAfterWrite else { return }
        // The next pipelined request, if it is already here.
        let queued = c.input
        c.input = []
        queued.withUnsafeBytes { parse(c, $0) }
    }

    /// A parse error: answer its status with Connection: close, then close lingering (the body may be unread).
    private func fail(_ c: Connection, _ error: HTTPParseError, now: UInt64) {
        disarmRead(c)
        c.closeAfterWrite = true
        c.input = []
        let response = HTTPResponse.text("\(error.status.code) \(error.status.reason): \(error.reason)\n", status: error.status)
        let headBytes = ResponseSerializer.head(response, date: date(), connection: .close) ?? []
        log(c.head?.method, c.head?.path, error.status.code, since: c.head == nil ? now : c.headTime, peer: c.peer)
        c.head = nil
        write(c, headBytes, response.body)
    }

    private func date() -> [UInt8] {
        dates.value(at: Int64(time(nil)))
    }

    private func log(_ method: HTTPMethod?, _ path: String?, _ status: Int, since start: UInt64, peer: PeerAddress) {
        guard let sink = configuration.log else { return }
        let elapsed = chttp_monotonic_ns() &- start
        sink(HTTPLogRecord(method: method, path: path, status: status,
                           duration: .nanoseconds(Int64(min(elapsed, UInt64(Int64.max)))), peer: peer))
    }

    // MARK: writing

    /// Head and body in one sendmsg; the unsent rest waits for EPOLLOUT.
    private func write(_ c: Connection, _ head: [UInt8], _ body: [UInt8]) {
        if c.pendingOutput > 0 {
            c.output.append(contentsOf: head)
            c.output.append(contentsOf: body)
            updateInterest(c)
            return
        }
        let sent = head.withUnsafeBytes { h in
            body.withUnsafeBytes { b in chttp_send2(c.fd, h.baseAddress, h.count, b.baseAddress, b.count) }
        }
        if sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
            close(c)
            return
        }
        let written = max(0, sent)
        if written < head.count + body.count {
            c.output.removeAll(keepingCapacity: true)
            c.outputOffset = 0
            if written < head.count {
                c.output.append(contentsOf: head[written...])
                c.output.append(contentsOf: body)
            } else {
                c.output.append(contentsOf: body[(written - head.count)...])
            }
            if !c.sendArmed { sendQueue.append(c, now: chttp_monotonic_ns()) }
            updateInterest(c)
            return
        }
        drained(c)
    }

    private func flush(_ c: Connection) {
        guard c.pendingOutput > 0 else { return }
        let sent = c.output.withUnsafeBytes { out -> Int in
            guard let base = out.baseAddress else { return 0 }
            return chttp_send2(c.fd, base + c.outputOffset, c.pendingOutput, nil, 0)
        }
        if sent < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return }
            close(c)
            return
        }
        c.outputOffset += sent
        if c.pendingOutput > 0 {
            // Progress: the send timeout counts from now.
            sendQueue.remove(c)
            sendQueue.append(c, now: chttp_monotonic_ns())
            return
        }
        c.output.removeAll(keepingCapacity: c.output.capacity <= 256 * 1024)
        c.outputOffset = 0
        if c.sendArmed { sendQueue.remove(c) }
        drained(c)
    }

    /// All output written: close if asked, else resume reading.
    private func drained(_ c: Connection) {
        if c.closeAfterWrite {
            lingeringClose(c)
            return
        }
        if c.readClosed && !c.inFlight && c.parser.phase == .idle && c.input.isEmpty {
            close(c)
            return
        }
        updateInterest(c)
    }

    /// Close = shutdown(SHUT_WR), read and drop until EOF or the linger timeout, close (RFC 9112 §9.6): closing with
    /// unread input would send an RST that can destroy the response we just wrote.
    private func lingeringClose(_ c: Connection) {
        if c.readClosed {
            close(c)
            return
        }
        c.lingering = true
        c.input = []
        _ = chttp_shutdown_write(c.fd)
        arm(c, .linger, now: chttp_monotonic_ns())
        updateInterest(c)
    }

    // MARK: interest and timers

    private func updateInterest(_ c: Connection) {
        guard connections[c.fd] === c else { return }
        var wanted: UInt32 = 0
        let reading = c.lingering || (!c.readClosed && c.input.count <= Self.bufferCap && c.pendingOutput <= Self.bufferCap)
        if reading { wanted |= CHTTP_EPOLLIN }
        if c.pendingOutput > 0 { wanted |= CHTTP_EPOLLOUT }
        if wanted != c.interest {
            c.interest = wanted
            _ = chttp_epoll_modify(epollFD, c.fd, wanted, UInt64(UInt32(bitPattern: c.fd)))
        }
    }

    private func arm(_ c: Connection, _ kind: ReadTimer, now: UInt64) {
        disarmRead(c)
        c.readTimer = kind
        readQueues[kind.rawValue].append(c, now: now)
    }

    private func disarmRead(_ c: Connection) {
        guard let kind = c.readTimer else { return }
        readQueues[kind.rawValue].remove(c)
        c.readTimer = nil
    }

    private func expireTimers(now: UInt64) {
        for kind in ReadTimer.allCases {
            let queue = readQueues[kind.rawValue]
            while let c = queue.first, c.readDeadline <= now {
                disarmRead(c)
                switch kind {
                case .header where c.parser.phase == .head, .body:
                    fail(c, HTTPParseError(.requestTimeout, kind == .header ? "header timeout" : "body timeout"), now: now)
                default:
                    close(c)
                }
            }
        }
        while let c = sendQueue.first, c.sendDeadline <= now { close(c) }
        if let until = acceptPausedUntil, until <= now {
            acceptPausedUntil = nil
            if !draining { registerListener() }
        }
        if draining && now >= drainDeadline {
            for c in Array(connections.values) { close(c) }
        }
    }

    // MARK: shutdown and close

    /// Stop accepting, close idle connections; the others finish their request with Connection: close. A connection
    /// that sent bytes before the drain began (still in the backlog or the socket) counts as having a request.
    private func beginDrain() {
        draining = true
        drainDeadline = chttp_monotonic_ns() + configuration.timeouts.drain.nanoseconds
        // Connections the kernel completed before the signal are in the backlog: closing the listener would reset
        // them. Take them in; the loop below keeps those that already sent a request's first bytes.
        acceptConnections()
        if listenerRegistered { _ = chttp_epoll_remove(epollFD, listenerFD) }
        listenerRegistered = false
        acceptPausedUntil = nil
        if listenerFD >= 0 { _ = chttp_close(listenerFD); listenerFD = -1 }
        for c in Array(connections.values) where isIdle(c) {
            // Bytes a client sent before the signal may still sit in the socket (their readiness event not yet
            // handled): read them first, so a request already begun is finished, not reset.
            readable(c)
            if connections[c.fd] === c && isIdle(c) { close(c) }
        }
    }

    private func isIdle(_ c: Connection) -> Bool {
        !c.inFlight && c.parser.phase == .idle && c.input.isEmpty && c.pendingOutput == 0 && !c.lingering
    }

    private func close(_ c: Connection) {
        guard connections[c.fd] === c else { return }
        disarmRead(c)
        if c.sendArmed { sendQueue.remove(c) }
        connections[c.fd] = nil
        _ = chttp_close(c.fd)
        counter.release()
    }
}
