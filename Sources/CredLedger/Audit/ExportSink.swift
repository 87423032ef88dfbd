import CredLedgerCore
import Foundation

/// A file written through a large buffer, SHA-256'd as it is written: exports stream in constant memory
/// and know each file's digest without reading it back.
final class ExportSink {
    let name: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var hasher = SHA256()
    private(set) var bytes: UInt64 = 0
    private(set) var lines: UInt64 = 0
    private static let flushAt = 1 << 20

    init(directory: String, name: String) throws {
        self.name = name
        let path = (directory as NSString).appendingPathComponent(name)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LedgerError("export_failed", "cannot create \(path): \(String(cString: strerror(errno)))", kind: .badInput)
        }
        buffer.reserveCapacity(ExportSink.flushAt + 64 * 1024)
    }

    deinit { if fd >= 0 { close(fd) } }

    // MARK: Writing

    @inline(__always) func byte(_ b: UInt8) { buffer.append(b) }
    @inline(__always) func ascii(_ s: StaticString) {
        s.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }
    func raw(_ s: String) {
        var s = s
        s.withUTF8 { buffer.append(contentsOf: $0) }
    }

    /// Ends a line (a JSONL object or a CSV row) and flushes when the buffer is full.
    func endLine() throws {
        buffer.append(0x0A)
        lines += 1
        if buffer.count >= ExportSink.flushAt { try flush() }
    }

    func number(_ v: UInt64) {
        if v < 10 {
            buffer.append(0x30 + UInt8(v))
            return
        }
        // Digits least significant first, then reversed in place.
        let start = buffer.count
        var rest = v
        while rest > 0 {
            buffer.append(0x30 + UInt8(rest % 10))
            rest /= 10
        }
        buffer[start...].reverse()
    }

    func number(_ v: Int64) {
        if v < 0 {
            buffer.append(0x2D)
            number(UInt64(bitPattern: 0 &- v))
        } else {
            number(UInt64(v))
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    func hex(_ bytes: UnsafeRawBufferPointer) {
        ExportSink.hexDigits.withUnsafeBufferPointer { digits in
            for b in bytes {
                buffer.append(digits[Int(b >> 4)])
                buffer.append(digits[Int(b & 0x0F)])
            }
        }
    }

    func hex(_ digest: SHA256Digest) { digest.withUnsafeBytes { hex($0) } }

    /// A JSON string literal (RFC 8259 escapes; non-ASCII UTF-8 passes through).
    func jsonString(_ s: String) {
        buffer.append(0x22)
        var s = s
        s.withUTF8 { utf8 in
            for c in utf8 {
                switch c {
                case 0x22: buffer.append(0x5C); buffer.append(0x22)
                case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
                case 0x0A: buffer.append(0x5C); buffer.append(0x6E)
                case 0x0D: buffer.append(0x5C); buffer.append(0x72)
                case 0x09: buffer.append(0x5C); buffer.append(0x74)
                case 0..<0x20:
                    ascii("\\u00")
                    ExportSink.hexDigits.withUnsafeBufferPointer { d in
                        buffer.append(d[Int(c >> 4)])
                        buffer.append(d[Int(c & 0x0F)])
                    }
                default: buffer.append(c)
                }
            }
        }
        buffer.append(0x22)
    }

    /// A JSON value of the kinds `EventFields.payload` produces: String, integers, Bool.
    func jsonValue(_ value: Any) {
        switch value {
        case let v as String: jsonString(v)
        case let v as Bool: v ? ascii("true") : ascii("false")
        case let v as UInt64: number(v)
        case let v as Int64: number(v)
        case let v as Int: number(Int64(v))
        case let v as UInt32: number(UInt64(v))
        case let v as UInt8: number(UInt64(v))
        default: jsonString("\(value)")
        }
    }

    /// A CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; quotes doubled.
    func csvField(_ s: String) {
        var s = s
        let needsQuotes = s.withUTF8 { $0.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D } }
        guard needsQuotes else { return raw(s) }
        buffer.append(0x22)
        s.withUTF8 { utf8 in
            for c in utf8 {
                if c == 0x22 { buffer.append(0x22) }
                buffer.append(c)
            }
        }
        buffer.append(0x22)
    }

    /// Takes what was appended since `mark` out of the buffer (to re-emit it in another form).
    func cut(from mark: Int) -> [UInt8] {
        defer { buffer.removeSubrange(mark...) }
        return Array(buffer[mark...])
    }
    var mark: Int { buffer.count }
    func append(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

    // MARK: Output

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { raw in
            hasher.update(raw)
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw LedgerError("export_failed", "writing \(name) failed: \(String(cString: strerror(errno)))", kind: .badInput)
                }
                offset += n
            }
        }
        bytes += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and closes; returns the file's SHA-256.
    func finish() throws -> SHA256Digest {
        try flush()
        guard fsync(fd) == 0 else {
            throw LedgerError("export_failed", "syncing \(name) failed: \(String(cString: strerror(errno)))", kind: .badInput)
        }
        return hasher.finalize()
    }
}

/// RFC 3339 UTC with microseconds, identical to `TimeFormat.rfc3339`, caching the formatted second
/// (timestamps along the log never decrease, so consecutive events mostly share it).
struct FastTimeFormatter {
    private var second: Int64 = .min
    private var prefix: [UInt8] = []   // "YYYY-MM-DDTHH:MM:SS."

    mutating func write(_ t: Timestamp, to sink: ExportSink) {
        let s = t >= 0 ? t / 1_000_000 : (t - 999_999) / 1_000_000
        if s != second {
            second = s
            prefix = Array(TimeFormat.rfc3339(s * 1_000_000).utf8.prefix(20))
        }
        sink.append(prefix)
        let micros = t - s * 1_000_000
        sink.byte(0x30 + UInt8(micros / 100_000))
        sink.byte(0x30 + UInt8(micros / 10_000 % 10))
        sink.byte(0x30 + UInt8(micros / 1_000 % 10))
        sink.byte(0x30 + UInt8(micros / 100 % 10))
        sink.byte(0x30 + UInt8(micros / 10 % 10))
        sink.byte(0x30 + UInt8(micros % 10))
        sink.byte(0x5A)
    }
}
