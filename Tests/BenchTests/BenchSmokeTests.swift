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
        // Issue 15: the same decisions read from the map (the decision cache bypassed), beside them.
        XCTAssertNotNil(authorize["apikey_from_map"])
        XCTAssertNotNil(authorize["bearer_from_map"])
        let replay = try XCTUnwrap(object["replay"] as? [String: Any])
        for key in ["verify_chain", "verify_full", "rebuild"] {
            XCTAssertNotNil(replay[key], "replay lacks \(key)")
            XCTAssertEqual(((replay[key] as? [String: Any])?["run_events_per_s"] as? [Any])?.count, 2, key)
        }
        // Issue 15: at every async caller count, check (with its baseline), the decision alone, the decision followed by the
        // null writer (check without the ledger's recording) and the null writer.
        for callers in [1, 8] {
            for mode in ["tasks", "check_tasks", "check_map_tasks", "decide_tasks", "decide_null_writer_tasks", "null_writer_tasks"] {
                let row = try XCTUnwrap(recording.first { $0["mode"] as? String == mode && $0["callers"] as? Int == callers },
                                        "no \(mode) row at \(callers)")
                XCTAssertGreaterThan(row["uses"] as? Int ?? 0, 0, "\(mode) × \(callers)")
                XCTAssertGreaterThan(row["cpu_us_per_use"] as? Double ?? 0, 0, "\(mode) × \(callers)")
                // Durable rows have a same-batch baseline per round; the decision alone writes nothing.
                XCTAssertEqual(row["baseline_events_per_s"] != nil, mode != "decide_tasks", "\(mode) × \(callers)")
                XCTAssertEqual((row["round_ratios"] as? [Any])?.count, mode == "decide_tasks" ? 0 : 2, "\(mode) × \(callers)")
            }
            let null = try XCTUnwrap(recording.first { $0["mode"] as? String == "null_writer_tasks" && $0["callers"] as? Int == callers })
            // Each batch is one synced write: at least one use per batch, never more than the tasks in flight.
            let batch = null["batch_mean"] as? Double ?? 0
            XCTAssertTrue(batch >= 1 && batch <= Double(callers), "null writer batch \(batch) at \(callers) tasks")
            XCTAssertGreaterThan(null["writer_commit_ms_per_batch"] as? Double ?? 0, 0)
        }
        // Issue 15: beside each threads row, the null writer on as many blocked threads, with its own baseline.
        for callers in [1, 8] {
            let null = try XCTUnwrap(recording.first { $0["mode"] as? String == "null_writer_threads" && $0["callers"] as? Int == callers },
                                     "no null_writer_threads row at \(callers)")
            XCTAssertGreaterThan(null["uses"] as? Int ?? 0, 0)
            XCTAssertEqual((null["round_ratios"] as? [Any])?.count, 2)
            let batch = null["batch_mean"] as? Double ?? 0
            XCTAssertTrue(batch >= 1 && batch <= Double(callers), "null writer batch \(batch) at \(callers) threads")
        }
        let blockingLimits = try XCTUnwrap(object["blocking_limits"] as? [[String: Any]])
        XCTAssertEqual(blockingLimits.map { $0["callers"] as? Int }, [1, 8])
        for l in blockingLimits {
            for key in ["record_uses_per_s", "null_writer_uses_per_s", "null_writer_batch", "null_writer_cpu_us_per_use", "null_writer_ratio_to_raw"] {
                XCTAssertFalse(l[key] == nil || l[key] is NSNull, "blocking_limits lacks \(key): \(l)")
            }
        }
        // Issue 15: each export round beside a write + fsync of the same bytes (after, then before), and the CPU side alone.
        for format in ["jsonl", "csv"] {
            let e = try XCTUnwrap(export[format] as? [String: Any], format)
            XCTAssertEqual(e["run_same_bytes_write_fsync_before_export"] as? [Bool], [false, true], format)
            XCTAssertEqual((e["run_same_bytes_write_fsync_events_per_s"] as? [Double])?.count, 2, format)
            XCTAssertEqual((e["run_ratio_to_same_bytes_write_fsync"] as? [Double])?.count, 2, format)
            XCTAssertGreaterThan(e["same_bytes_write_fsync_events_per_s"] as? Double ?? 0, 0, format)
            XCTAssertGreaterThan(e["discarded_bytes_events_per_s"] as? Double ?? 0, 0, format)
        }
        let asyncLimits = try XCTUnwrap(object["async_limits"] as? [[String: Any]])
        XCTAssertEqual(asyncLimits.map { $0["callers"] as? Int }, [1, 8])
        for l in asyncLimits {
            for key in ["record_uses_per_s", "check_per_s", "decide_per_s", "null_writer_uses_per_s", "check_minus_decide_cpu_us_per_use",
                        "half_raw_at_check_batch_per_s", "decide_null_writer_per_s", "check_minus_decide_null_writer_cpu_us_per_use"] {
                XCTAssertFalse(l[key] == nil || l[key] is NSNull, "async_limits lacks \(key): \(l)")
            }
        }
        // The targets: every issue-15 target by name, met exactly when the median meets the goal, limits beside it.
        let targets = try XCTUnwrap(object["targets"] as? [String: Any])
        let order = try XCTUnwrap(object["targets_order"] as? [String])
        XCTAssertEqual(Set(order), Set(targets.keys))
        for name in ["recording_ratio.threads.1", "recording_ratio.threads.8", "recording_ratio.tasks.1", "recording_ratio.tasks.8",
                     "recording_at_1024", "check_at_1024", "check_ratio.1", "check_ratio.8", "authorize_apikey_p50", "authorize_apikey_p99",
                     "authorize_bearer_p50", "authorize_bearer_p99", "rebuild_events_per_s", "verify_full_events_per_s",
                     "replay_events_per_s", "export_jsonl_events_per_s", "export_csv_events_per_s"] {
            XCTAssertNotNil(targets[name], "no target \(name)")
        }
        for (name, any) in targets {
            let t = try XCTUnwrap(any as? [String: Any], name)
            let goal = try XCTUnwrap(t["goal"] as? Double, name)
            if let value = t["value"] as? Double {
                let expected = t["comparison"] as? String == ">=" ? value >= goal : value <= goal
                XCTAssertEqual(t["met"] as? Bool, expected, "\(name): \(t)")
            } else {
                XCTAssertTrue(t["met"] is NSNull, "\(name) is judged without a value: \(t)")
            }
        }
        // No row at ≥ 1,024 callers in this run: those targets say so instead of judging another row.
        for name in ["recording_at_1024", "check_at_1024"] {
            let t = try XCTUnwrap(targets[name] as? [String: Any])
            XCTAssertTrue(t["value"] is NSNull && t["met"] is NSNull, "\(name): \(t)")
        }
        // A check ratio's limits name the raw baseline, the null writer and the decision alone at its caller count.
        let check8 = try XCTUnwrap(targets["check_ratio.8"] as? [String: Any])
        let limitNames = ((check8["limits"] as? [[String: Any]]) ?? []).compactMap { $0["what"] as? String }
        for prefix in ["raw durable append @", "null writer × 8 tasks", "decision alone × 8 tasks", "pwrite 4 KiB + fdatasync"] {
            XCTAssertTrue(limitNames.contains { $0.hasPrefix(prefix) }, "check_ratio.8 lacks the limit \(prefix): \(limitNames)")
        }
        let ratioRow = try XCTUnwrap(recording.first { $0["mode"] as? String == "check_tasks" && $0["callers"] as? Int == 8 })
        let ratios = try XCTUnwrap(ratioRow["round_ratios"] as? [Double])
        XCTAssertEqual(check8["value"] as? Double ?? -1, ratios.sorted()[1], accuracy: 0.001, "the median of the rounds' ratios")

        // The threads ratio's limits name the null writer at its thread count; the export's, the same-bytes probe.
        let threads8 = try XCTUnwrap(targets["recording_ratio.threads.8"] as? [String: Any])
        XCTAssertTrue(((threads8["limits"] as? [[String: Any]]) ?? []).contains { ($0["what"] as? String)?.hasPrefix("null writer × 8 threads") == true },
                      "\(threads8)")
        let exportTarget = try XCTUnwrap(targets["export_jsonl_events_per_s"] as? [String: Any])
        let exportLimits = ((exportTarget["limits"] as? [[String: Any]]) ?? []).compactMap { $0["what"] as? String }
        for prefix in ["write + fsync of the same", "export ÷ same-bytes write + fsync", "the same export, bytes discarded"] {
            XCTAssertTrue(exportLimits.contains { $0.hasPrefix(prefix) }, "export_jsonl lacks the limit \(prefix): \(exportLimits)")
        }

        let disk = try XCTUnwrap(object["disk"] as? [String: Any])
        XCTAssertNotNil(disk["bytes_per_event_overall"])
        XCTAssertEqual(object["integrity_ok"] as? Bool, true)
    }
}
