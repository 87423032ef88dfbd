import Foundation

/// Runs reference tools (python3's hashlib/hmac/zlib, coreutils sha256sum, the export verifier) so results are
/// checked against independent implementations.
public enum ExternalOracle {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `python3 -c script` (or `interpreter`) once with `lines` on stdin (one per line) and returns its
    /// non-empty stdout lines.
    public static func python(_ script: String, lines: [String], interpreter: String = "python3") throws -> [String] {
        try python(script, input: lines.joined(separator: "\n") + "\n", interpreter: interpreter)
    }

    /// Runs `python3 -c script` (or `interpreter`) once with `input` on stdin, as given, and returns its non-empty
    /// stdout lines.
    public static func python(_ script: String, input: String, interpreter: String = "python3") throws -> [String] {
        // stdin comes from a file, not a pipe, so a large input can't deadlock against unread output.
        let inputURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("credledger-oracle-\(UUID().uuidString).txt")
        try input.write(to: inputURL, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: inputURL) }
        let output = try run([interpreter, "-c", script], stdin: FileHandle(forReadingFrom: inputURL))
        return output.split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
            .filter { !$0.isEmpty }
    }

    /// sha256sum's hex digest of `bytes`, computed from a temporary file.
    public static func sha256sum(_ bytes: [UInt8]) throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("credledger-crypto-sum-\(UUID().uuidString).bin")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let output = try run(["sha256sum", url.path], stdin: nil)
        guard let field = output.split(separator: " ").first else {
            throw Failure(description: "sha256sum printed nothing")
        }
        return String(field)
    }

    /// Runs `arguments` (through /usr/bin/env) with standard output and error merged into one pipe, and returns
    /// the exit status and that output; a non-zero status is returned, not thrown.
    public static func status(_ arguments: [String]) throws -> (code: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs `arguments` (through /usr/bin/env) and returns its standard output; a non-zero exit throws `Failure`
    /// with its standard error.
    private static func run(_ arguments: [String], stdin: FileHandle?) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        if let stdin { process.standardInput = stdin }
        try process.run()
        // Read before waiting: a full pipe would otherwise block the child forever.
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(arguments[0]) exited \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self)
    }
}
