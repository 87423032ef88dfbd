/// Parses one complete head (request line, field lines, final CRLF already located by `HTTPParser`) into an
/// `HTTPRequestHead`, applying RFC 9112's rules and the table of docs/HTTP.md §1. Pure: bytes in, head or error out.
struct HeadParser {
    let limits: HTTPParser.Limits

    func parse(_ bytes: [UInt8]) -> Result<HTTPRequestHead, HTTPParseError> {
        do {
            return .success(try parseHead(bytes))
        } catch let error as HTTPParseError {
            return .failure(error)
        } catch {
            return .failure(.bad("unexpected parser error"))
        }
    }

    private func parseHead(_ bytes: [UInt8]) throws -> HTTPRequestHead {
        // The scanner guaranteed: every line ends with CRLF, no bare CR/LF, the head ends with an empty line.
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == ByteClass.cr && bytes[i + 1] == ByteClass.lf {
                lines.append(bytes[start..<i])
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        guard let requestLine = lines.first, !requestLine.isEmpty else { throw HTTPParseError.bad("empty request line") }
        let line = try parseRequestLine(requestLine)
        var headers: [HTTPHeaders.Field] = []
        headers.reserveCapacity(lines.count)
        for fieldLine in lines.dropFirst() where !fieldLine.isEmpty {
            headers.append(try parseField(fieldLine))
        }
        guard headers.count <= limits.fields else {
            throw HTTPParseError(.headerFieldsTooLarge, "more than \(limits.fields) header fields")
        }
        return try decide(line, HTTPHeaders(headers))
    }

    private struct RequestLine {
        var method: HTTPMethod
        var target: String
        var path: String
        var query: String?
        var authority: String?
        var version: HTTPVersion
    }

    /// request-line = method SP request-target SP HTTP-version (RFC 9112 §3): single spaces, nothing else.
    private func parseRequestLine(_ line: ArraySlice<UInt8>) throws -> RequestLine {
        guard let firstSpace = line.firstIndex(of: ByteClass.sp) else { throw HTTPParseError.bad("malformed request line") }
        let methodBytes = line[line.startIndex..<firstSpace]
        let rest = line[(firstSpace + 1)...]
        guard let secondSpace = rest.firstIndex(of: ByteClass.sp) else { throw HTTPParseError.bad("malformed request line") }
        let targetBytes = rest[rest.startIndex..<secondSpace]
        let versionBytes = rest[(secondSpace + 1)...]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(ByteClass.isToken) else { throw HTTPParseError.bad("bad method") }
        let version = try parseVersion(versionBytes)
        guard let method = HTTPMethod.known(methodBytes) else {
            throw HTTPParseError(.notImplemented, "method not implemented")
        }
        guard !targetBytes.isEmpty else { throw HTTPParseError.bad("empty request target") }
        let target = try RequestTarget.parse(targetBytes, method: method)
        return RequestLine(method: method, target: String(decoding: targetBytes, as: UTF8.self), path: target.path,
                           query: target.query, authority: target.authority, version: version)
    }

    /// HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3); major ≠ 1 is 505.
    private func parseVersion(_ bytes: ArraySlice<UInt8>) throws -> HTTPVersion {
        let b = Array(bytes)
        guard b.count == 8, b[0...4].elementsEqual("HTTP/".utf8), ByteClass.isDigit(b[5]), b[6] == UInt8(ascii: "."),
              ByteClass.isDigit(b[7]) else {
            throw HTTPParseError.bad("bad HTTP version")
        }
        let major = Int(b[5] - 0x30), minor = Int(b[7] - 0x30)
        guard major == 1 else { throw HTTPParseError(.httpVersionNotSupported, "HTTP major version \(major)") }
        return HTTPVersion(major: 1, minor: minor)
    }

    /// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5): no space before ":", no obs-fold, no CTL.
    private func parseField(_ line: ArraySlice<UInt8>) throws -> HTTPHeaders.Field {
        guard let first = line.first, !ByteClass.isWhitespace(first) else {
            throw HTTPParseError.bad("field line starts with whitespace (obs-fold)")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw HTTPParseError.bad("field line without colon") }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty else { throw HTTPParseError.bad("empty field name") }
        guard name.allSatisfy(ByteClass.isToken) else {
            throw HTTPParseError.bad(ByteClass.isWhitespace(name.last ?? 0) ? "whitespace before colon" : "bad field name")
        }
        var value = line[(colon + 1)...]
        guard value.allSatisfy(ByteClass.isValue) else { throw HTTPParseError.bad("control character in field value") }
        while let c = value.first, ByteClass.isWhitespace(c) { value.removeFirst() }
        while let c = value.last, ByteClass.isWhitespace(c) { value.removeLast() }
        guard let text = String(validating: value, as: UTF8.self) else {
            throw HTTPParseError.bad("field value is not UTF-8")
        }
        return HTTPHeaders.Field(name: String(decoding: name, as: UTF8.self), value: text)
    }

    /// Host, Connection, Content-Length, Transfer-Encoding and Expect decide the framing (RFC 9112 §3.2, §6, §9).
    private func decide(_ line: RequestLine, _ headers: HTTPHeaders) throws -> HTTPRequestHead {
        let http11 = line.version.minor >= 1
        let hosts = headers.values("host")
        guard hosts.count <= 1 else { throw HTTPParseError.bad("more than one Host") }
        if http11 && hosts.isEmpty { throw HTTPParseError.bad("missing Host") }
        if let host = hosts.first, !RequestTarget.isValidHost(Array(host.utf8), allowEmpty: true) {
            throw HTTPParseError.bad("bad Host")
        }

        var close = false, keepAliveToken = false
        for value in headers.values("connection") {
            for token in try Self.list(value) {
                if ByteClass.equalsLowercase(token, "close") { close = true }
                if ByteClass.equalsLowercase(token, "keep-alive") { keepAliveToken = true }
            }
        }
        let keepAlive = !close && (http11 || keepAliveToken)

        let lengths = headers.values("content-length")
        let encodings = headers.values("transfer-encoding")
        var framing = HTTPRequestHead.Framing.none
        if !encodings.isEmpty {
            guard lengths.isEmpty else { throw HTTPParseError.bad("Content-Length with Transfer-Encoding") }
            guard http11 else { throw HTTPParseError.bad("Transfer-Encoding in HTTP/1.0") }
            guard encodings.count == 1 else { throw HTTPParseError.bad("more than one Transfer-Encoding") }
            let codings = try Self.list(encodings[0])
            guard let last = codings.last, ByteClass.equalsLowercase(last, "chunked") else {
                throw HTTPParseError.bad("chunked is not the final transfer coding")
            }
            guard codings.count == 1 else { throw HTTPParseError(.notImplemented, "transfer coding not implemented") }
            framing = .chunked
        } else if !lengths.isEmpty {
            guard lengths.count == 1 else { throw HTTPParseError.bad("more than one Content-Length") }
            let digits = Array(lengths[0].utf8)
            guard !digits.isEmpty, digits.allSatisfy(ByteClass.isDigit) else { throw HTTPParseError.bad("bad Content-Length") }
            guard digits.count <= 18 else { throw HTTPParseError.bad("Content-Length too long") }
            let length = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard length <= limits.body else { throw HTTPParseError(.contentTooLarge, "Content-Length over the limit") }
            framing = .length(length)
        }

        var expectsContinue = false
        let expectations = headers.values("expect")
        if http11 && !expectations.isEmpty {
            guard expectations.count == 1, ByteClass.equalsLowercase(Array(expectations[0].utf8), "100-continue") else {
                throw HTTPParseError(.expectationFailed, "unsupported expectation")
            }
            expectsContinue = true
        }
        return HTTPRequestHead(method: line.method, target: line.target, path: line.path, query: line.query,
                               version: line.version, headers: headers, authority: line.authority ?? hosts.first,
                               keepAlive: keepAlive, framing: framing, expectsContinue: expectsContinue)
    }

    /// A comma-separated list of tokens (RFC 9110 §5.6.1), strictly: no empty elements.
    private static func list(_ value: String) throws -> [[UInt8]] {
        try value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map { element in
            var e = element[...]
            while let c = e.first, ByteClass.isWhitespace(c) { e.removeFirst() }
            while let c = e.last, ByteClass.isWhitespace(c) { e.removeLast() }
            guard !e.isEmpty, e.allSatisfy(ByteClass.isToken) else { throw HTTPParseError.bad("bad list element") }
            return Array(e)
        }
    }
}
