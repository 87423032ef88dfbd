import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation

/// `company`, `member`, `project` commands.
enum AdminCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("company create", positionals: ["company"], options: ["admin", "name", "mail-domain"], required: ["admin"],
                        summary: "Register a company with its first admin (service users get @mail-domain, default cxplanner.com). The only command that starts a new ledger when --db holds none.") { inv, ctx in
                // Every input is checked before the ledger is opened: a refused create on a missing --db leaves nothing behind.
                let registration = try CompanyRegistration(slug: inv.positional(0), admin: try inv.required("admin"),
                                                           name: inv.option("name"), mailDomain: inv.option("mail-domain"))
                let info = try ctx.creatingLedger().administration.registerCompany(registration)
                if ctx.json {
                    Output.json(API.Company(info))
                } else {
                    ctx.say("company \(info.slug) registered; admin \(try inv.required("admin")); API module disabled (enable with `company enable-api`)")
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
                guard let role = CompanyRole(name: roleName) else { throw UsageError("--role must be admin, member or removed, not '\(roleName)'") }
                let outcome = try ctx.ledger().administration.setMemberRole(inv.positional(0), email: inv.positional(1), role: role, as: try inv.required("as"))
                if ctx.json { Output.json(API.MemberRoleResult(company: inv.positional(0), email: inv.positional(1), role: role.name, result: outcome.rawValue)) }
                ctx.say(outcome == .unchanged ? "\(inv.positional(1)) is already \(role.name) of \(inv.positional(0)) (unchanged)"
                                              : "\(inv.positional(1)) is now \(role.name) of \(inv.positional(0))")
                return ExitCode.ok
            },
            CommandSpec("project create", positionals: ["company", "project"], options: ["name", "as"], required: ["as"],
                        summary: "Create a project in a company.") { inv, ctx in
                try ctx.ledger().administration.createProject(inv.positional(0), project: inv.positional(1), name: inv.option("name"), as: try inv.required("as"))
                if ctx.json { Output.json(API.ProjectResult(company: inv.positional(0), project: inv.positional(1))) }
                ctx.say("project \(inv.positional(1)) created in \(inv.positional(0))")
                return ExitCode.ok
            },
            CommandSpec("project archive", positionals: ["company", "project"], options: ["as"], required: ["as"],
                        summary: "Archive a project: nobody can act on it afterwards.") { inv, ctx in
                try ctx.ledger().administration.archiveProject(inv.positional(0), project: inv.positional(1), as: try inv.required("as"))
                if ctx.json { Output.json(API.ProjectResult(company: inv.positional(0), project: inv.positional(1), archived: true)) }
                ctx.say("project \(inv.positional(1)) archived")
                return ExitCode.ok
            },
            CommandSpec("project member", positionals: ["company", "project", "email"], options: ["role", "as"], required: ["role", "as"],
                        summary: "Give a company user a project role (viewer, editor, project-admin, none); PKCE credentials act with it.") { inv, ctx in
                let roleName = try inv.required("role")
                let role: ProjectRole?
                if roleName == "none" { role = nil } else {
                    guard let r = ProjectRole(name: roleName) else { throw UsageError("--role must be viewer, editor, project-admin or none") }
                    role = r
                }
                let outcome = try ctx.ledger().administration.setUserProjectRole(inv.positional(0), project: inv.positional(1), email: inv.positional(2),
                                                                  role: role, as: try inv.required("as"))
                if ctx.json {
                    Output.json(API.ProjectRoleResult(project: inv.positional(1), email: inv.positional(2), role: role?.name ?? "none", result: outcome.rawValue))
                }
                ctx.say("\(inv.positional(2)) has role \(role?.name ?? "none") on \(inv.positional(1))\(outcome == .unchanged ? " (unchanged)" : "")")
                return ExitCode.ok
            },
        ]
    }

    private static func moduleToggle(_ inv: Invocation, _ ctx: ToolContext, enabled: Bool) throws -> Int32 {
        let changed = try ctx.ledger().administration.setAPIModule(inv.positional(0), enabled: enabled, as: try inv.required("as"))
        if ctx.json { Output.json(API.APIModuleResult(company: inv.positional(0), apiEnabled: enabled, changed: changed)) }
        ctx.say("API module \(enabled ? "enabled" : "disabled") for \(inv.positional(0))\(changed ? "" : " (already)")")
        return ExitCode.ok
    }
}
