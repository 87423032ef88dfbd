import CredLedger
import CredLedgerCore
import CredLedgerHTTP

/// `GET /oauth/authorize` (validate, then the consent page) and `POST /oauth/authorize` (approve or deny, with a
/// CSRF token bound to the user and the request): docs/HTTP.md "OAuth endpoints".
struct AuthorizeRoutes: RouteGroup {
    let context: ServerContext

    func register(in router: inout Router) {
        let context = self.context
        router.add(.get, "/oauth/authorize") { request in
            let fields: FormFields
            do {
                fields = try request.queryFields()
            } catch {
                return AuthorizeRoutes.errorPage(.badRequest, "The request's query could not be read (\(error)).")
            }
            let authorization: AuthorizationRequest
            do throws(AuthorizationRequest.Failure) {
                authorization = try await AuthorizationRequest.validate(fields, ledger: context.ledger)
            } catch {
                return AuthorizeRoutes.failure(error, context: context)
            }
            guard let user = context.signedInUser(request) else { return AuthorizeRoutes.signIn(request, context: context) }
            return AuthorizeRoutes.consentPage(authorization, user: user, context: context)
        }
        router.add(.post, "/oauth/authorize") { request in
            guard FormDecoding.isFormContentType(request.headers["content-type"]), let form = try? FormDecoding.decode(request.body) else {
                return AuthorizeRoutes.errorPage(.badRequest, "The consent form could not be read.")
            }
            guard let user = context.signedInUser(request) else {
                return AuthorizeRoutes.errorPage(.unauthorized, "You are not signed in: start again from the application.")
            }
            // A proxy's identity header rides on every cross-site POST: SameSite cookies are not enough (§9).
            guard context.isSameOriginPost(request) else {
                return AuthorizeRoutes.errorPage(.forbidden, "Cross-site consent requests are refused.")
            }
            let authorization: AuthorizationRequest
            do throws(AuthorizationRequest.Failure) {
                authorization = try await AuthorizationRequest.validate(form, ledger: context.ledger)
            } catch {
                return AuthorizeRoutes.failure(error, context: context)
            }
            guard context.checkCSRF(form["csrf"], for: user, purpose: authorization.csrfPurpose) else {
                return AuthorizeRoutes.errorPage(.forbidden, "This consent form is not valid for you or this request (or it expired): start again from the application.")
            }
            guard let decision = form["decision"], decision == "approve" || decision == "deny" else {
                return AuthorizeRoutes.errorPage(.badRequest, "The consent form must say approve or deny.")
            }
            guard let token = form["csrf"], context.identity.spendConsentToken(token) else {
                return AuthorizeRoutes.errorPage(.forbidden, "This consent form was already answered: start again from the application.")
            }
            switch decision {
            case "approve":
                return await AuthorizeRoutes.approve(authorization, user: user, context: context)
            case "deny":
                // Recorded like the ledger's other refusals; the answer is access_denied either way.
                try? await context.ledger.oauth.denyClient(clientID: authorization.client.clientID, user: user.email)
                return AuthorizeRoutes.redirect(authorization.redirectURI, error: "access_denied", description: "the user denied the request",
                                                state: authorization.state, context: context)
            default:
                return AuthorizeRoutes.errorPage(.badRequest, "The consent form must say approve or deny.")
            }
        }
    }

    /// The consent: `ledger.oauth.approveClient`, then 303 to the client with code, state and iss.
    static func approve(_ authorization: AuthorizationRequest, user: SignedInUser, context: ServerContext) async -> HTTPResponse {
        do {
            let grant = try await context.ledger.oauth.approveClient(
                company: authorization.client.companySlug, clientID: authorization.client.clientID, user: user.email,
                redirectURI: authorization.redirectURI, codeChallenge: authorization.codeChallenge,
                codeChallengeMethod: authorization.codeChallengeMethod, state: authorization.state, resource: authorization.resource)
            let location = AuthorizationResponse.location(authorization.redirectURI,
                                                           [("code", grant.code), ("state", authorization.state), ("iss", context.issuer)])
            return SecurePage.seeOther(location)
        } catch let error as OAuthError {
            // The client vanished between the page and the answer: its redirect URI is no longer to be trusted.
            if error.error == "invalid_client" {
                return errorPage(.badRequest, "This client can no longer be authorized (\(error.reason.code)).")
            }
            return redirect(authorization.redirectURI, error: error.error, description: error.reason.fix, state: authorization.state,
                            context: context)
        } catch {
            return errorPage(.internalServerError, "The ledger could not record the consent; try again.")
        }
    }

    static func failure(_ failure: AuthorizationRequest.Failure, context: ServerContext) -> HTTPResponse {
        switch failure {
        case .page(let status, let message):
            return errorPage(status, message)
        case .redirect(let uri, let error, let description, let state):
            return redirect(uri, error: error, description: description, state: state, context: context)
        }
    }

    /// An error sent back to the client (RFC 6749 §4.1.2.1) with `iss` (RFC 9207).
    static func redirect(_ uri: String, error: String, description: String, state: String?, context: ServerContext) -> HTTPResponse {
        SecurePage.seeOther(AuthorizationResponse.location(uri, [("error", error), ("error_description", description),
                                                                 ("state", state), ("iss", context.issuer)]))
    }

    /// Not signed in: the dev login page when it is on, else a page saying sign-in is the front proxy's.
    static func signIn(_ request: HTTPRequest, context: ServerContext) -> HTTPResponse {
        if context.settings.devLogin {
            let back = request.path + (request.query.map { "?" + $0 } ?? "")
            return SecurePage.seeOther("/login?next=" + PercentEncoding.encode(back))
        }
        return errorPage(.unauthorized, "You are not signed in. Sign-in happens at the front proxy of this server; open the application's link through it.")
    }

    static func errorPage(_ status: HTTPStatus, _ message: String) -> HTTPResponse {
        SecurePage.response(title: "Authorization request refused", body: """
            <h1>Authorization request refused</h1>
            <p>\(HTML.escape(message))</p>
            <p>Nothing was sent to the application.</p>
            """, status: status)
    }

    static func consentPage(_ authorization: AuthorizationRequest, user: SignedInUser, context: ServerContext) -> HTTPResponse {
        let client = authorization.client
        let token = context.csrfToken(for: user, purpose: authorization.csrfPurpose)
        let hidden = authorization.hiddenFields.map { name, value in
            "<input type=\"hidden\" name=\"\(HTML.escape(name))\" value=\"\(HTML.escape(value))\">"
        }.joined(separator: "\n")
        // Where the answer goes: the host of a web or loopback URI, the whole URI of an app's private-use scheme.
        let parsedHost = (try? RedirectURI(parsing: authorization.redirectURI, allowPrivateUseScheme: true))?.host ?? ""
        let returnHost = parsedHost.isEmpty ? authorization.redirectURI : parsedHost
        // RFC 8707: the tokens will be good for this resource only; the user sees which.
        let resource = authorization.resource.map { "<p>The access is for the resource <code>\(HTML.escape($0))</code> only.</p>" } ?? ""
        return SecurePage.response(title: "Authorize \(client.name)", body: """
            <h1>Authorize <strong>\(HTML.escape(client.name))</strong>?</h1>
            <p>The application <strong>\(HTML.escape(client.name))</strong> of company <strong>\(HTML.escape(client.companyName))</strong>
            (<code>\(HTML.escape(client.companySlug))</code>) asks to act as you,
            <strong>\(HTML.escape(user.email))</strong>, with scope <strong>\(HTML.escape(client.scope.tableLabel))</strong>.</p>
            <p>It acts with your own project roles in this company, never more. After your answer you return to
            <code>\(HTML.escape(returnHost))</code>.</p>
            \(resource)
            <form method="post" action="/oauth/authorize">
            \(hidden)
            <input type="hidden" name="csrf" value="\(HTML.escape(token))">
            <button type="submit" class="primary" name="decision" value="approve">Approve</button>
            <button type="submit" class="secondary" name="decision" value="deny">Deny</button>
            </form>
            """)
    }
}
