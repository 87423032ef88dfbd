/// Event types: the byte code is stored in the log, the name in exports. Both are stable forever.
public enum EventType: UInt8, Sendable, CaseIterable {
    case companyRegistered = 1
    case apiModuleEnabled = 2
    case apiModuleDisabled = 3
    case memberRoleSet = 4
    case projectCreated = 5
    case projectArchived = 6
    case credentialCreated = 7
    case secretRotated = 8
    case credentialDeleted = 9
    case projectAccessGranted = 10
    case projectAccessChanged = 11
    case projectAccessRevoked = 12
    case userProjectRoleSet = 13
    case consentGiven = 14
    case tokenIssued = 15
    case tokenRefreshed = 16
    case tokenRevoked = 17
    case credentialUsed = 18
    case oauthRequestDenied = 19
    case codeRevoked = 20
    case logAccepted = 21

    public var name: String {
        switch self {
        case .companyRegistered: "company_registered"
        case .apiModuleEnabled: "api_module_enabled"
        case .apiModuleDisabled: "api_module_disabled"
        case .memberRoleSet: "member_role_set"
        case .projectCreated: "project_created"
        case .projectArchived: "project_archived"
        case .credentialCreated: "credential_created"
        case .secretRotated: "secret_rotated"
        case .credentialDeleted: "credential_deleted"
        case .projectAccessGranted: "project_access_granted"
        case .projectAccessChanged: "project_access_changed"
        case .projectAccessRevoked: "project_access_revoked"
        case .userProjectRoleSet: "user_project_role_set"
        case .consentGiven: "consent_given"
        case .tokenIssued: "token_issued"
        case .tokenRefreshed: "token_refreshed"
        case .tokenRevoked: "token_revoked"
        case .credentialUsed: "credential_used"
        case .oauthRequestDenied: "oauth_request_denied"
        case .codeRevoked: "code_revoked"
        case .logAccepted: "log_accepted"
        }
    }

    /// The newest schema version of the type (what it decodes up to); older versions are upcast on decode (docs/FORMAT.md §7).
    public var currentSchema: UInt8 {
        switch self {
        // 2: an optional trailing target company (a use at another company, recorded in the credential's own).
        case .credentialUsed: 2
        // 2: a trailing RFC 8707 resource; written only when there is one (`EventPayload.schema`), schema 1 otherwise.
        case .consentGiven, .tokenIssued: 2
        default: 1
        }
    }

    public init?(name: String) {
        guard let match = EventType.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}
