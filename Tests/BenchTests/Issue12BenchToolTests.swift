import CredLedger
import CredLedgerCore
@testable import CredLedgerLab
@testable import CredLedgerTools
import Foundation
import XCTest

/// Issue 12 "product and lab apart": `credledger-bench` holds the benchmark and the stress drivers, with the
/// product's parser, help and exit codes, and only those commands (the product ones stay in `credledger`).
final class Issue12BenchToolTests: XCTestCase {
    private func bench(_ arguments: [String]) -> (code: Int32, stdout: String, stderr: String) {
        let captured = OutputCapture.run { BenchTool.run(arguments, environment: [:], standardInput: { nil }) }
        return (captured.result, captured.stdout, captured.stderr)
    }

    func testHelpListsExactlyTheBenchAndStressCommandsUnderTheLabName() {
        let r = bench(["--help"])
        XCTAssertEqual(r.code, ExitCode.ok, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("credledger-bench — "), r.stdout)
        let listed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("  credledger") }.map { $0.split(separator: " ").prefix(3).joined(separator: " ") }
        XCTAssertEqual(listed, ["credledger-bench bench [--events", "credledger-bench http [--connections", "credledger-bench record-lab [--mode",
                                "credledger-bench auth-lab [--decisions", "credledger-bench transparency [--events", "credledger-bench stress setup", "credledger-bench stress record",
                                "credledger-bench stress crash", "credledger-bench stress tamper", "credledger-bench stress fuzz"])
        // The command's own help spells the lab name too.
        let one = bench(["stress", "record", "--help"])
        XCTAssertEqual(one.code, ExitCode.ok)
        XCTAssertTrue(one.stdout.hasPrefix("usage: credledger-bench stress record --company <value> --header <secret|->"), one.stdout)
        // The product's commands are not here.
        let verify = bench(["verify"])
        XCTAssertEqual(verify.code, ExitCode.usage)
        XCTAssertEqual(verify.stderr, "error: unknown command 'verify'; see credledger-bench --help\n")
    }

    /// Usage errors name the lab executable, as the product's name the product.
    func testUsageErrorsShowTheLabUsageLine() {
        let r = bench(["stress", "record", "--company", "acme"])
        XCTAssertEqual(r.code, ExitCode.usage)
        XCTAssertTrue(r.stderr.contains("missing --header") && r.stderr.contains("usage: credledger-bench stress record "), r.stderr)
        let callers = bench(["bench", "--callers", "0"])
        XCTAssertEqual(callers.code, ExitCode.usage)
        XCTAssertTrue(callers.stderr.contains("usage: credledger-bench bench "), callers.stderr)
        // The recording lab refuses what it cannot run before it builds anything.
        for (arguments, message) in [(["--mode", "blocking"], "--mode is tasks, check_tasks, decide_tasks, decide_null_tasks, null_tasks or threads"),
                                     (["--callers", "0"], "--callers takes"), (["--callers", "64,x"], "--callers takes"),
                                     (["--seconds", "0"], "--seconds must be")] {
            let lab = bench(["record-lab"] + arguments)
            XCTAssertEqual(lab.code, ExitCode.usage, "\(arguments)")
            XCTAssertTrue(lab.stderr.contains(message) && lab.stderr.contains("usage: credledger-bench record-lab "), lab.stderr)
        }
        // So does the authorization lab.
        for (arguments, message) in [(["--pools", "bearer,tokens"], "--pools takes"), (["--pools", ","], "--pools takes"),
                                     (["--decisions", "10"], "--decisions"), (["--fill", "-1"], "--fill")] {
            let lab = bench(["auth-lab"] + arguments)
            XCTAssertEqual(lab.code, ExitCode.usage, "\(arguments)")
            XCTAssertTrue(lab.stderr.contains(message) && lab.stderr.contains("usage: credledger-bench auth-lab "), lab.stderr)
        }
    }

    /// The authorization lab times each pool it is asked for, the Bearer pool split into its two kinds of token.
    func testAuthLabTimesEachPool() throws {
        let r = bench(["--json", "auth-lab", "--companies", "3", "--projects", "9", "--credentials", "60", "--decisions", "1000",
                       "--rounds", "1", "--fill", "2000"])
        XCTAssertEqual(r.code, ExitCode.ok, r.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["pool"] as? String }, ["Apikey", "Bearer", "Bearer client_credentials", "Bearer PKCE"])
        for row in rows {
            XCTAssertGreaterThan(row["median_p50_us"] as? Double ?? 0, 0, "\(row)")
            XCTAssertGreaterThanOrEqual(row["median_p99_us"] as? Double ?? 0, row["median_p50_us"] as? Double ?? .infinity, "\(row)")
        }
        let requests = rows.map { $0["requests"] as? Int ?? 0 }
        XCTAssertEqual(requests[2] + requests[3], requests[1], "the two kinds of token make up the Bearer pool")
    }

    /// `stress setup` through the lab's command line makes a ledger the product CLI then reads.
    func testStressSetupThroughTheLabMakesALedgerTheProductReads() throws {
        let directory = NSTemporaryDirectory() + "credledger-i12-lab-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let setup = bench(["--json", "--db", directory, "stress", "setup", "--company", "lab", "--admin", "a@lab.example", "--threads", "2"])
        XCTAssertEqual(setup.code, ExitCode.ok, setup.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(setup.stdout.utf8)) as? [String: Any], setup.stdout)
        XCTAssertEqual(object["company"] as? String, "lab")
        let header = try XCTUnwrap(object["header"] as? String)
        let check = OutputCapture.run {
            CommandLineTool.run(["--db", directory, "auth", "check", "lab", "--header", header, "--project", "w1", "--op", "write"], environment: [:])
        }
        XCTAssertEqual(check.result, ExitCode.ok, check.stdout + check.stderr)
    }
}
