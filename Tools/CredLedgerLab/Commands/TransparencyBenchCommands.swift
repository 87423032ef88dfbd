import CredLedger
import CredLedgerTools
import Foundation

/// `transparency`: the transparency tree's costs and speeds (issue 16's targets), each beside a same-run baseline.
enum TransparencyBenchCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("transparency", options: ["events", "seconds", "dir"], flags: ["quick", "keep"],
                        summary: "Benchmark the transparency tree (release build!): durable recording with vs without it (same run, alternating), disk per use each way, inclusion/consistency proofs and roots at --events N (default 1,000,000), checkpoint signing, the tree's rebuild events/s. --quick: 200,000 events, shorter runs.") { inv, ctx in
                var config = TransparencyBench.Config.standard(quick: inv.flag("quick"))
                config.events = try inv.integer("events", default: config.events, range: 1_000...1_000_000_000)
                if let text = inv.option("seconds") {
                    guard let s = Double(text), s > 0, s <= 600 else { throw UsageError("--seconds must be a number of seconds in (0, 600]") }
                    config.seconds = s
                }
                config.directory = inv.option("dir")
                config.keep = inv.flag("keep")
                let showProgress = !ctx.json || Output.stderrIsTerminal
                var bench = TransparencyBench(config: config, options: ctx.options) { line in
                    if showProgress { Output.error("transparency: " + line) }
                }
                try bench.run()
                if ctx.json { Output.json(bench.json) } else { bench.printTables() }
                return bench.integrityOK ? ExitCode.ok : ExitCode.integrity
            },
        ]
    }
}
