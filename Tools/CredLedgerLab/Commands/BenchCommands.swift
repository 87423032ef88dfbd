import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation

/// `bench`: the performance figures of SPEC §6, each beside a baseline measured in the same run.
enum BenchCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("bench", options: ["events", "decisions", "companies", "projects", "credentials", "seconds", "callers", "rounds", "dir"],
                        flags: ["quick", "keep"],
                        summary: "Benchmark a fresh ledger in a temporary directory (release build!): raw LMDB baseline, durable use recording "
                            + "(threads, async record and check, with the decision alone and a null writer at every async caller count and a "
                            + "null writer on as many blocked threads beside each threads row), authorization latency, admin ops, replay, "
                            + "export (each round beside a write + fsync of the same bytes; once with its bytes discarded), disk, and the issue-15 targets beside their same-run limits. --quick runs in about a minute; "
                            + "--events N sizes the replayed ledger (default 1,000,000); --rounds N repeats each figure and reports the median "
                            + "(default 3); --keep leaves the files.") { inv, ctx in
                let quick = inv.flag("quick")
                var config = BenchConfig.standard(quick: quick)
                config.events = try inv.integer("events", default: config.events, range: 0...1_000_000_000)
                config.decisions = try inv.integer("decisions", default: config.decisions, range: 1...1_000_000_000)
                config.companies = try inv.integer("companies", default: config.companies, range: 1...100_000)
                config.projects = try inv.integer("projects", default: config.projects, range: 1...1_000_000)
                config.credentials = try inv.integer("credentials", default: config.credentials, range: 1...10_000_000)
                if let text = inv.option("seconds") {
                    guard let s = Double(text), s > 0, s <= 600 else { throw UsageError("--seconds must be a number of seconds in (0, 600]") }
                    config.seconds = s
                    config.baselineSeconds = min(config.baselineSeconds, s)
                }
                if let text = inv.option("callers") {
                    let counts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                    guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 4096 }) else {
                        throw UsageError("--callers takes a comma-separated list of counts in 1…4096, e.g. 1,8,64,256")
                    }
                    config.callers = counts.map { $0! }
                    config.asyncCallers = config.callers
                }
                config.rounds = try inv.integer("rounds", default: config.rounds, range: 1...9)
                config.directory = inv.option("dir")
                config.keep = inv.flag("keep")
                config.commandLine = (["credledger-bench", "bench"] + CommandLine.arguments.drop { $0 != "bench" }.dropFirst()).joined(separator: " ")
                if !CommandLine.arguments.contains("bench") {
                    config.commandLine = "credledger-bench bench" + (quick ? " --quick" : "")
                }
                let showProgress = !ctx.json || Output.stderrIsTerminal
                let runner = BenchRunner(config: config, options: ctx.options) { line in
                    if showProgress { Output.error("bench: " + line) }
                }
                let report = try runner.run()
                if ctx.json {
                    Output.json(report.json)
                } else {
                    report.printTables()
                }
                return report.integrityOK ? ExitCode.ok : ExitCode.integrity
            },
            CommandSpec("http", options: ["connections", "runs", "seconds", "warmup", "wrk-threads", "dir"], flags: ["keep"],
                        summary: "Benchmark `credledger serve` with wrk (release build!): keep-alive load on /auth/forward (each request decided and "
                            + "durably recorded) and, in the same run, /healthz; median of --runs (3) runs of --seconds (5) after --warmup (2) s, "
                            + "at --connections (64,256); prints req/s, p50/p99 and the forward/healthz ratio with the issue's targets. "
                            + "--wrk-threads N (default 1); --dir DIR for the temporary ledger, --keep leaves it.") { inv, ctx in
                var config = HTTPBench.Config()
                if let text = inv.option("connections") {
                    let counts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                    guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 10_000 }) else {
                        throw UsageError("--connections takes a comma-separated list of counts in 1…10000, e.g. 64,256")
                    }
                    config.connections = counts.compactMap { $0 }
                }
                config.runs = try inv.integer("runs", default: config.runs, range: 1...15)
                config.seconds = try inv.integer("seconds", default: config.seconds, range: 1...600)
                config.warmupSeconds = try inv.integer("warmup", default: config.warmupSeconds, range: 1...600)
                config.wrkThreads = try inv.integer("wrk-threads", default: config.wrkThreads, range: 1...64)
                config.directory = inv.option("dir")
                config.keep = inv.flag("keep")
                let showProgress = !ctx.json || Output.stderrIsTerminal
                let report = try HTTPBench(config: config) { line in
                    if showProgress { Output.error("bench http: " + line) }
                }.run()
                if ctx.json {
                    Output.json(report.json)
                } else {
                    report.printTable()
                }
                return ExitCode.ok
            },
        ]
    }
}
