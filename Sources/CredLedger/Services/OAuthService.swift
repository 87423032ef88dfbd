import CredLedgerCore

extension Ledger {
    /// The OAuth endpoints: token grants (client credentials, code exchange, refresh), client consent, introspection
    /// and revocation (`Auth/OAuth.swift`), each blocking or `async`. Holds only the writer's door: each one is a typed
    /// command that decides in its batch (a denial is itself an event).
    public final class OAuth: Sendable {
        let commands: CommandRunner

        init(_ commands: CommandRunner) { self.commands = commands }
    }
}

extension Ledger.OAuth {
    /// client_credentials grant (RFC 6749 §4.4) for OAuth API users: an access token, no refresh token (bound to `resource`, RFC 8707).
    public func clientCredentialsToken(clientID: String, clientSecret: String, resource: String? = nil) throws -> TokenResponse {
        try commands.perform(ClientCredentialsGrant(clientID: clientID, clientSecret: clientSecret, resource: resource))
    }

    /// Authorization request (RFC 6749 §4.1.1 + RFC 7636): `user` approves the PKCE client; consent is an event
    /// (`ApproveClient`; the access decision is `Ledger.Access.authorize`).
    public func approveClient(company slug: String, clientID: String, user email: String, redirectURI: String,
                              codeChallenge: String, codeChallengeMethod: String, state: String?, resource: String? = nil) throws -> AuthorizationGrant {
        try commands.perform(ApproveClient(company: slug, clientID: clientID, user: email, redirectURI: redirectURI,
                                           codeChallenge: codeChallenge, codeChallengeMethod: codeChallengeMethod, state: state,
                                                 resource: resource))
    }

    /// The user refused the consent: recorded as a denial (`DenyClient`), always thrown as `OAuthError` access_denied.
    public func denyClient(clientID: String, user email: String) throws {
        try commands.perform(DenyClient(clientID: clientID, user: email))
    }

    /// authorization_code grant with PKCE: exchanges a single-use code for an access and a refresh token.
    public func exchangeCode(clientID: String, clientSecret: String?, code: String, codeVerifier: String, redirectURI: String,
                             resource: String? = nil) throws -> TokenResponse {
        try commands.perform(ExchangeCode(clientID: clientID, clientSecret: clientSecret, code: code, codeVerifier: codeVerifier, redirectURI: redirectURI,
                                                 resource: resource))
    }

    /// refresh_token grant: rotates the refresh token; a reused (spent) one revokes its whole family.
    public func refresh(clientID: String, clientSecret: String?, refreshToken: String, resource: String? = nil) throws -> TokenResponse {
        try commands.perform(RefreshGrant(clientID: clientID, clientSecret: clientSecret, refreshToken: refreshToken, resource: resource))
    }

    /// Token revocation (RFC 7009 §2.1): see `RevokeToken`.
    @discardableResult
    public func revokeToken(_ token: String, clientID: String, clientSecret: String?) throws -> RevocationOutcome {
        try commands.perform(RevokeToken(token: token, clientID: clientID, clientSecret: clientSecret))
    }

    /// Token introspection (RFC 7662 §2.1): see `IntrospectToken`.
    public func introspect(_ token: String, clientID: String, clientSecret: String?) throws -> Introspection {
        try commands.perform(IntrospectToken(token: token, clientID: clientID, clientSecret: clientSecret))
    }

    // MARK: - Async forms

    /// Async form of `clientCredentialsToken`: suspends (no thread held) until the command's batch is durable.
    public func clientCredentialsToken(clientID: String, clientSecret: String, resource: String? = nil) async throws -> TokenResponse {
        try await commands.perform(ClientCredentialsGrant(clientID: clientID, clientSecret: clientSecret, resource: resource))
    }

    /// Async form of `approveClient`: suspends (no thread held) until the command's batch is durable.
    public func approveClient(company slug: String, clientID: String, user email: String, redirectURI: String,
                              codeChallenge: String, codeChallengeMethod: String, state: String?, resource: String? = nil) async throws -> AuthorizationGrant {
        try await commands.perform(ApproveClient(company: slug, clientID: clientID, user: email, redirectURI: redirectURI,
                                                 codeChallenge: codeChallenge, codeChallengeMethod: codeChallengeMethod, state: state,
                                                 resource: resource))
    }

    /// Async form of `denyClient`: suspends until the denial is durable, then throws it.
    public func denyClient(clientID: String, user email: String) async throws {
        try await commands.perform(DenyClient(clientID: clientID, user: email))
    }

    /// Async form of `exchangeCode`: suspends (no thread held) until the command's batch is durable.
    public func exchangeCode(clientID: String, clientSecret: String?, code: String, codeVerifier: String, redirectURI: String,
                             resource: String? = nil) async throws -> TokenResponse {
        try await commands.perform(ExchangeCode(clientID: clientID, clientSecret: clientSecret, code: code, codeVerifier: codeVerifier, redirectURI: redirectURI,
                                                 resource: resource))
    }

    /// Async form of `refresh`: suspends (no thread held) until the command's batch is durable.
    public func refresh(clientID: String, clientSecret: String?, refreshToken: String, resource: String? = nil) async throws -> TokenResponse {
        try await commands.perform(RefreshGrant(clientID: clientID, clientSecret: clientSecret, refreshToken: refreshToken, resource: resource))
    }

    /// Async form of `revokeToken`: suspends (no thread held) until the command's batch is durable.
    @discardableResult
    public func revokeToken(_ token: String, clientID: String, clientSecret: String?) async throws -> RevocationOutcome {
        try await commands.perform(RevokeToken(token: token, clientID: clientID, clientSecret: clientSecret))
    }

    /// Async form of `introspect`: suspends (no thread held) until the command's batch is durable.
    public func introspect(_ token: String, clientID: String, clientSecret: String?) async throws -> Introspection {
        try await commands.perform(IntrospectToken(token: token, clientID: clientID, clientSecret: clientSecret))
    }
}
