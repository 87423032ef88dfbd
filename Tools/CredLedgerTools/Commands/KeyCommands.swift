import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation

/// `key` and `access` commands: the API keys page. Each parses its arguments into its API request and prints the response.
enum KeyCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("key create", positionals: ["company"], options: ["name", "type", "scope", "as", "redirect-uri", "expires-in"],
                        required: ["name", "type", "scope", "as"],
                        summary: "Create an API key or OAuth client. Prints the secret ONCE. --type static|oauth|pkce|pkce-public, --scope read|read-write|global. --redirect-uri may list several, comma-separated.") { inv, ctx in
                let typeName = try inv.required("type"), scopeName = try inv.required("scope")
                guard CredentialType(name: typeName) != nil else { throw UsageError("--type must be static, oauth, pkce or pkce-public, not '\(typeName)'") }
                guard Scope(name: scopeName) != nil else { throw UsageError("--scope must be read, read-write or global, not '\(scopeName)'") }
                let uris = inv.option("redirect-uri").map { $0.split(separator: ",").map(String.init) } ?? []
                let expiresIn = inv.option("expires-in")
                if let text = expiresIn {
                    guard let d = TimeFormat.parseDuration(text), d > 0 else { throw UsageError("--expires-in takes a duration like 90d, 12h, 30m") }
                }
                let issued = try ctx.respond(API.CreateCredentialRequest(company: inv.positional(0), name: try inv.required("name"), type: typeName,
                                                                         scope: scopeName, redirectURIs: uris, expiresIn: expiresIn,
                                                                         actor: try inv.required("as")))
                printIssued(issued, ctx, verb: "created")
                return ExitCode.ok
            },
            CommandSpec("key list", positionals: ["company"], options: ["as", "at", "seq"], required: ["as"], flags: ["all"],
                        summary: "The API keys table: Name, Scope, Type, Last used, Used. --all includes deleted credentials. --at <RFC 3339 time> or --seq N: the table exactly as it was then.") { inv, ctx in
                let asOf = try AsOfOption.query(inv)
                let rows = try ctx.respondReading(API.CredentialListRequest(company: inv.positional(0), actor: try inv.required("as"),
                                                                            all: inv.flag("all"), at: asOf.at, seq: asOf.seq))
                printTable(rows, ctx)
                return ExitCode.ok
            },
            CommandSpec("key show", positionals: ["company", "id"], options: ["as"], required: ["as"],
                        summary: "One credential in detail (never its secret).") { inv, ctx in
                let row = try ctx.respondReading(API.CredentialDetailRequest(company: inv.positional(0), id: inv.positional(1),
                                                                             actor: try inv.required("as")))
                if ctx.json {
                    Output.json(row)
                } else {
                    for (k, v) in rowPairs(row) { Output.line("\(k.padding(toLength: 13, withPad: " ", startingAt: 0)) \(v)") }
                }
                return ExitCode.ok
            },
            CommandSpec("key rotate", positionals: ["company", "id"], options: ["grace", "as"], required: ["grace", "as"],
                        summary: "Issue a new secret; the old one, and the tokens obtained with it, keep working for --grace (e.g. 24h; 0 = stop now: every such token is revoked, and each user of a PKCE client must authorize it again). Prints the new secret ONCE; --json old_tokens says what happened to the tokens (revoked or end_with_grace).") { inv, ctx in
                let text = try inv.required("grace")
                guard let grace = TimeFormat.parseDuration(text) else { throw UsageError("--grace takes a duration like 0, 30m, 24h, 7d") }
                // The response says what happened to the old tokens (`old_tokens`): a static key has none; an OAuth client's end
                // with the secret they were obtained with.
                let issued = try ctx.respond(API.RotateSecretRequest(company: inv.positional(0), id: inv.positional(1), grace: text,
                                                                     actor: try inv.required("as")))
                printIssued(issued, ctx, verb: "rotated")
                if !ctx.json, let type = CredentialType(name: issued.type) { Output.line(rotationNote(type, grace: grace, text: text)) }
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
                let result = try ctx.respond(API.DeleteCredentialRequest(company: company, id: id, actor: actor))
                if ctx.json { Output.json(result) }
                ctx.say("credential \(id) deleted; its secret and tokens no longer work")
                return ExitCode.ok
            },
            CommandSpec("access grant", positionals: ["company", "id", "project"], options: ["role", "as"], required: ["role", "as"],
                        summary: "Add the credential's API user to a project with a role (viewer, editor, project-admin).") { inv, ctx in
                let roleName = try inv.required("role")
                guard ProjectRole(name: roleName) != nil else { throw UsageError("--role must be viewer, editor or project-admin, not '\(roleName)'") }
                let result = try ctx.respond(API.GrantAccessOperation(API.AccessRequest(company: inv.positional(0), id: inv.positional(1),
                                                                                        project: inv.positional(2), role: roleName,
                                                                                        actor: try inv.required("as"))))
                if ctx.json { Output.json(result) }
                ctx.say("access \(result.result): \(result.id) → \(result.project) as \(result.role ?? roleName)")
                return ExitCode.ok
            },
            CommandSpec("access revoke", positionals: ["company", "id", "project"], options: ["as"], required: ["as"],
                        summary: "Remove the credential's API user from a project.") { inv, ctx in
                let result = try ctx.respond(API.RevokeAccessOperation(API.AccessRequest(company: inv.positional(0), id: inv.positional(1),
                                                                                         project: inv.positional(2), actor: try inv.required("as"))))
                if ctx.json { Output.json(result) }
                ctx.say("access revoked: \(result.id) ✕ \(result.project)")
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

    static func printIssued(_ issued: API.IssuedCredential, _ ctx: ToolContext, verb: String) {
        if ctx.json {
            Output.json(issued)
            return
        }
        let type = CredentialType(name: issued.type), scope = Scope(name: issued.scope)
        Output.line("\(type?.label ?? issued.type) \(verb): \(issued.id) (\(issued.name), \(scope?.tableLabel ?? issued.scope))")
        if let s = issued.serviceUser { Output.line("API user:      \(s)") }
        if let c = issued.clientID { Output.line("Client ID:     \(c)") }
        if let s = issued.secret { Output.line("API key:       \(s)") }
        if let s = issued.clientSecret { Output.line("Client secret: \(s)") }
        if issued.secret != nil || issued.clientSecret != nil {
            Output.line("Store it now: it is shown only once and cannot be recovered.")
        }
        if type?.hasServiceUser == true && scope != .global && verb == "created" {
            Output.line("Next: add the API user to each project (credledger access grant …), or use GLOBAL scope.")
        }
    }

    static func printTable(_ rows: [API.Credential], _ ctx: ToolContext) {
        if ctx.json {
            Output.json(rows)
            return
        }
        Output.table(["Name", "Scope", "Type", "Last used", "Used", "Status", "Expires", "ID", "Key / client"], rows.map { r in
            [r.name, r.scopeLabel, typeLabel(r), Format.shortTime(r.lastUsed), String(r.used), r.status,
             Format.shortTime(r.expiresAt), r.id, r.keyPrefix.map { $0 + "…" } ?? r.clientID ?? ""]
        })
    }

    static func typeLabel(_ r: API.Credential) -> String { CredentialType(name: r.type)?.label ?? r.type }

    /// `active`, `expired <time>` or `deleted <time>`.
    static func statusText(_ r: API.Credential) -> String {
        switch r.status {
        case CredentialStatus.expired.rawValue: "expired \(Format.time(r.expiresAt))"
        case CredentialStatus.deleted.rawValue: "deleted \(Format.time(r.deletedAt))"
        default: r.status
        }
    }

    static func rowPairs(_ r: API.Credential) -> [(String, String)] {
        [("ID", r.id), ("Name", r.name), ("Scope", r.scopeLabel), ("Type", typeLabel(r)),
         (r.keyPrefix != nil ? "Key prefix" : "Client ID", r.keyPrefix ?? r.clientID ?? ""), ("API user", r.serviceUser ?? "(acts as the approving user)"),
         ("Created", "\(Format.time(r.createdAt)) by \(r.createdBy)"), ("Last used", Format.time(r.lastUsed)),
         ("Used", "\(r.used) (denied \(r.denied))"), ("Expires", Format.time(r.expiresAt)),
         ("Status", statusText(r)),
         ("Projects", r.scope == Scope.global.name ? "all (GLOBAL)" : (r.projects.isEmpty ? "none" : r.projects.map { "\($0.project) (\($0.role))" }.joined(separator: ", ")))]
    }
}
