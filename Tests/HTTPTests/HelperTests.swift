@testable import CredLedgerHTTP
import Foundation
import XCTest

/// The pure helpers the endpoints build on: forms, queries, Basic, cookies, JSON, escaping, peers and CIDR.
final class HelperTests: XCTestCase {
    func testFormDecoding() throws {
        let form = try FormDecoding.decode(Array("grant_type=client_credentials&scope=a+b%20c&empty=&flag&x=%E2%9C%93&&=v".utf8))
        XCTAssertEqual(form["grant_type"], "client_credentials")
        XCTAssertEqual(form["scope"], "a b c")
        XCTAssertNil(form["empty"], "empty means absent (RFC 6749 §3.1)")
        XCTAssertNil(form["flag"])
        XCTAssertEqual(form["x"], "✓")
        XCTAssertEqual(form.repeatedNames, [])
        XCTAssertEqual(form.fields.count, 6)
        // "=" inside a value: split at the first one only.
        XCTAssertEqual(try FormDecoding.decode(Array("redirect_uri=https://a/cb?x=1".utf8))["redirect_uri"], "https://a/cb?x=1")
    }

    func testRepeatedFieldsAreReported() throws {
        let form = try FormDecoding.decode(Array("client_id=a&redirect_uri=x&client_id=b&client_id=c&scope=&scope=".utf8))
        XCTAssertEqual(form.repeatedNames, ["client_id"])
        XCTAssertTrue(form.isRepeated("client_id"))
        XCTAssertFalse(form.isRepeated("scope"), "empty repeats are absent, not repeated")
    }

    func testBadFormEncodingIsRefused() {
        XCTAssertThrowsError(try FormDecoding.decode(Array("a=%zz".utf8))) { XCTAssertEqual($0 as? FormDecodingError, .badPercentEncoding) }
        XCTAssertThrowsError(try FormDecoding.decode(Array("a=%4".utf8))) { XCTAssertEqual($0 as? FormDecodingError, .badPercentEncoding) }
        XCTAssertThrowsError(try FormDecoding.decode(Array("a=%FF".utf8))) { XCTAssertEqual($0 as? FormDecodingError, .invalidUTF8) }
        XCTAssertThrowsError(try FormDecoding.decode([0x61, 0x3D, 0xC3])) { XCTAssertEqual($0 as? FormDecodingError, .invalidUTF8) }
    }

    func testFormContentType() {
        XCTAssertTrue(FormDecoding.isFormContentType("application/x-www-form-urlencoded"))
        XCTAssertTrue(FormDecoding.isFormContentType("Application/X-WWW-Form-URLEncoded; charset=UTF-8"))
        XCTAssertFalse(FormDecoding.isFormContentType("application/json"))
        XCTAssertFalse(FormDecoding.isFormContentType("application/x-www-form-urlencodedx"))
        XCTAssertFalse(FormDecoding.isFormContentType(nil))
    }

    func testQueryString() throws {
        let query = try QueryString.parse("response_type=code&state=a%26b&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb")
        XCTAssertEqual(query["state"], "a&b")
        XCTAssertEqual(query["redirect_uri"], "http://127.0.0.1/cb")
        XCTAssertEqual(try QueryString.parse("").fields, [])
        let request = HTTPRequest(head: try head("GET /x?a=1&a=2 HTTP/1.1\r\nHost: h\r\n\r\n"), peer: PeerAddress(host: "127.0.0.1", port: 1))
        XCTAssertEqual(try request.queryFields().repeatedNames, ["a"])
    }

    func testJSONRepeatedKeys() {
        func repeated(_ json: String) -> String? { JSONRepeatedKeys.firstRepeated(in: Array(json.utf8)) }
        XCTAssertNil(repeated(#"{"a":1,"b":2}"#))
        XCTAssertEqual(repeated(#"{"a":1,"b":2,"a":3}"#), "a")
        XCTAssertEqual(repeated(#" { "a" : "x" ,"b":[1,2], "a" : "y" } "#), "a")
        XCTAssertEqual(repeated(#"{"a":1,"\u0061":3}"#), "a", "names compare unescaped")
        XCTAssertEqual(repeated(#"{"a\"":1,"a\u0022":2}"#), "a\"")
        XCTAssertEqual(repeated(#"{"x\\":1,"y":{"}":2},"x\\":3}"#), "x\\")
        XCTAssertEqual(repeated(#"{"a":{"b":1,"b":2}}"#), "b", "nested objects are checked too")
        XCTAssertEqual(repeated(#"{"a":[1,{"c":"]}","c":0}],"d":1}"#), "c")
        // Names inside string values, the same name in different objects, array elements: no repeat.
        XCTAssertNil(repeated(#"{"a":"\"a\":1,","b":"a"}"#))
        XCTAssertNil(repeated(#"{"a":"x\\","b":"\\\"a\":"}"#))
        XCTAssertNil(repeated(#"{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":{"a":{"a":0}}}"#))
        XCTAssertNil(repeated(#"["a","a"]"#))
        XCTAssertNil(repeated(#"{"a":"unterminated"#), "malformed JSON is left to the decoder")
        XCTAssertNil(repeated(""))
    }

    func testBasicCredentials() throws {
        // RFC 6749 §2.3.1: each half form-encoded before base64.
        let credentials = BasicCredentials(username: "client id", password: "s3cr:t+/=")
        let header = credentials.headerValue
        XCTAssertEqual(try BasicCredentials.parse(header), credentials)
        XCTAssertEqual(try BasicCredentials.parse("basic " + Data("a:b:c".utf8).base64EncodedString()),
                       BasicCredentials(username: "a", password: "b:c"), "split at the first colon; scheme is case-insensitive")
        XCTAssertEqual(try BasicCredentials.parse("Basic " + Data("cl_1:".utf8).base64EncodedString()),
                       BasicCredentials(username: "cl_1", password: ""))
        XCTAssertThrowsError(try BasicCredentials.parse("Bearer abc")) { XCTAssertEqual($0 as? BasicCredentials.ParseError, .notBasic) }
        XCTAssertThrowsError(try BasicCredentials.parse("Basic !!!")) { XCTAssertEqual($0 as? BasicCredentials.ParseError, .badBase64) }
        XCTAssertThrowsError(try BasicCredentials.parse("Basic " + Data("nocolon".utf8).base64EncodedString())) {
            XCTAssertEqual($0 as? BasicCredentials.ParseError, .missingColon)
        }
        XCTAssertThrowsError(try BasicCredentials.parse("Basic " + Data("a%zz:b".utf8).base64EncodedString())) {
            XCTAssertEqual($0 as? BasicCredentials.ParseError, .badEncoding(.badPercentEncoding))
        }
        XCTAssertThrowsError(try BasicCredentials.parse("Basic"))
    }

    func testCookies() throws {
        let headers: HTTPHeaders = ["Cookie": "a=1; session=\"xyz\"; bad name=2; =3; noequals", "cookie": "b=2"]
        let cookies = Cookies.parse(headers)
        XCTAssertEqual(cookies.map(\.name), ["a", "session", "b"])
        XCTAssertEqual(Cookies.value("session", in: headers), "xyz")
        XCTAssertNil(Cookies.value("missing", in: headers))

        var cookie = SetCookie(name: "cl_session", value: "abc.def")
        cookie.secure = true
        cookie.maxAge = 3600
        XCTAssertEqual(cookie.headerValue, "cl_session=abc.def; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax")
        XCTAssertEqual(SetCookie.expired("cl_session").headerValue, "cl_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
        XCTAssertNil(SetCookie(name: "a", value: "x;y").headerValue, "a value that would add attributes is refused")
        XCTAssertNil(SetCookie(name: "a b", value: "x").headerValue)
        XCTAssertNil(SetCookie(name: "a", value: "x\r\nSet-Cookie: y").headerValue)
    }

    func testJSONResponse() throws {
        struct Payload: Encodable {
            let b: String
            let a: Int
        }
        let response = HTTPResponse.json(Payload(b: "x/y", a: 1), status: .created)
        XCTAssertEqual(response.status, .created)
        XCTAssertEqual(response.headers["content-type"], "application/json")
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), #"{"a":1,"b":"x/y"}"#)
        XCTAssertEqual(HTTPResponse.json(Double.nan).status, .internalServerError)
    }

    func testHTMLEscapingAndPercentEncoding() {
        XCTAssertEqual(HTML.escape(#"<script>alert("x&y's")</script>"#),
                       "&lt;script&gt;alert(&quot;x&amp;y&#39;s&quot;)&lt;/script&gt;")
        XCTAssertEqual(HTML.escape("Zoë"), "Zoë")
        XCTAssertEqual(PercentEncoding.encode("a b&c=d/é\r\n~._-"), "a%20b%26c%3Dd%2F%C3%A9%0D%0A~._-")
        XCTAssertEqual(PercentEncoding.formEncode("a b+c"), "a+b%2Bc")
        XCTAssertEqual(try FormDecoding.component(Array(PercentEncoding.formEncode("x y+z%&=é").utf8)), "x y+z%&=é")
    }

    func testPeerAddressAndCIDR() throws {
        XCTAssertEqual(PeerAddress(host: "::ffff:127.0.0.1", port: 80).host, "127.0.0.1")
        XCTAssertEqual(PeerAddress(host: "::FFFF:10.1.2.3", port: 80).description, "10.1.2.3:80")
        XCTAssertEqual(PeerAddress(host: "0:0:0:0:0:0:0:1", port: 80).description, "[::1]:80")

        let loopback = try XCTUnwrap(CIDR("127.0.0.1/32"))
        XCTAssertTrue(loopback.contains("127.0.0.1"))
        XCTAssertTrue(loopback.contains("::ffff:127.0.0.1"), "IPv4-mapped peers match IPv4 ranges")
        XCTAssertFalse(loopback.contains("127.0.0.2"))
        let ten = try XCTUnwrap(CIDR("10.0.0.0/8"))
        XCTAssertTrue(ten.contains(PeerAddress(host: "10.255.0.1", port: 1)))
        XCTAssertFalse(ten.contains("11.0.0.1"))
        XCTAssertFalse(ten.contains("::1"))
        let odd = try XCTUnwrap(CIDR("192.168.1.128/25"))
        XCTAssertTrue(odd.contains("192.168.1.200"))
        XCTAssertFalse(odd.contains("192.168.1.127"))
        XCTAssertTrue(try XCTUnwrap(CIDR("::1")).contains("::1"))
        XCTAssertTrue(try XCTUnwrap(CIDR("fd00::/8")).contains("fd12::1"))
        XCTAssertTrue(try XCTUnwrap(CIDR("0.0.0.0/0")).contains("8.8.8.8"))
        XCTAssertTrue(try XCTUnwrap(CIDR("::ffff:10.0.0.0/104")).contains("10.9.9.9"))
        for bad in ["", "localhost", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "::1/129", "1.2.3/8", "10.0.0.0/8/8"] {
            XCTAssertNil(CIDR(bad), bad)
        }
    }

    func testDateFormat() {
        XCTAssertEqual(String(decoding: DateCache.format(784_111_777), as: UTF8.self), "Sun, 06 Nov 1994 08:49:37 GMT")
        var cache = DateCache()
        XCTAssertEqual(cache.value(at: 0), Array("Thu, 01 Jan 1970 00:00:00 GMT".utf8))
    }

    func testResponseWriterRefusesInjectionAndOwnsFraming() throws {
        let date = Array("Thu, 01 Jan 1970 00:00:00 GMT".utf8)
        var response = HTTPResponse.text("hi", headers: ["Content-Length": "999", "X-A": "1", "Connection": "upgrade"])
        let head = String(decoding: try XCTUnwrap(ResponseSerializer.head(response, date: date, connection: .close)), as: UTF8.self)
        XCTAssertEqual(head, "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
        for bad in ["a\rb", "a\nb", "a\0b"] {
            response.headers = ["X-Bad": bad]
            XCTAssertNil(ResponseSerializer.head(response, date: date, connection: .none), bad.debugDescription)
        }
        response.headers = ["Bad Name": "v"]
        XCTAssertNil(ResponseSerializer.head(response, date: date, connection: .none))
        let noContent = String(decoding: try XCTUnwrap(ResponseSerializer.head(HTTPResponse(status: .noContent), date: date, connection: .none)), as: UTF8.self)
        XCTAssertFalse(noContent.contains("Content-Length"))
    }

    private func head(_ text: String) throws -> HTTPRequestHead {
        for case .head(let head) in ParserDriver.events(text) { return head }
        throw XCTSkip("no head")
    }
}
