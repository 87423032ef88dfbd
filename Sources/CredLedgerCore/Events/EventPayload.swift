/// The typed body of an event. Field layouts are in docs/FORMAT.md; the codec is EventCodec.
///
/// The large, rare payloads are `indirect` (boxed): an `Event` is then 81 bytes, not 192, so the replay, rebuild and
/// writer paths, which move millions of `credential_used` events, copy a fifth of the bytes per event.
public enum EventPayload: Equatable, Sendable {
    case companyRegistered(slug: String, name: String, mailDomain: String)
    case apiModuleEnabled
    case apiModuleDisabled
    case memberRoleSet(user: UInt32, email: String, role: CompanyRole)
    case projectCreated(project: UInt32, slug: String, name: String)
    case projectArchived(project: UInt32)
    indirect case credentialCreated(CredentialCreated)
    indirect case secretRotated(credential: UInt32, secretHash: SHA256Digest, displayPrefix: String, graceUntil: Timestamp)
    case credentialDeleted(credential: UInt32)
    case projectAccessGranted(credential: UInt32, project: UInt32, role: ProjectRole)
    case projectAccessChanged(credential: UInt32, project: UInt32, role: ProjectRole)
    case projectAccessRevoked(credential: UInt32, project: UInt32)
    /// A company user's own project role (used by PKCE credentials); nil role removes it.
    case userProjectRoleSet(user: UInt32, project: UInt32, role: ProjectRole?)
    indirect case consentGiven(ConsentGiven)
    indirect case tokenIssued(TokenIssued)
    indirect case tokenRefreshed(TokenRefreshed)
    indirect case tokenRevoked(TokenRevoked)
    case credentialUsed(CredentialUse)
    case oauthRequestDenied(credential: UInt32, user: UInt32, grant: GrantKind, reason: DenialReason)
    /// An approved, unredeemed authorization code was ended (its user was removed from the company).
    indirect case codeRevoked(CodeRevoked)
    /// An operator's `rebuild` accepted a log whose projection checkpoints disagreed with its head (a cut or forged tail).
    case logAccepted(LogAccepted)

    public var type: EventType {
        switch self {
        case .companyRegistered: .companyRegistered
        case .apiModuleEnabled: .apiModuleEnabled
        case .apiModuleDisabled: .apiModuleDisabled
        case .memberRoleSet: .memberRoleSet
        case .projectCreated: .projectCreated
        case .projectArchived: .projectArchived
        case .credentialCreated: .credentialCreated
        case .secretRotated: .secretRotated
        case .credentialDeleted: .credentialDeleted
        case .projectAccessGranted: .projectAccessGranted
        case .projectAccessChanged: .projectAccessChanged
        case .projectAccessRevoked: .projectAccessRevoked
        case .userProjectRoleSet: .userProjectRoleSet
        case .consentGiven: .consentGiven
        case .tokenIssued: .tokenIssued
        case .tokenRefreshed: .tokenRefreshed
        case .tokenRevoked: .tokenRevoked
        case .credentialUsed: .credentialUsed
        case .oauthRequestDenied: .oauthRequestDenied
        case .codeRevoked: .codeRevoked
        case .logAccepted: .logAccepted
        }
    }

    /// The schema version this payload is written with (byte 2): the type's current one, except that `consent_given`
    /// and `token_issued` without a resource keep schema 1, so that their bytes are those of every earlier writer.
    public var schema: UInt8 {
        switch self {
        case .consentGiven(let c): c.resource == nil ? 1 : 2
        case .tokenIssued(let t): t.resource == nil ? 1 : 2
        default: type.currentSchema
        }
    }

    /// The credential the event is about, if any (for the credential index).
    public var credential: UInt32? {
        switch self {
        case .credentialCreated(let c): c.credential
        case .secretRotated(let c, _, _, _), .credentialDeleted(let c),
             .projectAccessGranted(let c, _, _), .projectAccessChanged(let c, _, _), .projectAccessRevoked(let c, _):
            c
        case .consentGiven(let c): c.credential
        case .tokenIssued(let t): t.credential
        case .tokenRefreshed(let t): t.credential
        case .tokenRevoked(let t): t.credential
        case .credentialUsed(let u): u.credential == 0 ? nil : u.credential
        case .oauthRequestDenied(let c, _, _, _): c == 0 ? nil : c
        case .codeRevoked(let c): c.credential
        default: nil
        }
    }

    /// The project the event is about, if any (for the project index).
    public var project: UInt32? {
        switch self {
        case .projectCreated(let p, _, _), .projectArchived(let p),
             .projectAccessGranted(_, let p, _), .projectAccessChanged(_, let p, _), .projectAccessRevoked(_, let p),
             .userProjectRoleSet(_, let p, _):
            p
        case .credentialUsed(let u): u.project == 0 ? nil : u.project
        default: nil
        }
    }
}

/// Payload of `credential_created`. Holds the secret's SHA-256, never the secret.
public struct CredentialCreated: Equatable, Sendable {
    public var credential: UInt32
    public var type: CredentialType
    public var scope: Scope
    public var publicID: String
    public var name: String
    /// `apiservice+<id>@<domain>` for static and OAuth API users; empty for PKCE types.
    public var serviceUser: String
    /// Non-secret prefix of a static key, shown in the table.
    public var displayPrefix: String
    /// OAuth client id; empty for static keys.
    public var clientID: String
    public var secretHash: SHA256Digest?
    /// 0 = never.
    public var expiresAt: Timestamp
    public var redirectURIs: [String]

    public init(credential: UInt32, type: CredentialType, scope: Scope, publicID: String, name: String,
                serviceUser: String, displayPrefix: String, clientID: String, secretHash: SHA256Digest?,
                expiresAt: Timestamp, redirectURIs: [String]) {
        self.credential = credential
        self.type = type
        self.scope = scope
        self.publicID = publicID
        self.name = name
        self.serviceUser = serviceUser
        self.displayPrefix = displayPrefix
        self.clientID = clientID
        self.secretHash = secretHash
        self.expiresAt = expiresAt
        self.redirectURIs = redirectURIs
    }
}

/// How a token was obtained.
public enum GrantKind: UInt8, Sendable, CaseIterable {
    case none = 0
    case clientCredentials = 1
    case authorizationCode = 2
    case refreshToken = 3
    case authorize = 4
    /// Token introspection (RFC 7662): only its denials are recorded.
    case introspection = 5
    /// Token revocation (RFC 7009).
    case revocation = 6

    public var name: String {
        switch self {
        case .none: "none"
        case .clientCredentials: "client_credentials"
        case .authorizationCode: "authorization_code"
        case .refreshToken: "refresh_token"
        case .authorize: "authorize"
        case .introspection: "introspection"
        case .revocation: "revocation"
        }
    }
}

/// Payload of `consent_given`: a user approved a PKCE client; an authorization code was issued.
public struct ConsentGiven: Equatable, Sendable {
    public var credential: UInt32
    public var user: UInt32
    public var codeHash: SHA256Digest
    /// The S256 code challenge (32 bytes, base64url-decoded).
    public var challenge: SHA256Digest
    public var redirectURI: String
    public var expiresAt: Timestamp
    /// The RFC 8707 resource the code is for (never empty); schema 2, written only when present.
    public var resource: String?

    public init(credential: UInt32, user: UInt32, codeHash: SHA256Digest, challenge: SHA256Digest, redirectURI: String, expiresAt: Timestamp,
                resource: String? = nil) {
        self.credential = credential
        self.user = user
        self.codeHash = codeHash
        self.challenge = challenge
        self.redirectURI = redirectURI
        self.expiresAt = expiresAt
        self.resource = resource
    }
}

/// Payload of `token_issued`; the token family id is this event's sequence number.
public struct TokenIssued: Equatable, Sendable {
    public var credential: UInt32
    /// The approving user for PKCE grants, 0 for a service user.
    public var user: UInt32
    public var grant: GrantKind
    public var accessHash: SHA256Digest
    public var accessExpiresAt: Timestamp
    public var refreshHash: SHA256Digest?
    public var refreshExpiresAt: Timestamp
    public var codeHash: SHA256Digest?
    /// The RFC 8707 resource the family's tokens are bound to (never empty); schema 2, written only when present.
    public var resource: String?

    public init(credential: UInt32, user: UInt32, grant: GrantKind, accessHash: SHA256Digest, accessExpiresAt: Timestamp,
                refreshHash: SHA256Digest?, refreshExpiresAt: Timestamp, codeHash: SHA256Digest?, resource: String? = nil) {
        self.resource = resource
        self.credential = credential
        self.user = user
        self.grant = grant
        self.accessHash = accessHash
        self.accessExpiresAt = accessExpiresAt
        self.refreshHash = refreshHash
        self.refreshExpiresAt = refreshExpiresAt
        self.codeHash = codeHash
    }
}

/// Payload of `token_refreshed`: a refresh token was spent for a new pair in the same family.
public struct TokenRefreshed: Equatable, Sendable {
    public var credential: UInt32
    public var family: UInt64
    public var spentRefreshHash: SHA256Digest
    public var accessHash: SHA256Digest
    public var accessExpiresAt: Timestamp
    public var refreshHash: SHA256Digest
    public var refreshExpiresAt: Timestamp

    public init(credential: UInt32, family: UInt64, spentRefreshHash: SHA256Digest, accessHash: SHA256Digest,
                accessExpiresAt: Timestamp, refreshHash: SHA256Digest, refreshExpiresAt: Timestamp) {
        self.credential = credential
        self.family = family
        self.spentRefreshHash = spentRefreshHash
        self.accessHash = accessHash
        self.accessExpiresAt = accessExpiresAt
        self.refreshHash = refreshHash
        self.refreshExpiresAt = refreshExpiresAt
    }
}

/// Payload of `token_revoked`.
public struct TokenRevoked: Equatable, Sendable {
    public enum Reason: UInt8, Sendable {
        case clientRequest = 1
        /// A spent refresh token was reused: the whole family is revoked.
        case refreshReuse = 2
        /// An authorization code was replayed: the tokens issued from it are revoked.
        case codeReuse = 3
        /// The approving user was removed from the company: every token of theirs there ends.
        case userRemoved = 4

        /// The name exports print (docs/FORMAT.md §5.8).
        public var name: String {
            switch self {
            case .clientRequest: "client_request"
            case .refreshReuse: "refresh_token_reused"
            case .codeReuse: "code_reused"
            case .userRemoved: "user_removed"
            }
        }
    }

    public var credential: UInt32
    public var family: UInt64
    /// The token presented; the whole family is revoked when `wholeFamily`.
    public var tokenHash: SHA256Digest
    public var wholeFamily: Bool
    public var reason: Reason

    public init(credential: UInt32, family: UInt64, tokenHash: SHA256Digest, wholeFamily: Bool, reason: Reason) {
        self.credential = credential
        self.family = family
        self.tokenHash = tokenHash
        self.wholeFamily = wholeFamily
        self.reason = reason
    }
}

/// Payload of `log_accepted`: the log as it stood (its head) was accepted by an operator's rebuild although the
/// projections' checkpoints said it went elsewhere — the durable trace of what `verify` had reported, so that the
/// acceptance of a cut (or of events appended behind the writer's back) is itself in the chain.
public struct LogAccepted: Equatable, Sendable {
    /// The last seq of the log that was accepted (this event's seq − 1).
    public var logHead: UInt64
    /// Where the checkpoints stood: above `logHead` when events were missing at the tail, below it when the log held
    /// events the projections lacked.
    public var checkpoints: UInt64

    public init(logHead: UInt64, checkpoints: UInt64) {
        self.logHead = logHead
        self.checkpoints = checkpoints
    }
}

/// Payload of `code_revoked`: an authorization code that was approved but not redeemed can no longer be exchanged.
public struct CodeRevoked: Equatable, Sendable {
    public var credential: UInt32
    /// The user who approved the code.
    public var user: UInt32
    public var codeHash: SHA256Digest
    public var reason: TokenRevoked.Reason

    public init(credential: UInt32, user: UInt32, codeHash: SHA256Digest, reason: TokenRevoked.Reason) {
        self.credential = credential
        self.user = user
        self.codeHash = codeHash
        self.reason = reason
    }
}

/// Payload of `credential_used`: one authorization answer. 10 bytes on disk, 14 with a target company.
public struct CredentialUse: Equatable, Sendable {
    /// 0 when the presented secret matched no credential.
    public var credential: UInt32
    /// 0 when the project is unknown (or belongs to `targetCompany`).
    public var project: UInt32
    public var operation: Operation
    /// nil = allowed.
    public var denial: DenialReason?
    /// The company the credential was presented to, when that is not the event's company (the credential's
    /// own); 0 for a use in the event's company. Schema 2; schema-1 records upcast to 0.
    public var targetCompany: UInt32

    public init(credential: UInt32, project: UInt32, operation: Operation, denial: DenialReason?, targetCompany: UInt32 = 0) {
        self.credential = credential
        self.project = project
        self.operation = operation
        self.denial = denial
        self.targetCompany = targetCompany
    }

    public var allowed: Bool { denial == nil }
}
