import CredLedger
import CredLedgerCore
import Foundation
import LMDB

/// What `credledger-bench bench` measures and how much of it.
struct BenchConfig {
    var events: Int
    /// Authorization decisions timed per header kind.
    var decisions: Int
    var companies: Int
    var projects: Int
    var credentials: Int
    /// Seconds per recording configuration.
    var seconds: Double
    /// Seconds per baseline measurement.
    var baselineSeconds: Double
    var callers: [Int]
    var asyncCallers: [Int]
    var batchSizes: [Int]
    var baselineBatches: [Int]
    var quick: Bool
    /// Runs of each figure (recording, authorization, replay, export); the median run is reported, with the range.
    var rounds: Int = 3
    var directory: String?
    var keep: Bool
    var commandLine: String

    static func standard(quick: Bool) -> BenchConfig {
        quick
            ? BenchConfig(events: 100_000, decisions: 100_000, companies: 20, projects: 200, credentials: 2_000, seconds: 0.6,
                          baselineSeconds: 0.25, callers: [1, 8, 64, 256], asyncCallers: [64, 256], batchSizes: [64],
                          baselineBatches: [1, 8, 64, 256, 1024], quick: true, directory: nil, keep: false, commandLine: "")
            : BenchConfig(events: 1_000_000, decisions: 1_000_000, companies: 100, projects: 1_000, credentials: 10_000, seconds: 2,
                          baselineSeconds: 0.6, callers: [1, 8, 64, 256], asyncCallers: [8, 64, 256, 1024, 4096], batchSizes: [64, 256],
                          baselineBatches: [1, 8, 64, 256, 1024, 4096], quick: false, directory: nil, keep: false, commandLine: "")
    }
}

/// Runs every benchmark in order on a fresh ledger in a temporary directory and collects the report.
final class BenchRunner {
    let config: BenchConfig
    let options: Ledger.Options
    let progress: (String) -> Void
    var report = BenchReport()

    init(config: BenchConfig, options: Ledger.Options, progress: @escaping (String) -> Void) {
        self.config = config
        self.options = options
        self.progress = progress
    }

    /// Runs one section, noting the load average before and after it and what else kept the cores busy meanwhile
    /// (every CPU-bound figure moves with them).
    private func section<R>(_ name: String, _ body: () throws -> R) rethrows -> R {
        let before = LoadAverage.now()
        progress("\(name): load average \(LoadAverage.text(before))")
        let mark = SectionContention.Mark()
        let result = try body()
        report.sections.append(.init(name: name, loadBefore: before, loadAfter: LoadAverage.now(),
                                     contention: SectionContention(since: mark)))
        return result
    }

    func run() throws -> BenchReport {
        let root = config.directory
            ?? (NSTemporaryDirectory() + "credledger-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if !config.keep { try? FileManager.default.removeItem(atPath: root) } }
        report.machine = BenchMachine.describe(directory: root)
        report.config = config

        report.limitsStart = try section("9. limits (start)") { try HardwareLimits.measure(directory: root, seconds: config.baselineSeconds) }

        // 1. Raw LMDB baseline.
        progress("baseline: raw LMDB appends of \(RawAppendBaseline.valueSize)-byte values")
        let baseline = try RawAppendBaseline(directory: root + "/baseline")
        defer { baseline.close() }
        try section("1. baseline") {
            for batch in config.baselineBatches {
                report.baselineDurable.append(try baseline.measure(batch: batch, durable: true, seconds: config.baselineSeconds))
                report.baselineNoSync.append(try baseline.measure(batch: batch, durable: false, seconds: config.baselineSeconds / 2))
            }
        }

        // The ledger, with a map large enough that growth does not interrupt measurements.
        let options = self.options.forBenchmark
        let ledger = try Ledger(path: root + "/ledger", options: options)
        defer { ledger.close() }

        // 4. Admin operations (building the realistic shape).
        progress("admin: building \(config.companies) companies, \(config.projects) projects, \(config.credentials) credentials")
        let fixture = LedgerFixture(ledger: ledger, shape: .init(
            companies: config.companies, projects: config.projects, credentials: config.credentials,
            sequentialSample: config.quick ? 20 : 50))
        try section("4. admin") { try fixture.build(progress: progress) }
        report.admin = fixture.rates

        // Decisions to record: authorize a Zipf pool once.
        let pool = try AuthorizationBench.pool(fixture, count: config.quick ? 16_384 : 65_536, bearer: nil, seed: 7)
        guard !pool.isEmpty else { throw LedgerError("bench_failed", "the fixture has no usable credential", kind: .badInput) }
        let decisions = try AuthorizationBench.decisions(ledger, pool: pool)

        // 2. Durable use recording.
        progress("recording: warm-up")
        _ = try RecordingBench.run(ledger, mode: .tasks, callers: 64, seconds: min(0.3, config.seconds), decisions: decisions, requests: pool)
        // Per async caller count, the ledger's rows (record, check) next to the decision alone and the null writer
        // (the async shape with no ledger work), measured one after the other so the same moment's disk and load
        // bound them all.
        // Each threads row is followed by the null writer at the same thread count (the blocking shape's own limit).
        var plan: [(RecordingBench.Mode, Int)] = config.callers.flatMap { [(.threads, $0), (.nullWriterThreads, $0)] }
        for size in config.batchSizes { plan += [(.batch(size: size), 1), (.batch(size: size), 8)] }
        for callers in config.asyncCallers {
            plan += [(.tasks, callers), (.checkTasks, callers), (.checkTasksFromMap, callers), (.decideTasks, callers),
                     (.decideNullWriterTasks, callers), (.nullWriterTasks, callers)]
        }
        try section("2. recording") {
            for (mode, callers) in plan {
                progress("recording: \(mode.name), \(callers) callers, \(config.rounds) rounds")
                // Each durable round is followed by the same-run baseline at the batch size the writer achieved.
                var ratios: [Double] = []
                var (result, rates) = try Rounds.median(config.rounds, key: { (r: RecordingBench.Result) in r.usesPerSecond }) { _ in
                    var r = try RecordingBench.run(ledger, mode: mode, callers: callers, seconds: config.seconds,
                                                   decisions: decisions, requests: pool, scratch: root)
                    if mode.isDurable {
                        r.baseline = try baseline.measure(batch: max(1, Int(r.batchMean.rounded())), durable: true,
                                                          seconds: config.baselineSeconds)
                        if let ratio = r.ratio { ratios.append(ratio) }
                    }
                    return r
                }
                result.roundRates = rates
                result.roundRatios = ratios
                report.recording.append(result)
            }
        }

        // Fill the ledger to --events through the writer, measuring the disk growth per use event.
        let before = try ledger.maintenance.storageInfo()
        // At least a sample large enough to measure the growth per use (but never more than --events asks for).
        let sample = min(config.quick ? 50_000 : 300_000, config.events)
        let missing = max(sample, config.events - Int(ledger.head.seq))
        progress("fill: recording \(missing) uses (the ledger then holds at least \(config.events) events)")
        let fillSeconds = try RecordingBench.fill(ledger, count: missing, decisions: decisions) { n in
            self.progress("  \(n) / \(missing)")
        }
        let after = try ledger.maintenance.storageInfo()
        report.fill = BenchReport.Fill(uses: missing, seconds: fillSeconds, bytesBefore: before.fileBytes, bytesAfter: after.fileBytes,
                                       eventsAfter: after.events, tables: try ledger.maintenance.tableStatistics())

        // 3. Authorization decisions, per header kind, on the full ledger.
        try section("3. authorize") {
            for bearer in [false, true] {
                let kindPool = try AuthorizationBench.pool(fixture, count: config.quick ? 16_384 : 65_536, bearer: bearer, seed: bearer ? 11 : 13)
                guard !kindPool.isEmpty else { continue }
                progress("authorize: \(config.rounds) × \(config.decisions) \(bearer ? "Bearer" : "Apikey") decisions")
                _ = try AuthorizationBench.run(ledger, pool: kindPool, count: min(config.decisions, 20_000))
                var runs: [AuthorizationBench.Result] = []
                var (result, _) = try Rounds.median(config.rounds, key: { (r: AuthorizationBench.Result) in r.latency.p99 }) { _ in
                    let r = try AuthorizationBench.run(ledger, pool: kindPool, count: config.decisions)
                    runs.append(r)
                    return r
                }
                result.runP50 = runs.map(\.latency.p50)
                result.runP99 = runs.map(\.latency.p99)
                if bearer { report.authorizeBearer = result } else { report.authorizeApikey = result }
                // The same decisions read from the map (the decision cache bypassed): what a miss costs.
                progress("authorize: \(config.rounds) × \(config.decisions) \(bearer ? "Bearer" : "Apikey") decisions read from the map")
                var mapRuns: [AuthorizationBench.Result] = []
                var (fromMap, _) = try Rounds.median(config.rounds, key: { (r: AuthorizationBench.Result) in r.latency.p99 }) { _ in
                    let r = try AuthorizationBench.run(ledger, pool: kindPool, count: config.decisions, fromTheMap: true)
                    mapRuns.append(r)
                    return r
                }
                fromMap.runP50 = mapRuns.map(\.latency.p50)
                fromMap.runP99 = mapRuns.map(\.latency.p99)
                if bearer { report.authorizeBearerFromMap = fromMap } else { report.authorizeApikeyFromMap = fromMap }
            }
        }

        // 5. Replay: the replay API (chain verified on every core while the projections are rebuilt into a scratch
        // environment and compared), chain verification alone, full verify, and the live rebuild.
        try section("5. replay") {
            progress("replay: chain verification + rebuild and compare (Ledger.replay), \(config.rounds) rounds")
            try replayFigure("replay") {
                let r = try ledger.audit.replay()
                return (Int(max(r.eventsVerified, r.eventsProjected)), r.ok)
            }
            progress("replay: verify chain")
            try replayFigure("verify_chain") {
                let r = try ledger.audit.verify(projections: false)
                return (Int(r.events), r.ok)
            }
            progress("replay: verify chain + projections")
            try replayFigure("verify_full") {
                let r = try ledger.audit.verify()
                return (Int(r.events), r.ok)
            }
            progress("replay: rebuild projections")
            try replayFigure("rebuild") { (Int(try ledger.maintenance.rebuildProjections().events), true) }
        }

        // 6. Export of the whole log.
        try section("6. export") {
            for format in [ExportRequest.Format.jsonl, .csv] {
                progress("export: \(format.rawValue), each round beside a write + fsync of the same bytes")
                // The disk is noisy from one minute to the next: each round's probe runs right beside it, before and
                // after the export in turn (the first round's after: its size is not known before).
                var rounds: [AuditBench.Export] = []
                var (export, rates) = try Rounds.median(config.rounds, key: { (e: AuditBench.Export) in e.eventsPerSecond }) { round in
                    let e = try AuditBench.exportBesideDisk(ledger, format: format, directory: root + "/export-\(format.rawValue)",
                                                            probePath: root + "/export-probe", probeFirst: round % 2 == 1,
                                                            expectedBytes: rounds.last?.bytes)
                    rounds.append(e)
                    return e
                }
                export.rates = rates
                export.probeRates = rounds.map { $0.probeEventsPerSecond ?? 0 }
                export.probeOrder = rounds.map(\.probeFirst)
                export.probeRatios = rounds.map { $0.probeRatio ?? 0 }
                // The CPU side alone, once: the same export with the events' bytes hashed and dropped.
                progress("export: \(format.rawValue), bytes discarded (the CPU side alone)")
                export.discardSeconds = try AuditBench.export(ledger, format: format, directory: root + "/export-discard-\(format.rawValue)",
                                                              discardingEvents: true).seconds
                report.exports.append(export)
            }
        }

        // 7. State as of a random time, and who could act then.
        progress("as-of: state and who-could-act at random times")
        report.pointInTime = try section("7. as-of") { try AuditBench.pointInTime(ledger, fixture: fixture, samples: config.quick ? 3 : 5) }
        report.limitsEnd = try section("9. limits (end)") { try HardwareLimits.measure(directory: root, seconds: config.baselineSeconds) }
        report.totalEvents = Int(ledger.head.seq)
        return report
    }
}

extension BenchRunner {
    /// A replay-section figure, run `config.rounds` times: the median run is reported (with every run's rate); the
    /// figure is ok only if every run was. `body` returns the events it went through and whether it found them sound.
    fileprivate func replayFigure(_ name: String, _ body: () throws -> (events: Int, ok: Bool)) throws {
        var allOK = true
        var (median, rates) = try Rounds.median(config.rounds, key: { (r: BenchReport.Replay) in r.perSecond }) { _ in
            let (outcome, seconds) = try BenchClock.time(body)
            allOK = allOK && outcome.ok
            return BenchReport.Replay(name: name, events: outcome.events, seconds: seconds, ok: outcome.ok)
        }
        median.ok = allOK
        median.rates = rates
        report.replay.append(median)
    }
}

/// Where the numbers come from.
enum BenchMachine {
    static func describe(directory: String) -> [String: Any] {
        var info: [String: Any] = [:]
        info["date"] = TimeFormat.rfc3339(SystemClock().now())
        info["cores"] = ProcessInfo.processInfo.activeProcessorCount
        info["memory_gib"] = BenchFormat.round(Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30), 1)
        if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            info["cpu"] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var name = utsname()
        uname(&name)
        info["os"] = withUnsafeBytes(of: &name.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } + " "
            + withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        info["sha_extensions"] = SHA256.isAccelerated
        info["lmdb"] = Environment.version.string
        info["filesystem"] = filesystem(of: directory)
        info["directory"] = directory
        var loads = [Double](repeating: 0, count: 3)
        if getloadavg(&loads, 3) == 3 { info["load_average"] = loads.map { BenchFormat.round($0, 2) } }
        #if DEBUG
        info["build"] = "debug (numbers are meaningless: use swift build -c release)"
        #else
        info["build"] = "release"
        #endif
        return info
    }

    /// The type of the file system holding `path`, from the longest matching mount point in /proc/mounts.
    static func filesystem(of path: String) -> String {
        guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return "unknown" }
        let real = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? path
        var best = (length: -1, type: "unknown")
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = String(fields[1])
            let matches = real == point || real.hasPrefix(point == "/" ? "/" : point + "/")
            if matches && point.count > best.length { best = (point.count, String(fields[2])) }
        }
        return best.type == "tmpfs" ? "tmpfs (fsync is free: durable figures mean little)" : best.type
    }
}
