@testable import CredLedgerHTTP
import CHTTPShim
import Foundation
import Glibc
import TestSupport
import XCTest

/// The server over real sockets on 127.0.0.1 (port 0): raw clients for exact bytes, curl as a real client.
final class ServerTests: XCTestCase {
    private func start(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in },
                       handler: @escaping HTTPHandler) throws -> HTTPServer {
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.timeouts.header = .seconds(5)
        configure(&configuration)
        let server = try HTTPServer(configuration, handler: handler)
        try server.start()
        addTeardownBlock {
            server.shutdown()
            server.wait()
        }
        return server
    }

    /// Echoes method, path, query and body size; `/slow/N` waits N milliseconds first.
    private static let echo: HTTPHandler = { request in
        if request.path.hasPrefix("/slow/"), let ms = UInt64(request.path.dropFirst(6)) {
            try? await Task.sleep(nanoseconds: ms * 1_000_000)
        }
        let text = "\(request.method) \(request.path) \(request.query ?? "-") \(request.body.count) "
            + String(decoding: request.body.prefix(64), as: UTF8.self)
        return .text(text)
    }

    func testKeepAliveServesSeveralRequestsOnOneConnection() throws {
        let server = try start(handler: Self.echo)
        let client = try SocketClient(port: server.port)
        for i in 0..<3 {
            try client.send("GET /n/\(i)?x=\(i) HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.text, "GET /n/\(i) x=\(i) 0 ")
            XCTAssertEqual(response.header("Content-Length"), "\(response.body.count)")
            XCTAssertNotNil(response.header("Date"))
            XCTAssertNil(response.header("Connection"))
        }
        // HTTP/1.0 keep-alive is answered with Connection: keep-alive; plain 1.0 closes.
        try client.send("GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(try client.readResponse().header("Connection"), "keep-alive")
        try client.send("GET /ten HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try client.readResponse().header("Connection"), "close")
        XCTAssertTrue(client.readsEOF())
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let server = try start(handler: Self.echo)
        let client = try SocketClient(port: server.port)
        // The first requests are the slowest: an unordered server would answer the last ones first.
        let delays = [120, 60, 0, 30, 0]
        var batch = ""
        for (i, ms) in delays.enumerated() { batch += "GET /slow/\(ms)?i=\(i) HTTP/1.1\r\nHost: a\r\n\r\n" }
        batch += "POST /body HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        try client.send(batch)
        for (i, ms) in delays.enumerated() {
            XCTAssertEqual(try client.readResponse().text, "GET /slow/\(ms) i=\(i) 0 ")
        }
        XCTAssertEqual(try client.readResponse().text, "POST /body - 5 hello")
    }

    func testOversizedHeadIs431AndCloses() throws {
        let server = try start(handler: Self.echo)
        let client = try SocketClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X-Pad: \(String(repeating: "p", count: 200))\r\n", count: 90) + "\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 431)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(client.readsEOF())
    }

    func testBodyOverTheLimitIs413BeforeTheBodyIsRead() throws {
        let server = try start(handler: Self.echo)
        let client = try SocketClient(port: server.port)
        try client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n")
        // Part of the body is already on its way: the lingering close must not turn it into an RST eating the 413.
        try client.send([UInt8](repeating: 0x61, count: 100_000))
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 413)
        XCTAssertEqual(response.header("Connection"), "close")
        client.shutdownWrite()
        XCTAssertTrue(client.readsEOF())
    }

    func testContentLengthWithTransferEncodingIs400() throws {
        let server = try start(handler: Self.echo)
        let client = try SocketClient(port: server.port)
        try client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue(response.text.contains("Content-Length with Transfer-Encoding"), response.text)
        // Nothing after it is answered: the smuggled request never reaches a handler.
        XCTAssertTrue(client.readsEOF())
    }

    func testChunkedBodyIsDecoded() throws {
        let server = try start(handler: Self.echo)
        let client = try SocketClient(port: server.port)
        try client.send("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n")
        usleep(20_000)
        try client.send("5;ext=1\r\npedia\r\n0\r\nX-T: 1\r\n\r\n")
        XCTAssertEqual(try client.readResponse().text, "POST /c - 9 Wikipedia")
    }

    func testExpectContinueOverARawSocket() throws {
        let server = try start(handler: Self.echo)
        let client = try SocketClient(port: server.port)
        try client.send("POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 100)
        try client.send("abc")
        XCTAssertEqual(try client.readResponse().text, "POST /e - 3 abc")
        // An expectation we don't know: 417 at once, nothing read.
        let other = try SocketClient(port: server.port)
        try other.send("POST /e HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 3\r\n\r\n")
        XCTAssertEqual(try other.readResponse().status, 417)
    }

    func testCurlKeepAliveExpectContinueAndHead() throws {
        guard (try? ExternalOracle.status(["curl", "--version"]))?.code == 0 else { throw XCTSkip("curl is not installed") }
        let server = try start(handler: Self.echo)
        let base = server.url
        // Two URLs in one curl: the second reuses the connection.
        let twice = try ExternalOracle.status(["curl", "-sv", "\(base)/a", "\(base)/b?q=1"])
        XCTAssertEqual(twice.code, 0, twice.output)
        XCTAssertTrue(twice.output.contains("GET /a - 0"), twice.output)
        XCTAssertTrue(twice.output.contains("GET /b q=1 0"), twice.output)
        XCTAssertTrue(twice.output.lowercased().contains("re-using existing connection")
                      || twice.output.lowercased().contains("reusing existing"), twice.output)
        // curl waits for 100 Continue when asked to expect it.
        let body = String(repeating: "z", count: 2000)
        let expect = try ExternalOracle.status(["curl", "-sv", "-H", "Expect: 100-continue", "--data-binary", body, "\(base)/post"])
        XCTAssertEqual(expect.code, 0, expect.output)
        XCTAssertTrue(expect.output.contains("HTTP/1.1 100 Continue"), expect.output)
        XCTAssertTrue(expect.output.contains("POST /post - 2000 zzzz"), expect.output)
        // Chunked upload with curl.
        let chunked = try ExternalOracle.status(["curl", "-s", "-H", "Transfer-Encoding: chunked", "--data-binary", "hello", "\(base)/chunked"])
        XCTAssertEqual(chunked.output, "POST /chunked - 5 hello")
        // HEAD: the GET's headers, no body.
        let head = try ExternalOracle.status(["curl", "-sI", "\(base)/h"])
        XCTAssertTrue(head.output.contains("HTTP/1.1 200 OK"), head.output)
        XCTAssertTrue(head.output.contains("Content-Length: 12"), head.output)
    }

    func testHeadHasNoBodyButTheLengthOfOne() throws {
        let server = try start(handler: Self.echo)
        let client = try SocketClient(port: server.port)
        try client.send("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n")
        let head = try client.readResponse(head: true)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), "\("HEAD /h - 0 ".utf8.count)")
        XCTAssertEqual(head.body, [])
        // The next response starts right after the head: no stray body bytes in between.
        XCTAssertEqual(try client.readResponse().text, "GET /after - 0 ")
    }

    func testSlowLorisIsClosedByTheHeaderTimeout() throws {
        let server = try start({ $0.timeouts.header = .seconds(1) }, handler: Self.echo)
        let client = try SocketClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\n")
        var sent = 0
        // Keep trickling header bytes: an absolute timeout still ends it (a per-read timer never would).
        while sent < 40 {
            usleep(100_000)
            guard (try? client.send("X-\(sent): a\r\n")) != nil else { break }
            sent += 1
        }
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 408)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertLessThan(sent, 40, "the server kept reading a trickling head")
        XCTAssertTrue(client.readsEOF())
    }

    func testSilentConnectionIsClosedWithoutAnAnswer() throws {
        let server = try start({ $0.timeouts.header = .milliseconds(300) }, handler: Self.echo)
        let client = try SocketClient(port: server.port)
        XCTAssertTrue(client.readsEOF(), "a connection that never sends is closed silently")
    }

    func testIdleTimeoutClosesAKeptAliveConnection() throws {
        let server = try start({ $0.timeouts.idle = .milliseconds(300) }, handler: Self.echo)
        let client = try SocketClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
        XCTAssertTrue(client.readsEOF())
    }

    func testConnectionCapAnswers503WhenNothingIsIdle() throws {
        let gate = Gate()
        let server = try start({ $0.maxConnections = 2 }) { request in
            await gate.wait()
            return .text("done \(request.path)")
        }
        let a = try SocketClient(port: server.port)
        let b = try SocketClient(port: server.port)
        try a.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        try b.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(gate.waitForArrivals(2))
        let c = try SocketClient(port: server.port)
        let refused = try c.readResponse()
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.header("Retry-After"), "1")
        XCTAssertTrue(c.readsEOF())
        gate.open()
        XCTAssertEqual(try a.readResponse().text, "done /a")
        XCTAssertEqual(try b.readResponse().text, "done /b")
        XCTAssertEqual(server.connectionCap, 2)
    }

    func testConnectionCapClosesTheOldestIdleConnectionFirst() throws {
        let server = try start({ $0.maxConnections = 2; $0.loops = 1 }, handler: Self.echo)
        let a = try SocketClient(port: server.port)
        try a.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try a.readResponse().status, 200)
        let b = try SocketClient(port: server.port)
        try b.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try b.readResponse().status, 200)
        let c = try SocketClient(port: server.port)
        try c.send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try c.readResponse().status, 200, "a newcomer is served by closing an idle connection")
        XCTAssertTrue(a.readsEOF(), "the oldest idle connection was the one closed")
    }

    func testGracefulShutdownFinishesTheRequestInFlight() throws {
        let gate = Gate()
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.loops = 2
        let server = try HTTPServer(configuration) { request in
            if request.path == "/slow" { await gate.wait() }
            return .text("finished \(request.path)")
        }
        try server.start()
        let idle = try SocketClient(port: server.port)
        try idle.send("GET /fast HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(try idle.readResponse().text, "finished /fast")
        let busy = try SocketClient(port: server.port)
        try busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertTrue(gate.waitForArrivals(1))
        server.shutdown()
        XCTAssertTrue(idle.readsEOF(), "idle connections are closed at once")
        // New connections are refused once the listeners are closed.
        var refused = false
        for _ in 0..<100 {
            if (try? SocketClient(port: server.port)) == nil { refused = true; break }
            usleep(10_000)
        }
        XCTAssertTrue(refused, "the listener still accepts after shutdown()")
        gate.open()
        let response = try busy.readResponse()
        XCTAssertEqual(response.text, "finished /slow")
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(busy.readsEOF())
        server.wait()
        XCTAssertEqual(server.connectionCount, 0)
    }

    /// A request whose first bytes were sent before the shutdown is in flight even when the loop had not yet accepted
    /// its connection or read those bytes (seen in CI: the connection was reset, the client got no answer).
    func testRequestBegunJustBeforeShutdownIsFinishedNotReset() throws {
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.loops = 1
        let server = try HTTPServer(configuration, handler: Self.echo)
        try server.start()
        // Connect and send half a head on many connections as fast as possible, then shut down at once: the last
        // ones are still in the backlog or unread when the drain begins.
        var clients: [SocketClient] = []
        for _ in 0..<64 {
            let client = try SocketClient(port: server.port)
            try client.send("POST /begun HTTP/1.1\r\nHost: a\r\nContent-")
            clients.append(client)
        }
        server.shutdown()
        for (i, client) in clients.enumerated() {
            try client.send("Length: 2\r\n\r\nok")
            let response = try client.readResponse()
            XCTAssertEqual(response.text, "POST /begun - 2 ok", "connection \(i)")
            XCTAssertEqual(response.header("Connection"), "close")
            XCTAssertTrue(client.readsEOF())
        }
        clients.removeAll()  // closed: the server's lingering closes end now
        server.wait()
        XCTAssertEqual(server.connectionCount, 0)
    }

    func testTerminationSignalTriggersGracefulShutdown() throws {
        // Block SIGTERM here first: the loops inherit and block it too, so it can only reach the signalfd.
        HTTPServer.blockTerminationSignals()
        defer { _ = chttp_block_termination_signals(0) }
        let received = Locked<[Int32]>([])
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.loops = 2
        let server = try HTTPServer(configuration, handler: Self.echo)
        try server.shutdownOnTerminationSignals { signal in received.withLock { $0.append(signal) } }
        try server.start()
        let client = try SocketClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 200)
        // Loop 0 records its thread when it starts running: on a busy machine that can come after the first answer
        // (loop 1 may have served it). Wait for it; never signal thread 0 (that is a crash, not a test failure).
        var thread = server.loopThreads[0]
        for _ in 0..<10_000 where thread == 0 {
            usleep(1_000)
            thread = server.loopThreads[0]
        }
        XCTAssertNotEqual(thread, 0)
        guard thread != 0 else { server.shutdown(); server.wait(); return }
        XCTAssertEqual(chttp_thread_kill(thread, SIGTERM), 0)
        server.wait()
        XCTAssertEqual(received.current, [SIGTERM])
        XCTAssertTrue(client.readsEOF())
    }

    func testHalfClosedClientStillGetsItsAnswer() throws {
        let server = try start(handler: Self.echo)
        let client = try SocketClient(port: server.port)
        try client.send("GET /slow/50 HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n")
        client.shutdownWrite()
        XCTAssertEqual(try client.readResponse().text, "GET /slow/50 - 0 ")
        let second = try client.readResponse()
        XCTAssertEqual(second.text, "GET /second - 0 ")
        XCTAssertTrue(client.readsEOF())
    }

    func testHeaderInjectionBecomes500() throws {
        let server = try start { request in
            HTTPResponse(status: .ok, headers: ["X-Echo": "a\r\nSet-Cookie: evil=1"], body: Array("x".utf8))
        }
        let client = try SocketClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 500)
        XCTAssertNil(response.header("Set-Cookie"))
        XCTAssertNil(response.header("X-Echo"))
    }

    func testLogLinesNeverCarryQueriesHeadersOrBodies() throws {
        let lines = Locked<[HTTPLogRecord]>([])
        let server = try start({ configuration in
            configuration.log = { record in lines.withLock { $0.append(record) } }
        }, handler: Self.echo)
        let client = try SocketClient(port: server.port)
        try client.send("POST /oauth/token?code=SECRETQUERY HTTP/1.1\r\nHost: a\r\nAuthorization: Basic U0VDUkVUSEVBREVS\r\nCookie: s=SECRETCOOKIE\r\nContent-Length: 12\r\n\r\nSECRETBODY!!")
        XCTAssertEqual(try client.readResponse().status, 200)
        try client.send("GET / HTTP/1.1\nHost: a\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 400)
        XCTAssertTrue(client.readsEOF())
        let records = lines.current
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records.first?.method, .post)
        XCTAssertEqual(records.first?.path, "/oauth/token")
        XCTAssertEqual(records.first?.status, 200)
        XCTAssertEqual(records.last?.status, 400)
        XCTAssertNil(records.last?.method)
        for record in records {
            XCTAssertFalse(record.description.contains("SECRET"), record.description)
            XCTAssertTrue(record.description.contains("127.0.0.1"), record.description)
        }
    }

    func testPortInUseIsAClearError() throws {
        let server = try start(handler: Self.echo)
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: server.port)
        configuration.loops = 1
        // SO_REUSEPORT lets only sockets of the same user share a port; a bad address is refused either way.
        configuration.host = "not-an-address"
        XCTAssertThrowsError(try HTTPServer(configuration, handler: Self.echo)) { error in
            XCTAssertTrue("\(error)".contains("listen on not-an-address"), "\(error)")
        }
    }
}
