import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation

/// `company`, `member`, `project` commands: each parses its arguments into its API request and prints the response.
enum AdminCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("company create", positionals: ["company"], options: ["admin", "name", "mail-domain"], required: ["admin"],
                        summary: "Register a company with its first admin (service users get @mail-domain, default cxplanner.com). The only command that starts a new ledger when --db holds none.") { inv, ctx in
                let request = API.CreateCompanyRequest(company: inv.positional(0), admin: try inv.required("admin"),
                                                       name: inv.option("name"), mailDomain: inv.option("mail-domain"))
                // Every input is checked before the ledger is opened: a refused create on a missing --db leaves nothing behind.
                _ = try request.registration()
                let company = try APIService(try ctx.creatingLedger()).respondBlocking(to: request)
                if ctx.json {
                    Output.json(company)
                } else {
                    ctx.say("company \(company.company) registered; admin \(request.admin); API module disabled (enable with `company enable-api`)")
                }
                return ExitCode.ok
            },
            CommandSpec("company enable-api", positionals: ["company"], options: ["as"], required: ["as"],
                        summary: "Enable the API key module (enterprise feature) for a company. Admins only.") { inv, ctx in
                try moduleToggle(inv, ctx, enabled: true)
            },
            CommandSpec("company disable-api", positionals: ["company"], options: ["as"], required: ["as"],
                        summary: "Disable the API key module: every credential of the company stops working.") { inv, ctx in
                try moduleToggle(inv, ctx, enabled: false)
            },
            CommandSpec("member set", positionals: ["company", "email"], options: ["role", "as"], required: ["role", "as"],
                        summary: "Set a member's company role: admin, member, or removed.") { inv, ctx in
                let roleName = try inv.required("role")
                guard CompanyRole(name: roleName) != nil else { throw UsageError("--role must be admin, member or removed, not '\(roleName)'") }
                let result = try ctx.respond(API.SetMemberRoleRequest(company: inv.positional(0), email: inv.positional(1), role: roleName,
                                                                      actor: try inv.required("as")))
                if ctx.json { Output.json(result) }
                ctx.say(result.result == GrantOutcome.unchanged.rawValue ? "\(result.email) is already \(result.role) of \(result.company) (unchanged)"
                                                                         : "\(result.email) is now \(result.role) of \(result.company)")
                return ExitCode.ok
            },
            CommandSpec("project create", positionals: ["company", "project"], options: ["name", "as"], required: ["as"],
                        summary: "Create a project in a company.") { inv, ctx in
                let result = try ctx.respond(API.CreateProjectRequest(company: inv.positional(0), project: inv.positional(1),
                                                                      name: inv.option("name"), actor: try inv.required("as")))
                if ctx.json { Output.json(result) }
                ctx.say("project \(result.project) created in \(result.company)")
                return ExitCode.ok
            },
            CommandSpec("project archive", positionals: ["company", "project"], options: ["as"], required: ["as"],
                        summary: "Archive a project: nobody can act on it afterwards.") { inv, ctx in
                let result = try ctx.respond(API.ArchiveProjectRequest(company: inv.positional(0), project: inv.positional(1),
                                                                       actor: try inv.required("as")))
                if ctx.json { Output.json(result) }
                ctx.say("project \(result.project) archived")
                return ExitCode.ok
            },
            CommandSpec("project member", positionals: ["company", "project", "email"], options: ["role", "as"], required: ["role", "as"],
                        summary: "Give a company user a project role (viewer, editor, project-admin, none); PKCE credentials act with it.") { inv, ctx in
                let roleName = try inv.required("role")
                guard roleName == "none" || ProjectRole(name: roleName) != nil else {
                    throw UsageError("--role must be viewer, editor, project-admin or none")
                }
                let result = try ctx.respond(API.SetProjectRoleRequest(company: inv.positional(0), project: inv.positional(1),
                                                                       email: inv.positional(2), role: roleName, actor: try inv.required("as")))
                if ctx.json { Output.json(result) }
                ctx.say("\(result.email) has role \(result.role) on \(result.project)\(result.result == GrantOutcome.unchanged.rawValue ? " (unchanged)" : "")")
                return ExitCode.ok
            },
        ]
    }

    private static func moduleToggle(_ inv: Invocation, _ ctx: ToolContext, enabled: Bool) throws -> Int32 {
        let result = try ctx.respond(API.SetAPIModuleRequest(company: inv.positional(0), apiEnabled: enabled, actor: try inv.required("as")))
        if ctx.json { Output.json(result) }
        ctx.say("API module \(enabled ? "enabled" : "disabled") for \(result.company)\(result.changed ? "" : " (already)")")
        return ExitCode.ok
    }
}
