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
                "--projects", "6", "--credentials", "40", "--seconds", "0.05", "--callers", "1,8", "--rounds", "2",
            ], environment: [:])
        }
        let (code, out, err) = (captured.result, captured.stdout, captured.stderr)

        XCTAssertEqual(code, 0, "stdout: \(out)\nstderr: \(err)")
        let line = try XCTUnwrap(out.split(separator: "\n").last, "no output")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        for key in ["machine", "config", "baseline", "recording", "authorize", "admin", "replay", "export", "as_of", "disk",
                    "targets", "integrity_ok", "sections", "limits", "rounds", "cpu_bound"] {
            XCTAssertNotNil(object[key], "missing key \(key)")
        }
        let baseline = try XCTUnwrap(object["baseline"] as? [String: Any])
        XCTAssertNotNil(baseline["durable"])
        XCTAssertNotNil(baseline["nosync"])
        let recording = try XCTUnwrap(object["recording"] as? [[String: Any]])
        XCTAssertFalse(recording.isEmpty)
        for key in ["uses_per_s", "batch_mean", "ack_latency", "ratio_to_baseline", "writer_serial_ceiling_per_s",
                    "writer_pipelined_ceiling_per_s", "cpu_us_per_use", "cores_busy"] {
            XCTAssertNotNil(recording[0][key], "recording rows lack \(key)")
        }
        // Issue 15: every figure is repeated (--rounds) and each run's figure is kept beside the median one.
        XCTAssertEqual(object["rounds"] as? Int, 2)
        for row in recording { XCTAssertEqual((row["round_uses_per_s"] as? [Any])?.count, 2, "recording rounds: \(row)") }
        let authorize = try XCTUnwrap(object["authorize"] as? [String: Any])
        XCTAssertEqual(((authorize["apikey"] as? [String: Any])?["run_p99_us"] as? [Any])?.count, 2)
        let export = try XCTUnwrap(object["export"] as? [String: Any])
        XCTAssertEqual(((export["jsonl"] as? [String: Any])?["run_events_per_s"] as? [Any])?.count, 2)
        // The load average is noted around every section, and the machine's own rates at both ends.
        let sections = try XCTUnwrap(object["sections"] as? [[String: Any]])
        for name in ["1. baseline", "2. recording", "3. authorize", "5. replay", "6. export"] {
            let section = try XCTUnwrap(sections.first { $0["name"] as? String == name }, "no section \(name)")
            XCTAssertEqual((section["load_before"] as? [Any])?.count, 3, name)
            XCTAssertEqual((section["load_after"] as? [Any])?.count, 3, name)
        }
        let limits = try XCTUnwrap(object["limits"] as? [String: Any])
        for end in ["start", "end"] {
            let rates = try XCTUnwrap(limits[end] as? [String: Any], end)
            for key in ["sha256_73b_per_s", "fsync_4k_per_s", "buffered_write_mb_per_s"] {
                XCTAssertGreaterThan(rates[key] as? Double ?? 0, 0, "\(end) \(key)")
            }
        }
        XCTAssertNotNil(authorize["apikey"])
        XCTAssertNotNil(authorize["bearer"])
        let replay = try XCTUnwrap(object["replay"] as? [String: Any])
        for key in ["verify_chain", "verify_full", "rebuild"] {
            XCTAssertNotNil(replay[key], "replay lacks \(key)")
            XCTAssertEqual(((replay[key] as? [String: Any])?["run_events_per_s"] as? [Any])?.count, 2, key)
        }
        let disk = try XCTUnwrap(object["disk"] as? [String: Any])
        XCTAssertNotNil(disk["bytes_per_event_overall"])
        XCTAssertEqual(object["integrity_ok"] as? Bool, true)
    }
}
