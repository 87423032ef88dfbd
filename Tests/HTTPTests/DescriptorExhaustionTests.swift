@testable import CredLedgerHTTP
import CHTTPShim
import Foundation
import Glibc
import XCTest

/// EMFILE on accept: the reserve-descriptor trick answers 503 instead of spinning or crashing, and the server
/// serves again once descriptors are back.
final class DescriptorExhaustionTests: XCTestCase {
    func testOutOfDescriptorsAnswers503AndRecovers() throws {
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.loops = 1
        configuration.timeouts.acceptBackoff = .milliseconds(100)
        let server = try HTTPServer(configuration) { _ in .text("ok") }
        try server.start()
        defer {
            server.shutdown()
            server.wait()
        }
        let original = chttp_fd_limit()
        // The lowest free descriptor goes to the next client socket; a limit just above it leaves the server's
        // accept nothing (EMFILE), until it frees its reserve descriptor.
        let probe = chttp_open_reserve()
        XCTAssertGreaterThan(probe, 0)
        _ = chttp_close(probe)
        var busy: SocketClient.Response?
        do {
            XCTAssertEqual(chttp_set_fd_limit(Int(probe) + 1), 0)
            defer { _ = chttp_set_fd_limit(original) }
            let client = try SocketClient(port: server.port)
            XCTAssertEqual(client.fd, probe)
            busy = try client.readResponse()
        }
        XCTAssertEqual(busy?.status, 503)
        XCTAssertEqual(busy?.header("Retry-After"), "1")
        // Descriptors are back: after the accept backoff the server serves new connections again.
        var served = false
        for _ in 0..<100 where !served {
            usleep(20_000)
            if let client = try? SocketClient(port: server.port), (try? client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")) != nil,
               let response = try? client.readResponse() {
                served = response.status == 200
            }
        }
        XCTAssertTrue(served)
    }
}
