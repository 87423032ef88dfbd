import CredLedger
import CredLedgerCore
@testable import CredLedgerTools
import Foundation
import XCTest

/// Issue 12 "product and lab apart": the product CLI holds product commands only. The benchmark and the stress
/// drivers are the separate `credledger-bench` executable (Tools/CredLedgerLab, tested in BenchTests); `credledger
/// bench` and `credledger stress …` are unknown commands whose one-line error points there, and write nothing.
final class Issue12ProductCLITests: XCTestCase {
    private static let labWords: Set<String> = ["bench", "stress"]

    func testProductCommandListHasNoBenchOrStressCommand() {
        let lab = CommandLineTool.commands.filter { Self.labWords.contains($0.path[0]) }
        XCTAssertEqual(lab.map { $0.path.joined(separator: " ") }, [], "lab commands registered in the product CLI")
        for spec in CommandLineTool.commands {
            XCTAssertTrue(spec.usage.hasPrefix("credledger \(spec.path.joined(separator: " "))"), spec.usage)
            XCTAssertFalse(spec.summary.contains("testing helper"), "\(spec.path): \(spec.summary)")
        }
    }

    func testHelpListsNoBenchOrStressCommand() throws {
        let cli = try CLI("i12-help")
        defer { cli.remove() }
        for arguments in [["--help"], [], ["-h"]] {
            let r = cli.run(arguments)
            let listed = r.out.split(separator: "\n").filter { $0.hasPrefix("  credledger ") }
            XCTAssertFalse(listed.isEmpty, "no command listed for \(arguments): \(r.all)")
            for line in listed {
                let word = line.split(separator: " ")[1]
                XCTAssertFalse(Self.labWords.contains(String(word)), "credledger \(arguments) lists: \(line)")
            }
            XCTAssertFalse(r.out.contains("testing helper"), r.out)
            XCTAssertFalse(r.out.contains("credledger bench") || r.out.contains("credledger stress"), r.out)
        }
    }

    /// Every former lab command line is a usage error (exit 2) of one line that names `credledger-bench`, in text and
    /// JSON mode, and opens, creates and writes no ledger.
    func testBenchAndStressAreUnknownCommandsPointingToTheLabExecutable() throws {
        let cli = try CLI("i12-moved")
        defer { cli.remove() }
        XCTAssertEqual(cli.run("company", "create", "acme", "--admin", "alice@acme.example").code, 0)
        let head = try cli.head()
        let lines: [[String]] = [
            ["bench"], ["bench", "--quick"], ["stress", "record", "--company", "acme", "--header", "Apikey x"],
            ["stress", "setup", "--company", "acme", "--admin", "alice@acme.example"], ["stress", "crash"], ["stress"],
            ["bench", "--help"],
        ]
        for arguments in lines {
            let r = cli.run(arguments)
            XCTAssertEqual(r.code, ExitCode.usage, "\(arguments): \(r.all)")
            XCTAssertEqual(r.out, "", "\(arguments)")
            let errorLines = r.err.split(separator: "\n")
            XCTAssertEqual(errorLines.count, 1, "\(arguments): \(r.err)")
            XCTAssertTrue(r.err.hasPrefix("error: unknown command '\(arguments[0])': ") && r.err.contains("credledger-bench"),
                          "\(arguments): \(r.err)")
            let json = cli.run(["--json"] + arguments)
            XCTAssertEqual(json.code, ExitCode.usage)
            XCTAssertEqual(json.object["error"] as? String, "usage", json.all)
            XCTAssertTrue((json.object["message"] as? String ?? "").contains("credledger-bench"), json.all)
        }
        XCTAssertEqual(try cli.head(), head, "a moved command wrote to the ledger")
        // A fresh directory: nothing is created either.
        let fresh = cli.directory.appending("fresh")
        let setup = OutputCapture.run {
            CommandLineTool.run(["--db", fresh, "stress", "setup", "--company", "x", "--admin", "a@x.example"], environment: [:])
        }
        XCTAssertEqual(setup.result, ExitCode.usage, setup.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh))
        // Any other unknown word keeps its old message.
        let other = cli.run("frobnicate")
        XCTAssertEqual(other.err, "error: unknown command 'frobnicate'; see credledger --help\n")
    }
}
