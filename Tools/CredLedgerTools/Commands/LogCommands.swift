import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation

/// `log`, `verify`, `rebuild`.
enum LogCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("log", options: ["from", "limit"], summary: "Print events from --from (default 1), at most --limit (default 100). --json: one object per line (docs/EXPORT.md events.jsonl without record).") { inv, ctx in
                let from = try inv.integer("from", default: 1, range: 1...Int.max)
                let limit = try inv.integer("limit", default: 100, range: 1...10_000_000)
                let ledger = try ctx.readOnlyLedger()
                if ctx.json {
                    // Streamed like an export (docs/EXPORT.md `events.jsonl` lines without `record`), with unsafe
                    // characters escaped as in every other JSON output (the export file keeps its canonical bytes).
                    _ = try ledger.audit.writeEventLines(from: UInt64(from), limit: limit) { Output.jsonLines($0) }
                    return ExitCode.ok
                }
                let fields = try EventFields(audit: ledger.audit)
                var printed = 0
                try ledger.audit.forEachEvent(from: UInt64(from)) { stored in
                    Output.line(fields.line(stored))
                    printed += 1
                    return printed < limit
                }
                return ExitCode.ok
            },
            CommandSpec("verify", flags: ["chain-only"], summary: "Check sequence, hash chain, time order, every payload's decoding, the projections' checkpoints against the log head, and the projections against a rebuild (--chain-only: all but the rebuild). Exit 3 names the first bad event.") { inv, ctx in
                let report = try ctx.respondReading(API.VerifyRequest(chainOnly: inv.flag("chain-only")))
                if ctx.json {
                    Output.json(report)
                } else {
                    if let seq = report.firstBadSeq {
                        Output.line("chain: BROKEN at event \(seq): \(report.reason ?? "")")
                    } else {
                        Output.line("chain: ok — \(report.events) events, head \(report.headHash)")
                    }
                    if let d = report.checkpoints, report.reason != d.message { Output.line("checkpoints: DISAGREE with the log: \(d.message)") }
                    for p in report.projections {
                        Output.line("projection \(p.name): \(p.ok ? "ok" : "DIFFERS from a rebuild") (digest \(p.live.prefix(16))…, last seq \(p.lastSeq))")
                    }
                    Output.line(String(format: "verified in %.2f s", report.seconds))
                }
                return report.ok ? ExitCode.ok : ExitCode.integrity
            },
            CommandSpec("rebuild", summary: "Rebuild every projection from the log in one transaction (readers keep their snapshot). Accepts the log as it is: checkpoints that disagree with its head (a cut or forged tail, which makes writes refuse) are reported and moved to it, and the acceptance is appended to the log (log_accepted).") { _, ctx in
                let result = try ctx.respond(API.RebuildRequest())
                if ctx.json {
                    Output.json(result)
                } else {
                    if let d = result.accepted {
                        Output.line("accepting the log as it is: head \(d.logHead); projections were at \(d.checkpoints) (\(d.message))")
                        Output.line("recorded in the log as event \(d.logHead + 1) (log_accepted)")
                    }
                    Output.line("rebuilt projections from \(result.events) events")
                    for (name, digest) in result.digests.sorted(by: { $0.key < $1.key }) { Output.line("  \(name): \(digest)") }
                }
                return ExitCode.ok
            },
        ]
    }

    /// The human line for disagreeing checkpoints, unless the chain failure already says it (a cut tail).
    static func checkpointsLine(_ d: ProjectionDisagreement?, chainFailure: ChainFailure?) -> String? {
        guard let d, chainFailure?.reason != d.description else { return nil }
        return "checkpoints: DISAGREE with the log: \(d)"
    }
}
