/// The request parser: a pure, incremental byte state machine (no I/O, no time). Feed it chunks of any size; each
/// call consumes a prefix and yields at most one event. Every split of the same bytes yields the same events.
///
/// Use: `while true { let step = parser.parse(bytes); drop step.consumed bytes; guard let event = step.event else
/// { break } … }` — call again after an event even with no bytes left (a body-less head is followed by `.end`).
/// After `.end` the parser is ready for the next request; after `.error` it stays failed (answer, then close).
public struct HTTPParser: Sendable {
    /// Size limits (docs/HTTP.md §1): head 16 KiB (431, 414 for the request line alone), 100 fields (431),
    /// body 64 KiB (413), chunked framing overhead 64 KiB (413).
    public struct Limits: Sendable, Equatable {
        public var headBytes: Int
        public var fields: Int
        public var body: Int

        public init(headBytes: Int = 16 * 1024, fields: Int = 100, body: Int = 64 * 1024) {
            self.headBytes = headBytes
            self.fields = fields
            self.body = body
        }
    }

    /// What one `parse` call found.
    public enum Event: Sendable, Equatable {
        /// A complete, valid head; the body (if any) follows.
        case head(HTTPRequestHead)
        /// The end of the request and its whole body (decoded when chunked).
        case end(body: [UInt8])
        /// The request is refused: answer `error.status` and close.
        case error(HTTPParseError)
    }

    /// Where the parser is within the current request (the server arms its timeouts from it).
    public enum Phase: Sendable, Equatable {
        /// Between requests: no byte of the next one seen yet.
        case idle
        case head
        case body
        case failed
    }

    private enum Line { case text, cr }

    private enum Chunk: Equatable {
        case size, ext, extName, extEquals, extToken, extQuoted, extQuotedEscape, extAfterQuoted, sizeLF
        case data, dataCR, dataLF
        case trailerLineStart, trailerText, trailerCR, trailerEndLF
    }

    public let limits: Limits
    public private(set) var phase: Phase = .idle
    public private(set) var failure: HTTPParseError?

    // Head scanning: the head's bytes so far, where the current line began, and whether the last byte was CR.
    private var headBuffer: [UInt8] = []
    private var line: Line = .text
    private var lineStart = 0
    private var lineCount = 0

    // Body.
    private var framing: HTTPRequestHead.Framing = .none
    private var pendingEnd = false
    private var body: [UInt8] = []
    private var remaining = 0
    private var chunk: Chunk = .size
    private var chunkDigits = 0
    private var chunkSize = 0
    private var framingBytes = 0
    private var trailer: [UInt8] = []
    private var trailerFields = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The bytes the parser holds (head so far or body so far): bounded by the limits whatever the input.
    public var bufferedBytes: Int { headBuffer.count + body.count + trailer.count }

    /// Parses from `bytes`; returns how many were consumed and the event found, if any.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, event: Event?) {
        if pendingEnd {
            pendingEnd = false
            return (0, finish())
        }
        switch phase {
        case .failed:
            return (0, nil)
        case .idle, .head:
            return scanHead(bytes)
        case .body:
            return readBody(bytes)
        }
    }

    /// `parse` over an array.
    public mutating func parse(_ bytes: [UInt8]) -> (consumed: Int, event: Event?) {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// `parse` over a slice of an array.
    public mutating func parse(_ bytes: ArraySlice<UInt8>) -> (consumed: Int, event: Event?) {
        bytes.withUnsafeBytes { parse($0) }
    }

    // MARK: head

    private mutating func scanHead(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, event: Event?) {
        var i = 0
        let count = bytes.count
        if count > 0 { phase = .head }
        while i < count {
            if line == .text {
                // Fast path: ordinary bytes up to the next CR or LF are appended in bulk (the scan never revisits
                // bytes it has seen, so a slow-loris head costs O(n), not O(n²)).
                var j = i
                while j < count && bytes[j] != ByteClass.cr && bytes[j] != ByteClass.lf { j += 1 }
                let room = limits.headBytes - headBuffer.count
                if j - i > room {
                    headBuffer.append(contentsOf: bytes[i..<(i + room)])
                    return (i + room + 1, fail(lineCount == 0 ? HTTPParseError(.uriTooLong, "request line over the limit")
                                                              : HTTPParseError(.headerFieldsTooLarge, "head over the limit")))
                }
                headBuffer.append(contentsOf: bytes[i..<j])
                i = j
                if i == count { break }
            }
            let b = bytes[i]
            i += 1
            headBuffer.append(b)
            if headBuffer.count > limits.headBytes {
                return (i, fail(lineCount == 0 ? HTTPParseError(.uriTooLong, "request line over the limit")
                                             : HTTPParseError(.headerFieldsTooLarge, "head over the limit")))
            }
            switch line {
            case .cr:
                guard b == ByteClass.lf else { return (i, fail(.bad("bare CR"))) }
                line = .text
                let length = headBuffer.count - 2 - lineStart
                lineStart = headBuffer.count
                if length == 0 {
                    guard lineCount > 0 else { return (i, fail(.bad("empty request line"))) }
                    return (i, headComplete())
                }
                lineCount += 1
                if lineCount - 1 > limits.fields {
                    return (i, fail(HTTPParseError(.headerFieldsTooLarge, "more than \(limits.fields) header fields")))
                }
            case .text:
                if b == ByteClass.cr {
                    line = .cr
                } else if b == ByteClass.lf {
                    return (i, fail(.bad("bare LF")))
                }
            }
        }
        return (i, nil)
    }

    private mutating func headComplete() -> Event {
        let result = HeadParser(limits: limits).parse(headBuffer)
        headBuffer.removeAll(keepingCapacity: true)
        lineStart = 0
        lineCount = 0
        switch result {
        case .failure(let error):
            return fail(error)
        case .success(let head):
            framing = head.framing
            switch head.framing {
            case .none, .length(0):
                pendingEnd = true
                phase = .body
            case .length(let n):
                remaining = n
                phase = .body
            case .chunked:
                chunk = .size
                chunkDigits = 0
                chunkSize = 0
                framingBytes = 0
                trailerFields = 0
                phase = .body
            }
            return .head(head)
        }
    }

    // MARK: body

    private mutating func readBody(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, event: Event?) {
        switch framing {
        case .none:
            return (0, finish())
        case .length:
            let take = min(remaining, bytes.count)
            body.append(contentsOf: bytes[0..<take])
            remaining -= take
            return (take, remaining == 0 ? finish() : nil)
        case .chunked:
            return readChunked(bytes)
        }
    }

    private mutating func readChunked(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, event: Event?) {
        var i = 0
        while i < bytes.count {
            if chunk == .data {
                let take = min(remaining, bytes.count - i)
                body.append(contentsOf: bytes[i..<(i + take)])
                remaining -= take
                i += take
                if remaining == 0 { chunk = .dataCR }
                continue
            }
            let b = bytes[i]
            i += 1
            framingBytes += 1
            if framingBytes > limits.body {
                return (i, fail(HTTPParseError(.contentTooLarge, "chunked framing over the limit")))
            }
            if let error = step(b) { return (i, fail(error)) }
            if chunk == .trailerEndLF && b == ByteClass.lf {
                return (i, finish())
            }
        }
        return (i, nil)
    }

    /// One framing byte of a chunked body (RFC 9112 §7.1): chunk-size [ chunk-ext ] CRLF, data CRLF, …, trailers.
    private mutating func step(_ b: UInt8) -> HTTPParseError? {
        switch chunk {
        case .size:
            if ByteClass.isHex(b) {
                chunkDigits += 1
                guard chunkDigits <= 16 else { return .bad("chunk size too long") }
                // Saturate just past the limit: 16 hex digits could overflow, and any such size is refused anyway.
                chunkSize = min(chunkSize * 16 + Int(ByteClass.hexValue(b)), limits.body + 1)
            } else if chunkDigits > 0 && b == UInt8(ascii: ";") {
                chunk = .extName
            } else if chunkDigits > 0 && b == ByteClass.cr {
                chunk = .sizeLF
            } else {
                return .bad("bad chunk size")
            }
        case .extName:
            guard ByteClass.isToken(b) else { return .bad("bad chunk extension") }
            chunk = .ext
        case .ext:
            if ByteClass.isToken(b) { break }
            if b == UInt8(ascii: "=") { chunk = .extEquals }
            else if b == UInt8(ascii: ";") { chunk = .extName }
            else if b == ByteClass.cr { chunk = .sizeLF }
            else { return .bad("bad chunk extension") }
        case .extEquals:
            if b == UInt8(ascii: "\"") { chunk = .extQuoted }
            else if ByteClass.isToken(b) { chunk = .extToken }
            else { return .bad("bad chunk extension value") }
        case .extToken:
            if ByteClass.isToken(b) { break }
            if b == UInt8(ascii: ";") { chunk = .extName }
            else if b == ByteClass.cr { chunk = .sizeLF }
            else { return .bad("bad chunk extension value") }
        case .extQuoted:
            if b == UInt8(ascii: "\"") { chunk = .extAfterQuoted; return nil }
            if b == UInt8(ascii: "\\") { chunk = .extQuotedEscape; return nil }
            guard ByteClass.isValue(b) else { return .bad("bad quoted chunk extension") }
        case .extAfterQuoted:
            if b == UInt8(ascii: ";") { chunk = .extName }
            else if b == ByteClass.cr { chunk = .sizeLF }
            else { return .bad("bad chunk extension value") }
        case .extQuotedEscape:
            guard ByteClass.isValue(b) else { return .bad("bad quoted chunk extension") }
            chunk = .extQuoted
        case .sizeLF:
            guard b == ByteClass.lf else { return .bad("chunk size line without CRLF") }
            if chunkSize == 0 {
                chunk = .trailerLineStart
            } else {
                guard body.count + chunkSize <= limits.body else {
                    return HTTPParseError(.contentTooLarge, "chunked body over the limit")
                }
                remaining = chunkSize
                chunk = .data
            }
            chunkSize = 0
            chunkDigits = 0
        case .data:
            break // consumed in bulk by readChunked
        case .dataCR:
            guard b == ByteClass.cr else { return .bad("chunk data without CRLF") }
            chunk = .dataLF
        case .dataLF:
            guard b == ByteClass.lf else { return .bad("chunk data without CRLF") }
            chunk = .size
        case .trailerLineStart:
            if b == ByteClass.cr { chunk = .trailerEndLF; return nil }
            guard b != ByteClass.lf else { return .bad("bare LF in trailer") }
            trailer.removeAll(keepingCapacity: true)
            trailer.append(b)
            chunk = .trailerText
        case .trailerText:
            if b == ByteClass.cr { chunk = .trailerCR; return nil }
            guard b != ByteClass.lf else { return .bad("bare LF in trailer") }
            trailer.append(b)
        case .trailerCR:
            guard b == ByteClass.lf else { return .bad("bare CR in trailer") }
            trailerFields += 1
            guard trailerFields <= limits.fields else {
                return HTTPParseError(.headerFieldsTooLarge, "more than \(limits.fields) trailer fields")
            }
            if let error = Self.checkTrailer(trailer) { return error }
            trailer.removeAll(keepingCapacity: true)
            chunk = .trailerLineStart
        case .trailerEndLF:
            guard b == ByteClass.lf else { return .bad("bare CR after trailers") }
        }
        return nil
    }

    /// A trailer field line is validated like a header field line, then dropped (no trailer is ever used).
    private static func checkTrailer(_ line: [UInt8]) -> HTTPParseError? {
        guard let first = line.first, !ByteClass.isWhitespace(first) else { return .bad("obs-fold in trailer") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
              line[..<colon].allSatisfy(ByteClass.isToken) else { return .bad("bad trailer field") }
        guard line[(colon + 1)...].allSatisfy(ByteClass.isValue) else { return .bad("control character in trailer") }
        return nil
    }

    // MARK: transitions

    private mutating func finish() -> Event {
        let complete = body
        body = []
        trailer = []
        framing = .none
        remaining = 0
        phase = .idle
        return .end(body: complete)
    }

    private mutating func fail(_ error: HTTPParseError) -> Event {
        phase = .failed
        failure = error
        headBuffer = []
        body = []
        trailer = []
        pendingEnd = false
        return .error(error)
    }
}
