import CredLedgerCore

extension Ledger {
    /// Companies, members, projects, credentials and grants: the admin commands (`Commands/AdminCommands.swift`), each
    /// blocking or `async`. Holds only the writer's door: it reads nothing itself (each command reads in its batch).
    public final class Administration: Sendable {
        let commands: CommandRunner

        init(_ commands: CommandRunner) { self.commands = commands }
    }
}

extension Ledger.Administration {
    /// Registers a company with its first admin (platform action; no actor check).
    @discardableResult
    public func registerCompany(_ slug: String, admin: String, name: String? = nil, mailDomain: String? = nil) throws -> CompanyInfo {
        try registerCompany(CompanyRegistration(slug: slug, admin: admin, name: name, mailDomain: mailDomain))
    }

    /// Registers a company whose inputs were already validated (`CompanyRegistration`); only the checks that need the
    /// ledger's state are left (`company_exists`, `mail_domain_taken`).
    @discardableResult
    public func registerCompany(_ registration: CompanyRegistration) throws -> CompanyInfo {
        try commands.perform(RegisterCompany(registration))
    }

    /// Enables or disables the API key module (enterprise feature). Returns false when already so.
    @discardableResult
    public func setAPIModule(_ slug: String, enabled: Bool, as actor: String) throws -> Bool {
        try commands.perform(SetAPIModule(company: slug, enabled: enabled, actor: actor))
    }

    /// Sets a member's company role (`removed` takes them out, and ends every token, code and project role they had
    /// there). A company keeps at least one admin. Setting the role a member already has writes nothing (`unchanged`):
    /// a role event restarts the role's `since`, which older delegated tokens would no longer reach.
    @discardableResult
    public func setMemberRole(_ slug: String, email: String, role: CompanyRole, as actor: String) throws -> GrantOutcome {
        try commands.perform(SetMemberRole(company: slug, email: email, role: role, actor: actor))
    }

    /// Creates a project in a company.
    public func createProject(_ slug: String, project: String, name: String? = nil, as actor: String) throws {
        try commands.perform(CreateProject(company: slug, project: project, name: name, actor: actor))
    }

    /// Archives a project: no credential or user can act on it afterwards.
    public func archiveProject(_ slug: String, project: String, as actor: String) throws {
        try commands.perform(ArchiveProject(company: slug, project: project, actor: actor))
    }

    /// Gives a company member a project role (what PKCE credentials act with); nil removes it. Setting the role the
    /// user already has writes nothing (`unchanged`), so it keeps reaching the tokens they approved before.
    @discardableResult
    public func setUserProjectRole(_ slug: String, project: String, email: String, role: ProjectRole?, as actor: String) throws -> GrantOutcome {
        try commands.perform(SetUserProjectRole(company: slug, project: project, email: email, role: role, actor: actor))
    }

    /// Creates a credential; the returned secret is shown once and never stored.
    public func createCredential(_ slug: String, _ request: NewCredential, as actor: String) throws -> IssuedCredential {
        try commands.perform(CreateCredential(company: slug, request, actor: actor))
    }

    /// Replaces a credential's secret; the old one keeps working for `grace` µs (0 = stops now).
    public func rotateSecret(_ slug: String, credential id: String, grace: Int64, as actor: String) throws -> IssuedCredential {
        try commands.perform(RotateSecret(company: slug, credential: id, grace: grace, actor: actor))
    }

    /// Deletes (revokes) a credential at once: its secrets and every token issued from it stop working.
    /// Works while the API module is disabled (and leaves the module as it is): re-enabling never revives it.
    public func deleteCredential(_ slug: String, credential id: String, as actor: String) throws {
        try commands.perform(DeleteCredential(company: slug, credential: id, actor: actor))
    }

    /// Adds a credential's API user to a project with a role, or changes its role.
    @discardableResult
    public func grantAccess(_ slug: String, credential id: String, project: String, role: ProjectRole, as actor: String) throws -> GrantOutcome {
        try commands.perform(GrantAccess(company: slug, credential: id, project: project, role: role, actor: actor))
    }

    /// Removes a credential's API user from a project.
    public func revokeAccess(_ slug: String, credential id: String, project: String, as actor: String) throws {
        try commands.perform(RevokeAccess(company: slug, credential: id, project: project, actor: actor))
    }

    // MARK: - Async forms

    /// Async form of `registerCompany`: suspends (no thread held) until the command's batch is durable.
    @discardableResult
    public func registerCompany(_ slug: String, admin: String, name: String? = nil, mailDomain: String? = nil) async throws -> CompanyInfo {
        try await registerCompany(CompanyRegistration(slug: slug, admin: admin, name: name, mailDomain: mailDomain))
    }

    /// Async form of `registerCompany`: suspends (no thread held) until the command's batch is durable.
    @discardableResult
    public func registerCompany(_ registration: CompanyRegistration) async throws -> CompanyInfo {
        try await commands.perform(RegisterCompany(registration))
    }

    /// Async form of `setAPIModule`: suspends (no thread held) until the command's batch is durable.
    @discardableResult
    public func setAPIModule(_ slug: String, enabled: Bool, as actor: String) async throws -> Bool {
        try await commands.perform(SetAPIModule(company: slug, enabled: enabled, actor: actor))
    }

    /// Async form of `setMemberRole`: suspends (no thread held) until the command's batch is durable.
    @discardableResult
    public func setMemberRole(_ slug: String, email: String, role: CompanyRole, as actor: String) async throws -> GrantOutcome {
        try await commands.perform(SetMemberRole(company: slug, email: email, role: role, actor: actor))
    }

    /// Async form of `createProject`: suspends (no thread held) until the command's batch is durable.
    public func createProject(_ slug: String, project: String, name: String? = nil, as actor: String) async throws {
        try await commands.perform(CreateProject(company: slug, project: project, name: name, actor: actor))
    }

    /// Async form of `archiveProject`: suspends (no thread held) until the command's batch is durable.
    public func archiveProject(_ slug: String, project: String, as actor: String) async throws {
        try await commands.perform(ArchiveProject(company: slug, project: project, actor: actor))
    }

    /// Async form of `setUserProjectRole`: suspends (no thread held) until the command's batch is durable.
    @discardableResult
    public func setUserProjectRole(_ slug: String, project: String, email: String, role: ProjectRole?, as actor: String) async throws -> GrantOutcome {
        try await commands.perform(SetUserProjectRole(company: slug, project: project, email: email, role: role, actor: actor))
    }

    /// Async form of `createCredential`: suspends (no thread held) until the command's batch is durable.
    public func createCredential(_ slug: String, _ request: NewCredential, as actor: String) async throws -> IssuedCredential {
        try await commands.perform(CreateCredential(company: slug, request, actor: actor))
    }

    /// Async form of `rotateSecret`: suspends (no thread held) until the command's batch is durable.
    public func rotateSecret(_ slug: String, credential id: String, grace: Int64, as actor: String) async throws -> IssuedCredential {
        try await commands.perform(RotateSecret(company: slug, credential: id, grace: grace, actor: actor))
    }

    /// Async form of `deleteCredential`: suspends (no thread held) until the command's batch is durable.
    public func deleteCredential(_ slug: String, credential id: String, as actor: String) async throws {
        try await commands.perform(DeleteCredential(company: slug, credential: id, actor: actor))
    }

    /// Async form of `grantAccess`: suspends (no thread held) until the command's batch is durable.
    @discardableResult
    public func grantAccess(_ slug: String, credential id: String, project: String, role: ProjectRole, as actor: String) async throws -> GrantOutcome {
        try await commands.perform(GrantAccess(company: slug, credential: id, project: project, role: role, actor: actor))
    }

    /// Async form of `revokeAccess`: suspends (no thread held) until the command's batch is durable.
    public func revokeAccess(_ slug: String, credential id: String, project: String, as actor: String) async throws {
        try await commands.perform(RevokeAccess(company: slug, credential: id, project: project, actor: actor))
    }
}
