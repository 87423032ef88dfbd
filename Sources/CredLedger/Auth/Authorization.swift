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
    /// What gets recorded: `use`, in `company` — the credential's own company once a credential is found.
    var company: UInt32
    var use: CredentialUse
    /// When the credential belongs to another company than the one addressed: the anonymous use recorded in the
    /// addressed company (`use.targetCompany`), which learns that a foreign credential was presented and nothing
    /// about it. nil in the common case, which stays one event.
    var notice: CredentialUse?

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
    var job: WriteRequest.Job {
        guard notice != nil else { return .use(company: company, use: use) }
        var list: [(company: UInt32, use: CredentialUse)] = []
        entries(into: &list)
        return .uses(list)
    }

    /// Applies the access rule for `operation` to the capability found; a denial keeps that capability for reporting.
    mutating func settle(_ operation: Operation, scope: Scope, delegated: Bool) {
        guard let reason = AccessPolicy.denial(for: operation, capability: capability, scope: scope, delegated: delegated) else { return }
        denial = reason
        use.denial = reason
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
    /// Decides without recording (the hot path's read part). Never throws for bad input: it denies.
    public func authorize(header: String, company: String, project: String, operation: Operation) throws -> Decision {
        let now = options.clock.now()
        let parsed = AuthorizationHeader.parse(header)
        return try withState { state in
            // The hot path reads the few fields it needs in place; unusual rows or inputs take the reference path.
            if let fast = try Ledger.decideInPlace(parsed, company: company, project: project, operation: operation, now: now,
                                                   store: state.store) {
                #if DEBUG
                let reference = try Ledger.decide(parsed, company: company, project: project, operation: operation, now: now, state: state)
                assert(fast == reference, "authorize: in-place decision \(fast) differs from the reference \(reference)")
                #endif
                return fast
            }
            return try Ledger.decide(parsed, company: company, project: project, operation: operation, now: now, state: state)
        }
    }

    /// Decides and records the answer as a `credential_used` event (two for a credential of another company:
    /// one in its own company's trail, one anonymous in the company addressed); returns once durable.
    public func check(header: String, company: String, project: String, operation: Operation) throws -> Decision {
        let decision = try authorize(header: header, company: company, project: project, operation: operation)
        try record(decision)
        return decision
    }

    /// Records a decision made by `authorize` (durable before returning).
    public func record(_ decision: Decision) throws {
        try requireWriter().submitAndWait(WriteRequest(decision.job))
    }

    /// Records a decision; `completion` runs on the writer's acknowledgement thread once it is durable (or failed).
    /// Keep it short and never call a blocking ledger method from it: acknowledgements of later batches wait for it.
    public func record(_ decision: Decision, completion: @escaping @Sendable (Error?) -> Void) {
        guard let writer else {
            completion(LedgerError("read_only", "the ledger was opened read-only", kind: .badInput))
            return
        }
        writer.submit(WriteRequest(decision.job, completion: completion))
    }

    /// Records many decisions with one acknowledgement: returns once all of them are durable (or throws, and then
    /// none of them was recorded). For auth layers that answer many requests at once; each decision is still its
    /// own `credential_used` event (two for a use at another company).
    public func record(batch decisions: [Decision]) throws {
        guard !decisions.isEmpty else { return }
        try requireWriter().submitAndWait(WriteRequest(.uses(Ledger.entries(decisions))))
    }

    /// The events of `decisions`, in order.
    static func entries(_ decisions: [Decision]) -> [(company: UInt32, use: CredentialUse)] {
        var list: [(company: UInt32, use: CredentialUse)] = []
        list.reserveCapacity(decisions.count)
        for decision in decisions { decision.entries(into: &list) }
        return list
    }

    /// Records many decisions; `completion` runs on the writer's acknowledgement thread once all are durable (or failed).
    public func record(batch decisions: [Decision], completion: @escaping @Sendable (Error?) -> Void) {
        guard let writer else {
            completion(LedgerError("read_only", "the ledger was opened read-only", kind: .badInput))
            return
        }
        guard !decisions.isEmpty else {
            completion(nil)
            return
        }
        writer.submit(WriteRequest(.uses(Ledger.entries(decisions)), completion: completion))
    }

    /// Async form of `record`: suspends (no thread blocked) until the use is durable.
    /// (The async forms use unchecked continuations: the writer completes every request exactly once —
    /// after its batch, or at once when the ledger is closed.)
    public func record(_ decision: Decision) async throws {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, Error>) in
            record(decision) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
    }

    /// Async form of `record(batch:)`.
    public func record(batch decisions: [Decision]) async throws {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, Error>) in
            record(batch: decisions) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
    }

    /// Async form of `check`: suspends (no thread blocked) until the use is durable.
    public func check(header: String, company: String, project: String, operation: Operation) async throws -> Decision {
        let decision = try authorize(header: header, company: company, project: project, operation: operation)
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, Error>) in
            record(decision) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
        return decision
    }

    static func decide(_ parsed: Result<AuthorizationHeader, DenialReason>, company slug: String, project projectSlug: String,
                       operation: Operation, now: Timestamp, state: StateReader<some KeyValueStore>) throws -> Decision {
        var decision = Decision(denial: nil, credentialID: nil, principal: nil, capability: .none, company: 0,
                                use: CredentialUse(credential: 0, project: 0, operation: operation, denial: nil))
        func deny(_ reason: DenialReason) -> Decision {
            decision.deny(reason)
            return decision
        }
        guard let company = try state.company(slug: slug) else {
            // A secret that names a credential is recorded in the credential's own company, so its owner's trail holds
            // the attempt (no project, no target company: there is none). The answer stays `unknown_company`.
            if case .success(let header) = parsed, let found = try secretLookup(header, now: now, state: state),
               let credential = try state.credential(found.credential) {
                decision.company = credential.company
                decision.use.credential = credential.number
                decision.credentialID = credential.publicID
            }
            return deny(.unknownCompany)
        }
        decision.company = company.number
        let project = try state.project(company: company.number, slug: projectSlug)
        decision.use.project = project?.number ?? 0
        let header: AuthorizationHeader
        switch parsed {
        case .failure(let reason): return deny(reason)
        case .success(let h): header = h
        }

        // Find the credential (and, for tokens, the approving user) from the secret's hash.
        guard let found = try secretLookup(header, now: now, state: state) else { return deny(.unknownCredential) }
        let secretProblem = found.problem, delegatedUser = found.user, approvedAt = found.approvedAt
        guard let credential = try state.credential(found.credential) else { return deny(.unknownCredential) }
        decision.use.credential = credential.number
        decision.credentialID = credential.publicID
        decision.attribute(to: credential.company)
        if credential.deleted { return deny(.revoked) }
        if let secretProblem { return deny(secretProblem) }
        if case .apiKey = header, credential.type != .staticKey { return deny(.wrongCredentialType) }
        if credential.expiresAt != 0 && now >= credential.expiresAt { return deny(.expired) }
        if credential.company != company.number { return deny(.otherCompany) }
        if !company.apiEnabled { return deny(.apiModuleDisabled) }
        guard let project else { return deny(.unknownProject) }
        if project.archived { return deny(.projectArchived) }

        if credential.type.isUserDelegated {
            let member = try state.member(company: company.number, user: delegatedUser)
            let role = try state.userRole(user: delegatedUser, project: project.number)
            let held = AccessPolicy.delegatedRoles(companyRole: member?.role, companySince: member?.since ?? 0, projectRole: role?.role,
                                                   projectSince: role?.since ?? 0, approvedAt: approvedAt)
            decision.principal = try state.email(user: delegatedUser)
            decision.capability = AccessPolicy.delegatedUser(scope: credential.scope, companyRole: held.company, projectRole: held.project)
        } else {
            let role = credential.scope == .global ? nil : try state.access(credential: credential.number, project: project.number)?.role
            decision.principal = credential.serviceUser
            decision.capability = AccessPolicy.serviceUser(scope: credential.scope, role: role)
        }
        decision.settle(operation, scope: credential.scope, delegated: credential.type.isUserDelegated)
        return decision
    }

    /// What a key or an access token names, from its hash: the credential's number, what is wrong with the secret
    /// itself (reported after the credential's own state), and for a token the approving user and the approval time.
    /// nil when the secret matches nothing (a refresh token is not a bearer credential).
    private static func secretLookup(_ header: AuthorizationHeader, now: Timestamp, state: StateReader<some KeyValueStore>) throws
        -> (credential: UInt32, problem: DenialReason?, user: UInt32, approvedAt: Timestamp)? {
        switch header {
        case .apiKey(let key):
            guard let entry = try state.secret(hash: SecretFormat.hash(key)) else { return nil }
            return (entry.credential, entry.validUntil != 0 && now >= entry.validUntil ? .secretSuperseded : nil, 0, 0)
        case .bearer(let token):
            guard let t = try state.token(hash: SecretFormat.hash(token)), t.kind == .access else { return nil }
            return (t.credential, t.status != .active ? .tokenRevoked : now >= t.expiresAt ? .tokenExpired : nil, t.user, t.approvedAt)
        }
    }
}

// MARK: - The hot path

/// What `decideInPlace` found for one lookup.
private enum Lookup<T> {
    case missing
    case found(T)
    /// The row does not have the exact shape its codec writes: let the reference path decide (and report it).
    case unusual
}

/// The fields of a `credentials` row the decision needs (offsets: `CredentialRecord.Fixed`, then the codec's order).
private struct CredentialFields {
    var company: UInt32
    var type: CredentialType
    var scope: Scope
    var deleted: Bool
    var expiresAt: Timestamp
    var number: UInt32
    var publicID: String
    /// Only read for service-user types.
    var serviceUser: String?

    /// Checks the whole row's structure like `CredentialRecord.init(reader:)` + `decode` (exact length) do.
    init?(_ row: RowView) {
        guard let company = row.u32(CredentialRecord.Fixed.company),
              let t = row.u8(CredentialRecord.Fixed.type), let type = CredentialType(rawValue: t),
              let s = row.u8(CredentialRecord.Fixed.scope), let scope = Scope(rawValue: s),
              let deleted = row.u8(CredentialRecord.Fixed.deleted), let expiresAt = row.i64(CredentialRecord.Fixed.expiresAt),
              let number = row.u32(15), row.count >= 47,
              let publicID = row.asciiString(47), let name = row.asciiString(publicID.end),
              let serviceUser = row.asciiString(name.end), let afterStrings = row.skipStrings(2, from: serviceUser.end),
              let uriCount = row.u8(afterStrings), let afterURIs = row.skipStrings(Int(uriCount), from: afterStrings + 1),
              let hashCount = row.u8(afterURIs), afterURIs + 1 + 32 * Int(hashCount) == row.count
        else { return nil }
        self.company = company
        self.type = type
        self.scope = scope
        self.deleted = deleted == 1
        self.expiresAt = expiresAt
        self.number = number
        self.publicID = String(ascii: publicID.bytes)
        self.serviceUser = type.isUserDelegated ? nil : String(ascii: serviceUser.bytes)
    }
}

extension Ledger {
    /// `decide`, reading only the fields it needs straight from the map: no row is decoded, no key array built.
    /// Returns nil — and the caller runs `decide` — when an input or a row is unusual (a key LMDB would refuse,
    /// a row whose shape differs from what its codec writes) or the company is unknown (rare: `decide` then finds the
    /// secret's owner), so both paths agree on every input.
    static func decideInPlace(_ parsed: Result<AuthorizationHeader, DenialReason>, company slug: String, project projectSlug: String,
                              operation: Operation, now: Timestamp, store: LMDBStore) throws -> Decision? {
        let companyLength = slug.utf8.count, projectLength = projectSlug.utf8.count
        guard companyLength >= 1, companyLength <= Environment.maxKeySize, projectLength + 4 <= Environment.maxKeySize else { return nil }
        let reads = RawReads(store)
        var decision = Decision(denial: nil, credentialID: nil, principal: nil, capability: .none, company: 0,
                                use: CredentialUse(credential: 0, project: 0, operation: operation, denial: nil))
        func deny(_ reason: DenialReason) -> Decision {
            decision.deny(reason)
            return decision
        }

        // Company: slug → number → row (number at 1, API module flag at 0; three strings after byte 13).
        // An unknown company takes the reference path: it looks the secret up to record the attempt in its owner's trail.
        guard let companyNumber = try reads.get(.companySlugs, prefix: nil, text: slug, { $0?.leadingU32 }) else { return nil }
        let companyLookup = try reads.get(.companies, companyNumber) { row -> Lookup<(number: UInt32, apiEnabled: Bool)> in
            guard let row else { return .missing }
            guard let enabled = row.u8(0), let number = row.u32(1), row.skipStrings(3, from: 13) == row.count else { return .unusual }
            return .found((number, enabled == 1))
        }
        let company: (number: UInt32, apiEnabled: Bool)
        switch companyLookup {
        case .missing, .unusual: return nil
        case .found(let c): company = c
        }
        decision.company = company.number

        // Project: (company, slug) → number → row (archived at 4, number at 5; two strings after byte 17).
        var project: (number: UInt32, archived: Bool)?
        if let projectNumber = try reads.get(.projectSlugs, prefix: company.number, text: projectSlug, { $0?.leadingU32 }) {
            let lookup = try reads.get(.projects, projectNumber) { row -> Lookup<(number: UInt32, archived: Bool)> in
                guard let row else { return .missing }
                guard let archived = row.u8(4), let number = row.u32(5), row.skipStrings(2, from: 17) == row.count else { return .unusual }
                return .found((number, archived == 1))
            }
            switch lookup {
            case .missing: project = nil
            case .unusual: return nil
            case .found(let p): project = p
            }
        }
        decision.use.project = project?.number ?? 0

        let header: AuthorizationHeader
        switch parsed {
        case .failure(let reason): return deny(reason)
        case .success(let h): header = h
        }

        // The credential, from the secret's or the token's hash.
        func credential(_ number: UInt32) throws -> Lookup<CredentialFields> {
            try reads.get(.credentials, number) { row in
                guard let row else { return .missing }
                guard let fields = CredentialFields(row) else { return .unusual }
                return .found(fields)
            }
        }
        // Each scheme finds its credential number and what may be wrong with the secret itself (reported
        // after the credential's own state, so a deleted credential always answers `revoked`).
        let credentialNumber: UInt32
        var secretProblem: DenialReason?
        var delegatedUser: UInt32 = 0
        var approvedAt: Timestamp = 0
        switch header {
        case .apiKey(let key):
            let hash = SecretFormat.hash(key)
            // `secrets` row: credential u32, validUntil i64, full hash (44 bytes).
            let entry = try reads.get(.secrets, hashPrefixOf: hash) { row -> Lookup<(credential: UInt32, validUntil: Timestamp)> in
                guard let row else { return .missing }
                guard row.count == SecretEntry.size, let c = row.u32(0), let until = row.i64(4), let stored = row.slice(12, 32) else {
                    return .unusual
                }
                let matches = hash.withUnsafeBytes { constantTimeEquals($0, stored) }
                return matches ? .found((c, until)) : .missing
            }
            switch entry {
            case .missing: return deny(.unknownCredential)
            case .unusual: return nil
            case .found(let e):
                credentialNumber = e.credential
                if e.validUntil != 0 && now >= e.validUntil { secretProblem = .secretSuperseded }
            }
        case .bearer(let token):
            let hash = SecretFormat.hash(token)
            // `tokens` row: kind, status, credential, user, family, expiresAt, issuedAt, full hash, approvedAt (74 bytes).
            typealias Token = (kind: TokenRecord.Kind, status: TokenRecord.Status, credential: UInt32, user: UInt32, expiresAt: Timestamp,
                               approvedAt: Timestamp)
            let lookup = try reads.get(.tokens, hashPrefixOf: hash) { row -> Lookup<Token> in
                guard let row else { return .missing }
                guard row.count == TokenRecord.size, let k = row.u8(0), let kind = TokenRecord.Kind(rawValue: k),
                      let s = row.u8(1), let status = TokenRecord.Status(rawValue: s), let c = row.u32(2), let u = row.u32(6),
                      let expires = row.i64(18), let stored = row.slice(34, 32), let approved = row.i64(TokenRecord.approvedAtOffset)
                else { return .unusual }
                let matches = hash.withUnsafeBytes { constantTimeEquals($0, stored) }
                return matches ? .found((kind, status, c, u, expires, approved)) : .missing
            }
            let t: Token
            switch lookup {
            case .missing: return deny(.unknownCredential)
            case .unusual: return nil
            case .found(let token): t = token
            }
            guard t.kind == .access else { return deny(.unknownCredential) }
            credentialNumber = t.credential
            secretProblem = t.status != .active ? .tokenRevoked : now >= t.expiresAt ? .tokenExpired : nil
            delegatedUser = t.user
            approvedAt = t.approvedAt
        }
        let found: CredentialFields
        switch try credential(credentialNumber) {
        case .missing: return deny(.unknownCredential)
        case .unusual: return nil
        case .found(let c): found = c
        }
        decision.use.credential = found.number
        decision.credentialID = found.publicID
        decision.attribute(to: found.company)
        if found.deleted { return deny(.revoked) }
        if let secretProblem { return deny(secretProblem) }
        if case .apiKey = header, found.type != .staticKey { return deny(.wrongCredentialType) }
        if found.expiresAt != 0 && now >= found.expiresAt { return deny(.expired) }
        if found.company != company.number { return deny(.otherCompany) }
        if !company.apiEnabled { return deny(.apiModuleDisabled) }
        guard let project else { return deny(.unknownProject) }
        if project.archived { return deny(.projectArchived) }

        /// A `RoleGrant` row (role u8, since i64).
        func role(_ table: Table, _ a: UInt32, _ b: UInt32) throws -> Lookup<(role: ProjectRole, since: Timestamp)> {
            try reads.get(table, a, b) { row in
                guard let row else { return .missing }
                guard row.count == 9, let raw = row.u8(0), let role = ProjectRole(rawValue: raw), let since = row.i64(1) else { return .unusual }
                return .found((role, since))
            }
        }
        if found.type.isUserDelegated {
            // `members` row: role u8, since i64.
            let member = try reads.get(.members, company.number, delegatedUser) { row -> Lookup<(role: CompanyRole, since: Timestamp)> in
                guard let row else { return .missing }
                guard row.count == 9, let raw = row.u8(0), let role = CompanyRole(rawValue: raw), let since = row.i64(1) else { return .unusual }
                return .found((role, since))
            }
            let companyRole: (role: CompanyRole, since: Timestamp)?
            switch member {
            case .missing: companyRole = nil
            case .unusual: return nil
            case .found(let r): companyRole = r
            }
            let userRole: (role: ProjectRole, since: Timestamp)?
            switch try role(.userRoles, delegatedUser, project.number) {
            case .missing: userRole = nil
            case .unusual: return nil
            case .found(let r): userRole = r
            }
            let held = AccessPolicy.delegatedRoles(companyRole: companyRole?.role, companySince: companyRole?.since ?? 0,
                                                   projectRole: userRole?.role, projectSince: userRole?.since ?? 0, approvedAt: approvedAt)
            decision.principal = try reads.get(.users, keyLength: 5, {
                $0.storeBytes(of: UInt8(0x6E), as: UInt8.self)
                $0.storeBytes(of: delegatedUser.bigEndian, toByteOffset: 1, as: UInt32.self)
            }) { row in row.map { String(decoding: $0.bytes, as: UTF8.self) } }
            decision.capability = AccessPolicy.delegatedUser(scope: found.scope, companyRole: held.company, projectRole: held.project)
        } else {
            var projectRole: ProjectRole?
            if found.scope != .global {
                switch try role(.access, found.number, project.number) {
                case .missing: projectRole = nil
                case .unusual: return nil
                case .found(let r): projectRole = r.role
                }
            }
            decision.principal = found.serviceUser
            decision.capability = AccessPolicy.serviceUser(scope: found.scope, role: projectRole)
        }
        decision.settle(operation, scope: found.scope, delegated: found.type.isUserDelegated)
        return decision
    }
}
