/// The four credential types of the seeds.
public enum CredentialType: UInt8, Sendable, CaseIterable {
    case staticKey = 1
    case oauth = 2
    case pkce = 3
    case pkcePublic = 4

    /// Name on the command line and in JSON.
    public var name: String {
        switch self {
        case .staticKey: "static"
        case .oauth: "oauth"
        case .pkce: "pkce"
        case .pkcePublic: "pkce-public"
        }
    }

    /// Label in the credential table.
    public var label: String {
        switch self {
        case .staticKey: "Static API key"
        case .oauth: "OAuth (API user)"
        case .pkce: "OAuth PKCE (individual user)"
        case .pkcePublic: "OAuth PKCE Public"
        }
    }

    /// Static keys and OAuth API users act as their own service user; PKCE types act as the approving user.
    public var hasServiceUser: Bool { self == .staticKey || self == .oauth }
    /// Every type but the public PKCE client has a secret.
    public var hasSecret: Bool { self != .pkcePublic }
    public var isOAuthClient: Bool { self != .staticKey }
    public var isUserDelegated: Bool { self == .pkce || self == .pkcePublic }

    public init?(name: String) {
        guard let match = CredentialType.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}
