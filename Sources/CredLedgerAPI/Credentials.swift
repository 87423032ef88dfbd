/// The API keys page: credentials and their project access.
extension API {
    /// Create an API key or OAuth client (`key create`). `type`: static, oauth, pkce, pkce-public; `scope`: read,
    /// read-write, global.
    public struct CreateCredentialRequest: Codable, Sendable, Equatable {
        public var company: String
        public var name: String
        public var type: String
        public var scope: String
        /// Exact redirect URIs (PKCE types).
        public var redirectURIs: [String]?
        /// Lifetime, as a duration like `90d`.
        public var expiresIn: String?
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, name, type, scope, actor = "as"
            case redirectURIs = "redirect_uris"
            case expiresIn = "expires_in"
        }

        public init(company: String, name: String, type: String, scope: String, redirectURIs: [String]? = nil,
                    expiresIn: String? = nil, actor: String) {
            (self.company, self.name, self.type, self.scope) = (company, name, type, scope)
            (self.redirectURIs, self.expiresIn, self.actor) = (redirectURIs, expiresIn, actor)
        }
    }

    /// A created or rotated credential with its new secret, shown once (`key create`, `key rotate`).
    public struct IssuedCredential: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var type: String
        public var scope: String
        /// The API user the credential acts as (absent for PKCE types: they act as the approving user).
        public var serviceUser: String?
        /// A static key's secret.
        public var secret: String?
        /// An OAuth client's id.
        public var clientID: String?
        /// A confidential OAuth client's secret.
        public var clientSecret: String?
        /// Only in `key rotate` of an OAuth type: `revoked` (grace 0) or `end_with_grace`.
        public var oldTokens: String?

        enum CodingKeys: String, CodingKey {
            case id, name, type, scope, secret
            case serviceUser = "service_user"
            case clientID = "client_id"
            case clientSecret = "client_secret"
            case oldTokens = "old_tokens"
        }

        public init(id: String, name: String, type: String, scope: String, serviceUser: String? = nil, secret: String? = nil,
                    clientID: String? = nil, clientSecret: String? = nil, oldTokens: String? = nil) {
            (self.id, self.name, self.type, self.scope, self.serviceUser) = (id, name, type, scope, serviceUser)
            (self.secret, self.clientID, self.clientSecret, self.oldTokens) = (secret, clientID, clientSecret, oldTokens)
        }
    }

    /// A project the credential's API user was added to.
    public struct ProjectGrant: Codable, Sendable, Equatable {
        public var project: String
        public var role: String

        public init(project: String, role: String) {
            (self.project, self.role) = (project, role)
        }
    }

    /// One credential, never its secret (`key list` rows, `key show`).
    public struct Credential: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var scope: String
        /// The table's label: READ ONLY, READ & WRITE, GLOBAL.
        public var scopeLabel: String
        public var type: String
        @AlwaysPresent public var lastUsed: String?
        public var used: UInt64
        public var denied: UInt64
        @AlwaysPresent public var createdAt: String?
        public var createdBy: String
        public var deleted: Bool
        /// Present only for a deleted credential.
        public var deletedAt: String?
        /// `active`, `expired` or `deleted`.
        public var status: String
        @AlwaysPresent public var expiresAt: String?
        public var projects: [ProjectGrant]
        /// A static key's public prefix (exactly one of `key_prefix` and `client_id` is present).
        public var keyPrefix: String?
        /// An OAuth client's id.
        public var clientID: String?
        public var serviceUser: String?

        enum CodingKeys: String, CodingKey {
            case id, name, scope, type, used, denied, deleted, status, projects
            case scopeLabel = "scope_label"
            case lastUsed = "last_used"
            case createdAt = "created_at"
            case createdBy = "created_by"
            case deletedAt = "deleted_at"
            case expiresAt = "expires_at"
            case keyPrefix = "key_prefix"
            case clientID = "client_id"
            case serviceUser = "service_user"
        }

        public init(id: String, name: String, scope: String, scopeLabel: String, type: String, lastUsed: String?, used: UInt64,
                    denied: UInt64, createdAt: String?, createdBy: String, deleted: Bool, deletedAt: String? = nil, status: String,
                    expiresAt: String?, projects: [ProjectGrant], keyPrefix: String? = nil, clientID: String? = nil,
                    serviceUser: String? = nil) {
            (self.id, self.name, self.scope, self.scopeLabel, self.type) = (id, name, scope, scopeLabel, type)
            (self.lastUsed, self.used, self.denied, self.createdAt, self.createdBy) = (lastUsed, used, denied, createdAt, createdBy)
            (self.deleted, self.deletedAt, self.status, self.expiresAt, self.projects) = (deleted, deletedAt, status, expiresAt, projects)
            (self.keyPrefix, self.clientID, self.serviceUser) = (keyPrefix, clientID, serviceUser)
        }
    }

    /// Issue a new secret; the old one works for `grace` (a duration like `24h`, `0` = stop now) (`key rotate`).
    public struct RotateSecretRequest: Codable, Sendable, Equatable {
        public var company: String
        public var id: String
        public var grace: String
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, id, grace, actor = "as"
        }

        public init(company: String, id: String, grace: String, actor: String) {
            (self.company, self.id, self.grace, self.actor) = (company, id, grace, actor)
        }
    }

    /// Delete (revoke) a credential now (`key delete`).
    public struct DeleteCredentialRequest: Codable, Sendable, Equatable {
        public var company: String
        public var id: String
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, id, actor = "as"
        }

        public init(company: String, id: String, actor: String) {
            (self.company, self.id, self.actor) = (company, id, actor)
        }
    }

    /// `deleted` is always true (a refused delete answers an `ErrorBody`).
    public struct DeleteCredentialResult: Codable, Sendable, Equatable {
        public var id: String
        public var deleted: Bool

        public init(id: String, deleted: Bool = true) {
            (self.id, self.deleted) = (id, deleted)
        }
    }

    /// Add the credential's API user to a project with a role (`access grant`), or remove it (`access revoke`,
    /// `role` absent).
    public struct AccessRequest: Codable, Sendable, Equatable {
        public var company: String
        public var id: String
        public var project: String
        /// `viewer`, `editor` or `project-admin`; absent to revoke.
        public var role: String?
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, id, project, role, actor = "as"
        }

        public init(company: String, id: String, project: String, role: String? = nil, actor: String) {
            (self.company, self.id, self.project, self.role, self.actor) = (company, id, project, role, actor)
        }
    }

    /// The outcome of `access grant` (`result`: granted, changed, unchanged; `role` present) or `access revoke`
    /// (`result`: revoked; no `role`).
    public struct AccessResult: Codable, Sendable, Equatable {
        public var id: String
        public var project: String
        public var role: String?
        public var result: String

        public init(id: String, project: String, role: String? = nil, result: String) {
            (self.id, self.project, self.role, self.result) = (id, project, role, result)
        }
    }
}
