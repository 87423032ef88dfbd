import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation

/// `record-lab`: only the recording rows of `bench`, on the quick fixture — a small driver to profile and A/B the
/// async per-request path (`record async`, `check async`) at a chosen number of tasks, without the rest of the bench.
enum RecordLabCommands {
    static let summary = """
        Durable recording only (release build!): --mode tasks|check_tasks|decide_tasks|decide_null_tasks|null_tasks|threads (default tasks; decide_tasks: the decision alone, nothing recorded; null_tasks: the null writer, no ledger work; decide_null_tasks: the decision, then the null writer), --callers 1024,4096, \
        --seconds S per run (default 2), --rounds N (default 1). One line per run: uses/s, batch, CPU µs per use, cores busy, \
        the writer's build and commit, its gap between batches (the hand-offs); --writer-poll-us N sets \
        Ledger.Options.writerPollMicros (0: off); --no-decision-cache opens the ledger with Ledger.Options.cachesDecisions off (every \
        decision reads the map); --idle S then measures the process's CPU over S s of an idle ledger and of \
        one use every 10 ms; --json for the rows.
        """

    static var all: [CommandSpec] {
        [
            CommandSpec("record-lab", options: ["mode", "callers", "seconds", "rounds", "dir", "writer-poll-us", "idle"], flags: ["no-decision-cache"],
                        summary: RecordLabCommands.summary) { inv, ctx in
                let mode: RecordingBench.Mode
                switch inv.option("mode") ?? "tasks" {
                case "tasks": mode = .tasks
                case "check_tasks": mode = .checkTasks
                case "threads": mode = .threads
                case "decide_tasks": mode = .decideTasks
                case "null_tasks": mode = .nullWriterTasks
                case "decide_null_tasks": mode = .decideNullWriterTasks
                default: throw UsageError("--mode is tasks, check_tasks, decide_tasks, decide_null_tasks, null_tasks or threads")
                }
                let counts = (inv.option("callers") ?? "1024,4096").split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 8192 }) else {
                    throw UsageError("--callers takes a comma-separated list of counts in 1…8192")
                }
                let seconds = Double(inv.option("seconds") ?? "2") ?? 0
                guard seconds > 0, seconds <= 600 else { throw UsageError("--seconds must be a number of seconds in (0, 600]") }
                let rounds = try inv.integer("rounds", default: 1, range: 1...20)
                let root = inv.option("dir") ?? (NSTemporaryDirectory() + "credledger-record-lab-\(getpid())")
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: root) }

                var options = ctx.options.forBenchmark
                if let poll = inv.option("writer-poll-us") {
                    guard let micros = Int(poll), (0...10_000).contains(micros) else { throw UsageError("--writer-poll-us takes 0…10000") }
                    options.writerPollMicros = micros
                }
                if inv.flag("no-decision-cache") { options.cachesDecisions = false }
                let ledger = try Ledger(path: root + "/ledger", options: options)
                defer { ledger.close() }
                let fixture = LedgerFixture(ledger: ledger, shape: .init(companies: 20, projects: 200, credentials: 2_000, sequentialSample: 20))
                try fixture.build { _ in }
                let pool = try AuthorizationBench.pool(fixture, count: 16_384, bearer: nil, seed: 7)
                guard !pool.isEmpty else { throw LedgerError("bench_failed", "the fixture has no usable credential", kind: .badInput) }
                let decisions = try AuthorizationBench.decisions(ledger, pool: pool)
                _ = try RecordingBench.run(ledger, mode: .tasks, callers: 64, seconds: 0.3, decisions: decisions, requests: pool)

                var rows: [[String: Any]] = []
                for callers in counts.map({ $0! }) {
                    for round in 1...rounds {
                        let load = LoadAverage.now()
                        let r = try RecordingBench.run(ledger, mode: mode, callers: callers, seconds: seconds, decisions: decisions, requests: pool)
                        var row = r.json
                        row["round"] = round
                        row["load_before"] = LoadAverage.text(load)
                        let handOff = HandOff(r)
                        row["writer_gap_us_per_batch"] = BenchFormat.round(handOff.gapMicros, 1)
                        row["inline_ack_share"] = BenchFormat.round(handOff.inlineShare, 3)
                        row["taken_while_polling_share"] = BenchFormat.round(handOff.polledShare, 3)
                        rows.append(row)
                        if !ctx.json {
                            let f = BenchFormat.fixed
                            print("\(mode.key) \(callers) tasks: \(f(r.usesPerSecond, 0)) uses/s  batch \(f(r.batchMean, 1))  "
                                  + "cpu \(f(r.cpuMicrosPerUse, 3)) µs/use  cores \(f(r.coresBusy, 2))  build \(f(r.applyMicrosPerEvent, 3)) µs/ev  "
                                  + "commit \(f(r.commitMillisPerBatch, 2)) ms  ack \(f(r.ackMicrosPerEvent, 3)) µs/ev  "
                                  + handOff.text + "  (load \(LoadAverage.text(load)))")
                        }
                    }
                }
                var idle: [String: Any] = [:]
                if let text = inv.option("idle") {
                    guard let s = Double(text), s > 0, s <= 600 else { throw UsageError("--idle must be a number of seconds in (0, 600]") }
                    let measured = try IdleCPU.measure(ledger, decisions: decisions, seconds: s)
                    idle = measured.json
                    if !ctx.json { print(measured.text) }
                }
                var output: [String: Any] = ["rows": rows]
                if !idle.isEmpty { output["idle"] = idle }
                if ctx.json { Output.json(output) }
                return ExitCode.ok
            },
        ]
    }
}

/// The writer's hand-offs in a run: its time neither building nor committing per batch (at one caller: acknowledging,
/// the caller's wake-up and next submit, the writer's own wake-up), and the share of batches it acknowledged itself
/// or took while polling.
struct HandOff {
    let gapMicros: Double
    let inlineShare: Double
    let polledShare: Double

    init(_ r: RecordingBench.Result) {
        let busy = Double(r.writer.applyNanos &+ r.writer.commitNanos) / 1e9
        let batches = Double(max(1, r.batches))
        gapMicros = r.batches > 0 ? max(0, r.seconds - busy) * 1e6 / batches : 0
        inlineShare = Double(r.writer.inlineAcknowledgedBatches) / batches
        polledShare = Double(r.writer.takenWhilePolling) / batches
    }

    var text: String {
        let f = BenchFormat.fixed
        return "gap \(f(gapMicros, 1)) µs/batch  inline ack \(f(inlineShare * 100, 0)) %  polled \(f(polledShare * 100, 0)) %"
    }
}

/// The process's CPU on an idle ledger (after a last use) and with one blocking use every 10 ms: what the writer's
/// polling costs when traffic is not steady (it must cost nothing when idle).
struct IdleCPU {
    let seconds: Double
    let quietMillisPerSecond: Double
    let sparseMillisPerSecond: Double
    let sparseUses: Int

    static func measure(_ ledger: Ledger, decisions: [Decision], seconds: Double) throws -> IdleCPU {
        try ledger.access.record(decisions[0])
        usleep(50_000)
        var cpu = ProcessCPU.seconds()
        var start = BenchClock.nanos()
        usleep(UInt32(seconds * 1e6))
        let quiet = (ProcessCPU.seconds() - cpu) / BenchClock.seconds(since: start)
        cpu = ProcessCPU.seconds()
        start = BenchClock.nanos()
        let deadline = start + UInt64(seconds * 1e9)
        var uses = 0
        while BenchClock.nanos() < deadline {
            try ledger.access.record(decisions[uses % decisions.count])
            uses += 1
            usleep(10_000)
        }
        let sparse = (ProcessCPU.seconds() - cpu) / BenchClock.seconds(since: start)
        return IdleCPU(seconds: seconds, quietMillisPerSecond: quiet * 1000, sparseMillisPerSecond: sparse * 1000, sparseUses: uses)
    }

    var sparseMicrosPerUse: Double { sparseUses > 0 ? sparseMillisPerSecond * 1000 * seconds / Double(sparseUses) : 0 }

    var json: [String: Any] {
        ["seconds": seconds, "quiet_cpu_ms_per_s": BenchFormat.round(quietMillisPerSecond, 3),
         "sparse_cpu_ms_per_s": BenchFormat.round(sparseMillisPerSecond, 3), "sparse_uses": sparseUses,
         "sparse_cpu_us_per_use": BenchFormat.round(sparseMicrosPerUse, 1)]
    }

    var text: String {
        let f = BenchFormat.fixed
        return "idle ledger: \(f(quietMillisPerSecond, 3)) ms CPU per s; one use every 10 ms: \(f(sparseMillisPerSecond, 3)) ms CPU "
            + "per s, \(f(sparseMicrosPerUse, 1)) µs per use over \(sparseUses) uses"
    }
}
