/// The access decision and the OAuth endpoints, in their RFC shapes.
extension API {
    /// May this Authorization header value do `operation` (read, write) on the project? The use is recorded
    /// (`auth check`).
    public struct AccessCheckRequest: Codable, Sendable, Equatable {
        public var company: String
        public var project: String
        public var operation: String
        /// The Authorization header value (a secret: never logged).
        public var header: String

        public init(company: String, project: String, operation: String, header: String) {
            (self.company, self.project, self.operation, self.header) = (company, project, operation, header)
        }
    }

    /// The access decision (`auth check`).
    public struct AccessDecision: Codable, Sendable, Equatable {
        public var allowed: Bool
        /// `allowed` or the denial reason's stable code.
        public var result: String
        /// What the principal may do on the project: none, read, read-write.
        public var capability: String
        /// The credential's public id, when the secret matched one.
        public var credential: String?
        /// Who acts: the service user, or the approving user of a PKCE token.
        public var principal: String?
        /// The credential's scope (`read`, `read-write`, `global`), when the secret matched a credential.
        public var scope: String?
        /// How to fix a denial (present exactly when denied).
        public var fix: String?

        public init(allowed: Bool, result: String, capability: String, credential: String? = nil, principal: String? = nil,
                    scope: String? = nil, fix: String? = nil) {
            (self.allowed, self.result, self.capability) = (allowed, result, capability)
            (self.credential, self.principal, self.scope, self.fix) = (credential, principal, scope, fix)
        }
    }

    /// A token endpoint request (RFC 6749 §4.1.3, §4.4.2, §6): `grant_type` authorization_code (with `code`,
    /// `code_verifier`, `redirect_uri`), refresh_token (with `refresh_token`) or client_credentials.
    public struct TokenRequest: Codable, Sendable, Equatable {
        public var grantType: String
        public var clientID: String
        public var clientSecret: String?
        public var code: String?
        public var codeVerifier: String?
        public var redirectURI: String?
        public var refreshToken: String?
        /// RFC 8707 resource: binds the tokens (a code's or a refresh token's own, or none, for those grants).
        public var resource: String?

        enum CodingKeys: String, CodingKey {
            case code, resource
            case grantType = "grant_type"
            case clientID = "client_id"
            case clientSecret = "client_secret"
            case codeVerifier = "code_verifier"
            case redirectURI = "redirect_uri"
            case refreshToken = "refresh_token"
        }

        public init(grantType: String, clientID: String, clientSecret: String? = nil, code: String? = nil,
                    codeVerifier: String? = nil, redirectURI: String? = nil, refreshToken: String? = nil, resource: String? = nil) {
            (self.grantType, self.clientID, self.clientSecret) = (grantType, clientID, clientSecret)
            (self.code, self.codeVerifier, self.redirectURI, self.refreshToken) = (code, codeVerifier, redirectURI, refreshToken)
            self.resource = resource
        }
    }

    /// A token endpoint success response (RFC 6749 §5.1). The tokens are shown once.
    public struct TokenResponse: Codable, Sendable, Equatable {
        public var accessToken: String
        /// Always `Bearer`.
        public var tokenType: String
        /// Seconds until the access token expires.
        public var expiresIn: Int64
        /// Present for authorization_code and refresh_token grants.
        public var refreshToken: String?
        public var scope: String

        enum CodingKeys: String, CodingKey {
            case scope
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
            case refreshToken = "refresh_token"
        }

        public init(accessToken: String, tokenType: String = "Bearer", expiresIn: Int64, refreshToken: String? = nil, scope: String) {
            (self.accessToken, self.tokenType, self.expiresIn, self.refreshToken, self.scope) =
                (accessToken, tokenType, expiresIn, refreshToken, scope)
        }
    }

    /// An OAuth error response (RFC 6749 §5.2, RFC 7009 §2.2.1) of the token, authorize, introspection and
    /// revocation endpoints, with our specific reason.
    public struct OAuthErrorBody: Codable, Sendable, Equatable {
        /// The RFC error code: invalid_client, unauthorized_client, invalid_request, access_denied, invalid_grant,
        /// unsupported_token_type, invalid_target.
        public var error: String
        /// How to fix it.
        public var errorDescription: String
        /// Our stable denial reason code.
        public var reason: String

        enum CodingKeys: String, CodingKey {
            case error, reason
            case errorDescription = "error_description"
        }

        public init(error: String, errorDescription: String, reason: String) {
            (self.error, self.errorDescription, self.reason) = (error, errorDescription, reason)
        }
    }

    /// A company user approves a PKCE client (RFC 6749 §4.1.1 with RFC 7636; S256 only) (`oauth authorize`).
    public struct ConsentRequest: Codable, Sendable, Equatable {
        public var company: String
        public var clientID: String
        public var user: String
        public var redirectURI: String
        public var codeChallenge: String
        /// Only `S256` is accepted (the default, `plain`, is refused).
        public var codeChallengeMethod: String?
        public var state: String?
        /// RFC 8707 resource the code (and the tokens from it) are for.
        public var resource: String?

        enum CodingKeys: String, CodingKey {
            case company, user, state, resource
            case clientID = "client_id"
            case redirectURI = "redirect_uri"
            case codeChallenge = "code_challenge"
            case codeChallengeMethod = "code_challenge_method"
        }

        public init(company: String, clientID: String, user: String, redirectURI: String, codeChallenge: String,
                    codeChallengeMethod: String? = nil, state: String? = nil, resource: String? = nil) {
            (self.company, self.clientID, self.user, self.redirectURI) = (company, clientID, user, redirectURI)
            (self.codeChallenge, self.codeChallengeMethod, self.state, self.resource) = (codeChallenge, codeChallengeMethod, state, resource)
        }
    }

    /// An approved authorization request: the code and where to send the user (`oauth authorize`).
    public struct ConsentResult: Codable, Sendable, Equatable {
        /// The authorization code (a secret, shown once).
        public var code: String
        public var redirectURI: String
        /// `redirect_uri?code=…&state=…`.
        public var location: String
        /// The request's `state`, echoed when given.
        public var state: String?

        enum CodingKeys: String, CodingKey {
            case code, location, state
            case redirectURI = "redirect_uri"
        }

        public init(code: String, redirectURI: String, location: String, state: String? = nil) {
            (self.code, self.redirectURI, self.location, self.state) = (code, redirectURI, location, state)
        }
    }

    /// An introspection (RFC 7662 §2.1) or revocation (RFC 7009 §2.1) request by a client.
    public struct TokenQueryRequest: Codable, Sendable, Equatable {
        public var token: String
        public var tokenTypeHint: String?
        public var clientID: String
        public var clientSecret: String?

        enum CodingKeys: String, CodingKey {
            case token
            case tokenTypeHint = "token_type_hint"
            case clientID = "client_id"
            case clientSecret = "client_secret"
        }

        public init(token: String, tokenTypeHint: String? = nil, clientID: String, clientSecret: String? = nil) {
            (self.token, self.tokenTypeHint, self.clientID, self.clientSecret) = (token, tokenTypeHint, clientID, clientSecret)
        }
    }

    /// RFC 7662 §2.2 introspection response: `{"active":false}` alone for an inactive (or foreign) token; every
    /// other key present (possibly null) for an active one.
    public struct Introspection: Codable, Sendable, Equatable {
        /// The fields of an active token.
        public struct Details: Sendable, Equatable {
            public var clientID: String?
            /// The credential's public id.
            public var credential: String?
            /// The service user or the approving user.
            public var username: String?
            public var scope: String?
            /// `access_token` or `refresh_token`.
            public var tokenType: String?
            /// Expiry and issue time, in seconds since 1970.
            public var exp: Int64
            public var iat: Int64
            /// The RFC 8707 resource the token is bound to; the key is present only for a bound token.
            public var aud: String?

            public init(clientID: String?, credential: String?, username: String?, scope: String?, tokenType: String?,
                        exp: Int64, iat: Int64, aud: String? = nil) {
                (self.clientID, self.credential, self.username, self.scope) = (clientID, credential, username, scope)
                (self.tokenType, self.exp, self.iat, self.aud) = (tokenType, exp, iat, aud)
            }
        }

        public var active: Bool { details != nil }
        /// nil when inactive.
        public var details: Details?

        enum CodingKeys: String, CodingKey {
            case active, credential, username, scope, exp, iat, aud
            case clientID = "client_id"
            case tokenType = "token_type"
        }

        public init(details: Details?) { self.details = details }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard try c.decode(Bool.self, forKey: .active) else {
                details = nil
                return
            }
            // An active answer carries every key (null where unknown): decode(_:forKey:) of an Optional requires it.
            details = Details(clientID: try c.decode(String?.self, forKey: .clientID), credential: try c.decode(String?.self, forKey: .credential),
                              username: try c.decode(String?.self, forKey: .username), scope: try c.decode(String?.self, forKey: .scope),
                              tokenType: try c.decode(String?.self, forKey: .tokenType), exp: try c.decode(Int64.self, forKey: .exp),
                              iat: try c.decode(Int64.self, forKey: .iat), aud: try c.decodeIfPresent(String.self, forKey: .aud))
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(active, forKey: .active)
            guard let d = details else { return }
            try c.encode(d.clientID, forKey: .clientID)
            try c.encode(d.credential, forKey: .credential)
            try c.encode(d.username, forKey: .username)
            try c.encode(d.scope, forKey: .scope)
            try c.encode(d.tokenType, forKey: .tokenType)
            try c.encode(d.exp, forKey: .exp)
            try c.encode(d.iat, forKey: .iat)
            try c.encodeIfPresent(d.aud, forKey: .aud)
        }
    }

    /// What a revocation did (RFC 7009 answers 200 in each case): `revoked`, `already_inactive` or `unknown`.
    public struct RevocationResult: Codable, Sendable, Equatable {
        public var result: String

        public init(result: String) { self.result = result }
    }
}
