import CredLedger
import Foundation
import XCTest

@testable import CredLedgerLab

/// Issue 15: the targets table judges the right rows, puts the same-run limits beside them, and the null writer
/// acknowledges every request once, after its synced write. No timing is asserted: the figures below are made up.
final class Issue15BenchTargetTests: XCTestCase {
    private func row(_ mode: RecordingBench.Mode, callers: Int, perSecond: Double, batch: Double, cpuMicros: Double,
                     baseline: Double?, ratios: [Double] = []) -> RecordingBench.Result {
        let uses = Int(perSecond)
        let batches = batch > 0 ? Int((Double(uses) / batch).rounded()) : 0
        return RecordingBench.Result(
            mode: mode, callers: callers, uses: uses, calls: uses, seconds: 1, batches: batches,
            writer: WriterStatistics(batches: batches, requests: uses, events: UInt64(uses), applyNanos: UInt64(uses) * 1_000,
                                     commitNanos: UInt64(batches) * 1_000_000),
            latency: LatencySummary(count: uses, p50: 1, p99: 2, p999: 3, max: 4, mean: 1), bytesWritten: 0,
            cpuSeconds: cpuMicros * Double(uses) / 1e6,
            baseline: baseline.map { RawAppendBaseline.Result(batch: Int(batch), durable: true, events: Int($0), commits: 1, seconds: 1) },
            roundRates: [perSecond - 1_000, perSecond, perSecond + 1_000], roundRatios: ratios)
    }

    private func report() -> BenchReport {
        var report = BenchReport()
        report.recording = [
            row(.threads, callers: 1024, perSecond: 90_000, batch: 400, cpuMicros: 30, baseline: 600_000, ratios: [0.1, 0.15, 0.2]),
            row(.nullWriterThreads, callers: 1024, perSecond: 200_000, batch: 250, cpuMicros: 12, baseline: 500_000, ratios: [0.5, 0.4, 0.3]),
            row(.tasks, callers: 1024, perSecond: 350_000, batch: 500, cpuMicros: 4.5, baseline: 1_000_000, ratios: [0.3, 0.35, 0.6]),
            row(.checkTasks, callers: 1024, perSecond: 150_000, batch: 300, cpuMicros: 7, baseline: 250_000, ratios: [0.5, 0.6, 0.7]),
            row(.decideTasks, callers: 1024, perSecond: 500_000, batch: 0, cpuMicros: 3, baseline: nil),
            row(.nullWriterTasks, callers: 1024, perSecond: 600_000, batch: 700, cpuMicros: 2.5, baseline: 1_200_000, ratios: [0.5]),
            row(.decideNullWriterTasks, callers: 1024, perSecond: 180_000, batch: 60, cpuMicros: 6.25, baseline: 400_000, ratios: [0.4]),
            row(.checkTasksFromMap, callers: 1024, perSecond: 120_000, batch: 250, cpuMicros: 9, baseline: 240_000, ratios: [0.5]),
        ]
        let p50s = [2.5, 2.9, 3.4], p99s = [9, 11, 12.0]
        report.authorizeApikey = AuthorizationBench.Result(
            latency: LatencySummary(count: 100, p50: 2.9, p99: 11, p999: 20, max: 30, mean: 3), roundP99: [], allowed: 90, denied: 10,
            seconds: 1, runP50: p50s, runP99: p99s)
        report.authorizeApikeyFromMap = AuthorizationBench.Result(
            latency: LatencySummary(count: 100, p50: 4, p99: 15, p999: 20, max: 30, mean: 4), roundP99: [], allowed: 90, denied: 10,
            seconds: 1, runP50: [3.5, 4, 4.5], runP99: [14, 15, 16])
        report.replay = [BenchReport.Replay(name: "replay", events: 1_200_000, seconds: 1, ok: true, rates: [1.1e6, 1.2e6, 1.3e6]),
                         BenchReport.Replay(name: "verify_chain", events: 7_000_000, seconds: 1, ok: true)]
        // Three rounds: 600k/s each, the same bytes written + fsync'd at 400k, 800k and 500k events/s; 1M/s discarded.
        report.exports = [AuditBench.Export(format: "jsonl", events: 600_000, bytes: 600_000 * 480, seconds: 1, rates: [600_000, 600_000, 600_000],
                                            probeSeconds: 1.2, probeBytes: 600_000 * 480, probeFirst: false, probeRates: [400_000, 800_000, 500_000],
                                            probeOrder: [false, true, false], probeRatios: [1.5, 0.75, 1.2], discardSeconds: 0.6,
                                            machineCoresBusy: 1.96, processCPUSeconds: 1.5)]
        report.limitsStart = HardwareLimits(sha256PerSecond: 8e6, fsyncPerSecond: 4_000, writeMegabytesPerSecond: 400)
        report.limitsEnd = HardwareLimits(sha256PerSecond: 7e6, fsyncPerSecond: 1_000, writeMegabytesPerSecond: 300)
        return report
    }

    private func target(_ report: BenchReport, _ name: String) throws -> BenchReport.Target {
        try XCTUnwrap(report.targets.first { $0.name == name }, "no target \(name): \(report.targets.map(\.name))")
    }

    func testTargetsJudgeTheMedianAndNameTheirSameRunLimits() throws {
        let report = report()
        // Ratios: the median of the rounds' ratios, not the best or the last round.
        let tasks = try target(report, "recording_ratio.tasks.1024")
        XCTAssertEqual(tasks.value, 0.35)
        XCTAssertEqual(tasks.met, false)
        XCTAssertEqual(try target(report, "recording_ratio.threads.1024").met, false)
        let checkRatio = try target(report, "check_ratio.1024")
        XCTAssertEqual(checkRatio.value, 0.6)
        XCTAssertEqual(checkRatio.met, true)
        // Throughput at ≥ 1,024: the best per-request row (the async one), its rounds as the range.
        let at1024 = try target(report, "recording_at_1024")
        XCTAssertEqual(at1024.value, 350_000)
        XCTAssertEqual(at1024.met, true)
        XCTAssertEqual(at1024.runs, [349_000, 350_000, 351_000])
        let check = try target(report, "check_at_1024")
        XCTAssertEqual(check.value, 150_000)
        XCTAssertEqual(check.met, false)
        // Beside the check miss: the raw baseline and half of it, the null writer and the decision alone at 1,024.
        func limit(_ t: BenchReport.Target, _ prefix: String) -> [Double]? { t.limits.first { $0.what.hasPrefix(prefix) }?.values }
        XCTAssertEqual(limit(check, "raw durable append @300"), [250_000])
        XCTAssertEqual(limit(check, "0.5× raw @300 needs"), [125_000])
        XCTAssertEqual(limit(check, "null writer × 1024 tasks"), [600_000])
        XCTAssertEqual(limit(check, "decision alone × 1024 tasks"), [500_000])
        // … and check without the ledger's recording (decide, then the null writer), with what the recording adds per use.
        XCTAssertEqual(limit(check, "decide + null writer × 1024 tasks"), [180_000])
        XCTAssertEqual(check.limits.first { $0.what.hasPrefix("decide + null writer") }?.what.hasSuffix("recording adds 0.75)"), true)
        XCTAssertEqual(limit(checkRatio, "decide + null writer × 1024 tasks"), [180_000])
        // … and the same check with its decisions read from the map (the decision cache bypassed).
        XCTAssertEqual(limit(check, "check × 1024 tasks, decisions read from the map"), [120_000])
        // The recording rows have no decision beside them.
        XCTAssertNil(limit(tasks, "decide + null writer"))
        XCTAssertEqual(limit(check, "pwrite 4 KiB + fdatasync"), [4_000, 1_000])
        // The threads row has no async limit beside it (the tasks null writer is the async shape's).
        XCTAssertNil(limit(try target(report, "recording_ratio.threads.1024"), "null writer × 1024 tasks"))
        // Authorization: the median run's p50 and p99 (2.9 met, 11 missed), with the hash's cost on this machine.
        let p50 = try target(report, "authorize_apikey_p50"), p99 = try target(report, "authorize_apikey_p99")
        XCTAssertEqual(p50.value, 2.9)
        XCTAssertEqual(p50.met, true)
        XCTAssertEqual(p99.value, 11)
        XCTAssertEqual(p99.met, false)
        XCTAssertEqual(try XCTUnwrap(limit(p99, "SHA-256")).map { ($0 * 1000).rounded() / 1000 }, [0.125, 0.143])
        // … and the same decisions read from the map (the decision cache bypassed): its median run's p50 and p99.
        XCTAssertEqual(limit(p99, "the same decisions read from the map"), [4, 15])
        XCTAssertEqual((report.json["authorize"] as? [String: Any])?["apikey_from_map"] != nil, true)
        // Replay against 1.5M (not the old 1M), the chain alone beside it; export against the buffered write.
        let replay = try target(report, "replay_events_per_s")
        XCTAssertEqual(replay.met, false)
        XCTAssertEqual(limit(replay, "chain alone"), [7_000_000])
        let export = try target(report, "export_jsonl_events_per_s")
        XCTAssertEqual(export.met, true)
        XCTAssertEqual(try XCTUnwrap(limit(export, "buffered write at 480 B/event")).map { $0.rounded() }, [873_813, 655_360])
        // Beside it: the same bytes written + fsync'd per round, the median of the rounds' ratios, the CPU side alone.
        XCTAssertEqual(limit(export, "write + fsync of the same"), [400_000, 800_000, 500_000])
        XCTAssertEqual(limit(export, "export ÷ same-bytes write + fsync"), [1.2])
        XCTAssertEqual(limit(export, "the same export, bytes discarded"), [1_000_000])
        // And whether the cores were the limit: the machine's cores busy, this process's CPU per event (1.5 s / 600k).
        XCTAssertEqual(limit(export, "the machine's \(MachineCPU.cores) cores busy during the median round (every process; this one 2.50 CPU µs/event)"), [1.96])
        // A probe sized by the round before (a bigger file than this export) is converted at this export's bytes per event.
        var bigger = report.exports[0]
        bigger.probeBytes = 700_000 * 480
        XCTAssertEqual(try XCTUnwrap(bigger.probeEventsPerSecond), 700_000 / 1.2, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(report.exports[0].probeEventsPerSecond), 500_000, accuracy: 1e-6)
                let exportJSON = try XCTUnwrap((report.json["export"] as? [String: Any])?["jsonl"] as? [String: Any])
        XCTAssertEqual(exportJSON["same_bytes_write_fsync_events_per_s"] as? Double, 500_000)
        XCTAssertEqual(exportJSON["ratio_to_same_bytes_write_fsync"] as? Double, 1.2)
        XCTAssertEqual(exportJSON["discarded_bytes_events_per_s"] as? Double, 1_000_000)
        XCTAssertEqual(exportJSON["machine_cores_busy"] as? Double, 1.96)
        XCTAssertEqual(exportJSON["process_cpu_us_per_event"] as? Double, 2.5)
        XCTAssertEqual(exportJSON["run_same_bytes_write_fsync_before_export"] as? [Bool], [false, true, false])
        // The threads row: the null writer on as many blocked threads beside it (its batch, CPU, ratio at its batch);
        // the async rows keep theirs.
        let threads = try target(report, "recording_ratio.threads.1024")
        XCTAssertEqual(limit(threads, "null writer × 1024 threads (batch 250, 12.00 CPU µs/use, 0.400× raw @250)"), [200_000])
        XCTAssertNil(limit(tasks, "null writer × 1024 threads"))
        let blocking = try XCTUnwrap(report.blockingLimits.first)
        XCTAssertEqual(blocking.callers, 1024)
        XCTAssertEqual(blocking.null?.usesPerSecond, 200_000)
        XCTAssertEqual(blocking.record?.usesPerSecond, 90_000)
        let blockingJSON = try XCTUnwrap((report.json["blocking_limits"] as? [[String: Any]])?.first)
        XCTAssertEqual(blockingJSON["null_writer_ratio_to_raw"] as? Double, 0.4)
        XCTAssertEqual(blockingJSON["null_writer_raw_batch"] as? Int, 250)
        // The async split: check CPU minus the decision's.
        let split = try XCTUnwrap(report.asyncLimits.first)
        XCTAssertEqual(split.callers, 1024)
        XCTAssertEqual(try XCTUnwrap(split.checkMinusDecideMicros), 4, accuracy: 1e-9)
        XCTAssertEqual(split.halfRawAtCheckBatch, 125_000)
        // … and minus the decision followed by the null writer's wait: what the ledger's recording adds.
        XCTAssertEqual(try XCTUnwrap(split.recordingMicros), 0.75, accuracy: 1e-9)
        let asyncJSON = try XCTUnwrap((report.json["async_limits"] as? [[String: Any]])?.first)
        XCTAssertEqual(asyncJSON["decide_null_writer_per_s"] as? Double, 180_000)
        XCTAssertEqual(asyncJSON["check_minus_decide_null_writer_cpu_us_per_use"] as? Double, 0.75)
        // The JSON object: keyed by name, met consistent with value and goal.
        let json = try XCTUnwrap(report.json["targets"] as? [String: Any])
        let c = try XCTUnwrap(json["check_at_1024"] as? [String: Any])
        XCTAssertEqual(c["met"] as? Bool, false)
        XCTAssertEqual(c["comparison"] as? String, ">=")
        XCTAssertEqual(c["value"] as? Double, 150_000)
    }

    func testWithoutRowsAtThe1024CallersTheTargetsSayNotMeasured() throws {
        var report = report()
        report.recording = report.recording.map { r in
            var r = r
            r.callers = 256
            return r
        }
        for name in ["recording_at_1024", "check_at_1024"] {
            let t = try target(report, name)
            XCTAssertNil(t.value, name)
            XCTAssertNil(t.met, name)
            XCTAssertTrue(t.note.hasPrefix("not measured"), t.note)
            let json = try XCTUnwrap((report.json["targets"] as? [String: Any])?[name] as? [String: Any])
            XCTAssertTrue(json["met"] is NSNull && json["value"] is NSNull, "\(json)")
        }
        XCTAssertNotNil(try target(report, "check_ratio.256").value)
    }

    func testNullWriterAcknowledgesEveryRequestOnceAfterItsBatch() async throws {
        let directory = NSTemporaryDirectory() + "credledger-nullwriter-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try NullWriter(path: directory + "/null")
        writer.start()
        let requests = 500
        // Each task suspends on its continuation until the null writer's acknowledgement thread resumes it.
        let (acknowledged, errors) = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<requests {
                group.addTask {
                    do {
                        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, Error>) in
                            writer.submit(continuation)
                        }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            var ok = 0, failed = 0
            for await succeeded in group { if succeeded { ok += 1 } else { failed += 1 } }
            return (ok, failed)
        }
        let stats = writer.statistics
        writer.stop()
        XCTAssertEqual(acknowledged, requests)
        XCTAssertEqual(errors, 0)
        XCTAssertEqual(stats.requests, requests)
        XCTAssertGreaterThanOrEqual(stats.batches, 1)
        XCTAssertLessThanOrEqual(stats.batches, requests)
        // stop() removed its scratch file; a request after stop is refused, not lost.
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/null"))
        do {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, Error>) in writer.submit(continuation) }
            XCTFail("a request after stop was acknowledged")
        } catch {
            XCTAssertTrue("\(error)".contains("null writer stopped"), "\(error)")
        }
    }

    func testNullWriterWakesEveryBlockedThreadOnceAfterItsBatch() throws {
        let directory = NSTemporaryDirectory() + "credledger-nullwriter-threads-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try NullWriter(path: directory + "/null")
        writer.start()
        let threads = 64, perThread = 20
        let outcomes = Locked((ok: 0, failed: 0))
        // Each thread blocks in submitAndWait per request, as the ledger's blocking record does, and returns only when
        // the acknowledgement thread marked its own request done.
        BenchParallel.run(threads: threads) { _ in
            for _ in 0..<perThread {
                do {
                    try writer.submitAndWait()
                    outcomes.withLock { $0.ok += 1 }
                } catch {
                    outcomes.withLock { $0.failed += 1 }
                }
            }
        }
        let stats = writer.statistics
        writer.stop()
        let result = outcomes.withLock { $0 }
        XCTAssertEqual(result.ok, threads * perThread)
        XCTAssertEqual(result.failed, 0)
        XCTAssertEqual(stats.requests, threads * perThread)
        // One synced write per batch; a batch never holds more requests than there are blocked threads.
        XCTAssertGreaterThanOrEqual(stats.batches, perThread)
        XCTAssertLessThanOrEqual(stats.batches, threads * perThread)
        XCTAssertThrowsError(try writer.submitAndWait()) { error in
            XCTAssertTrue("\(error)".contains("null writer stopped"), "\(error)")
        }
    }

    func testTheCommitIOLimitIsTheProbesInterpolatedAtTheRowsPagesPerUse() throws {
        var report = report()
        // No probe (and no bytes written): no such limit.
        func commitIO(_ r: BenchReport) throws -> [Double]? {
            try target(r, "check_ratio.1024").limits.first { $0.what.hasPrefix("the machine's CPU for this row's commit I/O") }?.values
        }
        XCTAssertNil(try commitIO(report))
        // 12 pages per commit at batch 300; the probes: 40 µs at 1 page and 160 at 16 (start), 20 and 50 (end).
        let i = try XCTUnwrap(report.recording.firstIndex { if case .checkTasks = $0.mode { true } else { false } })
        report.recording[i].bytesWritten = UInt64(report.recording[i].batches) * 12 * 4096
        report.limitsStart?.commitIO = [.init(pages: 1, cpuMicros: 40, wallMicros: 100), .init(pages: 16, cpuMicros: 160, wallMicros: 400)]
        report.limitsEnd?.commitIO = [.init(pages: 1, cpuMicros: 20, wallMicros: 100), .init(pages: 16, cpuMicros: 50, wallMicros: 400)]
        let values = try XCTUnwrap(try commitIO(report))
        XCTAssertEqual(values.count, 2)
        XCTAssertEqual(values[0], (40 + 8 * 11) / 300, accuracy: 1e-9)
        XCTAssertEqual(values[1], (20 + 2 * 11) / 300, accuracy: 1e-9)
        // One probe only: nothing to interpolate, no value made up.
        XCTAssertNil(HardwareLimits(sha256PerSecond: 1, fsyncPerSecond: 1, writeMegabytesPerSecond: 1,
                                    commitIO: [.init(pages: 1, cpuMicros: 40, wallMicros: 100)]).commitCPUMicros(pages: 12))
    }

    func testCommitIOProbeMeasuresAndRemovesItsFileAndFailsClearly() throws {
        let directory = NSTemporaryDirectory() + "credledger-commit-probe-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cost = try HardwareLimits.commitIOCost(path: directory + "/probe", pages: 4, seconds: 0.05)
        XCTAssertEqual(cost.pages, 4)
        XCTAssertGreaterThan(cost.wallMicros, 0)
        XCTAssertGreaterThanOrEqual(cost.wallMicros * 1.05 + 1, cost.cpuMicros, "one thread cannot use more CPU than time")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/probe"))
        XCTAssertThrowsError(try HardwareLimits.commitIOCost(path: "/nonexistent-\(getpid())/probe", pages: 1, seconds: 0.01)) { error in
            XCTAssertTrue("\(error)".contains("cannot create"), "\(error)")
        }
    }

    func testSameBytesProbeWritesAndRemovesItsFileAndFailsClearly() throws {
        let directory = NSTemporaryDirectory() + "credledger-probe-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Not a whole number of 1 MiB chunks: the last chunk is partial.
        let seconds = try HardwareLimits.syncedWrite(path: directory + "/probe", bytes: 3 << 20 + 12_345)
        XCTAssertGreaterThan(seconds, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/probe"))
        XCTAssertThrowsError(try HardwareLimits.syncedWrite(path: "/nonexistent-\(getpid())/probe", bytes: 1)) { error in
            XCTAssertTrue("\(error)".contains("cannot create"), "\(error)")
        }
    }

    func testNullWriterInAMissingDirectoryFailsWithAClearError() {
        XCTAssertThrowsError(try NullWriter(path: "/nonexistent-\(getpid())/null")) { error in
            XCTAssertTrue("\(error)".contains("null writer: cannot create"), "\(error)")
        }
    }
}
