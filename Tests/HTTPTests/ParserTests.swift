@testable import CredLedgerHTTP
import XCTest

/// The parser against the table of docs/HTTP.md §1 (RFC 9112): valid requests, every refusal with its status,
/// and split invariance (every split point, and byte by byte, give the one-shot events).
final class ParserTests: XCTestCase {
    /// Valid requests; every one must parse to exactly one head and one end.
    static let validFixtures: [String] = [
        "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
        "GET /v1/companies/acme/projects/web?limit=10&after=a%20b HTTP/1.1\r\nHost: a\r\n\r\n",
        "HEAD /x HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "POST /oauth/token HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\ngrant_type=client_credentials",
        "POST /v1/check HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;name=value;q=\"a\\\"b\"\r\n world\r\n0\r\n\r\n",
        "POST /v1/check HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n",
        "PUT /a%20b/c HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        "GET http://example.com:8080/path?q=1 HTTP/1.1\r\nHost: ignored.example\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        "DELETE /x HTTP/1.1\r\nHost: [::1]:80\r\nX-Empty:\r\nX-Spaces:   v  a  \r\n\r\n",
        "GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\nX-Name: Zoë\r\n\r\n",
        "PATCH /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
    ]

    private func head(_ text: String) -> HTTPRequestHead? {
        for case .head(let head) in ParserDriver.events(text) { return head }
        return nil
    }

    private func body(_ text: String) -> [UInt8]? {
        for case .end(let body) in ParserDriver.events(text) { return body }
        return nil
    }

    func testValidFixturesGiveOneHeadAndOneEnd() {
        for fixture in Self.validFixtures {
            let events = ParserDriver.events(fixture)
            XCTAssertEqual(events.count, 2, fixture)
            guard events.count == 2, case .head = events[0], case .end = events[1] else {
                XCTFail("\(fixture): \(events)")
                continue
            }
        }
    }

    func testFieldsOfParsedRequests() throws {
        let get = try XCTUnwrap(head("GET /v1/companies/acme/projects/web?limit=10&after=a%20b HTTP/1.1\r\nHost: a\r\n\r\n"))
        XCTAssertEqual(get.method, .get)
        XCTAssertEqual(get.path, "/v1/companies/acme/projects/web")
        XCTAssertEqual(get.query, "limit=10&after=a%20b")
        XCTAssertEqual(get.authority, "a")
        XCTAssertTrue(get.keepAlive)
        XCTAssertEqual(get.framing, .none)

        let absolute = try XCTUnwrap(head("GET http://example.com:8080/path?q=1 HTTP/1.1\r\nHost: ignored.example\r\n\r\n"))
        XCTAssertEqual(absolute.path, "/path")
        XCTAssertEqual(absolute.query, "q=1")
        XCTAssertEqual(absolute.authority, "example.com:8080", "absolute-form's authority wins over Host (RFC 9112 §3.2.2)")
        XCTAssertEqual(try XCTUnwrap(head("GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n")).path, "/")

        let spaces = try XCTUnwrap(head("DELETE /x HTTP/1.1\r\nHost: [::1]:80\r\nX-Empty:\r\nX-Spaces:   v  a  \r\n\r\n"))
        XCTAssertEqual(spaces.headers["x-spaces"], "v  a")
        XCTAssertEqual(spaces.headers["X-EMPTY"], "")

        XCTAssertEqual(head("GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\nX-Name: Zoë\r\n\r\n")?.path, "/café")
        XCTAssertEqual(head("GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\nX-Name: Zoë\r\n\r\n")?.headers["x-name"], "Zoë")
        XCTAssertEqual(head("GET / HTTP/1.2\r\nHost: a\r\n\r\n")?.version, HTTPVersion(major: 1, minor: 2))

        XCTAssertFalse(try XCTUnwrap(head("GET / HTTP/1.0\r\n\r\n")).keepAlive)
        XCTAssertTrue(try XCTUnwrap(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")).keepAlive)
        XCTAssertFalse(try XCTUnwrap(head("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n")).keepAlive)
        XCTAssertTrue(try XCTUnwrap(head("POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")).expectsContinue)
        XCTAssertFalse(try XCTUnwrap(head("GET / HTTP/1.0\r\nExpect: something\r\n\r\n")).expectsContinue, "Expect is ignored in 1.0")
        XCTAssertEqual(head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")?.path, "*")
    }

    func testBodies() {
        XCTAssertEqual(body("POST /v1/check HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;name=value;q=\"a\\\"b\"\r\n world\r\n0\r\n\r\n"),
                       Array("hello world".utf8))
        XCTAssertEqual(body("POST /oauth/token HTTP/1.1\r\nHost: a\r\nContent-Length: 29\r\n\r\ngrant_type=client_credentials"),
                       Array("grant_type=client_credentials".utf8))
        XCTAssertEqual(body("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), [])
        // Exactly the limit is accepted, one more is 413.
        let limit = HTTPParser.Limits().body
        let full = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(limit)\r\n\r\n" + String(repeating: "x", count: limit)
        XCTAssertEqual(body(full)?.count, limit)
        XCTAssertEqual(ParserDriver.errorStatus("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(limit + 1)\r\n\r\n"), 413)
        let chunkedFull = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\(String(limit, radix: 16))\r\n"
            + String(repeating: "y", count: limit) + "\r\n0\r\n\r\n"
        XCTAssertEqual(body(chunkedFull)?.count, limit)
        XCTAssertEqual(ParserDriver.errorStatus("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8000\r\n"
            + String(repeating: "y", count: 0x8000) + "\r\n8001\r\n"), 413)
    }

    /// Every row of the table in docs/HTTP.md §1, with the status each must get.
    func testRefusalsGetTheirStatus() {
        let h = "Host: a\r\n"
        let cases: [(String, Int, String)] = [
            ("GET / HTTP/1.1\r\n" + h + String(repeating: "X-Filler: \(String(repeating: "a", count: 100))\r\n", count: 170) + "\r\n", 431, "head > 16 KiB"),
            ("GET / HTTP/1.1\r\n" + h + (0..<101).map { "X-\($0): v\r\n" }.joined() + "\r\n", 431, "> 100 fields"),
            ("GET /" + String(repeating: "a", count: 17_000) + " HTTP/1.1\r\n" + h + "\r\n", 414, "request line alone over the limit"),
            ("GET /a#b HTTP/1.1\r\n" + h + "\r\n", 400, "# in target"),
            ("GET /a\u{1}b HTTP/1.1\r\n" + h + "\r\n", 400, "CTL in target"),
            ("GET * HTTP/1.1\r\n" + h + "\r\n", 400, "* without OPTIONS"),
            ("GET  / HTTP/1.1\r\n" + h + "\r\n", 400, "double space"),
            ("GET / HTTP/1.1 \r\n" + h + "\r\n", 400, "trailing space"),
            ("GET / HTTP/2.0\r\n" + h + "\r\n", 505, "major 2"),
            ("GET / HTTP/0.9\r\n" + h + "\r\n", 505, "major 0"),
            ("GET / HTTP/1.10\r\n" + h + "\r\n", 400, "bad version"),
            ("GET / http/1.1\r\n" + h + "\r\n", 400, "lowercase version"),
            ("BREW / HTTP/1.1\r\n" + h + "\r\n", 501, "unknown method"),
            ("get / HTTP/1.1\r\n" + h + "\r\n", 501, "methods are case-sensitive"),
            ("CONNECT a:443 HTTP/1.1\r\n" + h + "\r\n", 501, "CONNECT"),
            ("G(T / HTTP/1.1\r\n" + h + "\r\n", 400, "non-token method"),
            ("GET / HTTP/1.1\r\n\r\n", 400, "no Host in 1.1"),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Hosts"),
            ("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "bad Host"),
            ("GET / HTTP/1.1\r\nHost: a:\r\n\r\n", 400, "Host with empty port"),
            ("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", 400, "Host with bad port"),
            ("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, "Host with userinfo"),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "space before colon"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold"),
            ("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "space-led first field line"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, "bare CR"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400, "NUL in value"),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7f}b\r\n\r\n", 400, "DEL in value"),
            ("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF"),
            ("GET / HTTP/1.1\r\nHost: a\n\n", 400, "bare LF end"),
            ("GET / HTTP/1.1\r\nX(y: a\r\n" + h + "\r\n", 400, "non-token name"),
            ("GET / HTTP/1.1\r\n: a\r\n" + h + "\r\n", 400, "empty name"),
            ("GET / HTTP/1.1\r\nnocolon\r\n" + h + "\r\n", 400, "no colon"),
            ("\r\nGET / HTTP/1.1\r\n" + h + "\r\n", 400, "leading empty line"),
            ("POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "CL + TE"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, "TE + CL"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, identity\r\n\r\n", 400, "chunked not last"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n", 400, "xchunked"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\n\r\n", 400, "chunked absent"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "other coding"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "two TEs"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked,\r\n\r\n", 400, "empty list element"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\tchunked\u{b}\r\n\r\n", 400, "VT after chunked"),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "TE in 1.0"),
            ("POST / HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\nhello", 400, "CL +5"),
            ("POST / HTTP/1.1\r\n" + h + "Content-Length: 5, 5\r\n\r\nhello", 400, "CL 5, 5"),
            ("POST / HTTP/1.1\r\n" + h + "Content-Length: 0x5\r\n\r\nhello", 400, "CL 0x5"),
            ("POST / HTTP/1.1\r\n" + h + "Content-Length: \r\n\r\n", 400, "empty CL"),
            ("POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400, "repeated CL"),
            ("POST / HTTP/1.1\r\n" + h + "Content-Length: 1234567890123456789\r\n\r\n", 400, "> 18 digits"),
            ("POST / HTTP/1.1\r\n" + h + "Content-Length: 99999999\r\n\r\n", 413, "CL over 64 KiB"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nx\r\n", 400, "chunk size not hex"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n", 400, "chunk size leading space"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400, "chunk size OWS"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n-5\r\n", 400, "negative chunk"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n00000000000000001\r\n", 400, "> 16 hex digits"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", 413, "huge chunk"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n", 400, "empty extension"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5;a b\r\nhello\r\n", 400, "bad extension"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n", 400, "chunk size bare LF"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n", 400, "data without CRLF"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\nX : y\r\n\r\n", 400, "bad trailer"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\n\n", 400, "bare LF after last chunk"),
            ("POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n" + String(repeating: "1;\(String(repeating: "e", count: 60))\r\na\r\n", count: 1100), 413, "framing over 64 KiB"),
            ("POST / HTTP/1.1\r\n" + h + "Expect: 100-continue, foo\r\nContent-Length: 1\r\n\r\n", 417, "other expectation"),
            ("POST / HTTP/1.1\r\n" + h + "Expect: something\r\nContent-Length: 1\r\n\r\n", 417, "unknown expectation"),
            ("GET /a%2Fb HTTP/1.1\r\n" + h + "\r\n", 400, "encoded slash"),
            ("GET /a%2fb HTTP/1.1\r\n" + h + "\r\n", 400, "encoded slash lowercase"),
            ("GET /a%00b HTTP/1.1\r\n" + h + "\r\n", 400, "encoded NUL"),
            ("GET /a/../b HTTP/1.1\r\n" + h + "\r\n", 400, "dot-dot"),
            ("GET /a/%2e%2E/b HTTP/1.1\r\n" + h + "\r\n", 400, "encoded dot-dot"),
            ("GET /a/./b HTTP/1.1\r\n" + h + "\r\n", 400, "dot segment"),
            ("GET /.. HTTP/1.1\r\n" + h + "\r\n", 400, "trailing dot-dot"),
            ("GET /a%zz HTTP/1.1\r\n" + h + "\r\n", 400, "bad escape"),
            ("GET /a% HTTP/1.1\r\n" + h + "\r\n", 400, "truncated escape"),
            ("GET /%FF HTTP/1.1\r\n" + h + "\r\n", 400, "path not UTF-8"),
            ("GET /a\"b HTTP/1.1\r\n" + h + "\r\n", 400, "quote in path"),
            ("GET /?a\"b HTTP/1.1\r\n" + h + "\r\n", 400, "quote in query"),
            ("GET a/b HTTP/1.1\r\n" + h + "\r\n", 400, "relative target"),
            ("GET ftp://a/b HTTP/1.1\r\n" + h + "\r\n", 400, "other scheme"),
            ("GET http:///b HTTP/1.1\r\n" + h + "\r\n", 400, "absolute-form without host"),
            ("GET http://u@a/b HTTP/1.1\r\n" + h + "\r\n", 400, "userinfo"),
            ("GET / HTTP/1.1\r\n" + h + "X: \u{FF}\r\n\r\n", 400, "value not UTF-8 (Latin-1 ÿ)"),
        ]
        for (text, status, label) in cases {
            // The latin-1 case needs its raw byte, not the UTF-8 of U+00FF.
            let bytes = label.contains("Latin-1") ? Array(text.utf8).replacing([0xC3, 0xBF], with: [0xFF]) : Array(text.utf8)
            XCTAssertEqual(ParserDriver.errorStatus(bytes), status, label)
        }
    }

    func testLimitsAreExactBoundaries() {
        // A head of exactly 16 KiB is accepted; one byte more is 431.
        let base = "GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n"
        let filler = String(repeating: "v", count: 16 * 1024 - base.utf8.count)
        let exact = "GET / HTTP/1.1\r\nHost: a\r\nX: \(filler)\r\n\r\n"
        XCTAssertEqual(exact.utf8.count, 16 * 1024)
        XCTAssertNil(ParserDriver.errorStatus(exact))
        XCTAssertEqual(ParserDriver.errorStatus("GET / HTTP/1.1\r\nHost: a\r\nX: \(filler)v\r\n\r\n"), 431)
        // 100 fields accepted, 101 refused.
        let hundred = "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<99).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        XCTAssertNil(ParserDriver.errorStatus(hundred))
        // Limits are configurable.
        XCTAssertEqual(ParserDriver.errorStatus("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n",
                                                limits: .init(body: 10)), 413)
    }

    func testErrorIsFinalAndParserStaysFailed() {
        var parser = HTTPParser()
        let first = parser.parse(Array("GET / HTTP/1.1\nHost: a\r\n\r\n".utf8))
        guard case .error(let error)? = first.event else { return XCTFail("expected an error") }
        XCTAssertEqual(error.status.code, 400)
        XCTAssertEqual(parser.phase, .failed)
        let again = parser.parse(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        XCTAssertEqual(again.consumed, 0)
        XCTAssertNil(again.event)
    }

    func testPipelinedRequestsParseInOrderAndStopAtEachEnd() {
        let pair = "GET /one HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        var parser = HTTPParser()
        let bytes = Array(pair.utf8)
        var offset = 0
        var paths: [String] = []
        var ends = 0
        while true {
            let step = parser.parse(bytes[offset...])
            offset += step.consumed
            guard let event = step.event else { break }
            if case .head(let head) = event { paths.append(head.path) }
            if case .end = event {
                ends += 1
                // The first request ends exactly at its own last byte: the second is untouched.
                if ends == 1 { XCTAssertEqual(offset, "GET /one HTTP/1.1\r\nHost: a\r\n\r\n".utf8.count) }
            }
        }
        XCTAssertEqual(paths, ["/one", "/two"])
        XCTAssertEqual(ends, 2)
        XCTAssertEqual(offset, bytes.count)
    }

    /// Every valid request, and every pipelined pair of them, split at every byte and fed byte by byte, gives the
    /// one-shot events (NIO's ByteToMessageDecoderVerifier idea).
    func testEverySplitGivesTheOneShotResult() {
        var inputs = Self.validFixtures
        for (i, a) in Self.validFixtures.enumerated() where !a.contains("Connection: close") && !a.hasPrefix("GET / HTTP/1.0\r\n\r\n") {
            inputs.append(a + Self.validFixtures[(i + 3) % Self.validFixtures.count])
        }
        // Refusals too: the same error at the same point whatever the split.
        inputs += ["GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
                   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n"]
        var checked = 0
        for input in inputs {
            let bytes = Array(input.utf8)
            let oneShot = ParserDriver.events(bytes)
            XCTAssertFalse(oneShot.isEmpty, input)
            for cut in 1..<bytes.count {
                let split = ParserDriver.events(bytes, cuts: [cut])
                if split != oneShot {
                    XCTFail("split at \(cut) of \(input.debugDescription): \(split) ≠ \(oneShot)")
                    break
                }
                checked += 1
            }
            XCTAssertEqual(ParserDriver.events(bytes, cuts: Array(1..<bytes.count)), oneShot, "byte by byte: \(input.debugDescription)")
        }
        XCTAssertGreaterThan(checked, 3_000)
    }
}

extension Array where Element: Equatable {
    fileprivate func replacing(_ pattern: [Element], with replacement: [Element]) -> [Element] {
        var out: [Element] = []
        var i = 0
        while i < count {
            if i + pattern.count <= count && Array(self[i..<(i + pattern.count)]) == pattern {
                out += replacement
                i += pattern.count
            } else {
                out.append(self[i])
                i += 1
            }
        }
        return out
    }
}
