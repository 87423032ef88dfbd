import CredLedger
import CredLedgerCore
@testable import CredLedgerLab
@testable import CredLedgerTools
import Foundation
import TestSupport
import XCTest

/// Shared fixtures of the reliability suite (issue 6, docs/RELIABILITY.md).
///
/// Budgets are short by default (the whole suite stays under ~90 s); `Tools/reliability-long.sh` runs the same drivers
/// through `credledger-bench stress …` with long budgets. `CREDLEDGER_SEED` changes every seed (reproduce a failure by
/// running with the seed it printed).
class ReliabilityTestCase: XCTestCase {
    /// The suite's base seed: `CREDLEDGER_SEED` or a fixed default, so that runs are reproducible.
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["CREDLEDGER_SEED"].flatMap(UInt64.init) ?? 20_260_101
    }

    /// An integer budget from the environment (long runs), or `fallback`.
    static func budget(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? fallback
    }

    /// A fresh temporary directory, removed (permissions restored, mounts undone) when the test ends.
    func makeDirectory(_ label: String = "rel") throws -> String {
        let path = try StressSupport.makeTemporaryDirectory(label)
        addTeardownBlock { TemporaryDirectory.remove(path) }
        return path
    }

    /// Locates the product `credledger` executable of the current build (`CREDLEDGER_BIN` first). Skips when absent.
    func credledgerBinary(file: StaticString = #filePath) throws -> String {
        try builtExecutable("credledger", override: "CREDLEDGER_BIN", file: file)
    }

    /// Locates the lab's `credledger-bench` executable (`stress record` children; `CREDLEDGER_BENCH_BIN` first).
    func benchBinary(file: StaticString = #filePath) throws -> String {
        try builtExecutable("credledger-bench", override: "CREDLEDGER_BENCH_BIN", file: file)
    }

    /// Locates an executable of the current build: the `override` environment variable, then next to the test bundle
    /// (`.build/<triple>/debug/`), then `.build/debug/<name>` above this source file. Skips when absent.
    func builtExecutable(_ name: String, override: String, file: StaticString = #filePath) throws -> String {
        let manager = FileManager.default
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment[override] { candidates.append(explicit) }
        if let exe = try? manager.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent(name).path)
        }
        candidates.append(Bundle.main.bundleURL.appendingPathComponent(name).path)
        candidates.append(Bundle(for: ReliabilityTestCase.self).bundleURL.deletingLastPathComponent().appendingPathComponent(name).path)
        if let first = CommandLine.arguments.first {
            candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent().appendingPathComponent(name).path)
        }
        let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/\(name)").path)
        for candidate in candidates where manager.isExecutableFile(atPath: candidate) {
            return URL(fileURLWithPath: candidate).resolvingSymlinksInPath().path
        }
        throw XCTSkip("the \(name) executable was not found next to the test bundle (looked at: \(candidates.joined(separator: ", "))); "
            + "run `swift build --build-tests` (which builds it) or set \(override)")
    }

    /// Default options for a fast, deterministic test ledger.
    func testOptions(seed: UInt64 = ReliabilityTestCase.seed, durability: Durability = .sync) -> Ledger.Options {
        var options = Ledger.Options()
        options.clock = ManualClock()
        options.random = SeededRandom(seed: seed)
        options.durability = durability
        options.initialMapSize = 16 << 20
        return options
    }

    func readOnlyOptions() -> Ledger.Options {
        var options = Ledger.Options()
        options.readOnly = true
        return options
    }

    /// Runs the CLI in this process, capturing what it prints.
    func cli(_ arguments: [String], db: String, options: Ledger.Options = Ledger.Options()) -> CapturedCLI.Result {
        CapturedCLI.run(arguments, database: db, options: options)
    }

    /// The last JSON object line printed.
    func lastJSON(_ text: String) -> [String: Any]? {
        for line in text.split(separator: "\n").reversed() {
            if let data = line.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                return object
            }
        }
        return nil
    }

    /// Number of events in the log (read-only open).
    func eventCount(_ path: String) throws -> UInt64 {
        let ledger = try Ledger(path: path, options: readOnlyOptions())
        defer { ledger.close() }
        return ledger.head.seq
    }

    /// Asserts `body` throws a LedgerError with `code`, and returns it.
    @discardableResult
    func assertLedgerError<R>(_ code: String, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
                              _ body: () throws -> R) -> Error? {
        do {
            _ = try body()
            XCTFail("expected \(code), nothing thrown. \(message)", file: file, line: line)
            return nil
        } catch let error as LedgerError {
            XCTAssertEqual(error.code, code, "\(error). \(message)", file: file, line: line)
            return error
        } catch {
            XCTFail("expected LedgerError \(code), got \(type(of: error)): \(error). \(message)", file: file, line: line)
            return error
        }
    }
}
