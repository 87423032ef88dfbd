import Foundation

/// A response produced by a handler. The writer adds `Date`, `Content-Length` and `Connection` itself (any such
/// field set here is replaced), omits the body for HEAD, and answers 500 instead if a header holds CR, LF or NUL.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: HTTPStatus = .ok, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        headers.replace("Content-Type", "text/plain; charset=utf-8")
        return HTTPResponse(status: status, headers: headers, body: Array(text.utf8))
    }

    /// A `text/html; charset=utf-8` response (the caller escapes every interpolated value with `HTML.escape`).
    public static func html(_ html: String, status: HTTPStatus = .ok, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        headers.replace("Content-Type", "text/html; charset=utf-8")
        return HTTPResponse(status: status, headers: headers, body: Array(html.utf8))
    }

    /// An `application/json` response of `value` (sorted keys, slashes unescaped); a value that fails to encode
    /// gives a 500 with a JSON error body instead.
    public static func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        headers.replace("Content-Type", "application/json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else {
            return HTTPResponse(status: .internalServerError, headers: headers,
                                body: Array(#"{"error":"server_error","message":"response encoding failed"}"#.utf8))
        }
        return HTTPResponse(status: status, headers: headers, body: Array(data))
    }

    /// A plain-text response whose body is the status line (`404 Not Found`), for errors without more to say.
    public static func status(_ status: HTTPStatus, headers: HTTPHeaders = [:]) -> HTTPResponse {
        text("\(status.code) \(status.reason)\n", status: status, headers: headers)
    }
}

/// The handler type: one call per request, run in its own Task; the result is written by the connection's loop.
public typealias HTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse
