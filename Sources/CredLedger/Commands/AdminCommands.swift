import CredLedgerCore
import CredLedgerProjections

/// A company as registered.
public struct CompanyInfo: Sendable, Equatable {
    public var slug: String
    public var name: String
    public var mailDomain: String
    public var apiEnabled: Bool
}

/// The inputs of a company registration, checked without any ledger state: the company slug, the admin's email (not a
/// reserved `apiservice+…` identity), the display name and the mail domain, none holding secret-shaped text. Made
/// before a ledger is opened, so that `company create` on a missing ledger refuses bad input before it creates one;
/// `Ledger.Administration.registerCompany` checks through it too (one set of rules).
public struct CompanyRegistration: Sendable, Equatable {
    public let slug: String
    /// As given (stored lower-cased in the member event).
    public let admin: String
    /// The display name (the slug when none was given).
    public let name: String
    /// Lower-cased; the platform default when none was given.
    public let mailDomain: String

    /// Validates every input; throws the first problem's error (`invalid_company`, `invalid_email`,
    /// `reserved_identity`, `invalid_name`, `invalid_mail_domain`, `secret_in_field`).
    public init(slug: String, admin: String, name: String? = nil, mailDomain: String? = nil) throws(LedgerError) {
        try Validation.slug(slug, field: "company")
        try Validation.email(admin)
        guard !Validation.isReservedIdentity(admin) else { throw LedgerError.reservedIdentity }
        let displayName = name ?? slug
        try Validation.name(displayName)
        let domain = (mailDomain ?? Validation.defaultMailDomain).lowercased()
        try Validation.noSecret(domain, field: "mail_domain")
        try Validation.mailDomain(domain)
        self.slug = slug
        self.admin = admin
        self.name = displayName
        self.mailDomain = domain
    }
}

/// What a create or rotate shows exactly once.
public struct IssuedCredential: Sendable {
    public var id: String
    public var name: String
    public var type: CredentialType
    public var scope: Scope
    /// `apiservice+…@domain` for static keys and OAuth API users.
    public var serviceUser: String?
    /// The static API key (static type only).
    public var secret: String?
    public var clientID: String?
    /// The OAuth client secret (oauth and pkce types).
    public var clientSecret: String?
    public var displayPrefix: String
}

/// Parameters of a new credential.
public struct NewCredential: Sendable {
    public var name: String
    public var type: CredentialType
    public var scope: Scope
    public var redirectURIs: [String]
    /// Absolute expiry (µs), or nil for none.
    public var expiresAt: Timestamp?

    public init(name: String, type: CredentialType, scope: Scope, redirectURIs: [String] = [], expiresAt: Timestamp? = nil) {
        self.name = name
        self.type = type
        self.scope = scope
        self.redirectURIs = redirectURIs
        self.expiresAt = expiresAt
    }
}

/// The result of a grant: a new membership, a changed role, or nothing to do.
public enum GrantOutcome: String, Sendable {
    case granted, changed, unchanged
}

// MARK: - The admin commands (one per state change; `Ledger.Administration` holds their blocking and async wrappers)

/// Registers a company with its first admin (platform action; no actor check). Inputs are validated by
/// `CompanyRegistration`; `decide` checks what needs the state (`company_exists`, `mail_domain_taken`).
public struct RegisterCompany: LedgerCommand {
    public var registration: CompanyRegistration
    public init(_ registration: CompanyRegistration) { self.registration = registration }

    public func decide(_ ctx: inout BatchContext) throws -> CompanyInfo {
        let (slug, admin, displayName, domain) = (registration.slug, registration.admin, registration.name, registration.mailDomain)
        guard try ctx.state.company(slug: slug) == nil else { throw LedgerError.companyExists(slug) }
        // Service users are told apart by their random id, so only the platform default domain is shared.
        if domain != Validation.defaultMailDomain, try ctx.state.companyUsing(mailDomain: domain) != nil {
            throw LedgerError.mailDomainTaken(domain)
        }
        let company = try ctx.state.counter(.company) + 1
        let user = try ctx.state.user(email: admin) ?? (try ctx.state.counter(.user) + 1)
        ctx.emit(company: company, actor: .system, .companyRegistered(slug: slug, name: displayName, mailDomain: domain))
        ctx.emit(company: company, actor: .system, .memberRoleSet(user: user, email: admin.lowercased(), role: .admin))
        return CompanyInfo(slug: slug, name: displayName, mailDomain: domain, apiEnabled: false)
    }
}

/// Enables or disables a company's API key module; false when it already was so (nothing written).
public struct SetAPIModule: LedgerCommand {
    public var company: String, enabled: Bool, actor: String
    public init(company: String, enabled: Bool, actor: String) {
        (self.company, self.enabled, self.actor) = (company, enabled, actor)
    }

    public func decide(_ ctx: inout BatchContext) throws -> Bool {
        let company = try ctx.state.requireCompany(self.company)
        let user = try ctx.state.requireAdmin(company, actor)
        guard company.apiEnabled != enabled else { return false }
        ctx.emit(company: company.number, actor: .user(user), enabled ? .apiModuleEnabled : .apiModuleDisabled)
        return true
    }
}

/// Sets a member's company role (see `Ledger.setMemberRole`).
public struct SetMemberRole: LedgerCommand {
    public var company: String, email: String, role: CompanyRole, actor: String
    public init(company: String, email: String, role: CompanyRole, actor: String) {
        (self.company, self.email, self.role, self.actor) = (company, email, role, actor)
    }

    public func validate() throws {
        try Validation.email(email)
        // Removing stays possible, for a service address an older version let in.
        guard role == .removed || !Validation.isReservedIdentity(email) else { throw LedgerError.reservedIdentity }
    }

    public func decide(_ ctx: inout BatchContext) throws -> GrantOutcome {
        let company = try ctx.state.requireCompany(self.company)
        let actorUser = try ctx.state.requireAdmin(company, actor)
        let existing = try ctx.state.user(email: email)
        let current = try existing.flatMap { try ctx.state.member(company: company.number, user: $0) }?.role
        if current == role { return .unchanged }
        if role != .admin, current == .admin {
            let admins = try ctx.state.members(company: company.number).filter { $0.member.role == .admin }
            if admins.count <= 1 { throw LedgerError.lastAdmin }
        }
        if role == .removed, current == nil { throw LedgerError.notCompanyMember }
        let user = try existing ?? (try ctx.state.counter(.user) + 1)
        ctx.emit(company: company.number, actor: .user(actorUser), .memberRoleSet(user: user, email: email.lowercased(), role: role))
        if role == .removed { try ctx.stageEndOfAccess(company: company.number, user: user, actor: .user(actorUser)) }
        return current == nil ? .granted : .changed
    }
}

/// Creates a project in a company.
public struct CreateProject: LedgerCommand {
    public var company: String, project: String, name: String?, actor: String
    public init(company: String, project: String, name: String? = nil, actor: String) {
        (self.company, self.project, self.name, self.actor) = (company, project, name, actor)
    }

    public func validate() throws {
        try Validation.slug(project, field: "project")
        try Validation.name(name ?? project)
    }

    public func decide(_ ctx: inout BatchContext) throws {
        let displayName = name ?? project
        let company = try ctx.state.requireCompany(self.company)
        let user = try ctx.state.requireAdmin(company, actor)
        guard try ctx.state.project(company: company.number, slug: project) == nil else { throw LedgerError.projectExists(project) }
        let number = try ctx.state.counter(.project) + 1
        ctx.emit(company: company.number, actor: .user(user), .projectCreated(project: number, slug: project, name: displayName))
    }
}

/// Archives a project: no credential or user can act on it afterwards.
public struct ArchiveProject: LedgerCommand {
    public var company: String, project: String, actor: String
    public init(company: String, project: String, actor: String) {
        (self.company, self.project, self.actor) = (company, project, actor)
    }

    public func decide(_ ctx: inout BatchContext) throws {
        let company = try ctx.state.requireCompany(self.company)
        let user = try ctx.state.requireAdmin(company, actor)
        let record = try ctx.state.requireProject(company, project)
        guard !record.archived else { throw LedgerError.projectArchived }
        ctx.emit(company: company.number, actor: .user(user), .projectArchived(project: record.number))
    }
}

/// Gives a company member a project role, or removes it (nil) (see `Ledger.setUserProjectRole`).
public struct SetUserProjectRole: LedgerCommand {
    public var company: String, project: String, email: String, role: ProjectRole?, actor: String
    public init(company: String, project: String, email: String, role: ProjectRole?, actor: String) {
        (self.company, self.project, self.email, self.role, self.actor) = (company, project, email, role, actor)
    }

    public func decide(_ ctx: inout BatchContext) throws -> GrantOutcome {
        let company = try ctx.state.requireCompany(self.company)
        let actorUser = try ctx.state.requireAdmin(company, actor)
        let record = try ctx.state.requireProject(company, project)
        guard !record.archived || role == nil else { throw LedgerError.projectArchived }
        guard let user = try ctx.state.user(email: email),
              let member = try ctx.state.member(company: company.number, user: user), member.role != .removed
        else { throw LedgerError.notCompanyMember }
        let current = try ctx.state.userRole(user: user, project: record.number)?.role
        if role == nil, current == nil { throw LedgerError.accessNotGranted }
        if let role, current == role { return .unchanged }
        ctx.emit(company: company.number, actor: .user(actorUser), .userProjectRoleSet(user: user, project: record.number, role: role))
        return current == nil ? .granted : .changed
    }
}

/// Creates a credential; the result's secret is shown once and never stored.
public struct CreateCredential: LedgerCommand {
    public var company: String, request: NewCredential, actor: String
    public init(company: String, _ request: NewCredential, actor: String) {
        (self.company, self.request, self.actor) = (company, request, actor)
    }

    public func validate() throws {
        try Validation.name(request.name)
        if request.type.isUserDelegated {
            guard !request.redirectURIs.isEmpty else {
                throw LedgerError.invalid("redirect_uri", "PKCE credentials need at least one --redirect-uri")
            }
        } else if !request.redirectURIs.isEmpty {
            throw LedgerError.invalid("redirect_uri", "only PKCE credentials take redirect URIs")
        }
        guard request.redirectURIs.count <= Validation.maxRedirectURIs else {
            throw LedgerError.invalid("redirect_uri", "at most \(Validation.maxRedirectURIs) redirect URIs")
        }
        for uri in request.redirectURIs {
            try Validation.noSecret(uri, field: "redirect_uri")
            try Validation.redirectURI(uri, publicClient: request.type == .pkcePublic)
        }
    }

    public func decide(_ ctx: inout BatchContext) throws -> IssuedCredential {
        let random = ctx.random
        let (company, user) = try ctx.state.requireAPIArea(self.company, actor)
        if let expiresAt = request.expiresAt, expiresAt <= ctx.now {
            throw LedgerError.invalid("expires", "the expiry is in the past")
        }
        // The API keys page is read by name: live names are unique per company (a deleted one's may be reused).
        let key = Validation.nameKey(request.name)
        if try ctx.state.liveCredentialNames(company: company.number).contains(where: { Validation.nameKey($0.name) == key }) {
            throw LedgerError.duplicateName(request.name)
        }
        let number = try ctx.state.counter(.credential) + 1
        // Identifiers and the secret are never ones the ledger already holds (`drawChecked`).
        let store = ctx.store
        let publicID = try ctx.drawChecked("credential id", { try Identifier.credentialID(using: random) },
                                           isTaken: { try store.get(.credentialIDs, Keys.credentialID($0)) != nil })
        let drawn = request.type.hasSecret ? try ctx.drawCheckedSecret(request.type == .staticKey ? .apiKey : .clientSecret) : nil
        let secret = drawn?.secret
        let clientID = request.type.isOAuthClient
            ? try ctx.drawChecked("client id", { try Identifier.clientID(using: random) },
                                  isTaken: { try store.get(.clientIDs, Keys.credentialID($0)) != nil })
            : ""
        let serviceUser = request.type.hasServiceUser
            ? "apiservice+\(try Identifier.serviceUserID(using: random))@\(company.mailDomain)" : ""
        let displayPrefix = request.type == .staticKey ? SecretFormat.displayPrefix(of: secret ?? "") : clientID
        ctx.emit(company: company.number, actor: .user(user), .credentialCreated(CredentialCreated(
            credential: number, type: request.type, scope: request.scope, publicID: publicID, name: request.name,
            serviceUser: serviceUser, displayPrefix: displayPrefix, clientID: clientID,
            secretHash: drawn?.hash, expiresAt: request.expiresAt ?? 0, redirectURIs: request.redirectURIs)))
        return IssuedCredential(
            id: publicID, name: request.name, type: request.type, scope: request.scope,
            serviceUser: serviceUser.isEmpty ? nil : serviceUser,
            secret: request.type == .staticKey ? secret : nil,
            clientID: clientID.isEmpty ? nil : clientID,
            clientSecret: request.type == .staticKey ? nil : secret, displayPrefix: displayPrefix)
    }
}

/// Replaces a credential's secret; the old one keeps working for `grace` µs (0 = stops now).
public struct RotateSecret: LedgerCommand {
    public var company: String, credential: String, grace: Int64, actor: String
    public init(company: String, credential: String, grace: Int64, actor: String) {
        (self.company, self.credential, self.grace, self.actor) = (company, credential, grace, actor)
    }

    public func validate() throws {
        guard grace >= 0, grace <= 30 * 86_400_000_000 else { throw LedgerError.invalid("grace", "grace must be between 0 and 30d") }
    }

    public func decide(_ ctx: inout BatchContext) throws -> IssuedCredential {
        let (company, user) = try ctx.state.requireAPIArea(self.company, actor)
        let record = try ctx.state.requireCredential(company, credential)
        guard !record.deleted else { throw LedgerError.credentialDeleted }
        guard record.type.hasSecret else { throw LedgerError.noSecretToRotate }
        // A new secret of an expired credential would be useless from its first use: never print one.
        if record.expiresAt != 0 && ctx.now >= record.expiresAt {
            throw LedgerError.credentialExpired(TimeFormat.rfc3339(record.expiresAt))
        }
        // Each live secret is a lookup row; bound them (the record stores their count in a byte).
        guard grace == 0 || record.secretHashes.count < CredentialRecord.maxLiveSecrets else {
            throw LedgerError("too_many_live_secrets", "16 secrets of this credential are still in their grace period: rotate with no grace (--grace 0; Now on the page) or wait")
        }
        let (secret, hash) = try ctx.drawCheckedSecret(record.type == .staticKey ? .apiKey : .clientSecret)
        let prefix = record.type == .staticKey ? SecretFormat.displayPrefix(of: secret) : record.displayPrefix
        ctx.emit(company: company.number, actor: .user(user), .secretRotated(
            credential: record.number, secretHash: hash, displayPrefix: prefix, graceUntil: ctx.now + grace))
        return IssuedCredential(
            id: record.publicID, name: record.name, type: record.type, scope: record.scope,
            serviceUser: record.serviceUser.isEmpty ? nil : record.serviceUser,
            secret: record.type == .staticKey ? secret : nil, clientID: record.clientID.isEmpty ? nil : record.clientID,
            clientSecret: record.type == .staticKey ? nil : secret, displayPrefix: prefix)
    }
}

/// Deletes (revokes) a credential at once (see `Ledger.deleteCredential`).
public struct DeleteCredential: LedgerCommand {
    public var company: String, credential: String, actor: String
    public init(company: String, credential: String, actor: String) {
        (self.company, self.credential, self.actor) = (company, credential, actor)
    }

    public func decide(_ ctx: inout BatchContext) throws {
        let (company, user) = try ctx.state.requireAPIAdmin(self.company, actor)
        let record = try ctx.state.requireCredential(company, credential)
        guard !record.deleted else { throw LedgerError.credentialDeleted }
        ctx.emit(company: company.number, actor: .user(user), .credentialDeleted(credential: record.number))
    }
}

/// Adds a credential's API user to a project with a role, or changes its role.
public struct GrantAccess: LedgerCommand {
    public var company: String, credential: String, project: String, role: ProjectRole, actor: String
    public init(company: String, credential: String, project: String, role: ProjectRole, actor: String) {
        (self.company, self.credential, self.project, self.role, self.actor) = (company, credential, project, role, actor)
    }

    public func decide(_ ctx: inout BatchContext) throws -> GrantOutcome {
        let (company, user) = try ctx.state.requireAPIArea(self.company, actor)
        let record = try ctx.state.requireCredential(company, credential)
        guard !record.deleted else { throw LedgerError.credentialDeleted }
        guard record.type.hasServiceUser else { throw LedgerError.userDelegatedNoGrant }
        guard record.scope != .global else { throw LedgerError.globalScopeNeedsNoGrant }
        let target = try ctx.state.requireProject(company, project)
        guard !target.archived else { throw LedgerError.projectArchived }
        let existing = try ctx.state.access(credential: record.number, project: target.number)
        if existing?.role == role { return .unchanged }
        let payload: EventPayload = existing == nil
            ? .projectAccessGranted(credential: record.number, project: target.number, role: role)
            : .projectAccessChanged(credential: record.number, project: target.number, role: role)
        ctx.emit(company: company.number, actor: .user(user), payload)
        return existing == nil ? .granted : .changed
    }
}

/// Removes a credential's API user from a project.
public struct RevokeAccess: LedgerCommand {
    public var company: String, credential: String, project: String, actor: String
    public init(company: String, credential: String, project: String, actor: String) {
        (self.company, self.credential, self.project, self.actor) = (company, credential, project, actor)
    }

    public func decide(_ ctx: inout BatchContext) throws {
        let (company, user) = try ctx.state.requireAPIArea(self.company, actor)
        let record = try ctx.state.requireCredential(company, credential)
        guard !record.deleted else { throw LedgerError.credentialDeleted }
        let target = try ctx.state.requireProject(company, project)
        guard try ctx.state.access(credential: record.number, project: target.number) != nil else { throw LedgerError.accessNotGranted }
        ctx.emit(company: company.number, actor: .user(user), .projectAccessRevoked(credential: record.number, project: target.number))
    }
}
