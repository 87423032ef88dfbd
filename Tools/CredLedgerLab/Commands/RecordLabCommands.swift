import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation

/// `record-lab`: only the recording rows of `bench`, on the quick fixture — a small driver to profile and A/B the
/// async per-request path (`record async`, `check async`) at a chosen number of tasks, without the rest of the bench.
enum RecordLabCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("record-lab", options: ["mode", "callers", "seconds", "rounds", "dir"], flags: [],
                        summary: "Durable recording only (release build!): --mode tasks|check_tasks|threads (default tasks), "
                            + "--callers 1024,4096, --seconds S per run (default 2), --rounds N (default 1). One line per run: "
                            + "uses/s, batch, CPU µs per use, cores busy, the writer's build and commit; --json for the rows.") { inv, ctx in
                let mode: RecordingBench.Mode
                switch inv.option("mode") ?? "tasks" {
                case "tasks": mode = .tasks
                case "check_tasks": mode = .checkTasks
                case "threads": mode = .threads
                default: throw UsageError("--mode is tasks, check_tasks or threads")
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

                let ledger = try Ledger(path: root + "/ledger", options: ctx.options.forBenchmark)
                defer { ledger.close() }
                let fixture = LedgerFixture(ledger: ledger, shape: .init(companies: 20, projects: 200, credentials: 2_000, sequentialSample: 20))
                try fixture.build { _ in }
                let pool = AuthorizationBench.pool(fixture, count: 16_384, bearer: nil, seed: 7)
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
                        rows.append(row)
                        if !ctx.json {
                            let f = BenchFormat.fixed
                            print("\(mode.key) \(callers) tasks: \(f(r.usesPerSecond, 0)) uses/s  batch \(f(r.batchMean, 1))  "
                                  + "cpu \(f(r.cpuMicrosPerUse, 3)) µs/use  cores \(f(r.coresBusy, 2))  build \(f(r.applyMicrosPerEvent, 3)) µs/ev  "
                                  + "commit \(f(r.commitMillisPerBatch, 2)) ms  ack \(f(r.ackMicrosPerEvent, 3)) µs/ev  (load \(LoadAverage.text(load)))")
                        }
                    }
                }
                if ctx.json { Output.json(["rows": rows]) }
                return ExitCode.ok
            },
        ]
    }
}
