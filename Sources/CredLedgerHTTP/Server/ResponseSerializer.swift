import CHTTPShim

/// Turns a response into the bytes of its head (status line and fields) and decides whether the body is sent.
enum ResponseSerializer {
    /// How the `Connection` field is set: closing, keeping an HTTP/1.0 connection alive, or nothing (1.1 default).
    enum ConnectionField { case close, keepAlive, none }

    /// The head bytes, or nil when a field name is not a token or a value holds CR, LF, NUL or another control
    /// character (header injection: the caller answers 500 instead).
    static func head(_ response: HTTPResponse, date: [UInt8], connection: ConnectionField) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(160 + response.headers.count * 48)
        out.append(contentsOf: "HTTP/1.1 \(response.status.code) ".utf8)
        let reason = Array(response.status.reason.utf8)
        guard reason.allSatisfy({ ByteClass.isValue($0) }) else { return nil }
        out.append(contentsOf: reason)
        out.append(contentsOf: [ByteClass.cr, ByteClass.lf])
        for field in response.headers {
            if isManaged(field.name) { continue }
            let name = Array(field.name.utf8)
            let value = Array(field.value.utf8)
            guard !name.isEmpty, name.allSatisfy(ByteClass.isToken), value.allSatisfy(ByteClass.isValue) else { return nil }
            out.append(contentsOf: name)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value)
            out.append(contentsOf: [ByteClass.cr, ByteClass.lf])
        }
        out.append(contentsOf: "Date: ".utf8)
        out.append(contentsOf: date)
        out.append(contentsOf: [ByteClass.cr, ByteClass.lf])
        if !response.status.forbidsBody {
            out.append(contentsOf: "Content-Length: \(response.body.count)\r\n".utf8)
        }
        switch connection {
        case .close: out.append(contentsOf: "Connection: close\r\n".utf8)
        case .keepAlive: out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        case .none: break
        }
        out.append(contentsOf: [ByteClass.cr, ByteClass.lf])
        return out
    }

    /// Whether the body is written: never for HEAD (RFC 9110 §9.3.2) nor for 1xx/204/304.
    static func sendsBody(_ response: HTTPResponse, method: HTTPMethod?) -> Bool {
        method != .head && !response.status.forbidsBody
    }

    /// Fields the writer owns.
    private static func isManaged(_ name: String) -> Bool {
        HTTPHeaders.same(name, "content-length") || HTTPHeaders.same(name, "date")
            || HTTPHeaders.same(name, "connection") || HTTPHeaders.same(name, "transfer-encoding")
    }
}

/// The `Date` field value, formatted once per second (RFC 9110 §6.6.1).
struct DateCache {
    private var second: Int64 = -1
    private var cached: [UInt8] = []

    mutating func value(at seconds: Int64) -> [UInt8] {
        if seconds != second {
            second = seconds
            cached = Self.format(seconds)
        }
        return cached
    }

    static func format(_ seconds: Int64) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 32)
        let n = chttp_imf_fixdate(seconds, &buffer)
        return buffer.prefix(Int(max(0, n))).map { UInt8(bitPattern: $0) }
    }
}
