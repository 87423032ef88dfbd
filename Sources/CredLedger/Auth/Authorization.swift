import CredLedgerCore
import CredLedgerProjections
import LMDB

/// The answer to "may this Authorization header do `operation` on project P of company C?".
public struct Decision: Sendable, Equatable {
    public var allowed: Bool { denial == nil }
    public var denial: DenialReason?
    /// The credential's public id, when the secret matched one.
    public var credentialID: String?
    /// Who acts: the service user, or the approving user for PKCE tokens.
    public var principal: String?
    /// What the principal may do on the project (scope ∩ role).
    public var capability: Capability
    /// The credential's scope, when the secret matched one (a gateway passes it on as `X-Scope`).
    public var scope: Scope?
    /// What gets recorded: `use`, in `company` — the credential's own company once a credential is found.
    /// (`@usableFromInline`, like `notice`: the inlined async `record` reads these three plain fields, not the strings.)
    @usableFromInline var company: UInt32
    @usableFromInline var use: CredentialUse
    /// When the credential belongs to another company than the one addressed: the anonymous use recorded in the
    /// addressed company (`use.targetCompany`), which learns that a foreign credential was presented and nothing
    /// about it. nil in the common case, which stays one event.
    @usableFromInline var notice: CredentialUse?

    /// The stable code: `allowed` or the denial reason.
    public var code: String { denial?.code ?? "allowed" }

    /// The credential found belongs to `owner`, not to the company addressed (`company` so far): the use goes to
    /// the owner's trail with the addressed company as `targetCompany` and no project (the project numbers are
    /// the target's), and the target gets an anonymous `foreign_credential` notice for its project.
    mutating func attribute(to owner: UInt32) {
        guard owner != company else { return }
        notice = CredentialUse(credential: 0, project: use.project, operation: use.operation, denial: .foreignCredential)
        use.targetCompany = company
        use.project = 0
        company = owner
    }

    /// Denies with `reason`. The answer to the caller keeps the reason; in the owner's trail a use at another
    /// company records `cross_company` (a reason found first, like `revoked`, is recorded as it is).
    mutating func deny(_ reason: DenialReason) {
        denial = reason
        use.denial = reason == .otherCompany && notice != nil ? .crossCompany : reason
        capability = .none
    }

    /// The events this decision records, appended to `list` (one, or two for a use at another company).
    func entries(into list: inout [(company: UInt32, use: CredentialUse)]) {
        list.append((company, use))
        if let notice { list.append((use.targetCompany, notice)) }
    }

    /// The writer's job for this decision: the common case stays the single, allocation-free `.use`.
    var job: WriteRequest.Job { recorded.job }

    /// What this decision records, without its strings.
    @inlinable var recorded: RecordedUse { RecordedUse(company: company, use: use, notice: notice) }

    /// Applies the access rule for `operation` to the capability found; a denial keeps that capability for reporting.
    mutating func settle(_ operation: Operation, scope: Scope, delegated: Bool) {
        guard let reason = AccessPolicy.denial(for: operation, capability: capability, scope: scope, delegated: delegated) else { return }
        denial = reason
        use.denial = reason
    }
}

/// What a decision records — its use, that use's company, and the notice of a use at another company — as a plain
/// value: the async `record` and `check` take it from the decision before they suspend, so the queued request holds
/// none of the decision's strings.
@usableFromInline
struct RecordedUse: Sendable {
    let company: UInt32
    let use: CredentialUse
    let notice: CredentialUse?

    @usableFromInline
    init(company: UInt32, use: CredentialUse, notice: CredentialUse?) {
        self.company = company
        self.use = use
        self.notice = notice
    }

    /// The writer's job: the common case stays the single, allocation-free `.use`.
    var job: WriteRequest.Job {
        guard let notice else { return .use(company: company, use: use) }
        return .uses([(company, use), (use.targetCompany, notice)])
    }
}

/// Effective access, as one pure rule: scope capability ∩ project-role capability; GLOBAL needs no role.
public enum AccessPolicy {
    /// Capability of a service-user credential on a project of its company.
    public static func serviceUser(scope: Scope, role: ProjectRole?) -> Capability {
        if scope == .global { return .readWrite }
        return scope.capability.intersection(role?.capability ?? .none)
    }

    /// Capability of a user-delegated (PKCE) token: the user's own access, capped by the scope.
    /// Company admins can act on every project; members need a project role.
    public static func delegatedUser(scope: Scope, companyRole: CompanyRole?, projectRole: ProjectRole?) -> Capability {
        guard let companyRole, companyRole != .removed else { return .none }
        let own: Capability = companyRole == .admin ? .readWrite : (projectRole?.capability ?? .none)
        return scope.capability.intersection(own)
    }

    /// The roles a user-delegated token acts with: the user's current ones, minus what was granted after the token's
    /// approval (`TokenRecord.approvedAt`): a company admin role set later counts as member, a project role set later
    /// as none. So what stopped (a role set to none, a removal) stays stopped for older tokens even if it is granted
    /// again, and a promotion does not reach them: the user approves again. A grant stamped at the approval's
    /// microsecond counts as before it.
    public static func delegatedRoles(companyRole: CompanyRole?, companySince: Timestamp, projectRole: ProjectRole?,
                                      projectSince: Timestamp, approvedAt: Timestamp) -> (company: CompanyRole?, project: ProjectRole?) {
        (companyRole == .admin && companySince > approvedAt ? .member : companyRole, projectSince > approvedAt ? nil : projectRole)
    }

    /// The denial for `operation` given what is held, or nil when allowed.
    public static func denial(for operation: Operation, capability: Capability, scope: Scope, delegated: Bool) -> DenialReason? {
        if capability.allows(operation) { return nil }
        if capability == .none { return delegated ? .userNotMember : .projectAccessMissing }
        return scope == .read ? .readOnlyScope : .readOnlyRole
    }
}

extension Ledger {
    /// The access rules, once, for both paths: what was asked (`parsed`, the slugs, `operation`, `now`) decided over the
    /// facts `facts` reads. The reference path reads them as decoded records, the hot path in place; only that differs.
    /// The checks, in order: company, project, header, secret → credential (attributed to its owner), deleted, secret
    /// problem, wrong type, expired, other company, module, project, then role ∩ scope.
    static func decide(_ parsed: Result<PresentedSecret, DenialReason>, company slug: String, project projectSlug: String,
                       operation: Operation, now: Timestamp, facts: some AuthorizationFacts) throws -> Decision {
        var decision = Decision(denial: nil, credentialID: nil, principal: nil, capability: .none, scope: nil, company: 0,
                                use: CredentialUse(credential: 0, project: 0, operation: operation, denial: nil))
        /// The checks in order, filling `decision` in place; the first denial, or nil when none denies (`settle` may
        /// still deny on the capability, keeping it).
        func rules(_ decision: inout Decision) throws -> DenialReason? {
            guard let company = try facts.company(slug: slug) else {
                // A secret that names a credential is recorded in the credential's own company, so its owner's trail holds
                // the attempt (no project, no target company: there is none). The answer stays `unknown_company`.
                var carried: CredentialFacts?
                if case .success(let header) = parsed, try secretLookup(header, now: now, facts: facts, carried: &carried) != nil,
                   let credential = carried.take() {
                    decision.company = credential.company
                    decision.use.credential = credential.number
                    decision.credentialID = credential.publicID
                }
                return .unknownCompany
            }
            decision.company = company.number
            let project = try facts.project(company: company.number, slug: projectSlug)
            decision.use.project = project?.number ?? 0
            let header: PresentedSecret
            switch parsed {
            case .failure(let reason): return reason
            case .success(let h): header = h
            }

            // Find the credential (and, for tokens, the approving user) from the secret's hash.
            var carried: CredentialFacts?
            guard let found = try secretLookup(header, now: now, facts: facts, carried: &carried),
                  let credential = carried.take() else { return .unknownCredential }
            decision.use.credential = credential.number
            decision.credentialID = credential.publicID
            decision.scope = credential.scope
            decision.attribute(to: credential.company)
            // What is wrong with the secret itself is reported after the credential's own state, so a deleted credential
            // always answers `revoked`.
            if credential.deleted { return .revoked }
            if let problem = found.problem { return problem }
            if header.scheme == .apiKey, credential.type != .staticKey { return .wrongCredentialType }
            if credential.expiresAt != 0 && now >= credential.expiresAt { return .expired }
            if credential.company != company.number { return .otherCompany }
            if !company.apiEnabled { return .apiModuleDisabled }
            guard let project else { return .unknownProject }
            if project.archived { return .projectArchived }

            if credential.type.isUserDelegated {
                let member = try facts.member(company: company.number, user: found.user)
                let role = try facts.userRole(user: found.user, project: project.number)
                let held = AccessPolicy.delegatedRoles(companyRole: member?.role, companySince: member?.since ?? 0,
                                                       projectRole: role?.role, projectSince: role?.since ?? 0,
                                                       approvedAt: found.approvedAt)
                decision.principal = credential.principal
                decision.capability = AccessPolicy.delegatedUser(scope: credential.scope, companyRole: held.company,
                                                                 projectRole: held.project)
            } else {
                let role = credential.scope == .global
                    ? nil : try facts.access(credential: credential.number, project: project.number)?.role
                decision.principal = credential.principal
                decision.capability = AccessPolicy.serviceUser(scope: credential.scope, role: role)
            }
            decision.settle(operation, scope: credential.scope, delegated: credential.type.isUserDelegated)
            return nil
        }
        // One `decision`, returned on every path (moved, not copied: each copy retains and releases its strings).
        if let reason = try rules(&decision) { decision.deny(reason) }
        return decision
    }

    /// What a key or an access token names, from its hash: what is wrong with the secret itself (reported after the
    /// credential's own state), and for a token the approving user and the approval time.
    /// nil when the secret matches nothing (a refresh token is not a bearer credential).
    /// A key's row and a token's row carry their credential's facts: they are moved into `carried` (no `credentials`
    /// lookup, no copy of their strings).
    private static func secretLookup(_ header: PresentedSecret, now: Timestamp, facts: some AuthorizationFacts,
                                     carried: inout CredentialFacts?) throws
        -> (problem: DenialReason?, user: UInt32, approvedAt: Timestamp)? {
        switch header.scheme {
        case .apiKey:
            guard var entry = try facts.secret(hash: header.hash) else { return nil }
            let problem: DenialReason? = entry.validUntil != 0 && now >= entry.validUntil ? .secretSuperseded : nil
            carried = entry.takeFacts()
            return (problem, 0, 0)
        case .bearer:
            guard var t = try facts.token(hash: header.hash), t.kind == .access else { return nil }
            let problem: DenialReason? = t.status != .active ? .tokenRevoked : now >= t.expiresAt ? .tokenExpired : nil
            let (user, approvedAt) = (t.user, t.approvedAt)
            carried = t.takeFacts()
            return (problem, user, approvedAt)
        }
    }
}

// MARK: - The facts a decision is made from

/// A company, as the rules see it.
struct CompanyFacts: Equatable {
    var number: UInt32
    var apiEnabled: Bool
}

/// A project, as the rules see it.
struct ProjectFacts: Equatable {
    var number: UInt32
    var archived: Bool
}

/// A row that carries its credential's facts (`secrets`, `tokens`).
protocol CarriesCredentialFacts {
    var facts: CredentialFacts { get set }
}

extension CarriesCredentialFacts {
    /// Moves the facts out (their strings are not retained again), leaving facts without strings behind.
    mutating func takeFacts() -> CredentialFacts {
        var taken = CredentialFacts(company: 0, type: .staticKey, scope: .read, deleted: false, expiresAt: 0, number: 0,
                                    publicID: "", principal: nil)
        swap(&taken, &facts)
        return taken
    }
}

/// A `secrets` row whose full hash matched, with its credential's facts (the row repeats them).
struct SecretFacts: Equatable, CarriesCredentialFacts {
    var validUntil: Timestamp
    var facts: CredentialFacts
}

/// A `tokens` row whose full hash matched, with its credential's facts and principal (the row repeats them).
struct TokenFacts: Equatable, CarriesCredentialFacts {
    var kind: TokenRecord.Kind
    var status: TokenRecord.Status
    var user: UInt32
    var expiresAt: Timestamp
    var approvedAt: Timestamp
    var facts: CredentialFacts
}

/// A credential, as the rules see it.
struct CredentialFacts: Equatable {
    var company: UInt32
    var type: CredentialType
    var scope: Scope
    var deleted: Bool
    var expiresAt: Timestamp
    var number: UInt32
    var publicID: String
    /// Who acts: the service user; for a token of a user-delegated type the approving user's email; nil for a key
    /// or client secret of a user-delegated type (it acts for no one: such a secret is never a bearer credential).
    var principal: String?
}

/// A company or project role, and since when.
struct RoleFacts<Role: Equatable & Sendable>: Equatable, Sendable {
    var role: Role
    var since: Timestamp
}

/// Where `Ledger.decide` reads its facts; nil = not there. Two sources: `ReferenceFacts` (the codecs, through
/// `StateReader`) and `InPlaceFacts` (fields read in place at the offsets the codecs declare).
protocol AuthorizationFacts {
    func company(slug: String) throws -> CompanyFacts?
    func project(company: UInt32, slug: String) throws -> ProjectFacts?
    func secret(hash: SHA256Digest) throws -> SecretFacts?
    func token(hash: SHA256Digest) throws -> TokenFacts?
    func member(company: UInt32, user: UInt32) throws -> RoleFacts<CompanyRole>?
    func userRole(user: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>?
    func access(credential: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>?
}

/// The reference facts: whole records decoded by their codecs (a corrupt row throws `ProjectionError`).
struct ReferenceFacts<Store: KeyValueStore>: AuthorizationFacts {
    let state: StateReader<Store>

    func company(slug: String) throws -> CompanyFacts? {
        try state.companyEntry(slug: slug).map { CompanyFacts(number: $0.company, apiEnabled: $0.apiEnabled) }
    }
    func project(company: UInt32, slug: String) throws -> ProjectFacts? {
        try state.projectEntry(company: company, slug: slug).map { ProjectFacts(number: $0.project, archived: $0.archived) }
    }
    func secret(hash: SHA256Digest) throws -> SecretFacts? {
        try state.secret(hash: hash).map {
            SecretFacts(validUntil: $0.validUntil,
                        facts: CredentialFacts(company: $0.company, type: $0.type, scope: $0.scope, deleted: $0.deleted,
                                               expiresAt: $0.expiresAt, number: $0.credential, publicID: $0.publicID,
                                               principal: $0.type.isUserDelegated ? nil : $0.serviceUser))
        }
    }
    func token(hash: SHA256Digest) throws -> TokenFacts? {
        try state.token(hash: hash).map {
            TokenFacts(kind: $0.kind, status: $0.status, user: $0.user, expiresAt: $0.expiresAt, approvedAt: $0.approvedAt,
                       facts: CredentialFacts(company: $0.company, type: $0.type, scope: $0.scope, deleted: $0.credentialDeleted,
                                              expiresAt: $0.credentialExpiresAt, number: $0.credential, publicID: $0.publicID,
                                              principal: $0.principal))
        }
    }
    func member(company: UInt32, user: UInt32) throws -> RoleFacts<CompanyRole>? {
        try state.member(company: company, user: user).map { RoleFacts(role: $0.role, since: $0.since) }
    }
    func userRole(user: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>? {
        try state.userRole(user: user, project: project).map { RoleFacts(role: $0.role, since: $0.since) }
    }
    func access(credential: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>? {
        try state.access(credential: credential, project: project).map { RoleFacts(role: $0.role, since: $0.since) }
    }
}

/// Thrown by `InPlaceFacts` when the reference path must decide: a row whose shape differs from what its codec
/// writes (the codec then reports it), or an unknown company.
struct InPlaceFallback: Error {}

/// The hot path's facts: only the fields the rules need, read straight from the map (`RowView`), keys built on the
/// stack; no row is decoded.
struct InPlaceFacts: AuthorizationFacts {
    let reads: RawReads

    /// Unwraps a lookup; an unusual row hands the decision to the reference path.
    @inline(__always) private func usual<T>(_ lookup: Lookup<T>) throws -> T? {
        switch lookup {
        case .missing: return nil
        case .found(let value): return value
        case .unusual: throw InPlaceFallback()
        }
    }

    @inline(__always) private func row<T>(_ row: RowView?, _ read: (RowView) -> T?) -> Lookup<T> {
        guard let row else { return .missing }
        return read(row).map(Lookup.found) ?? .unusual
    }

    func company(slug: String) throws -> CompanyFacts? {
        // An unknown company takes the reference path (rare): it looks the secret up to record the attempt in its
        // owner's trail.
        guard let company = try usual(reads.get(.companySlugs, prefix: nil, text: slug) { row($0) { $0.companySlugFacts } })
        else { throw InPlaceFallback() }
        return company
    }
    func project(company: UInt32, slug: String) throws -> ProjectFacts? {
        try usual(reads.get(.projectSlugs, prefix: company, text: slug) { row($0) { $0.projectSlugFacts } })
    }
    func secret(hash: SHA256Digest) throws -> SecretFacts? {
        try usual(reads.get(.secrets, hashPrefixOf: hash) { $0?.secretFacts(matching: hash) ?? .missing })
    }
    func token(hash: SHA256Digest) throws -> TokenFacts? {
        try usual(reads.get(.tokens, hashPrefixOf: hash) { $0?.tokenFacts(matching: hash) ?? .missing })
    }
    func member(company: UInt32, user: UInt32) throws -> RoleFacts<CompanyRole>? {
        try usual(reads.get(.members, company, user) { row($0) { $0.memberFacts } })
    }
    func userRole(user: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>? {
        try usual(reads.get(.userRoles, user, project) { row($0) { $0.grantFacts } })
    }
    func access(credential: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>? {
        try usual(reads.get(.access, credential, project) { row($0) { $0.grantFacts } })
    }
}

extension Ledger {
    /// `decide` over facts read in place. Returns nil — and the caller runs the reference `decide` — when an input or
    /// a row is unusual (a key LMDB would refuse, a row whose shape differs from what its codec writes) or the company
    /// is unknown (rare: the reference then finds the secret's owner), so both paths agree on every input.
    /// `recorder`: where what the decision read is also written (a decision the `DecisionCache` is to keep).
    static func decideInPlace(_ parsed: Result<PresentedSecret, DenialReason>, company slug: String, project projectSlug: String,
                              operation: Operation, now: Timestamp, txn: borrowing Transaction, schema: Schema,
                              recorder: FactsRecorder? = nil) throws -> Decision? {
        let companyLength = slug.utf8.count, projectLength = projectSlug.utf8.count
        // `Keys.companySlug` is the slug; `Keys.projectSlug` the company number, then the slug.
        guard companyLength >= 1, companyLength <= Environment.maxKeySize,
              MemoryLayout<UInt32>.size + projectLength <= Environment.maxKeySize else { return nil }
        do {
            let facts = InPlaceFacts(reads: RawReads(txn: copy txn, schema: schema))
            if let recorder {
                return try decide(parsed, company: slug, project: projectSlug, operation: operation, now: now,
                                  facts: RecordingFacts(base: facts, recorder: recorder))
            }
            return try decide(parsed, company: slug, project: projectSlug, operation: operation, now: now, facts: facts)
        } catch is InPlaceFallback {
            return nil
        }
    }

    /// The reference decision: the header parsed into strings (`AuthorizationHeader.parse`, the secret hashed as a
    /// `String`), every fact from records decoded by their codecs.
    static func decide(_ parsed: Result<AuthorizationHeader, DenialReason>, company slug: String, project projectSlug: String,
                       operation: Operation, now: Timestamp, state: StateReader<some KeyValueStore>) throws -> Decision {
        try decide(parsed, company: slug, project: projectSlug, operation: operation, now: now, facts: ReferenceFacts(state: state))
    }

    /// `decide` for a header parsed into strings (the reference parse): the secret is hashed from its `String`.
    static func decide(_ parsed: Result<AuthorizationHeader, DenialReason>, company slug: String, project projectSlug: String,
                       operation: Operation, now: Timestamp, facts: some AuthorizationFacts) throws -> Decision {
        try decide(parsed.map(PresentedSecret.init), company: slug, project: projectSlug, operation: operation, now: now, facts: facts)
    }
}
