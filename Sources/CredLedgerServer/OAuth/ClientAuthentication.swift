import CredLedgerHTTP

/// The client of a token, introspection or revocation request (RFC 6749 §2.3.1): HTTP Basic, or `client_id` (and
/// `client_secret`) form fields, or a public client's `client_id` alone. Checking the secret is the ledger's.
struct ClientAuthentication: Sendable, Equatable {
    let clientID: String
    let clientSecret: String?
    /// Whether the client used the Authorization header (a failure then answers 401 + `WWW-Authenticate: Basic`).
    let usedBasic: Bool

    /// Reads the client from the request; a malformed Basic value is `invalid_client`, Basic together with a body
    /// secret (or another body client_id) `invalid_request` (RFC 6749 §2.3: one method per request).
    static func from(_ request: HTTPRequest, form: FormFields) throws(OAuthFailure) -> ClientAuthentication {
        if let header = request.headers["authorization"] {
            guard request.headers.values("authorization").count == 1 else {
                throw OAuthFailure(error: "invalid_request", description: "send one Authorization header", usedBasic: true)
            }
            let credentials: BasicCredentials
            do {
                credentials = try BasicCredentials.parse(header)
            } catch {
                throw OAuthFailure(error: "invalid_client", description: "the Authorization header is not valid HTTP Basic client authentication",
                                   usedBasic: true)
            }
            guard form["client_secret"] == nil else {
                throw OAuthFailure(error: "invalid_request", description: "authenticate with HTTP Basic or client_secret in the body, not both",
                                   usedBasic: true)
            }
            if let bodyID = form["client_id"], bodyID != credentials.username {
                throw OAuthFailure(error: "invalid_request", description: "client_id differs from the HTTP Basic user name", usedBasic: true)
            }
            guard !credentials.username.isEmpty else {
                throw OAuthFailure(error: "invalid_client", description: "HTTP Basic carries no client_id", usedBasic: true)
            }
            return ClientAuthentication(clientID: credentials.username,
                                        clientSecret: credentials.password.isEmpty ? nil : credentials.password, usedBasic: true)
        }
        guard let clientID = form["client_id"] else {
            throw OAuthFailure(error: "invalid_client", description: "authenticate the client: HTTP Basic, or client_id (and client_secret) in the body",
                               usedBasic: false)
        }
        return ClientAuthentication(clientID: clientID, clientSecret: form["client_secret"], usedBasic: false)
    }
}
