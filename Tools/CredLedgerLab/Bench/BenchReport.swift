import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation

/// Every figure of one `credledger-bench bench` run, printable as tables or as one JSON object.
struct BenchReport {
    struct Fill {
        var uses: Int
        var seconds: Double
        var bytesBefore: Int
        var bytesAfter: Int
        var eventsAfter: Int
        var tables: [TableStatistics]
        var usesPerSecond: Double { seconds > 0 ? Double(uses) / seconds : 0 }
        /// Growth of data.mdb per use event appended (log + every projection and index, free pages included).
        /// (Over a small sample this includes LMDB's free-page slack — a few commits' worth of copied pages.)
        var bytesPerUse: Double? { uses >= 10_000 ? Double(bytesAfter - bytesBefore) / Double(uses) : nil }
        var bytesPerEvent: Double { eventsAfter > 0 ? Double(bytesAfter) / Double(eventsAfter) : 0 }
        /// Pages of every B-tree (log and projections, without LMDB's free pages) per event.
        var treeBytesPerEvent: Double { eventsAfter > 0 ? Double(tables.reduce(0) { $0 + $1.bytes }) / Double(eventsAfter) : 0 }
    }

    struct Replay {
        var name: String
        var events: Int
        var seconds: Double
        var ok: Bool
        /// Events/s of every run when the figure is repeated (`--rounds`); this result is the median run.
        var rates: [Double] = []
        var perSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }
    }

    /// One section of the run and the load average around it.
    struct Section {
        var name: String
        var loadBefore: [Double]
        var loadAfter: [Double]
    }

    /// Figures that are CPU-bound (no fsync in them, or the writer's CPU is the limit): they move with the load.
    static let cpuBound = "authorization latency; replay, verify, rebuild, export, as-of; recording wherever the writer's "
        + "build time per batch approaches the commit, or the process keeps the cores busy (see the recording table's "
        + "CPU µs/use and cores busy). The fsync-bound figures (the baseline, recording at few callers) move with the disk."

    struct Target {
        var name: String
        var goal: String
        var measured: String
        var met: Bool?
        var note: String
    }

    var machine: [String: Any] = [:]
    var config: BenchConfig?
    var baselineDurable: [RawAppendBaseline.Result] = []
    var baselineNoSync: [RawAppendBaseline.Result] = []
    var admin: [LedgerFixture.AdminRate] = []
    var recording: [RecordingBench.Result] = []
    var fill: Fill?
    var authorizeApikey: AuthorizationBench.Result?
    var authorizeBearer: AuthorizationBench.Result?
    var replay: [Replay] = []
    var exports: [AuditBench.Export] = []
    var pointInTime: AuditBench.PointInTime?
    var sections: [Section] = []
    /// The machine's own rates at the start and at the end of the run.
    var limitsStart: HardwareLimits?
    var limitsEnd: HardwareLimits?
    var totalEvents = 0

    /// False when a verification failed (live projections differ from a rebuild, or the chain broke).
    var integrityOK: Bool { replay.allSatisfy(\.ok) }

    // MARK: - Targets (SPEC §6)

    /// The per-request recording row judged against the target: the best of the per-request modes at the most callers.
    var judgedRecording: RecordingBench.Result? {
        let perRequest = recording.filter { r in
            switch r.mode {
            case .threads, .tasks: true
            default: false
            }
        }
        let most = perRequest.map(\.callers).max() ?? 0
        return perRequest.filter { $0.callers >= min(most, 256) }.max { $0.usesPerSecond < $1.usesPerSecond }
    }

    var targets: [Target] {
        var out: [Target] = []
        if let r = judgedRecording {
            out.append(Target(name: "recording_uses_per_s", goal: "≥ 300,000 uses/s", measured: BenchFormat.count(r.usesPerSecond),
                              met: r.usesPerSecond >= 300_000, note: "\(r.mode.name), \(r.callers) callers, batch \(BenchFormat.fixed(r.batchMean, 0))"))
            if let ratio = r.ratio {
                out.append(Target(name: "recording_ratio_to_baseline", goal: "≥ 0.5× raw durable append", measured: BenchFormat.fixed(ratio, 2) + "×",
                                  met: ratio >= 0.5, note: "baseline at batch \(r.baseline?.batch ?? 0): \(BenchFormat.count(r.baseline?.eventsPerSecond ?? 0))/s"))
            }
        }
        for (name, result) in [("authorize_apikey_p99", authorizeApikey), ("authorize_bearer_p99", authorizeBearer)] {
            guard let result else { continue }
            out.append(Target(name: name, goal: "≤ 10 µs", measured: BenchFormat.micros(result.medianRunP99) + " µs",
                              met: result.medianRunP99 <= 10,
                              note: "median of \(max(1, result.runP99.count)) runs of \(BenchFormat.count(Double(result.latency.count))) decisions"
                                  + (result.runP99.count > 1 ? " (" + Rounds.range(result.runP99, BenchFormat.micros) + " µs)" : "")))
            out.append(Target(name: name.replacingOccurrences(of: "p99", with: "p50"), goal: "≤ 3 µs",
                              measured: BenchFormat.micros(result.medianRunP50) + " µs", met: result.medianRunP50 <= 3,
                              note: result.runP50.count > 1 ? "runs " + Rounds.range(result.runP50, BenchFormat.micros) + " µs" : ""))
        }
        for r in replay where r.name == "replay" || r.name == "rebuild" {
            out.append(Target(name: r.name + "_events_per_s", goal: "≥ 1,000,000 events/s", measured: BenchFormat.count(r.perSecond),
                              met: r.perSecond >= 1_000_000, note: "\(BenchFormat.count(Double(r.events))) events"))
        }
        if let jsonl = exports.first(where: { $0.format == "jsonl" }) {
            out.append(Target(name: "export_jsonl_events_per_s", goal: "≥ 500,000 events/s", measured: BenchFormat.count(jsonl.eventsPerSecond),
                              met: jsonl.eventsPerSecond >= 500_000, note: "\(BenchFormat.fixed(jsonl.megabytesPerSecond, 0)) MB/s"))
        }
        if let p = pointInTime {
            let worst = zip(p.stateSeconds, p.whoSeconds).map { max($0, $1) }.max() ?? 0
            out.append(Target(name: "as_of_latency", goal: "< 1 s at 10M events", measured: BenchFormat.fixed(worst, 3) + " s",
                              met: totalEvents >= 10_000_000 ? worst < 1 : nil,
                              note: "slowest of \(p.stateSeconds.count) (state or who-could-act) at \(BenchFormat.count(Double(totalEvents))) events"
                                  + (totalEvents >= 10_000_000 ? "" : "; the target is for 10M")))
        }
        if let fill, let perUse = fill.bytesPerUse {
            out.append(Target(name: "disk_bytes_per_use_event", goal: "≤ 160 B", measured: BenchFormat.fixed(perUse, 1) + " B",
                              met: perUse <= 160, note: "data.mdb growth over \(BenchFormat.count(Double(fill.uses))) uses"))
        }
        return out
    }

    // MARK: - JSON

    var json: [String: Any] {
        var object: [String: Any] = [:]
        object["machine"] = machine
        if let config {
            object["config"] = [
                "command": config.commandLine, "quick": config.quick, "events": config.events, "decisions": config.decisions,
                "companies": config.companies, "projects": config.projects, "credentials": config.credentials,
                "seconds_per_run": config.seconds, "use_event_bytes": RawAppendBaseline.valueSize,
            ] as [String: Any]
        }
        object["baseline"] = [
            "value_bytes": RawAppendBaseline.valueSize,
            "durable": baselineDurable.map(\.json),
            "nosync": baselineNoSync.map(\.json),
        ] as [String: Any]
        object["recording"] = recording.map(\.json)
        var authorize: [String: Any] = [:]
        if let a = authorizeApikey { authorize["apikey"] = a.json }
        if let b = authorizeBearer { authorize["bearer"] = b.json }
        object["authorize"] = authorize
        var admin: [String: Any] = [:]
        for rate in self.admin { admin[rate.name] = rate.json }
        object["admin"] = admin
        var replay: [String: Any] = [:]
        for r in self.replay {
            replay[r.name] = ["events": r.events, "seconds": BenchFormat.round(r.seconds, 4),
                              "events_per_s": BenchFormat.round(r.perSecond, 0), "ok": r.ok,
                              "run_events_per_s": r.rates.map { BenchFormat.round($0, 0) }] as [String: Any]
        }
        object["replay"] = replay
        var export: [String: Any] = [:]
        for e in exports { export[e.format] = e.json }
        object["export"] = export
        object["as_of"] = pointInTime?.json ?? [:]
        var disk: [String: Any] = ["total_events": totalEvents]
        if let fill {
            disk["fill_uses"] = fill.uses
            disk["fill_seconds"] = BenchFormat.round(fill.seconds, 4)
            disk["fill_uses_per_s"] = BenchFormat.round(fill.usesPerSecond, 0)
            disk["data_mdb_bytes"] = fill.bytesAfter
            disk["bytes_per_use_event"] = fill.bytesPerUse.map { BenchFormat.round($0, 1) } ?? NSNull()
            disk["bytes_per_event_overall"] = BenchFormat.round(fill.bytesPerEvent, 1)
            disk["btree_bytes_per_event"] = BenchFormat.round(fill.treeBytesPerEvent, 1)
            var tables: [String: Any] = [:]
            for t in fill.tables { tables[t.name] = ["entries": t.entries, "bytes": t.bytes] }
            disk["tables"] = tables
        }
        object["disk"] = disk
        object["targets"] = targets.map { t -> [String: Any] in
            ["name": t.name, "goal": t.goal, "measured": t.measured, "met": t.met.map { $0 as Any } ?? NSNull(), "note": t.note]
        }
        object["limits"] = ["start": limitsStart?.json ?? [:], "end": limitsEnd?.json ?? [:]] as [String: Any]
        object["sections"] = sections.map { ["name": $0.name, "load_before": $0.loadBefore, "load_after": $0.loadAfter] as [String: Any] }
        object["rounds"] = config?.rounds ?? 1
        object["cpu_bound"] = BenchReport.cpuBound
        object["integrity_ok"] = integrityOK
        return object
    }

    // MARK: - Tables

    /// The load average before and after a section, under its table.
    private func loadLine(_ section: String, label: String = "") {
        guard let s = sections.first(where: { $0.name == section }) else { return }
        Output.line("load average before / after\(label): \(LoadAverage.text(s.loadBefore)) / \(LoadAverage.text(s.loadAfter))")
    }

    func printTables() {
        let m = machine
        Output.line("credledger-bench bench — \(m["date"] ?? "") — \(m["cpu"] ?? "?"), \(m["cores"] ?? "?") cores, \(m["filesystem"] ?? "?"), "
            + "\(m["lmdb"] ?? "?"), SHA extensions: \((m["sha_extensions"] as? Bool ?? false) ? "yes" : "no"), \(m["build"] ?? "")")
        if let loads = m["load_average"] as? [Double] { Output.line("load average at start: \(loads.map { BenchFormat.fixed($0, 2) }.joined(separator: " "))") }
        if let config { Output.line("command: \(config.commandLine) (each figure: median of \(config.rounds) runs, range beside it)") }
        Output.line("CPU-bound figures (they move with the load): " + BenchReport.cpuBound)

        Output.line("\n1. Baseline: raw LMDB MDB_APPEND of \(RawAppendBaseline.valueSize)-byte values (same size as a use event)")
        var rows: [[String]] = []
        for d in baselineDurable {
            let n = baselineNoSync.first { $0.batch == d.batch }
            rows.append(["\(d.batch)", BenchFormat.count(d.eventsPerSecond), BenchFormat.fixed(d.commitMillis, 3),
                         BenchFormat.fixed(d.pagesPerCommit, 1), n.map { BenchFormat.count($0.eventsPerSecond) } ?? "-"])
        }
        Output.table(["batch", "durable/s", "durable commit ms", "pages/commit", "no-sync/s"], rows)
        loadLine("1. baseline")

        Output.line("\n2. Durable use recording through the group-commit writer (latency: call → durable ack)")
        rows = recording.map { r in
            [r.mode.name, "\(r.callers)", BenchFormat.count(r.usesPerSecond), Rounds.range(r.roundRates) { $0 >= 10_000 ? BenchFormat.count($0 / 1000) + "k" : BenchFormat.count($0) },
             BenchFormat.fixed(r.batchMean, 1),
             BenchFormat.micros(r.latency.p50), BenchFormat.micros(r.latency.p99), BenchFormat.micros(r.latency.p999),
             r.baseline.map { "\(BenchFormat.count($0.eventsPerSecond)) @\($0.batch)" } ?? "-",
             r.ratio.map { BenchFormat.fixed($0, 2) + "×" } ?? "-",
             BenchFormat.fixed(r.applyMicrosPerEvent, 2), BenchFormat.fixed(r.commitMillisPerBatch, 2), BenchFormat.fixed(r.ackMicrosPerEvent, 2),
             BenchFormat.fixed(r.pagesWrittenPerBatch, 0), BenchFormat.count(r.serialCeiling), BenchFormat.count(r.pipelinedCeiling),
             BenchFormat.fixed(r.cpuMicrosPerUse, 2), BenchFormat.fixed(r.coresBusy, 2)]
        }
        Output.table(["mode", "callers", "uses/s", "rounds", "batch", "p50 µs", "p99 µs", "p999 µs", "baseline/s @batch", "ratio",
                      "build µs/ev", "commit ms", "ack µs/ev", "pages/commit", "writer max/s", "if pipelined/s", "CPU µs/use", "cores busy"], rows)
        Output.line("writer max/s: batch ÷ (build + commit), the writer thread's own limit; if pipelined/s: batch ÷ max(build, commit), "
            + "what building batch N+1 during N's fsync would allow at best; CPU µs/use and cores busy: the whole process "
            + "(callers, writer, acks) — near 2 cores busy the run is CPU-bound and a pipeline cannot help")
        loadLine("2. recording")

        Output.line("\n3. Authorization decision (authorize: lookup + checks, no write)")
        rows = []
        for (name, result) in [("Apikey", authorizeApikey), ("Bearer", authorizeBearer)] {
            guard let r = result else { continue }
            rows.append([name, BenchFormat.count(Double(r.latency.count)), BenchFormat.count(r.perSecond),
                         BenchFormat.micros(r.medianRunP50) + (r.runP50.count > 1 ? " (" + Rounds.range(r.runP50, BenchFormat.micros) + ")" : ""),
                         BenchFormat.micros(r.medianRunP99) + (r.runP99.count > 1 ? " (" + Rounds.range(r.runP99, BenchFormat.micros) + ")" : ""),
                         BenchFormat.micros(r.medianRoundP99), BenchFormat.micros(r.latency.p999),
                         BenchFormat.micros(r.latency.max), BenchFormat.fixed(100 * Double(r.allowed) / Double(max(1, r.latency.count)), 1) + "%"])
        }
        Output.table(["header", "decisions", "per s (1 thread)", "p50 µs, median run (range)", "p99 µs, median run (range)",
                      "p99 median of slices", "p999 µs", "max µs", "allowed"], rows)
        loadLine("3. authorize")

        Output.line("\n4. Admin operations (durable; concurrent callers batch through group commit)")
        rows = admin.map { [$0.name, "\($0.callers)", BenchFormat.count(Double($0.operations)), BenchFormat.count($0.perSecond)] }
        Output.table(["operation", "callers", "ops", "ops/s"], rows)
        loadLine("4. admin")

        Output.line("\n5. Replay with chain verification (\(BenchFormat.count(Double(totalEvents))) events)")
        rows = replay.map { [$0.name, BenchFormat.count(Double($0.events)), BenchFormat.fixed($0.seconds, 3), BenchFormat.count($0.perSecond),
                             Rounds.range($0.rates) { BenchFormat.count($0) }, $0.ok ? "ok" : "FAILED"] }
        Output.table(["what", "events", "seconds", "events/s", "runs", "result"], rows)
        loadLine("5. replay")

        Output.line("\n6. Export of the whole log (Ledger.export)")
        rows = exports.map { [$0.format, BenchFormat.count(Double($0.events)), BenchFormat.fixed($0.seconds, 3), BenchFormat.count($0.eventsPerSecond),
                              Rounds.range($0.rates) { BenchFormat.count($0) }, BenchFormat.fixed($0.megabytesPerSecond, 1)] }
        Output.table(["format", "events", "seconds", "events/s", "runs", "MB/s"], rows)
        loadLine("6. export")

        if let p = pointInTime {
            Output.line("\n7. Point in time at a random time (\(p.stateSeconds.count) samples, one company each)")
            Output.table(["query", "median s", "max s"], [
                ["state as of (Ledger.state(asOf:))", BenchFormat.fixed(AuditBench.PointInTime.median(p.stateSeconds), 4),
                 BenchFormat.fixed(p.stateSeconds.max() ?? 0, 4)],
                ["who could write (Ledger.whoCouldAct(…at:))", BenchFormat.fixed(AuditBench.PointInTime.median(p.whoSeconds), 4),
                 BenchFormat.fixed(p.whoSeconds.max() ?? 0, 4)],
            ])
        loadLine("7. as-of")
        }

        if let fill {
            Output.line("\n8. Disk")
            Output.line("fill: \(BenchFormat.count(Double(fill.uses))) uses in \(BenchFormat.fixed(fill.seconds, 2)) s "
                + "(\(BenchFormat.count(fill.usesPerSecond))/s, callback API, 1024 per call)")
            Output.line("data.mdb: \(BenchFormat.bytes(fill.bytesAfter)) for \(BenchFormat.count(Double(fill.eventsAfter))) events = "
                + "\(BenchFormat.fixed(fill.bytesPerEvent, 1)) B/event overall (B-trees alone: \(BenchFormat.fixed(fill.treeBytesPerEvent, 1)) B/event); growth per use event: "
                + (fill.bytesPerUse.map { BenchFormat.fixed($0, 1) + " B" } ?? "- (fewer than 10,000 uses)"))
            rows = fill.tables.filter { $0.entries > 0 }.sorted { $0.bytes > $1.bytes }.map {
                [$0.name, BenchFormat.count(Double($0.entries)), BenchFormat.bytes($0.bytes),
                 fill.eventsAfter > 0 ? BenchFormat.fixed(Double($0.bytes) / Double(fill.eventsAfter), 1) : "-"]
            }
            Output.table(["table", "entries", "pages", "B/event"], rows)
        }

        if let a = limitsStart, let b = limitsEnd {
            Output.line("\n9. The machine's own rates (same run: at the start / at the end)")
            Output.table(["what", "start", "end", "what it bounds"], [
                ["SHA-256 of 73 B, 1 core (/s)", BenchFormat.count(a.sha256PerSecond), BenchFormat.count(b.sha256PerSecond), "chain links: verify, replay, export, the writer"],
                ["pwrite 4 KiB + fdatasync (/s)", BenchFormat.count(a.fsyncPerSecond), BenchFormat.count(b.fsyncPerSecond), "durable commits per second"],
                ["buffered write, 1 MiB chunks (MB/s)", BenchFormat.fixed(a.writeMegabytesPerSecond, 0), BenchFormat.fixed(b.writeMegabytesPerSecond, 0),
                 "export bytes"],
            ])
            loadLine("9. limits (start)", label: " (start)")
            loadLine("9. limits (end)", label: " (end)")
        }

        Output.line("\nTargets (SPEC §6)")
        rows = targets.map { [$0.name, $0.goal, $0.measured, $0.met.map { $0 ? "met" : "MISSED" } ?? "n/a", $0.note] }
        Output.table(["target", "goal", "measured", "", "note"], rows)
        if !integrityOK { Output.line("\nINTEGRITY FAILURE: verify found a broken chain or live projections that differ from a rebuild") }
    }
}
