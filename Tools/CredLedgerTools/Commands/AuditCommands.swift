import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation

/// `replay`, as-of views (`usage`, `memberships`; `key list --at` uses `AsOfOption`), and `audit` queries. Each parses its
/// arguments into its API request and prints the response.
enum AuditCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("replay", options: ["from", "threads"], flags: ["chain-only"],
                        summary: "Stream the log verifying sequence, hash links, time order and (--chain-only) payload decoding (on every core; --from SEQ starts the check there), check the projections' checkpoints against the log head, rebuild every projection from event 1 into a scratch environment at the same time, and compare digests with the live ones. Exit 3 names the first bad event.") { inv, ctx in
                let from = try inv.integer("from", default: 1, range: 1...Int.max)
                let threads = try inv.integer("threads", default: ProcessInfo.processInfo.activeProcessorCount, range: 1...64)
                let request = API.ReplayRequest(from: UInt64(from), threads: threads, chainOnly: inv.flag("chain-only"))
                let report = try request.engineReport(try ctx.readOnlyLedger())
                printReplay(report, ctx)
                return report.ok ? ExitCode.ok : ExitCode.integrity
            },
            CommandSpec("usage", positionals: ["company"], options: ["at", "seq"],
                        summary: "Exact usage counters per credential (used, denied, first/last used), live or as of --at <RFC 3339 time> / --seq N.") { inv, ctx in
                let asOf = try AsOfOption.query(inv)
                let report = try ctx.respondReading(API.UsageRequest(company: inv.positional(0), at: asOf.at, seq: asOf.seq))
                if ctx.json {
                    Output.json(report)
                } else {
                    if let point = report.asOf { Output.line(AsOfOption.banner(point)) }
                    Output.table(["Name", "ID", "Used", "Denied", "Last used", "First used", "Last denied"], report.credentials.map { r in
                        [r.name + (r.deleted ? " (deleted)" : ""), r.id, String(r.used), String(r.denied), Format.shortTime(r.lastUsed),
                         Format.shortTime(r.firstUsed), Format.shortTime(r.lastDenied)]
                    })
                }
                return ExitCode.ok
            },
            CommandSpec("memberships", positionals: ["company"], options: ["at", "seq"],
                        summary: "Company members, API users' project access and users' own project roles, live or as of --at <time> / --seq N.") { inv, ctx in
                let asOf = try AsOfOption.query(inv)
                printMemberships(try ctx.respondReading(API.MembershipsRequest(company: inv.positional(0), at: asOf.at, seq: asOf.seq)), ctx)
                return ExitCode.ok
            },
            CommandSpec("audit access", positionals: ["company", "project"], options: ["at", "seq", "op", "key"], flags: ["prove"],
                        summary: "Who could act on a project at --at <time> / --seq N (default now): every service user or user, through which credential, scope and role, since when. --op read|write (default: anyone who could at least read). Service users act through GLOBAL scope or a project grant (scope ∩ role); users act through a PKCE credential only while they hold a live grant they approved (unexpired, unrevoked access or refresh token, or unused code), with their own access (admin: all projects; member: project role) capped by the scope. --prove: with inclusion proofs of every event the answer rests on against one signed checkpoint (docs/PROOFS.md).") { inv, ctx in
                let operation = inv.option("op")
                if let op = operation, CredLedgerCore.Operation(name: op) == nil { throw UsageError("--op must be read or write, not '\(op)'") }
                if inv.flag("prove") {
                    try TransparencyCommands.provenAccess(try ctx.readOnlyLedger(), company: inv.positional(0), project: inv.positional(1),
                                                          operation: operation.flatMap { CredLedgerCore.Operation(name: $0) },
                                                          at: try AsOfOption.parse(inv) ?? .head, inv, ctx)
                    return ExitCode.ok
                }
                let asOf = try AsOfOption.query(inv)
                printAccess(try ctx.respondReading(API.WhoCouldActRequest(company: inv.positional(0), project: inv.positional(1),
                                                                          operation: operation, at: asOf.at, seq: asOf.seq)), ctx)
                return ExitCode.ok
            },
            CommandSpec("audit events", options: ["company", "credential", "project", "actor", "type", "since", "until", "outcome",
                                                   "limit", "order", "before", "after"],
                        summary: "Events filtered by --company --credential --project --actor (email, credential id, system) --type (comma list) --since/--until <time> --outcome allowed|denied, newest first (--order oldest for the other way), --limit per page (default 50); the next page is --before/--after the last seq shown. Uses the posting indexes.") { inv, ctx in
                var request = API.AuditEventsQuery(company: inv.option("company"), credential: inv.option("credential"),
                                                   project: inv.option("project"), actor: inv.option("actor"))
                if let text = inv.option("type") {
                    request.types = try text.split(separator: ",").map { name in
                        guard EventType(name: String(name)) != nil else {
                            throw UsageError("unknown --type '\(name)'; types: \(EventType.allCases.map(\.name).joined(separator: ", "))")
                        }
                        return String(name)
                    }
                }
                request.since = try AsOfOption.text(inv, "since")
                request.until = try AsOfOption.text(inv, "until")
                if let text = inv.option("outcome") {
                    guard AuditQuery.Outcome(rawValue: text) != nil else { throw UsageError("--outcome must be allowed or denied") }
                    request.outcome = text
                }
                request.limit = try inv.integer("limit", default: 50, range: 1...100_000)
                request.order = inv.option("order") ?? "newest"
                guard request.order == "newest" || request.order == "oldest" else { throw UsageError("--order must be newest or oldest") }
                if inv.option("before") != nil { request.before = UInt64(try inv.integer("before", default: 0, range: 1...Int.max)) }
                if inv.option("after") != nil { request.after = UInt64(try inv.integer("after", default: 0, range: 0...Int.max)) }
                if ctx.json {
                    Output.json(try ctx.respondReading(request))
                    return ExitCode.ok
                }
                // The human lines show each payload's fields in their event's order (the JSON page holds them by key), so
                // they come from the engine page of the request's query.
                let query = try request.query()
                let ledger = try ctx.readOnlyLedger()
                let page = try ledger.audit.auditEvents(query)
                let fields = try EventFields(audit: ledger.audit)
                let cursor = query.newestFirst ? "before" : "after"
                for stored in page.events { Output.line(fields.line(stored)) }
                if page.events.isEmpty { Output.line("no matching events") }
                Output.error("(\(page.events.count) events; \(page.plan); \(page.examined) read)")
                if let next = page.next { Output.error("next page: --\(cursor) \(next)") }
                return ExitCode.ok
            },
            CommandSpec("audit review", positionals: ["company"], options: ["stale-days", "many-projects"],
                        summary: "Access review of the live credentials: unused for --stale-days (default 90), never used, GLOBAL scope, write access to --many-projects (default 5) or more, created by members who are no longer admins, expired; a recommendation per line.") { inv, ctx in
                let staleDays = try inv.integer("stale-days", default: 90, range: 1...36_500)
                let many = try inv.integer("many-projects", default: 5, range: 1...1_000_000)
                let review = try ctx.respondReading(API.AccessReviewRequest(company: inv.positional(0), staleDays: staleDays, manyProjects: many))
                if ctx.json {
                    Output.json(review)
                } else if review.findings.isEmpty {
                    Output.line("no findings: every live credential is in use, narrowly scoped and owned by a current admin")
                } else {
                    Output.table(["Finding", "Name", "ID", "Scope", "Detail", "Recommendation"], review.findings.map { f in
                        [f.finding, f.name, f.id, Scope(name: f.scope)?.tableLabel ?? f.scope, f.detail, f.recommendation]
                    })
                }
                return ExitCode.ok
            },
        ]
    }

    static func printReplay(_ r: ReplayReport, _ ctx: ToolContext) {
        if ctx.json {
            Output.json(API.ReplayReport(r))
            return
        }
        Output.line("replay of events \(r.from)…\(r.head.seq) (head \(r.head.hash.hex.prefix(16))…)")
        if let f = r.chainFailure {
            Output.line("chain: BROKEN at event \(f.seq): \(f.reason)")
            if r.lastGood.seq > 0 { Output.line("       last good event \(r.lastGood.seq), hash \(r.lastGood.hash.hex)") }
        } else {
            Output.line("chain: ok — \(r.eventsVerified) links verified on \(r.threads) thread(s) in \(seconds(r.verifySeconds)) (\(rate(r.verifyRate)) events/s)")
        }
        if let line = LogCommands.checkpointsLine(r.checkpoints, chainFailure: r.chainFailure) { Output.line(line) }
        if r.eventsProjected > 0 || !r.projections.isEmpty {
            let projectRate = r.projectSeconds > 0 ? Double(r.eventsProjected) / r.projectSeconds : 0
            Output.line("rebuild: \(r.eventsProjected) events replayed into a scratch environment in \(seconds(r.projectSeconds)) (\(rate(projectRate)) events/s)")
        }
        for p in r.projections {
            Output.line("projection \(p.name): \(p.matches ? "ok" : "DIFFERS from the rebuild") (live \(p.live.hex.prefix(16))…, rebuilt \(p.rebuilt.hex.prefix(16))…, last seq \(p.lastSeq))")
        }
        if let note = r.projectionNote { Output.line("projections: \(note)") }
        Output.line("events read: \(max(r.eventsVerified, r.eventsProjected)) in \(seconds(r.seconds)) (\(rate(r.rate)) events/s)")
    }

    static func printMemberships(_ m: API.MembershipsReport, _ ctx: ToolContext) {
        if ctx.json {
            Output.json(m)
            return
        }
        if let point = m.asOf { Output.line(AsOfOption.banner(point)) }
        Output.line("Members")
        Output.table(["Email", "Role", "Since"], m.members.map { [$0.email, $0.role, Format.shortTime($0.since)] })
        Output.line("\nAPI users' project access")
        Output.table(["Credential", "ID", "API user", "Project", "Role", "Since"], m.serviceAccess.map {
            [$0.name, $0.id, $0.serviceUser, $0.project, $0.role, Format.shortTime($0.since)]
        })
        Output.line("\nUsers' project roles (PKCE credentials act with these)")
        Output.table(["Email", "Project", "Role", "Since"], m.userRoles.map { [$0.email, $0.project, $0.role, Format.shortTime($0.since)] })
    }

    static func printAccess(_ a: API.AccessReport, _ ctx: ToolContext) {
        if ctx.json {
            Output.json(a)
            return
        }
        let what = a.operation.map { "could \($0)" } ?? "could act on"
        Output.line("Who \(what) \(a.company)/\(a.project) at \(Format.time(a.asOf.time)) (after event \(a.asOf.seq))")
        for note in a.notes { Output.line("note: \(note)") }
        if a.principals.isEmpty {
            Output.line("nobody")
            return
        }
        Output.table(["Principal", "Credential", "ID", "Type", "Scope", "Via", "Can", "Since", "Grant"], a.principals.map { p in
            [p.principal, p.credentialName, p.credential, CredentialType(name: p.type)?.label ?? p.type, Scope(name: p.scope)?.tableLabel ?? p.scope,
             p.via, p.capability, Format.shortTime(p.since), p.grantUntil.map { "\(p.grant) until \(Format.shortTime($0))" } ?? p.grant]
        })
    }

    static func seconds(_ s: Double) -> String { String(format: "%.2f s", s) }

    static func rate(_ r: Double) -> String {
        r >= 1_000_000 ? String(format: "%.2fM", r / 1_000_000) : r >= 1_000 ? String(format: "%.0fk", r / 1_000) : String(format: "%.0f", r)
    }
}

/// The `--at <RFC 3339 time>` / `--seq N` options of as-of views.
enum AsOfOption {
    static func parse(_ inv: Invocation) throws -> AsOfPoint? {
        let at = try time(inv, "at")
        let seq = inv.option("seq")
        switch (at, seq) {
        case (nil, nil): return nil
        case (_?, _?): throw UsageError("give --at or --seq, not both")
        case (let t?, nil): return .time(t)
        case (nil, _?): return .seq(UInt64(try inv.integer("seq", default: 0, range: 0...Int.max)))
        }
    }

    /// A time option in RFC 3339 (e.g. 2026-01-31T12:00:00Z).
    static func time(_ inv: Invocation, _ name: String) throws -> Timestamp? {
        guard let text = inv.option(name) else { return nil }
        guard let t = TimeFormat.parseRFC3339(text) else {
            throw UsageError("--\(name) takes an RFC 3339 time like 2026-01-31T12:00:00Z, not '\(text)'")
        }
        return t
    }

    /// The options as an API as-of query (`at` as given, once checked), for the request types.
    static func query(_ inv: Invocation) throws -> (at: String?, seq: UInt64?) {
        switch try parse(inv) {
        case .seq(let seq)?: return (nil, seq)
        case .time?: return (inv.option("at"), nil)
        default: return (nil, nil)
        }
    }

    /// A time option as given, once checked to be RFC 3339.
    static func text(_ inv: Invocation, _ name: String) throws -> String? {
        try time(inv, name).map { _ in inv.option(name) ?? "" }
    }

    static func banner(_ point: API.AsOf) -> String {
        "as of \(Format.time(point.time)) (after event \(point.seq))"
    }
}
