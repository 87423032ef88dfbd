import CredLedger
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
                    // Streamed like an export (docs/EXPORT.md `events.jsonl` lines without `record`).
                    _ = try ledger.writeEventLines(from: UInt64(from), limit: limit) { chunk in
                        Output.standardOutput(String(decoding: chunk, as: UTF8.self))
                    }
                    return ExitCode.ok
                }
                let fields = try EventFields(ledger: ledger)
                var printed = 0
                try ledger.forEachEvent(from: UInt64(from)) { stored in
                    Output.line(fields.line(stored))
                    printed += 1
                    return printed < limit
                }
                return ExitCode.ok
            },
            CommandSpec("verify", flags: ["chain-only"], summary: "Check sequence, hash chain, time order, indexes and projections against a rebuild. Exit 3 names the first bad event.") { inv, ctx in
                let report = try ctx.readOnlyLedger().verify(projections: !inv.flag("chain-only"))
                if ctx.json {
                    var object: [String: Any] = [
                        "ok": report.ok, "events": report.events, "head_hash": report.head.hash.hex, "seconds": report.seconds,
                        "projections": report.projections.map { ["name": $0.name, "ok": $0.matches, "last_seq": $0.lastSeq, "live": $0.live.hex, "rebuilt": $0.rebuilt.hex] },
                    ]
                    if let f = report.chainFailure { object["first_bad_seq"] = f.seq; object["reason"] = f.reason }
                    Output.json(object)
                } else {
                    if let f = report.chainFailure {
                        Output.line("chain: BROKEN at event \(f.seq): \(f.reason)")
                    } else {
                        Output.line("chain: ok — \(report.events) events, head \(report.head.hash.hex)")
                    }
                    for p in report.projections {
                        Output.line("projection \(p.name): \(p.matches ? "ok" : "DIFFERS from a rebuild") (digest \(p.live.hex.prefix(16))…, last seq \(p.lastSeq))")
                    }
                    Output.line(String(format: "verified in %.2f s", report.seconds))
                }
                return report.ok ? ExitCode.ok : ExitCode.integrity
            },
            CommandSpec("rebuild", summary: "Rebuild every projection from the log in one transaction (readers keep their snapshot).") { _, ctx in
                let result = try ctx.ledger().rebuildProjections()
                if ctx.json {
                    Output.json(["events": result.events, "digests": result.digests.mapValues(\.hex)])
                } else {
                    Output.line("rebuilt projections from \(result.events) events")
                    for (name, digest) in result.digests.sorted(by: { $0.key < $1.key }) { Output.line("  \(name): \(digest.hex)") }
                }
                return ExitCode.ok
            },
        ]
    }
}
