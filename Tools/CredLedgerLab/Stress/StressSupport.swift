import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation
import LMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Small shared pieces: seeded randomness, unbuffered output, paths, locks.
enum StressSupport {
    /// The running executable (`/proc/self/exe` on Linux): `credledger-bench`, which runs `stress record` children.
    static func selfExecutable() throws -> String {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return resolved }
        guard let first = CommandLine.arguments.first else { throw LedgerError("no_binary", "cannot locate the credledger-bench binary: pass --binary", kind: .badInput) }
        return URL(fileURLWithPath: first).standardizedFileURL.path
    }

    /// The product `credledger` executable beside this one (the build puts both in one directory), for drivers that
    /// run product commands (`verify`) in a child; nil when there is none.
    static func productExecutable() -> String? {
        guard let own = try? selfExecutable() else { return nil }
        let sibling = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("credledger").path
        return FileManager.default.isExecutableFile(atPath: sibling) ? sibling : nil
    }

    /// `given`, created, or a fresh directory under the temporary directory.
    static func workDirectory(_ given: String?, label: String) throws -> String {
        if let given {
            try FileManager.default.createDirectory(atPath: given, withIntermediateDirectories: true)
            return given
        }
        return try makeTemporaryDirectory(label)
    }

    static func makeTemporaryDirectory(_ label: String) throws -> String {
        var template = Array((NSTemporaryDirectory() + "/credledger-\(label).XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
        guard let made else { throw LedgerError("tmp", "mkdtemp failed (errno \(errno))", kind: .badInput) }
        return String(cString: made)
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        usleep(UInt32(min(seconds, 4000) * 1_000_000))
    }
}

/// SplitMix64: deterministic, fast, good enough to drive tests. Not cryptographic.
struct StressRandom: RandomNumberGenerator {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x632B_E59B_D9B4_E019) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
    mutating func chance(_ p: Double) -> Bool { unit() < p }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in byte() } }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }
}

/// The stress drivers share the bench's lock-guarded box.
typealias StressLocked = Locked

extension Locked {
    var current: Value { withLock { $0 } }
}

/// Lines to standard output, one `write(2)` each (atomic on pipes below PIPE_BUF), never buffered:
/// a line that was printed reached the parent before the next instruction ran.
enum StressOutput {
    private static let lock = NSLock()

    static func line(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        lock.lock()
        defer { lock.unlock() }
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(1, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }
}

/// Runs the product CLI in this process with its output captured.
enum CapturedCLI {
    struct Result {
        var code: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    static func run(_ arguments: [String], database: String, options: Ledger.Options = Ledger.Options()) -> Result {
        // In-process runs never read the process's standard input: a fuzzed `--token -` finds it empty.
        let captured = OutputCapture.run {
            CommandLineTool.run(arguments + ["--db", database], environment: ["CREDLEDGER_DB": database], options: options,
                                standardInput: { nil })
        }
        return Result(code: captured.result, stdout: captured.stdout, stderr: captured.stderr)
    }
}
