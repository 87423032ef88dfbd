import CredLedgerCore
import Foundation
import CredLedgerProjections

/// An OAuth error response (RFC 6749 §5.2): the RFC's `error`, our specific reason, and the fix.
/// The failed request is recorded in the log (`oauth_request_denied`) before this is thrown.
public struct OAuthError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: DenialReason

    /// The RFC 6749 / 7009 error code.
    public var error: String {
        switch reason {
        case .invalidClient, .unknownCredential, .revoked: "invalid_client"
        case .unauthorizedClient, .wrongCredentialType, .apiModuleDisabled, .expired: "unauthorized_client"
        case .invalidRequest, .unsupportedChallengeMethod, .malformedHeader, .badChecksum: "invalid_request"
        case .accessDenied, .userNotMember, .reservedIdentity: "access_denied"
        case .unsupportedTokenType: "unsupported_token_type"
        case .invalidTarget: "invalid_target"
        default: "invalid_grant"
        }
    }

    public var description: String { "\(error) (\(reason.code)): \(reason.fix)" }
}

/// A token endpoint success response (RFC 6749 §5.1). The tokens are shown once.
public struct TokenResponse: Sendable {
    public var accessToken: String
    public var tokenType = "Bearer"
    public var expiresIn: Int64
    public var refreshToken: String?
    public var scope: String
}

/// The result of an approved authorization request.
public struct AuthorizationGrant: Sendable {
    public var code: String
    public var state: String?
    public var redirectURI: String
    /// `redirect_uri?code=…&state=…`.
    public var location: String
}

/// RFC 7662 introspection response.
public struct Introspection: Sendable {
    public var active: Bool
    public var clientID: String?
    public var credentialID: String?
    /// The service user or the approving user.
    public var username: String?
    public var scope: String?
    public var tokenType: String?
    public var expiresAt: Timestamp?
    public var issuedAt: Timestamp?
    /// The RFC 8707 resource the token is bound to (RFC 7662 `aud`), nil when unbound.
    public var audience: String? = nil
}

/// One OAuth step run as a command: a denial is recorded as an `oauth_request_denied` event (plus what it triggers), then
/// thrown to the caller as `OAuthError`.
protocol OAuthStep: LedgerCommand {
    /// The grant named in a denial event.
    static var grant: GrantKind { get }
    /// Decides the step; an `OAuthDenial` becomes the recorded refusal.
    func step(_ ctx: inout BatchContext, _ attempt: inout Ledger.OAuthAttempt) throws -> Result
}

extension OAuthStep {
    /// `decide` for an OAuth step: runs `step`; a denial replaces whatever it staged with the denial's events.
    func decideRecordingDenial(_ ctx: inout BatchContext) throws -> Result {
        var attempt = Ledger.OAuthAttempt()
        do {
            return try step(&ctx, &attempt)
        } catch let denial as Ledger.OAuthDenial {
            ctx.staged.removeAll()
            ctx.emit(company: attempt.company, actor: attempt.credential == 0 ? .system : .credential(attempt.credential),
                     .oauthRequestDenied(credential: attempt.credential, user: attempt.user, grant: Self.grant, reason: denial.reason))
            for extra in denial.alsoEmit { ctx.emit(company: attempt.company, actor: .system, extra) }
            throw RecordedRefusal(OAuthError(reason: denial.reason))
        }
    }
}

extension Ledger {
    /// Who the attempt is about, for the denial event.
    struct OAuthAttempt {
        var company: UInt32 = 0
        var credential: UInt32 = 0
        var user: UInt32 = 0
        /// The end of the rotation grace period of the client secret presented (0 = the current secret, or none).
        var graceEnd: Timestamp = 0

        /// A token's expiry: `now + lifetime`, but a token obtained with a secret in its grace period ends with it.
        func expiry(_ now: Timestamp, _ lifetime: Int64) -> Timestamp {
            graceEnd == 0 ? now + lifetime : min(now + lifetime, graceEnd)
        }
    }

    struct OAuthDenial: Error {
        var reason: DenialReason
        var alsoEmit: [EventPayload] = []
        init(_ reason: DenialReason, alsoEmit: [EventPayload] = []) {
            self.reason = reason
            self.alsoEmit = alsoEmit
        }
    }

    /// Finds the client and authenticates it: confidential clients need their secret, public ones must not send one.
    /// `requireModule: false` (revocation only): a client may end its own tokens while its company's API module is off,
    /// so that they do not come back when the module is enabled again.
    static func authenticateClient(_ clientID: String, secret: String?, ctx: BatchContext, attempt: inout OAuthAttempt,
                                           allowed: Set<CredentialType>, requireModule: Bool = true) throws -> CredentialRecord {
        guard clientID.utf8.count <= 64, let client = try ctx.state.credential(clientID: clientID) else { throw OAuthDenial(.invalidClient) }
        attempt.company = client.company
        attempt.credential = client.number
        if client.type.hasSecret {
            guard let secret, SecretFormat.validate(secret, expecting: [.clientSecret]).problem == nil,
                  let entry = try ctx.state.secret(hash: SecretFormat.hash(secret)), entry.credential == client.number
            else { throw OAuthDenial(.invalidClient) }
            if entry.validUntil != 0 && ctx.now >= entry.validUntil { throw OAuthDenial(.invalidClient) }
            attempt.graceEnd = entry.validUntil
        } else if secret != nil {
            throw OAuthDenial(.invalidClient)
        }
        guard !client.deleted else { throw OAuthDenial(.revoked) }
        if client.expiresAt != 0 && ctx.now >= client.expiresAt { throw OAuthDenial(.expired) }
        guard allowed.contains(client.type) else { throw OAuthDenial(.unauthorizedClient) }
        if requireModule {
            guard let company = try ctx.state.company(client.company), company.apiEnabled else { throw OAuthDenial(.apiModuleDisabled) }
        }
        return client
    }

    /// A requested RFC 8707 resource: nil when absent, else it must be a valid resource URI (`invalid_target`).
    static func requestedResource(_ resource: String?) throws -> String? {
        guard let resource else { return nil }
        guard ResourceURI.isValid(resource) else { throw OAuthDenial(.invalidTarget) }
        return resource
    }

    /// A new token of `kind` and its hash.
    static func newToken(_ kind: SecretKind, _ ctx: BatchContext) throws -> (String, SHA256Digest) {
        try ctx.drawCheckedSecret(kind)
    }

    /// The access + refresh pair of a code exchange or a refresh: drawn first (the random stream's order is part of a
    /// seeded ledger's bytes), its expiries capped by the authenticating secret's grace end, its response shown once.
    struct TokenPair {
        let access: String, accessHash: SHA256Digest
        let refresh: String, refreshHash: SHA256Digest

        init(_ ctx: BatchContext) throws {
            (access, accessHash) = try Ledger.newToken(.accessToken, ctx)
            (refresh, refreshHash) = try Ledger.newToken(.refreshToken, ctx)
        }

        func accessExpiresAt(_ ctx: BatchContext, _ attempt: OAuthAttempt) -> Timestamp { attempt.expiry(ctx.now, ctx.lifetimes.accessToken) }
        func refreshExpiresAt(_ ctx: BatchContext, _ attempt: OAuthAttempt) -> Timestamp { attempt.expiry(ctx.now, ctx.lifetimes.refreshToken) }

        func response(_ ctx: BatchContext, _ attempt: OAuthAttempt, scope: Scope) -> TokenResponse {
            TokenResponse(accessToken: access, expiresIn: (accessExpiresAt(ctx, attempt) - ctx.now) / 1_000_000, refreshToken: refresh,
                          scope: scope.name)
        }
    }

    /// What `client` may learn about `token`: active only if the token was issued to that client, is known, unexpired,
    /// not revoked, and its credential and company are alive.
    static func introspection<S>(of token: String, for client: CredentialRecord, state: StateReader<S>,
                                         now: Timestamp) throws -> Introspection {
        let inactive = Introspection(active: false)
        guard SecretFormat.validate(token, expecting: [.accessToken, .refreshToken]).problem == nil,
              let record = try state.token(hash: SecretFormat.hash(token)), record.credential == client.number,
              record.status == .active, now < record.expiresAt,
              let credential = try state.credential(record.credential), !credential.deleted,
              credential.expiresAt == 0 || now < credential.expiresAt,
              let company = try state.company(credential.company), company.apiEnabled
        else { return inactive }
        let username = record.user == 0 ? credential.serviceUser : try state.email(user: record.user)
        return Introspection(active: true, clientID: credential.clientID, credentialID: credential.publicID, username: username,
                             scope: credential.scope.name, tokenType: record.kind == .access ? "access_token" : "refresh_token",
                             expiresAt: record.expiresAt, issuedAt: record.issuedAt,
                             audience: try state.resource(credential: record.credential, family: record.family))
    }
}

/// What a revocation request did (RFC 7009 answers all three with HTTP 200; the CLI says which).
public enum RevocationOutcome: String, Sendable {
    /// The token (and, for a refresh token, its family) was revoked now: a `token_revoked` event.
    case revoked
    /// The client's own token was already spent, revoked or expired (for a refresh token: with nothing of its family
    /// left alive): nothing to do, no event.
    case alreadyInactive = "already_inactive"
    /// No token with this value exists (or the text is not a token at all): nothing to do, no event.
    case unknown = "unknown_token"
}

extension Introspection {
    init(active: Bool) {
        self.init(active: active, clientID: nil, credentialID: nil, username: nil, scope: nil, tokenType: nil, expiresAt: nil, issuedAt: nil,
                  audience: nil)
    }
}

// MARK: - The OAuth commands (one per step; `Ledger.OAuth` holds their blocking and async wrappers)

/// client_credentials grant (RFC 6749 §4.4) for OAuth API users: an access token, no refresh token.
public struct ClientCredentialsGrant: LedgerCommand, OAuthStep {
    public var clientID: String, clientSecret: String
    /// The RFC 8707 resource the token is for (bound to it, returned as `aud` by introspection); nil = unbound.
    public var resource: String?
    public init(clientID: String, clientSecret: String, resource: String? = nil) {
        (self.clientID, self.clientSecret, self.resource) = (clientID, clientSecret, resource)
    }
    static var grant: GrantKind { .clientCredentials }

    public func decide(_ ctx: inout BatchContext) throws -> TokenResponse { try decideRecordingDenial(&ctx) }

    func step(_ ctx: inout BatchContext, _ attempt: inout Ledger.OAuthAttempt) throws -> TokenResponse {
        let (access, accessHash) = try Ledger.newToken(.accessToken, ctx)
        let client = try Ledger.authenticateClient(clientID, secret: clientSecret, ctx: ctx, attempt: &attempt, allowed: [.oauth])
        let resource = try Ledger.requestedResource(resource)
        let expiresAt = attempt.expiry(ctx.now, ctx.lifetimes.accessToken)
        ctx.emit(company: client.company, actor: .credential(client.number), .tokenIssued(TokenIssued(
            credential: client.number, user: 0, grant: .clientCredentials, accessHash: accessHash,
            accessExpiresAt: expiresAt, refreshHash: nil, refreshExpiresAt: 0, codeHash: nil, resource: resource)))
        return TokenResponse(accessToken: access, expiresIn: (expiresAt - ctx.now) / 1_000_000, refreshToken: nil, scope: client.scope.name)
    }
}

/// The OAuth consent (RFC 6749 §4.1.1 + RFC 7636): `user` approves the PKCE client and gets a single-use code; the
/// consent is an event. (Today's `Ledger.oauth.approveClient(company:clientID:…)`.)
public struct ApproveClient: LedgerCommand, OAuthStep {
    public var company: String, clientID: String, user: String, redirectURI: String
    public var codeChallenge: String, codeChallengeMethod: String, state: String?
    /// The RFC 8707 resource of the authorization request, kept with the code; nil = none.
    public var resource: String?
    public init(company: String, clientID: String, user: String, redirectURI: String, codeChallenge: String,
                codeChallengeMethod: String, state: String?, resource: String? = nil) {
        (self.company, self.clientID, self.user, self.redirectURI) = (company, clientID, user, redirectURI)
        (self.codeChallenge, self.codeChallengeMethod, self.state, self.resource) = (codeChallenge, codeChallengeMethod, state, resource)
    }
    static var grant: GrantKind { .authorize }

    public func decide(_ ctx: inout BatchContext) throws -> AuthorizationGrant { try decideRecordingDenial(&ctx) }

    func step(_ ctx: inout BatchContext, _ attempt: inout Ledger.OAuthAttempt) throws -> AuthorizationGrant {
        typealias OAuthDenial = Ledger.OAuthDenial
        let (code, codeHash) = try Ledger.newToken(.authorizationCode, ctx)
        let email = user
        guard let client = try ctx.state.credential(clientID: clientID) else { throw OAuthDenial(.invalidClient) }
        attempt.company = client.company
        attempt.credential = client.number
        guard let company = try ctx.state.company(slug: self.company), company.number == client.company else { throw OAuthDenial(.invalidClient) }
        guard !client.deleted else { throw OAuthDenial(.revoked) }
        if client.expiresAt != 0 && ctx.now >= client.expiresAt { throw OAuthDenial(.expired) }
        guard client.type.isUserDelegated else { throw OAuthDenial(.unauthorizedClient) }
        // Exact, except a loopback IP redirect URI, which matches with any port (RFC 8252 §7.3). The URI as
        // requested (with the port actually used) is kept with the code, and the exchange must repeat it exactly.
        guard client.redirectURIs.contains(where: { RedirectURI.matches(registered: $0, requested: redirectURI) }) else {
            throw OAuthDenial(.redirectURIMismatch)
        }
        guard codeChallengeMethod == "S256" else { throw OAuthDenial(.unsupportedChallengeMethod) }
        guard let challenge = PKCE.decodeChallenge(codeChallenge) else { throw OAuthDenial(.invalidRequest) }
        guard (state?.utf8.count ?? 0) <= 512 else { throw OAuthDenial(.invalidRequest) }
        let resource = try Ledger.requestedResource(resource)
        guard company.apiEnabled else { throw OAuthDenial(.apiModuleDisabled) }
        // A service user never approves, even one an older version made a member.
        guard !Validation.isReservedIdentity(email) else {
            attempt.user = try ctx.state.user(email: email) ?? 0
            throw OAuthDenial(.reservedIdentity)
        }
        guard let user = try ctx.state.user(email: email) else { throw OAuthDenial(.accessDenied) }
        attempt.user = user
        guard let member = try ctx.state.member(company: company.number, user: user), member.role != .removed else {
            throw OAuthDenial(.accessDenied)
        }
        ctx.emit(company: company.number, actor: .user(user), .consentGiven(ConsentGiven(
            credential: client.number, user: user, codeHash: codeHash, challenge: challenge, redirectURI: redirectURI,
            expiresAt: ctx.now + ctx.lifetimes.authorizationCode, resource: resource)))
        var location = redirectURI + (redirectURI.contains("?") ? "&" : "?") + "code=" + code
        if let state { location += "&state=" + (state.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
        return AuthorizationGrant(code: code, state: state, redirectURI: redirectURI, location: location)
    }
}

/// The user said no on the consent page: recorded like any refused authorization request (`oauth_request_denied`,
/// reason `access_denied`, the user named when known), then thrown as `OAuthError` (`access_denied`).
public struct DenyClient: LedgerCommand, OAuthStep {
    public var clientID: String, user: String
    public init(clientID: String, user: String) { (self.clientID, self.user) = (clientID, user) }
    static var grant: GrantKind { .authorize }

    /// Never returns: the denial is its only outcome.
    public func decide(_ ctx: inout BatchContext) throws { try decideRecordingDenial(&ctx) }

    func step(_ ctx: inout BatchContext, _ attempt: inout Ledger.OAuthAttempt) throws {
        if let client = try ctx.state.credential(clientID: clientID) {
            attempt.company = client.company
            attempt.credential = client.number
        }
        attempt.user = try ctx.state.user(email: user) ?? 0
        throw Ledger.OAuthDenial(.accessDenied)
    }
}

/// authorization_code grant with PKCE: exchanges a single-use code for an access and a refresh token.
public struct ExchangeCode: LedgerCommand, OAuthStep {
    public var clientID: String, clientSecret: String?, code: String, codeVerifier: String, redirectURI: String
    /// The RFC 8707 resource asked for: none, or the code's own (RFC 8707 §2.2); for a code without one, it binds the tokens.
    public var resource: String?
    public init(clientID: String, clientSecret: String?, code: String, codeVerifier: String, redirectURI: String, resource: String? = nil) {
        (self.clientID, self.clientSecret, self.code, self.codeVerifier, self.redirectURI) = (clientID, clientSecret, code, codeVerifier, redirectURI)
        self.resource = resource
    }
    static var grant: GrantKind { .authorizationCode }

    public func decide(_ ctx: inout BatchContext) throws -> TokenResponse { try decideRecordingDenial(&ctx) }

    func step(_ ctx: inout BatchContext, _ attempt: inout Ledger.OAuthAttempt) throws -> TokenResponse {
        typealias OAuthDenial = Ledger.OAuthDenial
        let pair = try Ledger.TokenPair(ctx)
        let client = try Ledger.authenticateClient(clientID, secret: clientSecret, ctx: ctx, attempt: &attempt, allowed: [.pkce, .pkcePublic])
        guard SecretFormat.validate(code, expecting: [.authorizationCode]).problem == nil,
              let grant = try ctx.state.code(hash: SecretFormat.hash(code)), grant.credential == client.number
        else { throw OAuthDenial(.invalidGrant) }
        attempt.user = grant.user
        // A code revoked before redemption (its user was removed) is dead: no tokens came from it.
        if grant.status == .revoked { throw OAuthDenial(.tokenRevoked) }
        if grant.status == .redeemed {
            // RFC 6749 §4.1.2: a replayed code revokes the tokens issued from it.
            let revoke: [EventPayload] = grant.family == 0 ? [] : [.tokenRevoked(TokenRevoked(
                credential: client.number, family: grant.family, tokenHash: grant.hash, wholeFamily: true, reason: .codeReuse))]
            throw OAuthDenial(.codeReused, alsoEmit: revoke)
        }
        guard ctx.now < grant.expiresAt else { throw OAuthDenial(.codeExpired) }
        // RFC 6749 §4.1.3: the same redirect_uri as the authorization request, byte for byte (port included).
        guard grant.redirectURI == redirectURI else { throw OAuthDenial(.redirectURIMismatch) }
        guard PKCE.isValidVerifier(codeVerifier) else { throw OAuthDenial(.pkceVerifierMismatch) }
        guard constantTimeEquals(SHA256.hash(codeVerifier), grant.challenge) else { throw OAuthDenial(.pkceVerifierMismatch) }
        // RFC 8707 §2.2: a code granted for resource R yields tokens for R only; the code stays unused when refused.
        let requested = try Ledger.requestedResource(resource)
        if let requested, let granted = grant.resource, requested != granted { throw OAuthDenial(.invalidTarget) }
        guard let member = try ctx.state.member(company: client.company, user: grant.user), member.role != .removed else {
            throw OAuthDenial(.accessDenied)
        }
        ctx.emit(company: client.company, actor: .credential(client.number), .tokenIssued(TokenIssued(
            credential: client.number, user: grant.user, grant: .authorizationCode, accessHash: pair.accessHash,
            accessExpiresAt: pair.accessExpiresAt(ctx, attempt), refreshHash: pair.refreshHash,
            refreshExpiresAt: pair.refreshExpiresAt(ctx, attempt), codeHash: grant.hash, resource: grant.resource ?? requested)))
        return pair.response(ctx, attempt, scope: client.scope)
    }
}

/// refresh_token grant: rotates the refresh token; a reused (spent) one revokes its whole family.
public struct RefreshGrant: LedgerCommand, OAuthStep {
    public var clientID: String, clientSecret: String?, refreshToken: String
    /// The RFC 8707 resource asked for: none, or the family's own (a family's binding never changes).
    public var resource: String?
    public init(clientID: String, clientSecret: String?, refreshToken: String, resource: String? = nil) {
        (self.clientID, self.clientSecret, self.refreshToken, self.resource) = (clientID, clientSecret, refreshToken, resource)
    }
    static var grant: GrantKind { .refreshToken }

    public func decide(_ ctx: inout BatchContext) throws -> TokenResponse { try decideRecordingDenial(&ctx) }

    func step(_ ctx: inout BatchContext, _ attempt: inout Ledger.OAuthAttempt) throws -> TokenResponse {
        typealias OAuthDenial = Ledger.OAuthDenial
        let pair = try Ledger.TokenPair(ctx)
        let client = try Ledger.authenticateClient(clientID, secret: clientSecret, ctx: ctx, attempt: &attempt, allowed: [.pkce, .pkcePublic])
        guard SecretFormat.validate(refreshToken, expecting: [.refreshToken]).problem == nil,
              let token = try ctx.state.token(hash: SecretFormat.hash(refreshToken)), token.kind == .refresh,
              token.credential == client.number
        else { throw OAuthDenial(.invalidGrant) }
        attempt.user = token.user
        switch token.status {
        case .spent:
            throw OAuthDenial(.refreshTokenReused, alsoEmit: [.tokenRevoked(TokenRevoked(
                credential: client.number, family: token.family, tokenHash: token.hash, wholeFamily: true, reason: .refreshReuse))])
        case .revoked:
            throw OAuthDenial(.tokenRevoked)
        case .active:
            break
        }
        guard ctx.now < token.expiresAt else { throw OAuthDenial(.tokenExpired) }
        // The new pair joins the family and so keeps its resource: asking for another one (or for one when the family
        // has none, which would change the audience of its live tokens) is refused; the refresh token stays unspent.
        if let requested = try Ledger.requestedResource(resource),
           try ctx.state.resource(credential: token.credential, family: token.family) != requested {
            throw OAuthDenial(.invalidTarget)
        }
        guard let member = try ctx.state.member(company: client.company, user: token.user), member.role != .removed else {
            throw OAuthDenial(.accessDenied)
        }
        ctx.emit(company: client.company, actor: .credential(client.number), .tokenRefreshed(TokenRefreshed(
            credential: client.number, family: token.family, spentRefreshHash: token.hash, accessHash: pair.accessHash,
            accessExpiresAt: pair.accessExpiresAt(ctx, attempt), refreshHash: pair.refreshHash,
            refreshExpiresAt: pair.refreshExpiresAt(ctx, attempt))))
        return pair.response(ctx, attempt, scope: client.scope)
    }
}

/// Token revocation (RFC 7009 §2.1): the client authenticates (a public client by its client_id alone) and may revoke
/// only tokens issued to it; a refresh token (even a spent one) takes its family with it. A token of another client or company is refused
/// (`unauthorized_client`), a static key or other secret is `unsupported_token_type`; both denials are recorded.
/// A string that is no known token is answered with success, as the RFC asks (§2.2), but as `.unknown`,
/// and only a real revocation is an event.
public struct RevokeToken: LedgerCommand, OAuthStep {
    public var token: String, clientID: String, clientSecret: String?
    public init(token: String, clientID: String, clientSecret: String?) {
        (self.token, self.clientID, self.clientSecret) = (token, clientID, clientSecret)
    }
    static var grant: GrantKind { .revocation }

    public func decide(_ ctx: inout BatchContext) throws -> RevocationOutcome { try decideRecordingDenial(&ctx) }

    func step(_ ctx: inout BatchContext, _ attempt: inout Ledger.OAuthAttempt) throws -> RevocationOutcome {
        typealias OAuthDenial = Ledger.OAuthDenial
        let client = try Ledger.authenticateClient(clientID, secret: clientSecret, ctx: ctx, attempt: &attempt,
                                                   allowed: [.oauth, .pkce, .pkcePublic], requireModule: false)
        let shape = SecretFormat.validate(token, expecting: SecretKind.allCases)
        guard let kind = shape.kind, shape.problem == nil else { return .unknown }
        guard kind == .accessToken || kind == .refreshToken else { throw OAuthDenial(.unsupportedTokenType) }
        guard let record = try ctx.state.token(hash: SecretFormat.hash(token)) else { return .unknown }
        guard record.credential == client.number else { throw OAuthDenial(.unauthorizedClient) }
        attempt.user = record.user
        let live = record.status == .active && ctx.now < record.expiresAt
        // A refresh token ends its whole grant (RFC 7009 §2.1), even one already spent: its successor may be in
        // someone else's hands (RFC 6749 §10.4), and the client asking to end the grant must not be told "nothing to do".
        let family = try record.kind == .refresh && !live && ctx.state.liveToken(family: record.family, at: ctx.now) != nil
        guard live || family else { return .alreadyInactive }
        ctx.emit(company: client.company, actor: .credential(client.number), .tokenRevoked(TokenRevoked(
            credential: client.number, family: record.family, tokenHash: record.hash, wholeFamily: record.kind == .refresh,
            reason: .clientRequest)))
        return .revoked
    }
}

/// Token introspection (RFC 7662 §2.1), for a confidential client (OAuth API user or confidential PKCE client) that
/// authenticates with a live secret; anything else is `invalid_client` (a public client has nothing to authenticate
/// with), recorded as `oauth_request_denied`. A client sees only tokens issued to itself: any other token, of its
/// own company or another, is `{"active": false}`, exactly like an unknown one (RFC 7662 §4 lets the server limit
/// what a caller may learn, and no client here is the registered audience of another client's tokens).
/// It runs on the writer so that client authentication is the one `authenticateClient` of the token endpoint and a
/// refusal is recorded atomically with it; a successful introspection appends nothing. The CLI and a future HTTP
/// endpoint share these rules.
public struct IntrospectToken: LedgerCommand, OAuthStep {
    public var token: String, clientID: String, clientSecret: String?
    public init(token: String, clientID: String, clientSecret: String?) {
        (self.token, self.clientID, self.clientSecret) = (token, clientID, clientSecret)
    }
    static var grant: GrantKind { .introspection }

    public func decide(_ ctx: inout BatchContext) throws -> Introspection { try decideRecordingDenial(&ctx) }

    func step(_ ctx: inout BatchContext, _ attempt: inout Ledger.OAuthAttempt) throws -> Introspection {
        let client = try Ledger.authenticateClient(clientID, secret: clientSecret, ctx: ctx, attempt: &attempt,
                                                   allowed: [.oauth, .pkce, .pkcePublic])
        // A public client passes `authenticateClient` by sending no secret: that is no authentication here.
        guard client.type.hasSecret else { throw Ledger.OAuthDenial(.invalidClient) }
        return try Ledger.introspection(of: token, for: client, state: ctx.state, now: ctx.now)
    }
}
