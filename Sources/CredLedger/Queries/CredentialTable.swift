import CredLedgerCore
import CredLedgerProjections

/// Whether a credential works, judged at the row's moment (now, or the as-of point).
public enum CredentialStatus: String, Sendable {
    case active
    /// Past its `--expires-in`: every secret and token of it is refused (`expired`); it cannot be rotated.
    case expired
    case deleted
}

/// One row of the API keys page (never a secret).
public struct CredentialRow: Sendable, Equatable {
    public var id: String
    public var name: String
    public var scope: Scope
    public var type: CredentialType
    public var lastUsed: Timestamp?
    public var used: UInt64
    public var denied: UInt64
    public var createdAt: Timestamp
    public var createdBy: String
    /// Key prefix (static) or client id (OAuth types).
    public var displayPrefix: String
    public var serviceUser: String?
    public var deleted: Bool
    public var deletedAt: Timestamp?
    public var expiresAt: Timestamp?
    /// Deleted, else expired once `expiresAt` ≤ the moment the row was read for, else active.
    public var status: CredentialStatus
    /// Projects the API user was added to, with the role name.
    public var projects: [(project: String, role: String)]

    public static func == (a: CredentialRow, b: CredentialRow) -> Bool {
        a.id == b.id && a.name == b.name && a.scope == b.scope && a.type == b.type && a.lastUsed == b.lastUsed
            && a.used == b.used && a.denied == b.denied && a.createdAt == b.createdAt && a.createdBy == b.createdBy
            && a.displayPrefix == b.displayPrefix && a.serviceUser == b.serviceUser && a.deleted == b.deleted
            && a.deletedAt == b.deletedAt && a.expiresAt == b.expiresAt && a.status == b.status
            && a.projects.map { "\($0.project)=\($0.role)" } == b.projects.map { "\($0.project)=\($0.role)" }
    }
}

extension StateReader {
    /// The credential table of a company from this state (live or as-of), with each status judged at `now`.
    public func credentialRows(company: UInt32, includeDeleted: Bool, at now: Timestamp) throws -> [CredentialRow] {
        try credentials(company: company).filter { includeDeleted || !$0.deleted }.map { try row(for: $0, at: now) }
    }

    /// One credential's row; `now` decides whether it shows as expired.
    public func row(for c: CredentialRecord, at now: Timestamp) throws -> CredentialRow {
        let usage = try usage(credential: c.number)
        let projects = try accesses(credential: c.number).map { access in
            ((try project(access.project)?.slug) ?? "#\(access.project)", access.grant.role.name)
        }
        return CredentialRow(
            id: c.publicID, name: c.name, scope: c.scope, type: c.type, lastUsed: usage.lastUsed == 0 ? nil : usage.lastUsed,
            used: usage.used, denied: usage.denied, createdAt: c.createdAt,
            createdBy: (try email(user: c.createdBy)) ?? "system", displayPrefix: c.displayPrefix,
            serviceUser: c.serviceUser.isEmpty ? nil : c.serviceUser, deleted: c.deleted,
            deletedAt: c.deleted ? c.deletedAt : nil, expiresAt: c.expiresAt == 0 ? nil : c.expiresAt,
            status: c.deleted ? .deleted : (c.expiresAt != 0 && now >= c.expiresAt ? .expired : .active), projects: projects)
    }
}

extension Ledger.Audit {
    /// The API keys page of a company (admin only; also while the API module is disabled, so leaked keys can be
    /// found and deleted). Deleted credentials are left out unless asked.
    public func credentialTable(_ slug: String, as actor: String, includeDeleted: Bool = false) throws -> [CredentialRow] {
        try withState { state in
            let (company, _) = try state.requireAPIAdmin(slug, actor)
            return try state.credentialRows(company: company.number, includeDeleted: includeDeleted, at: clock.now())
        }
    }

    /// One credential's row (admin only; module enabled or not).
    public func credentialDetail(_ slug: String, credential id: String, as actor: String) throws -> CredentialRow {
        try withState { state in
            let (company, _) = try state.requireAPIAdmin(slug, actor)
            return try state.row(for: try state.requireCredential(company, id), at: clock.now())
        }
    }
}
