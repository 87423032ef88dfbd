import CredLedger
import CredLedgerAPI
import CredLedgerCore
import CredLedgerHTTP

/// `POST /oauth/token` (RFC 6749 §3.2, §4.1.3, §4.4, §6), `POST /oauth/introspect` (RFC 7662) and
/// `POST /oauth/revoke` (RFC 7009): forms in, the API model's bodies out, the ledger's rules in between (every
/// refusal is recorded there). Every answer carries `Cache-Control: no-store` and `Pragma: no-cache`.
struct TokenRoutes: RouteGroup {
    let context: ServerContext

    func register(in router: inout Router) {
        let api = context.api
        router.add(.post, "/oauth/token") { request in
            await TokenRoutes.answer { () async throws(OAuthFailure) -> HTTPResponse in
                let form = try OAuthForm.decode(request)
                let client = try ClientAuthentication.from(request, form: form)
                guard let grantType = form["grant_type"] else { throw .invalidRequest("grant_type is required") }
                guard ["authorization_code", "refresh_token", "client_credentials"].contains(grantType) else {
                    throw OAuthFailure(error: "unsupported_grant_type",
                                       description: "grant_type must be authorization_code, refresh_token or client_credentials")
                }
                let resource = try ResourceIndicator.parse(form["resource"])
                // client_credentials without a secret goes to the ledger as an empty one: refused as invalid_client
                // and recorded like any failed client authentication.
                let secret = grantType == "client_credentials" ? (client.clientSecret ?? "") : client.clientSecret
                let tokenRequest = API.TokenRequest(grantType: grantType, clientID: client.clientID, clientSecret: secret,
                                                    code: form["code"], codeVerifier: form["code_verifier"],
                                                    redirectURI: form["redirect_uri"], refreshToken: form["refresh_token"],
                                                    resource: resource)
                do {
                    let response = try await api.respond(to: tokenRequest)
                    return .json(response, headers: OAuthFailure.noStore)
                } catch {
                    throw OAuthFailure.from(error, usedBasic: client.usedBasic)
                }
            }
        }
        router.add(.post, "/oauth/introspect") { request in
            await TokenRoutes.answer { () async throws(OAuthFailure) -> HTTPResponse in
                let (query, client) = try TokenRoutes.tokenQuery(request)
                do {
                    let answer = try await api.respond(to: API.IntrospectOperation(query))
                    return .json(answer, headers: OAuthFailure.noStore)
                } catch {
                    throw OAuthFailure.from(error, usedBasic: client.usedBasic)
                }
            }
        }
        router.add(.post, "/oauth/revoke") { request in
            await TokenRoutes.answer { () async throws(OAuthFailure) -> HTTPResponse in
                let (query, client) = try TokenRoutes.tokenQuery(request)
                do {
                    // RFC 7009 §2.2: 200 whether the token was revoked now, was already inactive or is unknown.
                    _ = try await api.respond(to: API.RevokeOperation(query))
                    return HTTPResponse(status: .ok, headers: OAuthFailure.noStore)
                } catch {
                    throw OAuthFailure.from(error, usedBasic: client.usedBasic)
                }
            }
        }
    }

    /// Runs `body`, answering its failure as an RFC 6749 §5.2 error.
    static func answer(_ body: () async throws(OAuthFailure) -> HTTPResponse) async -> HTTPResponse {
        do {
            return try await body()
        } catch {
            return error.response
        }
    }

    /// The form of an introspection or revocation request: `token` (required), `token_type_hint` (optional, only the
    /// RFC's two values), and the client.
    static func tokenQuery(_ request: HTTPRequest) throws(OAuthFailure) -> (API.TokenQueryRequest, ClientAuthentication) {
        let form = try OAuthForm.decode(request)
        let client = try ClientAuthentication.from(request, form: form)
        guard let token = form["token"] else { throw .invalidRequest("token is required") }
        let hint = form["token_type_hint"]
        // RFC 7009 §2.1 / RFC 7662 §2.1: an unknown hint may be ignored; only the two defined are passed on.
        let knownHint = hint.flatMap { ["access_token", "refresh_token"].contains($0) ? $0 : nil }
        return (API.TokenQueryRequest(token: token, tokenTypeHint: knownHint, clientID: client.clientID, clientSecret: client.clientSecret),
                client)
    }
}
