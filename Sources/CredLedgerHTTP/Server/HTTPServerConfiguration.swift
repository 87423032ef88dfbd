import Glibc

/// Timeouts of docs/HTTP.md §1 (configurable so that tests can use short ones).
public struct HTTPTimeouts: Sendable, Equatable {
    /// From the first byte of a request's head to its end, absolute (slow-loris defence) → 408. Also the time a
    /// fresh connection may stay silent (closed without an answer).
    public var header: Duration = .seconds(10)
    /// From the end of the head to the end of the body → 408.
    public var body: Duration = .seconds(10)
    /// Pending output without any progress → close.
    public var send: Duration = .seconds(10)
    /// A kept-alive connection between requests → silent close (above nginx's upstream keepalive_timeout 60 s).
    public var idle: Duration = .seconds(75)
    /// Lingering close: after shutdown(SHUT_WR), input is read and dropped for at most this long.
    public var linger: Duration = .seconds(2)
    /// Graceful shutdown: in-flight requests get at most this long before their connections are closed.
    public var drain: Duration = .seconds(10)
    /// After EMFILE/ENFILE the listener is paused this long (else it stays readable: 100 % CPU).
    public var acceptBackoff: Duration = .seconds(1)

    public init() {}
}

/// One line per request for the caller's log: never headers, cookies, bodies or queries.
public struct HTTPLogRecord: Sendable, Equatable, CustomStringConvertible {
    /// nil when the request line could not be parsed.
    public let method: HTTPMethod?
    /// The decoded path without the query; nil when the request line could not be parsed.
    public let path: String?
    public let status: Int
    /// From the end of the request's head (or the error) to the response being queued.
    public let duration: Duration
    public let peer: PeerAddress

    public init(method: HTTPMethod?, path: String?, status: Int, duration: Duration, peer: PeerAddress) {
        self.method = method
        self.path = path
        self.status = status
        self.duration = duration
        self.peer = peer
    }

    /// `GET /healthz 200 0.123ms 127.0.0.1:51234`.
    public var description: String {
        let (seconds, attoseconds) = duration.components
        let micros = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
        let millis = "\(micros / 1000).\(String(micros % 1000 + 1000).dropFirst())"
        return "\(method?.rawValue ?? "-") \(path ?? "-") \(status) \(millis)ms \(peer)"
    }
}

/// How a server listens and bounds its work.
public struct HTTPServerConfiguration: Sendable {
    /// Numeric IPv4 or IPv6 address to listen on.
    public var host: String
    /// 0 picks a free port (see `HTTPServer.port`).
    public var port: UInt16
    /// Event-loop threads (one per core).
    public var loops: Int = 2
    public var backlog: Int32 = 1024
    public var limits = HTTPParser.Limits()
    public var timeouts = HTTPTimeouts()
    /// Open connections across all loops; past it idle ones are closed, else new ones get 503 + Retry-After.
    /// Lowered to RLIMIT_NOFILE minus a reserve at start.
    public var maxConnections: Int = 10_000
    /// Called once per answered request, on a loop thread: keep it cheap and non-blocking.
    public var log: (@Sendable (HTTPLogRecord) -> Void)?

    public init(host: String = "127.0.0.1", port: UInt16 = 8080) {
        self.host = host
        self.port = port
    }
}

/// A server that could not start: what failed and the errno.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let code: Int32

    public var description: String { "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))" }
}

extension Duration {
    /// Whole nanoseconds, for the monotonic clock arithmetic of the loops.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds / 1_000_000_000))
    }
}
