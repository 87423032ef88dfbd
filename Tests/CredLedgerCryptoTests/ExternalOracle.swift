import Foundation
import XCTest

/// Runs reference tools (python3's hashlib/hmac/zlib, coreutils sha256sum) so results are checked against independent implementations.
enum ExternalOracle {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `python3 -c script` once with `lines` on stdin and returns its stdout lines.
    static func python(_ script: String, lines: [String]) throws -> [String] {
        // stdin comes from a file, not a pipe, so a large input can't deadlock against unread output.
        let inputURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("credledger-crypto-oracle-\(UUID().uuidString).txt")
        try (lines.joined(separator: "\n") + "\n").write(to: inputURL, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: inputURL) }
        let output = try run(["python3", "-c", script], stdin: FileHandle(forReadingFrom: inputURL))
        return output.split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
            .filter { !$0.isEmpty }
    }

    /// sha256sum's hex digest of `bytes`, computed from a temporary file.
    static func sha256sum(_ bytes: [UInt8]) throws -> String {
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

extension Array where Element == UInt8 {
    /// Lowercase hex, for handing bytes to the oracles.
    var hexString: String {
        map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
        }.joined()
    }

    /// Bytes from hex; crashes the test on malformed input, which only comes from literals here.
    init(hex: String) {
        let chars = Array(hex.utf8)
        precondition(chars.count % 2 == 0)
        self = stride(from: 0, to: chars.count, by: 2).map { i in
            UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16)!
        }
    }
}
