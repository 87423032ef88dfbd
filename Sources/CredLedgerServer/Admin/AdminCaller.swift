import CredLedgerHTTP

/// Who calls the admin API, and whether a state change may come from where it comes from.
///
/// The caller is the signed-in user (the trusted proxy's identity header, else the session cookie). A request that a
/// browser could have sent — it carries a `Cookie`, an `Origin` or a `Sec-Fetch-Site` — must also carry the page's
/// CSRF token in `X-CSRF-Token` (bound to the user and `admin:<company>`) when it changes state, and is refused when
/// `Sec-Fetch-Site` says cross-site or `Origin` is not the issuer's (docs/HTTP.md §9: a proxy identity header rides
/// on every cross-site request too, so neither the header nor `SameSite` is enough). A script behind the proxy sends
/// none of those headers and needs no token.
enum AdminCaller {
    /// The CSRF purpose of a company's API area.
    static func purpose(_ company: String) -> String { "admin:\(company)" }

    /// A read: signed in is enough (the engine checks the admin role).
    static func read<T: Encodable>(_ request: HTTPRequest, _ context: ServerContext,
                                   _ body: @Sendable (HTTPRequest, String) async throws -> T) async -> HTTPResponse {
        guard let user = context.signedInUser(request) else { return notSignedIn() }
        return await AdminResponses.answer { try await body(request, user.email) }
    }

    /// A state change: signed in, and from the page itself when a browser sent it.
    static func change<T: Encodable>(_ request: HTTPRequest, _ context: ServerContext, status: HTTPStatus = .ok,
                                     _ body: @Sendable (HTTPRequest, String) async throws -> T) async -> HTTPResponse {
        guard let user = context.signedInUser(request) else { return notSignedIn() }
        if let refusal = browserRefusal(request, context, user) { return refusal }
        return await AdminResponses.answer(status: status) { try await body(request, user.email) }
    }

    static func notSignedIn() -> HTTPResponse {
        AdminResponses.error("not_signed_in", "sign in first (the front proxy's identity, or the login page)", status: .unauthorized)
    }

    /// Nil when the request may change state; else the 403 that says why.
    static func browserRefusal(_ request: HTTPRequest, _ context: ServerContext, _ user: SignedInUser) -> HTTPResponse? {
        let headers = request.headers
        if let site = headers["sec-fetch-site"], site.lowercased() == "cross-site" {
            return AdminResponses.error("cross_site_request", "state changes are refused from another site", status: .forbidden)
        }
        if let sent = headers["origin"], sent.lowercased() != origin(of: context.issuer).lowercased() {
            return AdminResponses.error("cross_site_request", "the request's Origin is not this server's", status: .forbidden)
        }
        let fromBrowser = headers.contains("cookie") || headers.contains("origin") || headers.contains("sec-fetch-site")
        guard fromBrowser else { return nil }
        let company = request.pathParameters["company"] ?? ""
        guard context.checkCSRF(headers["x-csrf-token"], for: user, purpose: purpose(company)) else {
            return AdminResponses.error("csrf_token_invalid", "reload the page: its security token is missing, expired or for another user or company",
                                        status: .forbidden)
        }
        return nil
    }

    /// `scheme://host[:port]` of a URL: what a browser sends as `Origin`.
    static func origin(of url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let host = rest.firstIndex(of: "/").map { rest[..<$0] } ?? rest
        return String(url[..<schemeEnd.upperBound]) + host
    }
}
