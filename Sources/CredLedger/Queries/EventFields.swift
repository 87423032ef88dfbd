import CredLedgerCore
import CredLedgerProjections

/// Turns events into named fields for people and exports, resolving numbers to public names
/// (companies, projects, credentials and users are never removed from the registry, so current names are right).
public final class EventFields {
    /// Names by number. Numbers come from dense counters (1, 2, 3, …), so an array indexed by number is the
    /// lookup an export does four times per event; a number outside it (none in a sound ledger) prints as `#n`.
    struct Names {
        private var byNumber: [String?] = []

        subscript(n: UInt32) -> String? {
            get { Int(n) < byNumber.count ? byNumber[Int(n)] : nil }
            set {
                // Past a million entries beyond what is held, stop growing: keeps a corrupt number from allocating.
                guard Int(n) < byNumber.count + 1_000_000 else { return }
                if Int(n) >= byNumber.count { byNumber.append(contentsOf: repeatElement(nil, count: Int(n) + 1 - byNumber.count)) }
                byNumber[Int(n)] = newValue
            }
        }
    }

    // `let`: read four times per exported event, and a class's `var` would be checked for exclusive access each time.
    private let companies: Names
    private let projects: Names
    private let credentials: Names
    private let users: Names

    /// Loads every name once (a thread holds one transaction at a time, so no lookups happen while a log scan is open).
    public init(audit: Ledger.Audit) throws {
        var companies = Names(), projects = Names(), credentials = Names(), users = Names()
        try audit.withState { state in
            try state.store.scan(.companies, from: []) { _, value in
                let c = try CompanyRecord.decode(value)
                companies[c.number] = c.slug
                return true
            }
            try state.store.scan(.projects, from: []) { _, value in
                let p = try ProjectRecord.decode(value)
                projects[p.number] = p.slug
                return true
            }
            try state.store.scan(.credentials, from: []) { _, value in
                let c = try CredentialRecord.decode(value)
                credentials[c.number] = c.publicID
                return true
            }
            try state.store.scan(.users, prefix: [0x6E]) { key, value in
                users[UInt32(bigEndianBytes: Array(key.dropFirst())) ?? 0] = String(decoding: value, as: UTF8.self)
                return true
            }
        }
        (self.companies, self.projects, self.credentials, self.users) = (companies, projects, credentials, users)
    }

    private func name(_ cache: Names, _ n: UInt32) -> String { n == 0 ? "" : cache[n] ?? "#\(n)" }

    public func company(_ n: UInt32) -> String { name(companies, n) }
    public func project(_ n: UInt32) -> String { name(projects, n) }
    public func credential(_ n: UInt32) -> String { name(credentials, n) }
    public func user(_ n: UInt32) -> String { name(users, n) }

    public func actor(_ a: Actor) -> String {
        switch a {
        case .system: "system"
        case .user(let u): user(u)
        case .credential(let c): credential(c)
        }
    }

    /// The payload as ordered (name, value) pairs; values are String, Int/UInt64 or Bool. Hashes are hex.
    public func payload(_ p: EventPayload) -> [(String, Any)] {
        switch p {
        case .companyRegistered(let slug, let name, let domain):
            return [("slug", slug), ("name", name), ("mail_domain", domain)]
        case .apiModuleEnabled, .apiModuleDisabled:
            return []
        case .memberRoleSet(_, let email, let role):
            return [("email", email), ("role", role.name)]
        case .projectCreated(let n, let slug, let name):
            return [("project", project(n) == "#\(n)" ? slug : slug), ("name", name)]
        case .projectArchived(let n):
            return [("project", project(n))]
        case .credentialCreated(let c):
            var out: [(String, Any)] = [("credential", c.publicID), ("name", c.name), ("type", c.type.name), ("scope", c.scope.name)]
            if !c.serviceUser.isEmpty { out.append(("service_user", c.serviceUser)) }
            out.append((c.type == .staticKey ? "key_prefix" : "client_id", c.displayPrefix))
            if let h = c.secretHash { out.append(("secret_sha256", h.hex)) }
            if c.expiresAt != 0 { out.append(("expires_at", TimeFormat.rfc3339(c.expiresAt))) }
            if !c.redirectURIs.isEmpty { out.append(("redirect_uris", c.redirectURIs.joined(separator: " "))) }
            return out
        case .secretRotated(let c, let h, let prefix, let grace):
            return [("credential", credential(c)), ("secret_sha256", h.hex), ("key_prefix", prefix), ("old_secret_valid_until", TimeFormat.rfc3339(grace))]
        case .credentialDeleted(let c):
            return [("credential", credential(c))]
        case .projectAccessGranted(let c, let p, let role), .projectAccessChanged(let c, let p, let role):
            return [("credential", credential(c)), ("project", project(p)), ("role", role.name)]
        case .projectAccessRevoked(let c, let p):
            return [("credential", credential(c)), ("project", project(p))]
        case .userProjectRoleSet(let u, let p, let role):
            return [("user", user(u)), ("project", project(p)), ("role", role?.name ?? "none")]
        case .consentGiven(let c):
            var out: [(String, Any)] = [("credential", credential(c.credential)), ("user", user(c.user)), ("code_sha256", c.codeHash.hex),
                                        ("redirect_uri", c.redirectURI), ("expires_at", TimeFormat.rfc3339(c.expiresAt))]
            if let r = c.resource { out.append(("resource", r)) }
            return out
        case .tokenIssued(let t):
            var out: [(String, Any)] = [("credential", credential(t.credential)), ("grant", t.grant.name), ("access_sha256", t.accessHash.hex),
                                        ("access_expires_at", TimeFormat.rfc3339(t.accessExpiresAt))]
            if t.user != 0 { out.append(("user", user(t.user))) }
            if let r = t.refreshHash { out.append(("refresh_sha256", r.hex)) }
            if let r = t.resource { out.append(("resource", r)) }
            return out
        case .tokenRefreshed(let t):
            return [("credential", credential(t.credential)), ("family", t.family), ("spent_refresh_sha256", t.spentRefreshHash.hex),
                    ("access_sha256", t.accessHash.hex), ("refresh_sha256", t.refreshHash.hex)]
        case .tokenRevoked(let t):
            return [("credential", credential(t.credential)), ("family", t.family), ("token_sha256", t.tokenHash.hex),
                    ("whole_family", t.wholeFamily), ("reason", t.reason.name)]
        case .credentialUsed(let u):
            var out: [(String, Any)] = [("credential", u.credential == 0 ? "" : credential(u.credential)), ("project", project(u.project)),
                                        ("operation", u.operation.name), ("outcome", u.denial?.code ?? "allowed")]
            // A use at another company (recorded in the credential's own): where it was presented.
            if u.targetCompany != 0 { out.append(("target_company", company(u.targetCompany))) }
            return out
        case .oauthRequestDenied(let c, let u, let grant, let reason):
            var out: [(String, Any)] = [("credential", c == 0 ? "" : credential(c)), ("grant", grant.name), ("reason", reason.code)]
            if u != 0 { out.append(("user", user(u))) }
            return out
        case .codeRevoked(let c):
            return [("credential", credential(c.credential)), ("user", user(c.user)), ("code_sha256", c.codeHash.hex), ("reason", c.reason.name)]
        case .logAccepted(let a):
            return [("log_head", a.logHead), ("checkpoints", a.checkpoints)]
        }
    }

    /// One line for people: `seq  time  type  company  actor  k=v …`.
    public func line(_ stored: StoredEvent) -> String {
        let e = stored.event
        let fields = payload(e.payload).map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        return "\(e.seq)  \(TimeFormat.rfc3339(e.timestamp))  \(e.type.name)  \(company(e.company).isEmpty ? "-" : company(e.company))  \(actor(e.actor))  \(fields)"
    }

    /// A JSON object (for `log --json` and exports), with the chain hashes.
    public func json(_ stored: StoredEvent, previousHash: SHA256Digest?) -> [String: Any] {
        let e = stored.event
        var object: [String: Any] = [
            "seq": e.seq, "time": TimeFormat.rfc3339(e.timestamp), "type": e.type.name, "company": company(e.company),
            "actor": actor(e.actor), "hash": stored.hash.hex,
        ]
        if let previousHash { object["prev_hash"] = previousHash.hex }
        var payload: [String: Any] = [:]
        for (k, v) in self.payload(e.payload) { payload[k] = v }
        object["payload"] = payload
        return object
    }
}
