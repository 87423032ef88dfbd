import Foundation
import XCTest

@testable import CredLedgerLab
@testable import CredLedgerTools

/// Issue 7: `credledger-bench bench --quick` runs end to end and prints every section of its JSON object.
/// Timing is never asserted here: figures come from the bench command in a release build, not from tests.
final class BenchSmokeTests: XCTestCase {
    func testQuickBenchRunsAndPrintsEveryFigure() throws {
        let directory = NSTemporaryDirectory() + "credledger-bench-smoke-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // Tiny sizes: a few companies and credentials, short runs, two caller counts.
        let captured = OutputCapture.run {
            BenchTool.run([
                "--json", "bench", "--quick", "--dir", directory, "--events", "3000", "--decisions", "2000", "--companies", "2",
                "--projects", "6", "--credentials", "40", "--seconds", "0.05", "--callers", "1,8",
            ], environment: [:])
        }
        let (code, out, err) = (captured.result, captured.stdout, captured.stderr)

        XCTAssertEqual(code, 0, "stdout: \(out)\nstderr: \(err)")
        let line = try XCTUnwrap(out.split(separator: "\n").last, "no output")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        for key in ["machine", "config", "baseline", "recording", "authorize", "admin", "replay", "export", "as_of", "disk",
                    "targets", "integrity_ok"] {
            XCTAssertNotNil(object[key], "missing key \(key)")
        }
        let baseline = try XCTUnwrap(object["baseline"] as? [String: Any])
        XCTAssertNotNil(baseline["durable"])
        XCTAssertNotNil(baseline["nosync"])
        let recording = try XCTUnwrap(object["recording"] as? [[String: Any]])
        XCTAssertFalse(recording.isEmpty)
        for key in ["uses_per_s", "batch_mean", "ack_latency", "ratio_to_baseline"] {
            XCTAssertNotNil(recording[0][key], "recording rows lack \(key)")
        }
        let authorize = try XCTUnwrap(object["authorize"] as? [String: Any])
        XCTAssertNotNil(authorize["apikey"])
        XCTAssertNotNil(authorize["bearer"])
        let replay = try XCTUnwrap(object["replay"] as? [String: Any])
        for key in ["verify_chain", "verify_full", "rebuild"] { XCTAssertNotNil(replay[key], "replay lacks \(key)") }
        let disk = try XCTUnwrap(object["disk"] as? [String: Any])
        XCTAssertNotNil(disk["bytes_per_event_overall"])
        XCTAssertEqual(object["integrity_ok"] as? Bool, true)
    }
}
