import CredLedgerCore
import CredLedgerProjections

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
    /// What gets recorded.
    var company: UInt32
    var use: CredentialUse

    /// The stable code: `allowed` or the denial reason.
    public var code: String { denial?.code ?? "allowed" }
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
        return try withState { state in try Ledger.decide(parsed, company: company, project: project, operation: operation, now: now, state: state) }
    }

    /// Decides and records the answer as a `credential_used` event; returns once that event is durable.
    public func check(header: String, company: String, project: String, operation: Operation) throws -> Decision {
        let decision = try authorize(header: header, company: company, project: project, operation: operation)
        try record(decision)
        return decision
    }

    /// Records a decision made by `authorize` (durable before returning).
    public func record(_ decision: Decision) throws {
        try requireWriter().submitAndWait(WriteRequest(.use(company: decision.company, use: decision.use)))
    }

    /// Records a decision; `completion` runs on the writer's acknowledgement thread once it is durable (or failed).
    /// Keep it short: acknowledgements of later batches wait for it.
    public func record(_ decision: Decision, completion: @escaping @Sendable (Error?) -> Void) {
        guard let writer else {
            completion(LedgerError("read_only", "the ledger was opened read-only", kind: .badInput))
            return
        }
        writer.submit(WriteRequest(.use(company: decision.company, use: decision.use), completion: completion))
    }

    /// Records many decisions with one acknowledgement: returns once all of them are durable (or throws, and then
    /// none of them was recorded). For auth layers that answer many requests at once; each decision is still its
    /// own `credential_used` event.
    public func record(batch decisions: [Decision]) throws {
        guard !decisions.isEmpty else { return }
        try requireWriter().submitAndWait(WriteRequest(.uses(decisions.map { ($0.company, $0.use) })))
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
        writer.submit(WriteRequest(.uses(decisions.map { ($0.company, $0.use) }), completion: completion))
    }

    /// Async form of `record`: suspends (no thread blocked) until the use is durable.
    public func record(_ decision: Decision) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            record(decision) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
    }

    /// Async form of `record(batch:)`.
    public func record(batch decisions: [Decision]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            record(batch: decisions) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
    }

    /// Async form of `check`: suspends (no thread blocked) until the use is durable.
    public func check(header: String, company: String, project: String, operation: Operation) async throws -> Decision {
        let decision = try authorize(header: header, company: company, project: project, operation: operation)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
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
            decision.denial = reason
            decision.use.denial = reason
            decision.capability = .none
            return decision
        }
        guard let company = try state.company(slug: slug) else { return deny(.unknownCompany) }
        decision.company = company.number
        let project = try state.project(company: company.number, slug: projectSlug)
        decision.use.project = project?.number ?? 0
        let header: AuthorizationHeader
        switch parsed {
        case .failure(let reason): return deny(reason)
        case .success(let h): header = h
        }

        // Find the credential (and, for tokens, the approving user) from the secret's hash.
        let credential: CredentialRecord
        var delegatedUser: UInt32 = 0
        switch header {
        case .apiKey(let key):
            guard let entry = try state.secret(hash: SecretFormat.hash(key)), let c = try state.credential(entry.credential) else {
                return deny(.unknownCredential)
            }
            decision.use.credential = c.number
            decision.credentialID = c.publicID
            if c.deleted { return deny(.revoked) }
            if entry.validUntil != 0 && now >= entry.validUntil { return deny(.expired) }
            guard c.type == .staticKey else { return deny(.wrongCredentialType) }
            credential = c
        case .bearer(let token):
            guard let t = try state.token(hash: SecretFormat.hash(token)), t.kind == .access, let c = try state.credential(t.credential) else {
                return deny(.unknownCredential)
            }
            decision.use.credential = c.number
            decision.credentialID = c.publicID
            if c.deleted { return deny(.revoked) }
            if t.status != .active { return deny(.tokenRevoked) }
            if now >= t.expiresAt { return deny(.tokenExpired) }
            credential = c
            delegatedUser = t.user
        }
        if credential.expiresAt != 0 && now >= credential.expiresAt { return deny(.expired) }
        if credential.company != company.number { return deny(.otherCompany) }
        if !company.apiEnabled { return deny(.apiModuleDisabled) }
        guard let project else { return deny(.unknownProject) }
        if project.archived { return deny(.projectArchived) }

        if credential.type.isUserDelegated {
            let member = try state.member(company: company.number, user: delegatedUser)
            let role = try state.userRole(user: delegatedUser, project: project.number)?.role
            decision.principal = try state.email(user: delegatedUser)
            decision.capability = AccessPolicy.delegatedUser(scope: credential.scope, companyRole: member?.role, projectRole: role)
        } else {
            let role = credential.scope == .global ? nil : try state.access(credential: credential.number, project: project.number)?.role
            decision.principal = credential.serviceUser
            decision.capability = AccessPolicy.serviceUser(scope: credential.scope, role: role)
        }
        if let reason = AccessPolicy.denial(for: operation, capability: decision.capability, scope: credential.scope,
                                            delegated: credential.type.isUserDelegated) {
            let capability = decision.capability
            var denied = deny(reason)
            denied.capability = capability
            return denied
        }
        return decision
    }
}
