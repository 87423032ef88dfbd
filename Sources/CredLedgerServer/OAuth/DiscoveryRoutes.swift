import CredLedgerCore
import CredLedgerHTTP

/// Discovery for OAuth clients and MCP connectors: RFC 8414 authorization-server metadata and RFC 9728
/// protected-resource metadata. Every URL starts with the configured issuer, never the request's `Host`.
struct DiscoveryRoutes: RouteGroup {
    let context: ServerContext

    /// RFC 8414 §2 metadata.
    struct AuthorizationServerMetadata: Encodable {
        let issuer: String
        let authorization_endpoint: String
        let token_endpoint: String
        let introspection_endpoint: String
        let revocation_endpoint: String
        let response_types_supported = ["code"]
        let response_modes_supported = ["query"]
        let grant_types_supported = ["authorization_code", "client_credentials", "refresh_token"]
        let code_challenge_methods_supported = ["S256"]
        let token_endpoint_auth_methods_supported = ["client_secret_basic", "client_secret_post", "none"]
        let introspection_endpoint_auth_methods_supported = ["client_secret_basic", "client_secret_post"]
        let revocation_endpoint_auth_methods_supported = ["client_secret_basic", "client_secret_post", "none"]
        let scopes_supported = Scope.allCases.map(\.name)
        /// RFC 9207: every authorization response carries `iss`.
        let authorization_response_iss_parameter_supported = true
    }

    /// RFC 9728 §2 metadata of the API the ledger's credentials protect.
    struct ProtectedResourceMetadata: Encodable {
        let resource: String
        let authorization_servers: [String]
        let bearer_methods_supported = ["header"]
        let scopes_supported = Scope.allCases.map(\.name)
    }

    func register(in router: inout Router) {
        let issuer = context.issuer
        let server = AuthorizationServerMetadata(
            issuer: issuer, authorization_endpoint: issuer + "/oauth/authorize", token_endpoint: issuer + "/oauth/token",
            introspection_endpoint: issuer + "/oauth/introspect", revocation_endpoint: issuer + "/oauth/revoke")
        let resource = ProtectedResourceMetadata(resource: issuer, authorization_servers: [issuer])
        // Metadata changes only with a restart: a short cache is fine.
        let headers: HTTPHeaders = ["Cache-Control": "public, max-age=300"]
        router.add(.get, "/.well-known/oauth-authorization-server") { _ in .json(server, headers: headers) }
        router.add(.get, "/.well-known/oauth-protected-resource") { _ in .json(resource, headers: headers) }
    }
}
