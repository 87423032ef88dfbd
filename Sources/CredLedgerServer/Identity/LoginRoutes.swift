import CredLedgerHTTP

/// `/login` (only with `--dev-login`: a plainly marked development page that signs in whoever types an email) and
/// `/logout`. Production sign-in is the front proxy's identity header (docs/HTTP.md "Identity").
struct LoginRoutes: RouteGroup {
    let context: ServerContext

    func register(in router: inout Router) {
        let context = self.context
        router.add(.get, "/login") { request in
            guard context.settings.devLogin else { return .status(.notFound) }
            let next = (try? request.queryFields())?["next"].flatMap(LoginRoutes.safeNext) ?? "/"
            return LoginRoutes.page(context, request: request, next: next, error: nil)
        }
        router.add(.post, "/login") { request in
            guard context.settings.devLogin else { return .status(.notFound) }
            guard context.isSameOriginPost(request) else {
                return SecurePage.response(title: "Refused", body: "<h1>Refused</h1><p>Cross-site sign-in requests are refused.</p>",
                                           status: .forbidden)
            }
            guard FormDecoding.isFormContentType(request.headers["content-type"]),
                  let form = try? FormDecoding.decode(request.body), form.repeatedNames.isEmpty else {
                return LoginRoutes.page(context, request: request, next: "/", error: "The form could not be read.", status: .badRequest)
            }
            let next = form["next"].flatMap(LoginRoutes.safeNext) ?? "/"
            guard let email = form["email"].flatMap(Identity.acceptableEmail) else {
                return LoginRoutes.page(context, request: request, next: next, error: "Type an email address.", status: .badRequest)
            }
            return SecurePage.seeOther(next, extraHeaders: ["Set-Cookie": context.identity.sessionCookie(for: SignedInUser(email: email))])
        }
        router.add(.get, "/logout") { request in
            let user = context.signedInUser(request)
            let who = user.map { "<p>Signed in as <strong>\(HTML.escape($0.email))</strong>.</p>" } ?? "<p>You are not signed in with a session.</p>"
            return SecurePage.response(title: "Sign out", body: """
                <h1>Sign out</h1>
                \(who)
                <form method="post" action="/logout"><button type="submit" class="secondary">Sign out</button></form>
                """)
        }
        router.add(.post, "/logout") { request in
            guard context.isSameOriginPost(request) else {
                return SecurePage.response(title: "Refused", body: "<h1>Refused</h1><p>Cross-site sign-out requests are refused.</p>",
                                           status: .forbidden)
            }
            // The server forgets the session too: the same cookie replayed later signs in no one.
            for cookie in Cookies.parse(request.headers) where cookie.name == Identity.cookieName {
                context.identity.endSession(cookie.value)
            }
            return SecurePage.seeOther(context.settings.devLogin ? "/login" : "/",
                                       extraHeaders: ["Set-Cookie": context.identity.expiredSessionCookie()])
        }
    }

    /// `next` when it is a path on this server ("/…", not "//…" nor "/\…", printable ASCII, bounded): never an open
    /// redirect.
    static func safeNext(_ next: String) -> String? {
        let bytes = Array(next.utf8)
        guard bytes.count <= 2048, bytes.first == UInt8(ascii: "/"),
              bytes.count == 1 || (bytes[1] != UInt8(ascii: "/") && bytes[1] != UInt8(ascii: "\\")),
              bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) else { return nil }
        return next
    }

    static func page(_ context: ServerContext, request: HTTPRequest, next: String, error: String?,
                     status: HTTPStatus = .ok) -> HTTPResponse {
        let current = context.signedInUser(request).map { "<p>Currently signed in as <strong>\(HTML.escape($0.email))</strong>.</p>" } ?? ""
        let problem = error.map { "<p role=\"alert\"><strong>\(HTML.escape($0))</strong></p>" } ?? ""
        return SecurePage.response(title: "Development login", body: """
            <h1>Development login</h1>
            <p><strong>DEVELOPMENT ONLY.</strong> This server runs with <code>--dev-login</code>: anyone can sign in as any
            email typed here, without a password. In production, sign-in is done by the front proxy
            (<code>--identity-header</code> from a <code>--trusted-proxy</code>).</p>
            \(current)\(problem)
            <form method="post" action="/login">
            <input type="hidden" name="next" value="\(HTML.escape(next))">
            <label>Company user email <input type="email" name="email" required autofocus></label>
            <button type="submit" class="primary">Sign in</button>
            </form>
            """, status: status)
    }
}
