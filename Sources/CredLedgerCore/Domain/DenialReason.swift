/// Why an API request or OAuth request was denied. Stable codes: they are stored in the log.
public enum DenialReason: UInt8, Error, Sendable, CaseIterable {
    // Header and secret format (checked before any lookup).
    case malformedHeader = 1
    case unsupportedScheme = 2
    case badChecksum = 3
    // Credential state.
    case unknownCredential = 10
    case revoked = 11
    case expired = 12
    case wrongCredentialType = 13
    /// A rotated-out secret whose grace period ended (the credential itself may be fine): issue 11.
    case secretSuperseded = 14
    // Company and project.
    case apiModuleDisabled = 20
    case unknownCompany = 21
    case unknownProject = 22
    case projectArchived = 23
    case otherCompany = 24
    /// Recorded in the credential's own company: it was presented to another company (`target_company`).
    case crossCompany = 25
    /// Recorded, anonymously (credential 0), in the company a credential of another company was presented to.
    case foreignCredential = 26
    // Access rules from the seeds' troubleshooting table.
    case projectAccessMissing = 30
    case readOnlyScope = 31
    case readOnlyRole = 32
    case userNotMember = 33
    /// An `apiservice+…` address tried to act as a company user (approve a client): issue 11.
    case reservedIdentity = 34
    // Tokens and OAuth (RFC 6749 / 7636).
    case tokenExpired = 40
    case tokenRevoked = 41
    case invalidClient = 42
    case invalidGrant = 43
    case pkceVerifierMismatch = 44
    case redirectURIMismatch = 45
    case codeReused = 46
    case codeExpired = 47
    case refreshTokenReused = 48
    case unsupportedChallengeMethod = 49
    case unauthorizedClient = 50
    case invalidRequest = 51
    case accessDenied = 52
    case unsupportedTokenType = 53
    /// RFC 8707: the `resource` asked for is not the one the grant was made for.
    case invalidTarget = 54

    /// Stable snake_case code printed by the CLI and stored in exports.
    public var code: String {
        switch self {
        case .malformedHeader: "malformed_header"
        case .unsupportedScheme: "unsupported_scheme"
        case .badChecksum: "bad_checksum"
        case .unknownCredential: "unknown_credential"
        case .revoked: "revoked"
        case .expired: "expired"
        case .wrongCredentialType: "wrong_credential_type"
        case .secretSuperseded: "secret_superseded"
        case .apiModuleDisabled: "api_module_disabled"
        case .unknownCompany: "unknown_company"
        case .unknownProject: "unknown_project"
        case .projectArchived: "project_archived"
        case .otherCompany: "other_company"
        case .crossCompany: "cross_company"
        case .foreignCredential: "foreign_credential"
        case .projectAccessMissing: "project_access_missing"
        case .readOnlyScope: "read_only_scope"
        case .readOnlyRole: "read_only_role"
        case .userNotMember: "user_not_member"
        case .reservedIdentity: "reserved_identity"
        case .tokenExpired: "token_expired"
        case .tokenRevoked: "token_revoked"
        case .invalidClient: "invalid_client"
        case .invalidGrant: "invalid_grant"
        case .pkceVerifierMismatch: "pkce_verifier_mismatch"
        case .redirectURIMismatch: "redirect_uri_mismatch"
        case .codeReused: "code_reused"
        case .codeExpired: "code_expired"
        case .refreshTokenReused: "refresh_token_reused"
        case .unsupportedChallengeMethod: "unsupported_challenge_method"
        case .unauthorizedClient: "unauthorized_client"
        case .invalidRequest: "invalid_request"
        case .accessDenied: "access_denied"
        case .unsupportedTokenType: "unsupported_token_type"
        case .invalidTarget: "invalid_target"
        }
    }

    /// The fix, in the words of the seeds' troubleshooting tables.
    public var fix: String {
        switch self {
        case .malformedHeader: "send `Authorization: Apikey <key>` or `Authorization: Bearer <token>`"
        case .unsupportedScheme: "use the Apikey or Bearer scheme"
        case .badChecksum: "the key is mistyped or truncated: copy it again from where it was stored"
        case .unknownCredential: "the secret is not known: create a new key and delete the old one"
        case .revoked: "the credential was deleted: create a new one"
        case .expired: "the credential has expired (it cannot be rotated): create a new credential and delete this one"
        case .wrongCredentialType: "this credential type cannot be used this way"
        case .secretSuperseded: "this secret was replaced by a rotation and its grace period is over: use the current secret"
        case .apiModuleDisabled: "ask an admin to enable the API key module for the company"
        case .unknownCompany: "check the company id"
        case .unknownProject: "check the project id"
        case .projectArchived: "the project is archived"
        case .otherCompany: "the credential belongs to another company"
        case .crossCompany: "this company's credential was presented to another company: find out who holds it, rotate or delete it"
        case .foreignCredential: "a credential of another company was presented here: the caller uses the wrong credential"
        case .projectAccessMissing: "add the API user to the project with a project role, or use GLOBAL API"
        case .readOnlyScope: "the credential has a read-only scope: use READ-WRITE API"
        case .readOnlyRole: "the project role is read-only: give the API user a role that can write"
        case .userNotMember: "the approving user has no role on this project that this token carries: a role given or changed after the approval needs a new approval (authorize again)"
        case .reservedIdentity: "API service users (apiservice+…) act only through their credential: a person must approve"
        case .tokenExpired: "the access token expired: obtain a new one"
        case .tokenRevoked: "the token was revoked: authorize again"
        case .invalidClient: "client authentication failed: check client_id and client_secret"
        case .invalidGrant: "the grant is invalid: start the authorization again"
        case .pkceVerifierMismatch: "the code_verifier does not match the code_challenge"
        case .redirectURIMismatch: "the redirect_uri must match a registered one exactly (a loopback IP one with any port) and, at the token endpoint, the one of the authorization request"
        case .codeReused: "authorization codes are single-use: authorize again"
        case .codeExpired: "the authorization code expired: authorize again"
        case .refreshTokenReused: "a spent refresh token was presented: the token family is revoked, authorize again"
        case .unsupportedChallengeMethod: "use code_challenge_method=S256"
        case .unauthorizedClient: "this client may not make this request: its type may not use this grant, or the token was issued to another client"
        case .invalidRequest: "a parameter is missing or malformed"
        case .accessDenied: "the user may not approve this client"
        case .unsupportedTokenType: "only access and refresh tokens can be revoked here: delete a key or client with `key delete`"
        case .invalidTarget: "the resource must be an absolute URI without a fragment and, at the token endpoint, the one the authorization was granted for (or none)"
        }
    }

    public init?(code: String) {
        guard let match = DenialReason.allCases.first(where: { $0.code == code }) else { return nil }
        self = match
    }
}
