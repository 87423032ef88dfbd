import CredLedger
import CredLedgerCore

// Companies, members and projects: each request is one admin command.

extension API.CreateCompanyRequest: CommandRequest {
    public typealias Response = API.Company

    public func command(_ ledger: Ledger) throws -> RegisterCompany { RegisterCompany(try registration()) }

    /// The checked inputs: every check that needs no ledger (so a front can refuse before it opens or creates one).
    public func registration() throws -> CompanyRegistration {
        try CompanyRegistration(slug: company, admin: admin, name: name, mailDomain: mailDomain)
    }

    public func response(_ result: CompanyInfo) -> API.Company { API.Company(result) }
}

extension API.SetAPIModuleRequest: CommandRequest {
    public typealias Response = API.APIModuleResult

    public func command(_ ledger: Ledger) throws -> SetAPIModule {
        SetAPIModule(company: company, enabled: apiEnabled, actor: actor)
    }

    public func response(_ changed: Bool) -> API.APIModuleResult {
        API.APIModuleResult(company: company, apiEnabled: apiEnabled, changed: changed)
    }
}

extension API.SetMemberRoleRequest: CommandRequest {
    public typealias Response = API.MemberRoleResult

    public func command(_ ledger: Ledger) throws -> SetMemberRole {
        guard let role = CompanyRole(name: role) else { throw API.invalid("role must be admin, member or removed, not '\(role)'") }
        return SetMemberRole(company: company, email: email, role: role, actor: actor)
    }

    public func response(_ outcome: GrantOutcome) -> API.MemberRoleResult {
        API.MemberRoleResult(company: company, email: email, role: CompanyRole(name: role)?.name ?? role, result: outcome.rawValue)
    }
}

extension API.CreateProjectRequest: CommandRequest {
    public typealias Response = API.ProjectResult

    public func command(_ ledger: Ledger) throws -> CreateProject {
        CreateProject(company: company, project: project, name: name, actor: actor)
    }

    public func response(_: Void) -> API.ProjectResult { API.ProjectResult(company: company, project: project) }
}

extension API.ArchiveProjectRequest: CommandRequest {
    public typealias Response = API.ProjectResult

    public func command(_ ledger: Ledger) throws -> ArchiveProject {
        ArchiveProject(company: company, project: project, actor: actor)
    }

    public func response(_: Void) -> API.ProjectResult { API.ProjectResult(company: company, project: project, archived: true) }
}

extension API.SetProjectRoleRequest: CommandRequest {
    public typealias Response = API.ProjectRoleResult

    /// `role` none removes it.
    public func command(_ ledger: Ledger) throws -> SetUserProjectRole {
        var projectRole: ProjectRole?
        if role != "none" {
            guard let r = ProjectRole(name: role) else { throw API.invalid("role must be viewer, editor, project-admin or none, not '\(role)'") }
            projectRole = r
        }
        return SetUserProjectRole(company: company, project: project, email: email, role: projectRole, actor: actor)
    }

    public func response(_ outcome: GrantOutcome) -> API.ProjectRoleResult {
        API.ProjectRoleResult(project: project, email: email, role: ProjectRole(name: role)?.name ?? "none", result: outcome.rawValue)
    }
}
