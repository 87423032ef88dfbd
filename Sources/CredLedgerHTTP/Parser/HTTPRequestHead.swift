/// A parsed request line and header section (RFC 9112 §3, §5), validated and with its body framing decided.
public struct HTTPRequestHead: Sendable, Equatable {
    /// How the body that follows the head is delimited (RFC 9112 §6.3).
    public enum Framing: Sendable, Equatable {
        case none
        case length(Int)
        case chunked
    }

    public var method: HTTPMethod
    /// The request-target exactly as received (origin-, absolute- or asterisk-form).
    public var target: String
    /// The path, percent-decoded once (never contains an encoded "/", NUL or a "." / ".." segment).
    public var path: String
    /// The raw query after "?", not decoded (nil without "?"); decode it with `QueryString`.
    public var query: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// The authority: absolute-form's when given (RFC 9112 §3.2.2), else the Host header's (nil in 1.0 without Host).
    public var authority: String?
    /// Whether the connection may carry another request after this one (RFC 9112 §9.3).
    public var keepAlive: Bool
    public var framing: Framing
    /// `Expect: 100-continue` on a 1.1 request: the server sends 100 Continue before reading the body.
    public var expectsContinue: Bool

    /// Whether a body follows the head.
    public var hasBody: Bool {
        switch framing {
        case .none, .length(0): return false
        default: return true
        }
    }
}
