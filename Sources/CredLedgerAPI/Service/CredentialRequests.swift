import CredLedger
import CredLedgerCore

// The API keys page: credentials, their secrets and their project access.

extension API.CreateCredentialRequest: CommandRequest {
    public typealias Response = API.IssuedCredential

    /// `expires_in` counts from the ledger's clock.
    public func command(_ ledger: Ledger) throws -> CreateCredential {
        guard let type = CredentialType(name: type) else { throw API.invalid("type must be static, oauth, pkce or pkce-public, not '\(type)'") }
        guard let scope = Scope(name: scope) else { throw API.invalid("scope must be read, read-write or global, not '\(scope)'") }
        var expiresAt: Timestamp?
        if let text = expiresIn {
            guard let d = TimeFormat.parseDuration(text), d > 0 else { throw API.invalid("expires_in takes a duration like 90d, 12h, 30m, not '\(text)'") }
            expiresAt = ledger.options.clock.now() + d
        }
        return CreateCredential(company: company, NewCredential(name: name, type: type, scope: scope, redirectURIs: redirectURIs ?? [],
                                                                expiresAt: expiresAt), actor: actor)
    }

    public func response(_ issued: CredLedger.IssuedCredential) -> API.IssuedCredential { API.IssuedCredential(issued) }
}

extension API.RotateSecretRequest: CommandRequest {
    public typealias Response = API.IssuedCredential

    public func command(_ ledger: Ledger) throws -> RotateSecret {
        RotateSecret(company: company, credential: id, grace: try graceMicroseconds(), actor: actor)
    }

    /// The grace as µs (0 = the old secret stops now).
    public func graceMicroseconds() throws -> Int64 {
        guard let grace = TimeFormat.parseDuration(grace) else { throw API.invalid("grace takes a duration like 0, 30m, 24h, 7d, not '\(grace)'") }
        return grace
    }

    /// `old_tokens` says what happened to the tokens obtained with the old secret (a static key has none).
    public func response(_ issued: CredLedger.IssuedCredential) -> API.IssuedCredential {
        let revoked = (try? graceMicroseconds()) == 0
        return API.IssuedCredential(issued, oldTokens: issued.type != .staticKey ? (revoked ? "revoked" : "end_with_grace") : nil)
    }
}

extension API.DeleteCredentialRequest: CommandRequest {
    public typealias Response = API.DeleteCredentialResult

    public func command(_ ledger: Ledger) throws -> DeleteCredential {
        DeleteCredential(company: company, credential: id, actor: actor)
    }

    public func response(_: Void) -> API.DeleteCredentialResult { API.DeleteCredentialResult(id: id) }
}

extension API {
    /// `access grant`: an `AccessRequest` (with its `role`) answered with an `AccessResult`.
    public struct GrantAccessOperation: CommandRequest {
        public typealias Response = AccessResult

        public var request: AccessRequest

        public init(_ request: AccessRequest) { self.request = request }

        public func command(_ ledger: Ledger) throws -> GrantAccess {
            let name = request.role ?? ""
            guard let role = ProjectRole(name: name) else { throw API.invalid("role must be viewer, editor or project-admin, not '\(name)'") }
            return GrantAccess(company: request.company, credential: request.id, project: request.project, role: role, actor: request.actor)
        }

        public func response(_ outcome: GrantOutcome) -> AccessResult {
            AccessResult(id: request.id, project: request.project, role: request.role.flatMap(ProjectRole.init(name:))?.name, result: outcome.rawValue)
        }
    }

    /// `access revoke`: an `AccessRequest` (no role) answered with an `AccessResult` (`revoked`).
    public struct RevokeAccessOperation: CommandRequest {
        public typealias Response = AccessResult

        public var request: AccessRequest

        public init(_ request: AccessRequest) { self.request = request }

        public func command(_ ledger: Ledger) throws -> RevokeAccess {
            RevokeAccess(company: request.company, credential: request.id, project: request.project, actor: request.actor)
        }

        public func response(_: Void) -> AccessResult { AccessResult(id: request.id, project: request.project, result: "revoked") }
    }

    /// `key list`: a company's credentials (admins only), live or as of a point; deleted ones when `all`.
    public struct CredentialListRequest: ReadRequest, Codable, Equatable {
        public typealias Response = [Credential]

        public var company: String
        public var actor: String
        public var all: Bool?
        public var at: String?
        public var seq: UInt64?

        enum CodingKeys: String, CodingKey {
            case company, all, at, seq, actor = "as"
        }

        public init(company: String, actor: String, all: Bool? = nil, at: String? = nil, seq: UInt64? = nil) {
            (self.company, self.actor, self.all, self.at, self.seq) = (company, actor, all, at, seq)
        }

        public func read(_ ledger: Ledger) throws -> [Credential] {
            let rows = if let point = try AsOfQuery(at: at, seq: seq).point() {
                try ledger.audit.credentialTable(company, as: actor, includeDeleted: all ?? false, asOf: point)
            } else {
                try ledger.audit.credentialTable(company, as: actor, includeDeleted: all ?? false)
            }
            return rows.map(Credential.init)
        }
    }

    /// `key show`: one credential in detail (admins only; never its secret).
    public struct CredentialDetailRequest: ReadRequest, Codable, Equatable {
        public typealias Response = Credential

        public var company: String
        public var id: String
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, id, actor = "as"
        }

        public init(company: String, id: String, actor: String) {
            (self.company, self.id, self.actor) = (company, id, actor)
        }

        public func read(_ ledger: Ledger) throws -> Credential {
            Credential(try ledger.audit.credentialDetail(company, credential: id, as: actor))
        }
    }
}
