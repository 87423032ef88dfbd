import Foundation

/// Runs a body with everything `Output` prints captured instead of written: how the lab and the tests run a
/// command in process. One capture at a time (the output hooks are process-wide).
package enum OutputCapture {
    private static let lock = NSLock()

    /// The body's result, and what it printed to standard output and standard error.
    package static func run<R>(_ body: () throws -> R) rethrows -> (result: R, stdout: String, stderr: String) {
        lock.lock()
        defer { lock.unlock() }
        let buffers = NSLock()
        var out = "", err = ""
        let savedOut = Output.standardOutput, savedErr = Output.standardError
        Output.standardOutput = { text in buffers.withLock { out += text } }
        Output.standardError = { text in buffers.withLock { err += text } }
        defer {
            Output.standardOutput = savedOut
            Output.standardError = savedErr
        }
        let result = try body()
        return buffers.withLock { (result, out, err) }
    }
}
