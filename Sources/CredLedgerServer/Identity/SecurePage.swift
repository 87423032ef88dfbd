import CredLedgerHTTP

/// HTML pages of the server (login, consent, error pages, the admin page): one shell and the security headers of
/// docs/HTTP.md §9. Every interpolated value must already be escaped with `HTML.escape`.
public enum SecurePage {
    /// The headers every page carries: a CSP with no script at all, no framing, no sniffing, no referrer, no caching.
    public static var headers: HTTPHeaders {
        [
            "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` on the page's own form POSTs
            // (Fetch, "serializing a request origin"), and the sign-in and consent forms could not tell them from a
            // cross-site post. Nothing leaves the origin either way.
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
            "Pragma": "no-cache",
        ]
    }

    /// A complete page: `title` is escaped here, `body` is trusted markup the caller built with escaped values.
    public static func response(title: String, body: String, status: HTTPStatus = .ok, extraHeaders: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = Self.headers
        for field in extraHeaders { headers.add(field.name, field.value) }
        let html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title))</title><link rel="stylesheet" href="\(PageAssets.shared.style.path)"></head>
        <body>
        <main class="narrow"><div class="card">
        \(body)
        </div></main>
        </body></html>

        """
        return .html(html, status: status, headers: headers)
    }

    /// A 303 See Other to `location` (never 307: a POST must not be replayed at the client, RFC 9700 §4.12).
    public static func seeOther(_ location: String, extraHeaders: HTTPHeaders = [:]) -> HTTPResponse {
        var headers: HTTPHeaders = ["Location": location, "Cache-Control": "no-store", "Pragma": "no-cache"]
        for field in extraHeaders { headers.add(field.name, field.value) }
        return HTTPResponse(status: .seeOther, headers: headers)
    }
}
