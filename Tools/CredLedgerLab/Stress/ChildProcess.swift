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

/// `kill(2)`.
private func sendSignal(_ pid: pid_t, _ signal: Int32) {
    _ = kill(pid, signal)
}

/// A child process with its stdout lines time-stamped as they arrive, and its stderr kept.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let condition = NSCondition()
    private var pendingOut = Data()
    private var lines: [(time: UInt64, text: String)] = []
    private var errData = Data()
    private var openStreams = 2
    let started = DispatchTime.now()

    /// Starts `executable` with `arguments`; stdin is /dev/null.
    init(executable: String, arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        startReader(out.fileHandleForReading, isStdout: true)
        startReader(err.fileHandleForReading, isStdout: false)
    }

    private func startReader(_ handle: FileHandle, isStdout: Bool) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                condition.lock()
                if chunk.isEmpty {
                    openStreams -= 1
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                if isStdout {
                    pendingOut.append(chunk)
                    let now = DispatchTime.now().uptimeNanoseconds
                    while let newline = pendingOut.firstIndex(of: 0x0A) {
                        let line = String(decoding: pendingOut[pendingOut.startIndex..<newline], as: UTF8.self)
                        lines.append((now, line))
                        pendingOut = Data(pendingOut[(newline + 1)...])
                    }
                } else {
                    errData.append(chunk)
                }
                condition.broadcast()
                condition.unlock()
            }
        }
        thread.start()
    }

    /// Waits until a stdout line satisfies `match` (true) or the timeout / end of output (false).
    func waitForLine(timeout: Double, _ match: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var checked = 0
        condition.lock()
        defer { condition.unlock() }
        while true {
            while checked < lines.count {
                if match(lines[checked].text) { return true }
                checked += 1
            }
            if openStreams < 2 && !process.isRunning { return false }
            if !condition.wait(until: min(deadline, Date().addingTimeInterval(0.05))) && Date() >= deadline { return false }
        }
    }

    func kill(_ signal: Int32 = SIGKILL) {
        sendSignal(process.processIdentifier, signal)
    }

    /// Waits for exit (SIGKILL after `timeout`), then for the pipes to drain (briefly).
    @discardableResult
    func waitForExit(timeout: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() >= deadline {
                timedOut = true
                kill(SIGKILL)
                break
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        let drain = Date().addingTimeInterval(3)
        condition.lock()
        while openStreams > 0 && Date() < drain { _ = condition.wait(until: min(drain, Date().addingTimeInterval(0.05))) }
        condition.unlock()
        return !timedOut
    }

    /// Time-stamped complete stdout lines so far (uptime nanoseconds).
    var stampedLines: [(time: UInt64, text: String)] { condition.withLock { lines } }
    var stdoutLines: [String] { condition.withLock { lines.map(\.text) } }
    var stdoutText: String { stdoutLines.joined(separator: "\n") }
    var stderrText: String { condition.withLock { String(decoding: errData, as: UTF8.self) } }

    /// Whether the process ended by a signal, and the exit status or signal number.
    var termination: (signaled: Bool, status: Int32) {
        (process.terminationReason == .uncaughtSignal, process.terminationStatus)
    }

    /// Runs to completion and returns (signaled, status, stdout, stderr).
    static func run(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> (signaled: Bool, status: Int32, stdout: String, stderr: String, timedOut: Bool) {
        let child = try ChildProcess(executable: executable, arguments: arguments)
        let finished = child.waitForExit(timeout: timeout)
        let t = child.termination
        return (t.signaled, t.status, child.stdoutText, child.stderrText, !finished)
    }
}
