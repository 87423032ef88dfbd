import CFileIO
import CredLedgerCore
import Foundation

/// The open file behind an `ExportSink`: full buffers are SHA-256'd and written on a serial queue of its own,
/// so formatting (the caller's thread) and hashing + writing (the queue) use both cores. At most three
/// buffers are in flight, so memory stays constant. Closed when the sink goes. The writeback of each buffer is
/// started as soon as it is written (`cfileio_start_writeback`): exports are gigabytes written once, and letting
/// them pile up as dirty pages made the kernel throttle the writes to a fraction of what the disk takes
/// (docs/BENCHMARKS.md, "Export: writeback started per buffer").
/// With no descriptor (`fd` nil) the bytes are hashed and dropped: the same export without its disk (the bench's
/// CPU-side limit, `Ledger.Audit.export(_:discardingEvents:)`).
final class ExportFile: @unchecked Sendable {
    let fd: Int32?
    let name: String
    private let queue: DispatchQueue
    private let slots = DispatchSemaphore(value: 3)
    // Touched only on `queue` (and read after it drained).
    private var hasher = SHA256()
    /// The first write failure: set on `queue`, read by `submit` under the lock. (Reading it with `queue.sync` made each
    /// submit wait until every earlier buffer was written: the caller and the writes took turns instead of overlapping.)
    private let failureLock = NSLock()
    private var failure: LedgerError?
    /// Bytes written so far: where the next buffer starts in the file.
    private var offset: Int64 = 0

    init(_ fd: Int32?, name: String) {
        self.fd = fd
        self.name = name
        queue = DispatchQueue(label: "credledger-export-\(name)")
    }

    deinit { if let fd { close(fd) } }

    /// Hands a full buffer over; blocks while three are still being written.
    func submit(_ chunk: [UInt8]) throws {
        if let failure = failureLock.withLock({ self.failure }) { throw failure }
        slots.wait()
        queue.async { [self] in
            defer { slots.signal() }
            guard failureLock.withLock({ failure }) == nil else { return }
            chunk.withUnsafeBytes { raw in
                hasher.update(raw)
                guard let fd else { return }
                var done = 0
                while done < raw.count {
                    let n = write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        let error = LedgerError("export_failed", "writing \(name) failed: \(String(cString: strerror(errno)))", kind: .badInput)
                        failureLock.withLock { failure = error }
                        return
                    }
                    done += n
                }
                // Advisory: a failure here changes nothing (the final fsync reports what matters).
                _ = cfileio_start_writeback(fd, offset, Int64(raw.count))
                offset += Int64(raw.count)
            }
        }
    }

    /// Waits for every buffer, syncs the file and returns its SHA-256.
    func finish() throws -> SHA256Digest {
        let (digest, failure) = queue.sync { (hasher.finalize(), failureLock.withLock { self.failure }) }
        if let failure { throw failure }
        guard let fd else { return digest }
        guard fsync(fd) == 0 else {
            throw LedgerError("export_failed", "syncing \(name) failed: \(String(cString: strerror(errno)))", kind: .badInput)
        }
        return digest
    }
}

/// A file written through a large buffer, SHA-256'd as it is written: exports stream in constant memory
/// and know each file's digest without reading it back. A struct, so the per-byte appends of the hot loop
/// get static exclusivity checking (a class's stored buffer would be checked at run time on every access).
/// A sink can instead hand its full buffers to a consumer (`log --json` streams to standard output this way).
struct ExportSink {
    let name: String
    private let file: ExportFile?
    /// Receives each full buffer, on the caller's thread, when the sink has no file.
    private let consumer: ((UnsafeRawBufferPointer) throws -> Void)?
    private var buffer: [UInt8] = []
    private(set) var bytes: UInt64 = 0
    private(set) var lines: UInt64 = 0
    private static let flushAt = 1 << 20

    init(directory: String, name: String) throws {
        self.name = name
        let path = (directory as NSString).appendingPathComponent(name)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LedgerError("export_failed", "cannot create \(path): \(String(cString: strerror(errno)))", kind: .badInput)
        }
        file = ExportFile(fd, name: name)
        consumer = nil
        buffer.reserveCapacity(ExportSink.flushAt + 64 * 1024)
    }

    /// A file sink whose bytes are hashed and counted like a file's, then dropped: nothing is created or written.
    init(discarding name: String) {
        self.name = name
        file = ExportFile(nil, name: name)
        consumer = nil
        buffer.reserveCapacity(ExportSink.flushAt + 64 * 1024)
    }

    /// A sink that keeps every line in memory (an export chunk formatted on a worker); take them with `takeBytes()`.
    init(inMemory name: String, capacity: Int) {
        self.name = name
        file = nil
        consumer = nil
        buffer.reserveCapacity(capacity)
    }

    /// A sink whose buffers (about 1 MiB, whole lines) go to `consumer`; end it with `flush()`, not `finish()`.
    init(name: String, consumer: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.name = name
        file = nil
        self.consumer = consumer
        buffer.reserveCapacity(ExportSink.flushAt + 64 * 1024)
    }

    // MARK: Writing

    @inline(__always) mutating func byte(_ b: UInt8) { buffer.append(b) }
    @inline(__always) mutating func ascii(_ s: StaticString) {
        s.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }
    mutating func raw(_ s: String) {
        var s = s
        s.withUTF8 { buffer.append(contentsOf: $0) }
    }

    /// Ends a line (a JSONL object or a CSV row) and flushes when the buffer is full.
    mutating func endLine() throws {
        buffer.append(0x0A)
        lines += 1
        // An in-memory sink (no file, no consumer) keeps its lines until `takeBytes()`.
        if buffer.count >= ExportSink.flushAt, file != nil || consumer != nil { try flush() }
    }

    mutating func number(_ v: UInt64) {
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

    mutating func number(_ v: Int64) {
        if v < 0 {
            buffer.append(0x2D)
            number(UInt64(bitPattern: 0 &- v))
        } else {
            number(UInt64(v))
        }
    }

    /// Each byte's two lowercase hex digits, as the UInt16 whose little-endian bytes they are.
    private static let hexPairs: [UInt16] = (0..<256).map { b in
        let digits = Array("0123456789abcdef".utf8)
        return UInt16(digits[b >> 4]) | UInt16(digits[b & 0x0F]) << 8
    }

    mutating func hex(_ bytes: UnsafeRawBufferPointer) {
        // Digits made in a stack buffer and appended with one copy: filling the array first (`repeatElement`) took
        // the generic append path, a tenth of the export's CPU.
        let count = bytes.count
        guard count > 0 else { return }
        withUnsafeTemporaryAllocation(byteCount: 2 * count, alignment: 2) { out in
            ExportSink.hexPairs.withUnsafeBufferPointer { pairs in
                for i in 0..<count {
                    out.storeBytes(of: pairs[Int(bytes[i])].littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(out))
        }
    }

    mutating func hex(_ digest: SHA256Digest) { digest.withUnsafeBytes { hex($0) } }

    /// A JSON string literal in the canonical form of docs/EXPORT.md: `"`, `\` and the short escapes \b \t \n \f \r,
    /// other controls as \u00xx (lowercase hex), everything else (non-ASCII UTF-8 included) as is.
    mutating func jsonString(_ s: String) {
        buffer.append(0x22)
        var s = s
        s.withUTF8 { utf8 in
            // Most strings (ids, slugs, emails, codes) need no escape: copy them whole.
            guard Self.needsEscape(utf8) else {
                buffer.append(contentsOf: utf8)
                return
            }
            for c in utf8 {
                switch c {
                case 0x22: buffer.append(0x5C); buffer.append(0x22)
                case 0x5C: buffer.append(0x5C); buffer.append(0x5C)
                case 0x0A: buffer.append(0x5C); buffer.append(0x6E)
                case 0x0D: buffer.append(0x5C); buffer.append(0x72)
                case 0x09: buffer.append(0x5C); buffer.append(0x74)
                case 0x08: buffer.append(0x5C); buffer.append(0x62)
                case 0x0C: buffer.append(0x5C); buffer.append(0x66)
                case 0..<0x20:
                    buffer.append(contentsOf: [0x5C, 0x75, 0x30, 0x30])   // \u00
                    withUnsafeBytes(of: ExportSink.hexPairs[Int(c)].littleEndian) { buffer.append(contentsOf: $0) }
                default: buffer.append(c)
                }
            }
        }
        buffer.append(0x22)
    }

    /// A JSON value of the kinds `EventFields.payload` produces: String, integers, Bool.
    mutating func jsonValue(_ value: Any) {
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
    mutating func csvField(_ s: String) {
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

    /// Whether a JSON string of these bytes needs an escape (a control byte, a quote or a backslash).
    @inline(__always)
    private static func needsEscape(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        utf8.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
    }

    /// `jsonString(s)` as it reads inside a quoted CSV field: every quote doubled. Most strings need no JSON escape,
    /// and then only the two delimiting quotes are doubled.
    mutating func csvJSONString(_ s: String) {
        var s = s
        let copied = s.withUTF8 { utf8 in
            guard !Self.needsEscape(utf8) else { return false }
            buffer.append(0x22); buffer.append(0x22)
            buffer.append(contentsOf: utf8)
            buffer.append(0x22); buffer.append(0x22)
            return true
        }
        guard !copied else { return }
        let mark = self.mark
        jsonString(s)
        doubleQuotes(from: mark, wrap: false)
    }

    #if DEBUG
    /// The bytes appended since `mark` (debug checks of one writer path against another).
    func bytes(from mark: Int) -> [UInt8] { Array(buffer[mark...]) }
    /// Drops the bytes appended since `mark`.
    mutating func truncate(to mark: Int) { buffer.removeSubrange(mark...) }
    #endif

    /// Where the next byte goes (to quote what follows as one CSV field, see `csvQuoteTail`).
    var mark: Int { buffer.count }

    /// Turns the bytes appended since `mark` into one quoted CSV field, in place: quotes doubled, wrapped in quotes.
    mutating func csvQuoteTail(from mark: Int) { doubleQuotes(from: mark, wrap: true) }

    /// Doubles every quote appended since `mark`, in place; `wrap`: and puts the whole between two quotes.
    private mutating func doubleQuotes(from mark: Int, wrap: Bool) {
        let oldEnd = buffer.count
        let quotes = buffer.withUnsafeBufferPointer { b in
            var n = 0
            for i in mark..<oldEnd where b[i] == 0x22 { n += 1 }
            return n
        }
        // Room for the doubled quotes and the two around the field, from a constant block of zeros (one copy, no
        // generic append of a repeated element).
        var grow = quotes + (wrap ? 2 : 0)
        guard grow > 0 else { return }
        while grow > 0 {
            let n = min(grow, ExportSink.zeros.count)
            ExportSink.zeros.withUnsafeBufferPointer { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: $0[0..<n])) }
            grow -= n
        }
        buffer.withUnsafeMutableBufferPointer { b in
            guard let base = b.baseAddress else { return }
            if quotes == 0 {
                // The common case: the field moves one byte right and gets its quotes (`wrap` is set: grow > 0).
                (base + mark + 1).update(from: base + mark, count: oldEnd - mark)
                base[mark] = 0x22
                base[oldEnd + 1] = 0x22
                return
            }
            // Right to left, so nothing is overwritten before it is moved.
            var dst = b.count - 1
            if wrap {
                b[dst] = 0x22
                dst -= 1
            }
            var src = oldEnd - 1
            while src >= mark {
                let c = b[src]
                b[dst] = c
                dst -= 1
                if c == 0x22 {
                    b[dst] = 0x22
                    dst -= 1
                }
                src -= 1
            }
            if wrap { b[dst] = 0x22 }   // dst == mark
        }
    }

    private static let zeros = [UInt8](repeating: 0, count: 256)

    mutating func append(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

    // MARK: Output

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        bytes += UInt64(buffer.count)
        guard let file else {
            try buffer.withUnsafeBytes { try consumer?($0) }
            buffer.removeAll(keepingCapacity: true)
            return
        }
        var full: [UInt8] = []
        full.reserveCapacity(ExportSink.flushAt + 64 * 1024)
        swap(&full, &buffer)
        try file.submit(full)
    }

    /// The lines of an in-memory sink, leaving it empty.
    mutating func takeBytes() -> [UInt8] {
        var out: [UInt8] = []
        swap(&out, &buffer)
        return out
    }

    /// Appends `count` whole lines formatted elsewhere (an `EventChunkPipeline` chunk), handing them to the file
    /// as they are (no copy) after what is buffered, so the file holds them in this order. File sinks only.
    mutating func submitLines(_ chunk: [UInt8], count: UInt64) throws {
        lines += count
        guard !chunk.isEmpty else { return }
        guard let file else { preconditionFailure("submitLines is for file sinks") }
        try flush()
        bytes += UInt64(chunk.count)
        try file.submit(chunk)
    }

    /// Flushes, waits for the writes, syncs and closes; returns the file's SHA-256. File sinks only.
    mutating func finish() throws -> SHA256Digest {
        try flush()
        guard let file else { preconditionFailure("finish() is for file sinks: flush() a consumer sink") }
        return try file.finish()
    }
}

/// RFC 3339 UTC with microseconds, identical to `TimeFormat.rfc3339`, caching the formatted second
/// (timestamps along the log never decrease, so consecutive events mostly share it).
struct FastTimeFormatter {
    private var second: Int64 = .min
    private var prefix: [UInt8] = []   // "YYYY-MM-DDTHH:MM:SS."

    mutating func write(_ t: Timestamp, to sink: inout ExportSink) {
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
