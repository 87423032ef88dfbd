import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation

/// `export <company>` and `export --all`: compliance exports (docs/EXPORT.md), checked by Tools/verify_export.py.
enum ExportCommands {
    static var all: [CommandSpec] {
        let options = ["format", "out", "since", "until", "since-checkpoint", "key"]
        let summary = "Compliance export: events (seq, time, type, company, actor, payload, prev_hash, hash, record) of the range, a snapshot of the credential table and memberships at its end, and manifest.json (range, counts, head hash, SHA-256 of each file). --format jsonl|csv, --out DIR (new or empty), --since/--until <RFC 3339>. Streams; progress on a terminal. Verify with Tools/verify_export.py DIR. With a signing key (credledger keygen): transparency.json, a checkpoint of the range end and, with --since-checkpoint FILE (the previous export's), the consistency proof from it."
        return [
            CommandSpec("export", positionals: ["company"], options: options, required: ["out"], summary: summary + " One company's events (the chain is then sparse).") { inv, ctx in
                try run(company: inv.positional(0), inv, ctx)
            },
            // `export --all …`: the whole log (every company), a contiguous chain.
            CommandSpec("export --all", options: options, required: ["out"], summary: "Export every company: the whole log in the range, a contiguous chain.") { inv, ctx in
                try run(company: nil, inv, ctx)
            },
        ]
    }

    static func run(company: String?, _ inv: Invocation, _ ctx: ToolContext) throws -> Int32 {
        let formatName = inv.option("format") ?? "jsonl"
        guard ExportRequest.Format(rawValue: formatName) != nil else { throw UsageError("--format must be jsonl or csv, not '\(formatName)'") }
        let request = API.ExportRequest(company: company, format: formatName, out: try inv.required("out"),
                                        since: try AsOfOption.text(inv, "since"), until: try AsOfOption.text(inv, "until"))
        let ledger = try ctx.readOnlyLedger()
        let meter = ProgressMeter(enabled: Output.stderrIsTerminal)
        // The request's engine form, run here rather than through `APIService`: a terminal gets progress as it goes.
        let summary = try ledger.audit.export(try request.engineRequest()) { meter.update($0) }
        meter.finish()
        let proven = try TransparencyCommands.writeExportProofs(ledger, summary: summary, since: inv.option("since-checkpoint"), inv, ctx)
        if ctx.json {
            Output.json(API.ExportResult(summary))
        } else {
            Output.line("exported \(summary.events) events (seq \(summary.fromSeq)…\(summary.toSeq)) to \(summary.directory) in \(AuditCommands.seconds(summary.seconds)) (\(AuditCommands.rate(summary.rate)) events/s)")
            if let head = summary.head { Output.line("head: event \(head.seq), hash \(head.hash.hex)") }
            Output.table(["File", "Bytes", "Lines", "SHA-256"], summary.files.map { [$0.name, String($0.bytes), String($0.lines), $0.sha256.hex] } +
                         [["manifest.json", "", "", "(lists the digests above)"]])
            if proven { Output.line("transparency.json: checkpoint of \(summary.toSeq) events" + (inv.option("since-checkpoint") != nil ? " and the consistency proof from the previous one" : "")) }
            Output.line("check it with: python3 Tools/verify_export.py \(summary.directory)")
        }
        return ExitCode.ok
    }
}

/// A one-line progress display on standard error, redrawn at most five times a second (terminals only).
final class ProgressMeter {
    private let enabled: Bool
    private var last = DispatchTime.now()
    private let started = DispatchTime.now()
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ p: ExportProgress) {
        guard enabled else { return }
        let now = DispatchTime.now()
        guard now.uptimeNanoseconds - last.uptimeNanoseconds >= 200_000_000 else { return }
        last = now
        let elapsed = Double(now.uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        let rate = elapsed > 0 ? Double(p.events) / elapsed : 0
        let percent = String(format: "%3.0f", p.fraction * 100)
        Output.standardError("\rexporting: \(p.events) events, \(percent)% of the range, \(AuditCommands.rate(rate)) events/s   ")
        drawn = true
    }

    func finish() {
        if drawn { Output.standardError("\r\u{1B}[K") }
    }
}
