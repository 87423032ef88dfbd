import CredLedgerCore
import CredLedgerProjections

/// One finding of an access review, with what to do about it.
public struct ReviewFinding: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Last used more than the stale limit ago.
        case stale
        /// Never used, and older than the stale limit.
        case neverUsed = "never_used"
        /// GLOBAL scope: read and write on every project, present and future.
        case globalScope = "global_scope"
        /// Write access to many projects.
        case broadWrite = "broad_write"
        /// Created by someone who is no longer a company admin (or no longer a member).
        case creatorNotAdmin = "creator_not_admin"
        /// Past its expiry but not deleted.
        case expired
    }

    public var kind: Kind
    public var credentialID: String
    public var name: String
    public var type: CredentialType
    public var scope: Scope
    public var detail: String
    public var recommendation: String
}

extension Ledger.Audit {
    /// Reviews a company's live (not deleted) credentials at `now` (default: the ledger clock):
    /// unused for `staleDays`, never used (and older than that), GLOBAL scope, write access to at least
    /// `manyProjects` projects, created by a member who is no longer an admin, expired but not deleted.
    public func accessReview(_ slug: String, staleDays: Int = 90, manyProjects: Int = 5, now: Timestamp? = nil) throws -> [ReviewFinding] {
        let now = now ?? clock.now()
        let staleLimit = now - Int64(staleDays) * 86_400_000_000
        return try withState { state in
            let company = try state.requireCompany(slug)
            let liveProjects = try state.projects(company: company.number).filter { !$0.archived }
            var findings: [ReviewFinding] = []
            for c in try state.credentials(company: company.number) where !c.deleted {
                func add(_ kind: ReviewFinding.Kind, _ detail: String, _ recommendation: String) {
                    findings.append(ReviewFinding(kind: kind, credentialID: c.publicID, name: c.name, type: c.type, scope: c.scope,
                                                  detail: detail, recommendation: recommendation))
                }
                let usage = try state.usage(credential: c.number)
                let days = { (t: Timestamp) in (now - t) / 86_400_000_000 }
                if c.expiresAt != 0, c.expiresAt <= now {
                    add(.expired, "expired \(TimeFormat.rfc3339(c.expiresAt))", "delete it: it no longer works")
                }
                if usage.used == 0 {
                    if c.createdAt <= staleLimit {
                        add(.neverUsed, "never used in \(days(c.createdAt)) days since creation",
                            "delete it: nothing depends on it (create a new one when needed)")
                    }
                } else if usage.lastUsed <= staleLimit {
                    add(.stale, "last used \(TimeFormat.rfc3339(usage.lastUsed)) (\(days(usage.lastUsed)) days ago)",
                        "confirm with its owner, then delete it; if still needed, rotate its secret")
                }
                if c.scope == .global {
                    add(.globalScope, "read and write on all \(liveProjects.count) projects, including future ones",
                        "replace with a READ or READ & WRITE credential granted only the projects it needs")
                }
                if c.scope == .readWrite, c.type.hasServiceUser {
                    // GLOBAL is reported above; PKCE credentials act with the approving users' own roles.
                    let live = Set(liveProjects.map(\.number))
                    let writable = try state.accesses(credential: c.number)
                        .filter { live.contains($0.project) && $0.grant.role.capability == .readWrite }.count
                    if writable >= max(manyProjects, 1) {
                        add(.broadWrite, "write access to \(writable) projects",
                            "remove the project access it does not need, or lower roles to viewer where it only reads")
                    }
                }
                if c.createdBy != 0 {
                    let role = try state.member(company: company.number, user: c.createdBy)?.role
                    if role != .admin {
                        let who = try state.email(user: c.createdBy) ?? "user #\(c.createdBy)"
                        let now = role == nil || role == .removed ? "no longer a member" : "now a \(role!.name)"
                        add(.creatorNotAdmin, "created by \(who), \(now)",
                            "confirm a current admin owns it; otherwise rotate its secret or delete it")
                    }
                }
            }
            return findings
        }
    }
}
