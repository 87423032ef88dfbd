import CredLedgerCore
import CredLedgerProjections

/// One way a principal could act on a project at a moment: who, through which credential, scope and role.
public struct AccessPath: Sendable, Equatable {
    public enum Principal: String, Sendable {
        /// An API service user (static key or OAuth API user).
        case serviceUser = "service_user"
        /// A company user, through a PKCE credential they approved.
        case user
    }

    /// Email of the service user or the user.
    public var principal: String
    public var kind: Principal
    public var credentialID: String
    public var credentialName: String
    public var type: CredentialType
    public var scope: Scope
    /// The project role that gives the access; nil for GLOBAL service credentials and company admins.
    public var role: ProjectRole?
    /// "GLOBAL scope", the role name, or "company admin".
    public var via: String
    /// What the path allows on the project: scope ∩ role.
    public var capability: Capability
    /// Since when this path has continuously allowed the asked operation (read when none was asked).
    public var since: Timestamp
    /// How it authenticates then: "api key", "client credentials", or the user's live grant.
    public var grant: String
    /// When the user's live grant ends (user-delegated paths only; refresh extends it).
    public var grantUntil: Timestamp?
}

/// The answer to "who could act on project P at T?".
public struct AccessAnswer: Sendable {
    public var company: String
    public var project: String
    /// The operation asked about; nil = any (read or write).
    public var operation: Operation?
    public var seq: UInt64
    public var time: Timestamp
    public var paths: [AccessPath]
    /// Why nobody could act at all (company or project missing, archived, module off), if so.
    public var notes: [String]
}

extension Ledger.Audit {
    /// Every principal that could `operation` (read when nil: anyone with at least read) project `project` of
    /// company `company` at `point`, through which credential, scope and role, and since when.
    ///
    /// "Could act" is decided with the hot path's rules (`AccessPolicy`) on the state then:
    /// - the company's API module is on, the project exists and is not archived;
    /// - the credential exists, is not deleted and not expired at that time;
    /// - static keys and OAuth API users act as their service user: GLOBAL scope reaches every project
    ///   (present and future); other scopes need a project access grant, capability = scope ∩ role;
    /// - PKCE credentials act as a user who approved them *and still held a live grant then*: an unexpired,
    ///   unrevoked access or refresh token of that credential issued to them, or an approved, unused,
    ///   unexpired authorization code. Capability = scope ∩ the user's own access then (company admin: all
    ///   projects; member: their project role; removed: none), counting only roles held since the grant's approval
    ///   (`AccessPolicy.delegatedRoles`, as at a check). Users who never approved the credential, or
    ///   whose tokens had all expired or been revoked, could not act through it without a new consent.
    public func whoCouldAct(company slug: String, project projectSlug: String, operation: Operation?,
                            at point: AsOfPoint) throws -> AccessAnswer {
        try withState { state in _ = try state.requireCompany(slug) }
        let asOf = try state(asOf: point, company: slug)
        return try asOf.whoCouldAct(company: slug, project: projectSlug, operation: operation)
    }
}

extension AsOfState {
    /// See `Ledger.whoCouldAct`.
    public func whoCouldAct(company slug: String, project projectSlug: String, operation: Operation?) throws -> AccessAnswer {
        var answer = AccessAnswer(company: slug, project: projectSlug, operation: operation, seq: seq, time: time, paths: [], notes: [])
        let state = reader
        let t = time
        guard let company = try state.company(slug: slug) else {
            answer.notes.append("company \(slug) was not registered yet")
            return answer
        }
        guard let project = try state.project(company: company.number, slug: projectSlug) else {
            answer.notes.append("project \(projectSlug) did not exist yet")
            return answer
        }
        if project.archived { answer.notes.append("project \(projectSlug) was archived: nobody could act on it") }
        if !company.apiEnabled { answer.notes.append("the API module of \(slug) was disabled: no credential could act") }
        guard !project.archived, company.apiEnabled else { return answer }

        let wanted = operation ?? .read
        let apiSince = history.apiSince[company.number] ?? company.registeredAt
        let grants = try liveDelegatedGrants(at: t)
        for c in try state.credentials(company: company.number) {
            guard !c.deleted, c.expiresAt == 0 || t < c.expiresAt else { continue }
            let base = max(c.createdAt, project.createdAt, apiSince)
            if c.type.hasServiceUser {
                let role: ProjectRole?
                var since = base
                if c.scope == .global {
                    role = nil
                } else {
                    guard let grant = try state.access(credential: c.number, project: project.number) else { continue }
                    role = grant.role
                    let key = AccessHistory.key(c.number, project.number)
                    let roleSince = (wanted == .write ? history.serviceWrite[key] : history.serviceRead[key]) ?? grant.since
                    since = max(since, roleSince)
                }
                let capability = AccessPolicy.serviceUser(scope: c.scope, role: role)
                guard capability.allows(wanted) else { continue }
                answer.paths.append(AccessPath(
                    principal: c.serviceUser, kind: .serviceUser, credentialID: c.publicID, credentialName: c.name, type: c.type,
                    scope: c.scope, role: role, via: role?.name ?? "GLOBAL scope", capability: capability, since: since,
                    grant: c.type == .staticKey ? "api key" : "client credentials", grantUntil: nil))
            } else {
                for (user, items) in grants[c.number] ?? [:] {
                    let member = try state.member(company: company.number, user: user)
                    let role = try state.userRole(user: user, project: project.number)
                    // As at a check: each grant acts with the roles the user held at its approval and still holds
                    // (`AccessPolicy.delegatedRoles`). Later approvals see at least as much, so the newest one that
                    // allows the operation says how; the grants that allow it are merged.
                    var allowing: [(item: DelegatedGrant, held: (company: CompanyRole?, project: ProjectRole?))] = []
                    for item in items {
                        let held = AccessPolicy.delegatedRoles(companyRole: member?.role, companySince: member?.since ?? 0, projectRole: role?.role,
                                                               projectSince: role?.since ?? 0, approvedAt: item.approvedAt)
                        if AccessPolicy.delegatedUser(scope: c.scope, companyRole: held.company, projectRole: held.project).allows(wanted) {
                            allowing.append((item, held))
                        }
                    }
                    guard let newest = allowing.max(by: { $0.item.approvedAt < $1.item.approvedAt }) else { continue }
                    let capability = AccessPolicy.delegatedUser(scope: c.scope, companyRole: newest.held.company, projectRole: newest.held.project)
                    var grant = newest.item
                    for other in allowing {
                        grant.since = min(grant.since, other.item.since)
                        if other.item.until > grant.until {
                            grant.until = other.item.until
                            grant.kind = other.item.kind
                        }
                    }
                    let isAdmin = newest.held.company == .admin
                    let key = AccessHistory.key(user, project.number)
                    let ownSince: Timestamp = isAdmin
                        ? history.adminSince[AccessHistory.key(company.number, user)] ?? member?.since ?? base
                        : (wanted == .write ? history.userWrite[key] : history.userRead[key]) ?? role?.since ?? base
                    answer.paths.append(AccessPath(
                        principal: try state.email(user: user) ?? "#\(user)", kind: .user, credentialID: c.publicID,
                        credentialName: c.name, type: c.type, scope: c.scope, role: isAdmin ? nil : newest.held.project,
                        via: isAdmin ? "company admin" : newest.held.project?.name ?? "none", capability: capability,
                        since: max(base, grant.since, ownSince), grant: grant.kind, grantUntil: grant.until))
                }
            }
        }
        answer.paths.sort { ($0.principal, $0.credentialID) < ($1.principal, $1.credentialID) }
        return answer
    }

    /// A user's live grant from a PKCE credential: since when, until when, what it is, and when it was approved.
    struct DelegatedGrant {
        var since: Timestamp
        var until: Timestamp
        var kind: String
        var approvedAt: Timestamp
    }

    /// credential → user → the user's live grants: tokens (access or refresh) active and unexpired at `t`, and
    /// approved codes not yet redeemed and unexpired.
    func liveDelegatedGrants(at t: Timestamp) throws -> [UInt32: [UInt32: [DelegatedGrant]]] {
        var out: [UInt32: [UInt32: [DelegatedGrant]]] = [:]
        try store.scan(.tokens, from: []) { _, value in
            let token = try TokenRecord.decode(value)
            guard token.user != 0, token.status == .active, t < token.expiresAt else { return true }
            let since = history.familyStart[token.family] ?? token.issuedAt
            out[token.credential, default: [:]][token.user, default: []].append(DelegatedGrant(
                since: since, until: token.expiresAt, kind: token.kind == .access ? "access token" : "refresh token", approvedAt: token.approvedAt))
            return true
        }
        try store.scan(.codes, from: []) { _, value in
            let code = try CodeRecord.decode(value)
            guard code.status == .unused, t < code.expiresAt else { return true }
            out[code.credential, default: [:]][code.user, default: []].append(DelegatedGrant(
                since: history.consentTime[code.hash] ?? t, until: code.expiresAt, kind: "authorization code", approvedAt: code.approvedAt))
            return true
        }
        return out
    }
}
