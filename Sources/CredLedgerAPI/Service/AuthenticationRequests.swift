import CredLedger
import CredLedgerCore

// The access decision and the OAuth endpoints.

extension API.AccessCheckRequest: APIRequest {
    public typealias Response = API.AccessDecision

    /// The access decision, recorded as a use (durable before the answer). A denial is an answer, not an error.
    public func respond(_ ledger: Ledger) throws -> API.AccessDecision {
        API.AccessDecision(try ledger.access.check(header: header, company: company, project: project, operation: try parsedOperation()))
    }

    public func respond(_ ledger: Ledger) async throws -> API.AccessDecision {
        API.AccessDecision(try await ledger.access.check(header: header, company: company, project: project, operation: try parsedOperation()))
    }

    func parsedOperation() throws -> CredLedgerCore.Operation {
        guard let op = CredLedgerCore.Operation(name: operation) else { throw API.invalid("operation must be read or write, not '\(operation)'") }
        return op
    }
}

extension API.TokenRequest: APIRequest {
    public typealias Response = API.TokenResponse

    /// The grant a token request asks for, as its typed command.
    enum Grant {
        case authorizationCode(ExchangeCode)
        case refreshToken(RefreshGrant)
        case clientCredentials(ClientCredentialsGrant)
    }

    func grant() throws -> Grant {
        func required(_ value: String?, _ name: String) throws -> String {
            guard let value else { throw API.invalid("\(name) is required for grant_type \(grantType)") }
            return value
        }
        switch grantType {
        case "authorization_code":
            return .authorizationCode(ExchangeCode(clientID: clientID, clientSecret: clientSecret, code: try required(code, "code"),
                                                   codeVerifier: try required(codeVerifier, "code_verifier"),
                                                   redirectURI: try required(redirectURI, "redirect_uri"), resource: resource))
        case "refresh_token":
            return .refreshToken(RefreshGrant(clientID: clientID, clientSecret: clientSecret, refreshToken: try required(refreshToken, "refresh_token"),
                                              resource: resource))
        case "client_credentials":
            return .clientCredentials(ClientCredentialsGrant(clientID: clientID, clientSecret: try required(clientSecret, "client_secret"),
                                                                 resource: resource))
        default:
            throw API.invalid("grant_type must be authorization_code, refresh_token or client_credentials (unsupported_grant_type)")
        }
    }

    /// The token response, or the grant's `OAuthError` (itself recorded in the log).
    public func respond(_ ledger: Ledger) throws -> API.TokenResponse {
        switch try grant() {
        case .authorizationCode(let c): API.TokenResponse(try ledger.perform(c))
        case .refreshToken(let c): API.TokenResponse(try ledger.perform(c))
        case .clientCredentials(let c): API.TokenResponse(try ledger.perform(c))
        }
    }

    public func respond(_ ledger: Ledger) async throws -> API.TokenResponse {
        switch try grant() {
        case .authorizationCode(let c): API.TokenResponse(try await ledger.perform(c))
        case .refreshToken(let c): API.TokenResponse(try await ledger.perform(c))
        case .clientCredentials(let c): API.TokenResponse(try await ledger.perform(c))
        }
    }
}

extension API.ConsentRequest: CommandRequest {
    public typealias Response = API.ConsentResult

    /// The method defaults to `plain`, which the command refuses (S256 only).
    public func command(_ ledger: Ledger) throws -> ApproveClient {
        ApproveClient(company: company, clientID: clientID, user: user, redirectURI: redirectURI, codeChallenge: codeChallenge,
                      codeChallengeMethod: codeChallengeMethod ?? "plain", state: state, resource: resource)
    }

    public func response(_ grant: AuthorizationGrant) -> API.ConsentResult { API.ConsentResult(grant) }
}

extension API {
    /// `token introspect`: a `TokenQueryRequest` answered with an `Introspection`.
    public struct IntrospectOperation: CommandRequest {
        public typealias Response = Introspection

        public var request: TokenQueryRequest

        public init(_ request: TokenQueryRequest) { self.request = request }

        public func command(_ ledger: Ledger) throws -> IntrospectToken {
            IntrospectToken(token: request.token, clientID: request.clientID, clientSecret: request.clientSecret)
        }

        public func response(_ result: CredLedger.Introspection) -> Introspection { Introspection(result) }
    }

    /// `token revoke`: a `TokenQueryRequest` answered with a `RevocationResult`.
    public struct RevokeOperation: CommandRequest {
        public typealias Response = RevocationResult

        public var request: TokenQueryRequest

        public init(_ request: TokenQueryRequest) { self.request = request }

        public func command(_ ledger: Ledger) throws -> RevokeToken {
            RevokeToken(token: request.token, clientID: request.clientID, clientSecret: request.clientSecret)
        }

        public func response(_ outcome: RevocationOutcome) -> RevocationResult { RevocationResult(outcome) }
    }
}
