import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation

/// `key` and `access` commands: the API keys page.
enum KeyCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("key create", positionals: ["company"], options: ["name", "type", "scope", "as", "redirect-uri", "expires-in"],
                        required: ["name", "type", "scope", "as"],
                        summary: "Create an API key or OAuth client. Prints the secret ONCE. --type static|oauth|pkce|pkce-public, --scope read|read-write|global. --redirect-uri may list several, comma-separated.") { inv, ctx in
                let typeName = try inv.required("type"), scopeName = try inv.required("scope")
                guard let type = CredentialType(name: typeName) else { throw UsageError("--type must be static, oauth, pkce or pkce-public, not '\(typeName)'") }
                guard let scope = Scope(name: scopeName) else { throw UsageError("--scope must be read, read-write or global, not '\(scopeName)'") }
                let uris = inv.option("redirect-uri").map { $0.split(separator: ",").map(String.init) } ?? []
                var expiresAt: Timestamp?
                if let text = inv.option("expires-in") {
                    guard let d = TimeFormat.parseDuration(text), d > 0 else { throw UsageError("--expires-in takes a duration like 90d, 12h, 30m") }
                    expiresAt = ctx.options.clock.now() + d
                }
                let issued = try ctx.ledger().administration.createCredential(inv.positional(0),
                    NewCredential(name: try inv.required("name"), type: type, scope: scope, redirectURIs: uris, expiresAt: expiresAt),
                    as: try inv.required("as"))
                printIssued(issued, ctx, verb: "created")
                return ExitCode.ok
            },
            CommandSpec("key list", positionals: ["company"], options: ["as", "at", "seq"], required: ["as"], flags: ["all"],
                        summary: "The API keys table: Name, Scope, Type, Last used, Used. --all includes deleted credentials. --at <RFC 3339 time> or --seq N: the table exactly as it was then.") { inv, ctx in
                let rows = if let point = try AsOfOption.parse(inv) {
                    try ctx.readOnlyLedger().audit.credentialTable(inv.positional(0), as: try inv.required("as"), includeDeleted: inv.flag("all"), asOf: point)
                } else {
                    try ctx.readOnlyLedger().audit.credentialTable(inv.positional(0), as: try inv.required("as"), includeDeleted: inv.flag("all"))
                }
                printTable(rows, ctx)
                return ExitCode.ok
            },
            CommandSpec("key show", positionals: ["company", "id"], options: ["as"], required: ["as"],
                        summary: "One credential in detail (never its secret).") { inv, ctx in
                let row = try ctx.readOnlyLedger().audit.credentialDetail(inv.positional(0), credential: inv.positional(1), as: try inv.required("as"))
                if ctx.json {
                    Output.json(API.Credential(row))
                } else {
                    for (k, v) in rowPairs(row) { Output.line("\(k.padding(toLength: 13, withPad: " ", startingAt: 0)) \(v)") }
                }
                return ExitCode.ok
            },
            CommandSpec("key rotate", positionals: ["company", "id"], options: ["grace", "as"], required: ["grace", "as"],
                        summary: "Issue a new secret; the old one, and the tokens obtained with it, keep working for --grace (e.g. 24h; 0 = stop now: every such token is revoked, and each user of a PKCE client must authorize it again). Prints the new secret ONCE; --json old_tokens says what happened to the tokens (revoked or end_with_grace).") { inv, ctx in
                let text = try inv.required("grace")
                guard let grace = TimeFormat.parseDuration(text) else { throw UsageError("--grace takes a duration like 0, 30m, 24h, 7d") }
                let issued = try ctx.ledger().administration.rotateSecret(inv.positional(0), credential: inv.positional(1), grace: grace, as: try inv.required("as"))
                // A static key has no tokens; an OAuth client's tokens end with the secret they were obtained with.
                let hasTokens = issued.type != .staticKey
                printIssued(issued, ctx, verb: "rotated", oldTokens: hasTokens ? (grace == 0 ? "revoked" : "end_with_grace") : nil)
                if !ctx.json { Output.line(rotationNote(issued.type, grace: grace, text: text)) }
                return ExitCode.ok
            },
            CommandSpec("key delete", positionals: ["company", "id"], options: ["as"], required: ["as"], flags: ["yes"],
                        summary: "Delete (revoke) a credential now: its secret and all its tokens stop working. Asks for confirmation on a terminal; otherwise needs --yes.") { inv, ctx in
                let company = inv.positional(0), id = inv.positional(1), actor = try inv.required("as")
                if !inv.flag("yes") {
                    guard Output.stdinIsTerminal, !ctx.json else { throw LedgerError.confirmationRequired }
                    Output.prompt("Delete API key \(id)? It stops working immediately and cannot be restored. Type 'delete' to confirm: ")
                    guard readLine(strippingNewline: true) == "delete" else {
                        Output.error("not deleted")
                        return ExitCode.refused
                    }
                }
                try ctx.ledger().administration.deleteCredential(company, credential: id, as: actor)
                if ctx.json { Output.json(API.DeleteCredentialResult(id: id)) }
                ctx.say("credential \(id) deleted; its secret and tokens no longer work")
                return ExitCode.ok
            },
            CommandSpec("access grant", positionals: ["company", "id", "project"], options: ["role", "as"], required: ["role", "as"],
                        summary: "Add the credential's API user to a project with a role (viewer, editor, project-admin).") { inv, ctx in
                let roleName = try inv.required("role")
                guard let role = ProjectRole(name: roleName) else { throw UsageError("--role must be viewer, editor or project-admin, not '\(roleName)'") }
                let outcome = try ctx.ledger().administration.grantAccess(inv.positional(0), credential: inv.positional(1), project: inv.positional(2),
                                                           role: role, as: try inv.required("as"))
                if ctx.json { Output.json(API.AccessResult(id: inv.positional(1), project: inv.positional(2), role: role.name, result: outcome.rawValue)) }
                ctx.say("access \(outcome.rawValue): \(inv.positional(1)) → \(inv.positional(2)) as \(role.name)")
                return ExitCode.ok
            },
            CommandSpec("access revoke", positionals: ["company", "id", "project"], options: ["as"], required: ["as"],
                        summary: "Remove the credential's API user from a project.") { inv, ctx in
                try ctx.ledger().administration.revokeAccess(inv.positional(0), credential: inv.positional(1), project: inv.positional(2), as: try inv.required("as"))
                if ctx.json { Output.json(API.AccessResult(id: inv.positional(1), project: inv.positional(2), result: "revoked")) }
                ctx.say("access revoked: \(inv.positional(1)) ✕ \(inv.positional(2))")
                return ExitCode.ok
            },
        ]
    }

    /// What a rotation did to the old secret and the tokens obtained with it (docs/SECRETS.md §2, Rotation).
    static func rotationNote(_ type: CredentialType, grace: Int64, text: String) -> String {
        let users = type == .pkce ? "every user of this client must authorize it again" : "request new tokens with the new secret"
        switch (type == .staticKey, grace == 0) {
        case (true, true): return "The old secret stopped working."
        case (true, false): return "The old secret keeps working for \(text)."
        case (false, true): return "The old secret stopped working, and every token obtained with it was revoked: \(users)."
        case (false, false):
            let before = type == .pkce ? "refresh them with the new secret before then, or \(users)" : "\(users) before then"
            return "The old secret keeps working for \(text), and so do the tokens obtained with it: they end when the grace does; \(before)."
        }
    }

    static func printIssued(_ issued: IssuedCredential, _ ctx: ToolContext, verb: String, oldTokens: String? = nil) {
        if ctx.json {
            Output.json(API.IssuedCredential(issued, oldTokens: oldTokens))
            return
        }
        Output.line("\(issued.type.label) \(verb): \(issued.id) (\(issued.name), \(issued.scope.tableLabel))")
        if let s = issued.serviceUser { Output.line("API user:      \(s)") }
        if let c = issued.clientID { Output.line("Client ID:     \(c)") }
        if let s = issued.secret { Output.line("API key:       \(s)") }
        if let s = issued.clientSecret { Output.line("Client secret: \(s)") }
        if issued.secret != nil || issued.clientSecret != nil {
            Output.line("Store it now: it is shown only once and cannot be recovered.")
        }
        if issued.type.hasServiceUser && issued.scope != .global && verb == "created" {
            Output.line("Next: add the API user to each project (credledger access grant …), or use GLOBAL scope.")
        }
    }

    static func printTable(_ rows: [CredentialRow], _ ctx: ToolContext) {
        if ctx.json {
            Output.json(rows.map(API.Credential.init))
            return
        }
        Output.table(["Name", "Scope", "Type", "Last used", "Used", "Status", "Expires", "ID", "Key / client"], rows.map { r in
            [r.name, r.scope.tableLabel, r.type.label, Format.shortTime(r.lastUsed), String(r.used), r.status.rawValue,
             r.expiresAt.map { Format.shortTime($0) } ?? "never", r.id, r.type == .staticKey ? r.displayPrefix + "…" : r.displayPrefix]
        })
    }

    /// `active`, `expired <time>` or `deleted <time>`.
    static func statusText(_ r: CredentialRow) -> String {
        switch r.status {
        case .active: "active"
        case .expired: "expired \(Format.time(r.expiresAt))"
        case .deleted: "deleted \(Format.time(r.deletedAt))"
        }
    }

    static func rowPairs(_ r: CredentialRow) -> [(String, String)] {
        [("ID", r.id), ("Name", r.name), ("Scope", r.scope.tableLabel), ("Type", r.type.label),
         (r.type == .staticKey ? "Key prefix" : "Client ID", r.displayPrefix), ("API user", r.serviceUser ?? "(acts as the approving user)"),
         ("Created", "\(Format.time(r.createdAt)) by \(r.createdBy)"), ("Last used", Format.time(r.lastUsed)),
         ("Used", "\(r.used) (denied \(r.denied))"), ("Expires", r.expiresAt.map(Format.time) ?? "never"),
         ("Status", statusText(r)),
         ("Projects", r.scope == .global ? "all (GLOBAL)" : (r.projects.isEmpty ? "none" : r.projects.map { "\($0.project) (\($0.role))" }.joined(separator: ", ")))]
    }
}
