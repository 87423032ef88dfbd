/// A complete request as handed to a handler: the validated head, the whole body (≤ the body limit), the TCP peer,
/// and the parameters captured by the router's pattern.
public struct HTTPRequest: Sendable {
    public let head: HTTPRequestHead
    public let body: [UInt8]
    /// The TCP peer (never `X-Forwarded-For`): the only address `--trusted-proxy` may be checked against.
    public let peer: PeerAddress
    /// Values captured by `{name}` segments of the matched route pattern, already percent-decoded.
    public var pathParameters: [String: String]

    public init(head: HTTPRequestHead, body: [UInt8] = [], peer: PeerAddress, pathParameters: [String: String] = [:]) {
        self.head = head
        self.body = body
        self.peer = peer
        self.pathParameters = pathParameters
    }

    public var method: HTTPMethod { head.method }
    /// The decoded path (no query).
    public var path: String { head.path }
    /// The raw, undecoded query string (nil without "?").
    public var query: String? { head.query }
    public var headers: HTTPHeaders { head.headers }
    public var version: HTTPVersion { head.version }

    /// The query string decoded as form fields (docs/HTTP.md §9 rules); an empty set without a query.
    public func queryFields() throws(FormDecodingError) -> FormFields {
        try QueryString.parse(query ?? "")
    }
}
