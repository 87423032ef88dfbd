import CredLedgerAPI
import CredLedgerHTTP

/// The HTML of `/companies/{company}/api` in each of its states (the seeds' wording). The server decides the state;
/// the script (`PageAssets`) fills the table and runs the dialogs. Every interpolated value goes through `HTML.escape`.
struct CompanyAPIPage {
    let company: String
    let user: String
    let assets: PageAssets
    let signOut: Bool

    /// The headers of every page: strict CSP (script, style and fetches only from this origin; no inline script or
    /// style), no framing, no caching (a page may show a secret), no referrer (docs/HTTP.md §9).
    static let headers: HTTPHeaders = [
        "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
    ]

    private func layout(title: String, script: Bool, _ body: String) -> String {
        let e = HTML.escape
        let scriptTag = script ? "\n<script src=\"\(assets.script.path)\" defer></script>" : ""
        let logout = signOut ? " <a href=\"/logout\">Sign out</a>" : ""
        return """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(e(title))</title>
        <link rel="stylesheet" href="\(assets.style.path)">\(scriptTag)
        </head>
        <body>
        <header class="topbar"><div class="brand">credledger <span>· \(e(company))</span></div><div class="who">Signed in as \(e(user))\(logout)</div></header>
        \(body)
        </body>
        </html>

        """
    }

    /// A non-admin (or an `apiservice+…` address): the seeds' rule, nothing else.
    func notAdmin() -> String {
        layout(title: "API · \(company)", script: false, """
        <main>
        <p class="crumbs">Company profile › API</p>
        <h1>API</h1>
        <section class="card notice warn" id="not-admin">
        <h2>Only company admins can use the API area</h2>
        <p>Only users with the company role Admin can access and manage the API area. You are signed in as \(HTML.escape(user)), who is not an admin of \(HTML.escape(company)).</p>
        <p class="hint">Use an account with the Admin role, or ask an admin to update your role.</p>
        </section>
        </main>
        """)
    }

    /// A company that does not exist (or a name the caller mistyped).
    func unknownCompany() -> String {
        layout(title: "Not found", script: false, """
        <main><h1>No such company</h1><section class="card notice warn"><p>There is no company “\(HTML.escape(company))”.</p></section></main>
        """)
    }

    /// The API area of an admin: the module switch when it is off, the keys table and the dialogs.
    func area(_ area: API.AdminArea, csrf: String, issuer: String) -> String {
        let e = HTML.escape
        let enabled = area.company.apiEnabled
        let module = enabled ? "" : """
        <section class="card notice warn" id="module-disabled">
        <h2>The API key module is not enabled</h2>
        <p>The API key module is an Enterprise feature, and therefore must also be enabled for \(e(area.company.name)). While it is off, every API key and OAuth client of the company is refused; you can still review and delete them below.</p>
        <p><button type="button" class="primary" id="enable-module">Enable the API key module</button></p>
        </section>
        """
        let disable = enabled ? """
        <footer class="page"><p>The API key module is enabled for \(e(area.company.name)). <button type="button" class="link" id="disable-module">Disable it…</button></p></footer>
        """ : ""
        return layout(title: "API keys · \(area.company.name)", script: true, """
        <main id="app" data-company="\(e(area.company.company))" data-issuer="\(e(issuer))" data-csrf="\(e(csrf))">
        <p class="crumbs">\(e(area.company.name)) › Company profile › API</p>
        <h1>API keys</h1>
        <p class="lead">Connect scripts, external systems and AI tools to \(e(area.company.name)) over HTTPS. Secrets are only shown once and must be stored securely. Non-global keys need project access; GLOBAL keys reach every company project.</p>
        <div id="banner" class="banner" role="status" aria-live="polite" hidden></div>
        \(module)
        <div class="toolbar">
        <div class="left"><label class="visually-hidden" for="filter">Filter keys</label><input type="search" id="filter" placeholder="Filter by name, type, scope…" autocomplete="off"><span class="count" id="count" aria-live="polite"></span></div>
        <button type="button" class="primary" id="open-create"\(enabled ? "" : " disabled title=\"Enable the API key module first\"")>Generate API key</button>
        </div>
        <table class="keys" id="keys">
        <caption class="visually-hidden">API keys and OAuth clients of \(e(area.company.name))</caption>
        <thead><tr>
        <th scope="col" data-sort="name" aria-sort="ascending"><button type="button">Name</button></th>
        <th scope="col" data-sort="scope"><button type="button">Scope</button></th>
        <th scope="col" data-sort="type"><button type="button">Type</button></th>
        <th scope="col" data-sort="last_used"><button type="button">Last used</button></th>
        <th scope="col" data-sort="used" class="num"><button type="button">Used</button></th>
        <th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr></thead>
        <tbody></tbody>
        </table>
        <p class="empty" id="empty" hidden>No API keys yet. Generate one to connect an integration.</p>
        \(disable)
        </main>
        \(Self.dialogs)
        """)
    }

    /// The dialogs: create, show once, delete, rotate, detail, module off. Native `<dialog>`: modal, focus kept inside, Escape.
    static let dialogs = """
    <dialog id="create-dialog" aria-labelledby="create-title">
    <form id="create-form" novalidate>
    <div class="dialog-body">
    <h2 id="create-title">Create new API key</h2>
    <div class="field"><label for="c-name">API name</label><input type="text" id="c-name" name="name" required maxlength="200" autocomplete="off" autofocus></div>
    <div class="field"><label for="c-type">API type</label>
    <select id="c-type" name="type">
    <option value="static">Static API key</option>
    <option value="oauth">OAuth (API user)</option>
    <option value="pkce">OAuth PKCE (individual user)</option>
    <option value="pkce-public">OAuth PKCE Public</option>
    </select>
    <p class="hint">Static key: sent as <code>Authorization: Apikey …</code>. OAuth (API user): client ID and secret for Bearer tokens. OAuth PKCE: a user signs in and approves access (e.g. Claude’s custom connector); Public: client ID only.</p></div>
    <div class="field"><label for="c-scope">API scope</label>
    <select id="c-scope" name="scope">
    <option value="read">Developer READ API</option>
    <option value="read-write">Developer READ-WRITE API</option>
    <option value="global">Developer Global API</option>
    </select>
    <p class="hint">READ and READ-WRITE reach only the projects you add the key to; Global reaches all company projects.</p></div>
    <div class="field"><label for="c-expires">Expires</label>
    <select id="c-expires" name="expires_in">
    <option value="">Never</option>
    <option value="30d">In 30 days</option>
    <option value="90d">In 90 days</option>
    <option value="365d">In 1 year</option>
    </select>
    <p class="hint">After that it is refused (<code>expired</code>); create a new one to replace it.</p></div>
    <div class="field" id="c-redirect-row" hidden><label for="c-redirects">Redirect URIs</label>
    <textarea id="c-redirects" name="redirect_uris" rows="2" autocomplete="off" spellcheck="false"></textarea>
    <p class="hint">One per line: https, or http on 127.0.0.1 / [::1] for apps on this machine. For Claude: <code>https://claude.ai/api/mcp/auth_callback</code>.</p></div>
    <p class="form-error" role="alert" id="create-error"></p>
    </div>
    <div class="dialog-actions"><button type="button" class="secondary" data-close>Cancel</button><button type="submit" class="primary" id="create-save">Save</button></div>
    </form>
    </dialog>

    <dialog id="secret-dialog" aria-labelledby="secret-title" aria-describedby="secret-warning">
    <div class="dialog-body">
    <h2 id="secret-title">API key created</h2>
    <p class="warning" id="secret-warning"><strong>Secrets are only shown once.</strong> Copy and store them securely now. If lost, rotate the secret (Details › Rotate secret…), or create a new key or client and delete the old one.</p>
    <div id="secret-body"></div>
    <div class="confirm" id="secret-confirm" hidden role="alertdialog" aria-labelledby="secret-confirm-text">
    <p id="secret-confirm-text">Have you stored the secret? After closing it cannot be shown again.</p>
    <div><button type="button" class="secondary" id="secret-close-no">Back</button><button type="button" class="danger" id="secret-close-yes">Yes, close</button></div>
    </div>
    </div>
    <div class="dialog-actions"><button type="button" class="primary" id="secret-done">Close</button></div>
    </dialog>

    <dialog id="delete-dialog" aria-labelledby="delete-title" aria-describedby="delete-text">
    <div class="dialog-body">
    <h2 id="delete-title">Delete API key</h2>
    <p id="delete-text">Delete <strong id="delete-name"></strong> (<span id="delete-type"></span>, <span id="delete-scope"></span>)? It stops working at once, and so does every token issued from it. This cannot be undone.</p>
    <p class="form-error" role="alert" id="delete-error"></p>
    </div>
    <div class="dialog-actions"><button type="button" class="secondary" id="delete-cancel" data-close>Cancel</button><button type="button" class="danger" id="delete-confirm">Delete API key</button></div>
    </dialog>

    <dialog id="rotate-dialog" aria-labelledby="rotate-title" aria-describedby="rotate-text">
    <form id="rotate-form" novalidate>
    <div class="dialog-body">
    <h2 id="rotate-title">Rotate secret</h2>
    <p id="rotate-text">Issue a new secret for <strong id="rotate-name"></strong> (<span id="rotate-type"></span>). The new secret is shown once. Update every integration that uses the old one before it stops working.</p>
    <div class="field"><label for="rotate-grace">The old secret stops working</label>
    <select id="rotate-grace" name="grace">
    <option value="0">Now</option>
    <option value="1h">In 1 hour</option>
    <option value="24h" selected>In 24 hours</option>
    <option value="7d">In 7 days</option>
    </select>
    <p class="hint" id="rotate-tokens"></p></div>
    <p class="form-error" role="alert" id="rotate-error"></p>
    </div>
    <div class="dialog-actions"><button type="button" class="secondary" id="rotate-cancel" data-close>Cancel</button><button type="submit" class="danger" id="rotate-confirm">Rotate secret</button></div>
    </form>
    </dialog>

    <dialog id="detail-dialog" class="wide" aria-labelledby="detail-title">
    <div class="dialog-body">
    <h2 id="detail-title">API key</h2>
    <div id="detail-body"></div>
    </div>
    <div class="dialog-actions" id="detail-actions"></div>
    </dialog>

    <dialog id="module-dialog" aria-labelledby="module-title">
    <div class="dialog-body"><h2 id="module-title">Disable the API key module?</h2>
    <p>Every API key and OAuth client of the company is refused while the module is off. Turning it back on makes them work again.</p></div>
    <div class="dialog-actions"><button type="button" class="secondary" data-close>Cancel</button><button type="button" class="danger" id="module-confirm">Disable</button></div>
    </dialog>
    """

    /// Nobody signed in and no login page to send them to.
    static func signInRequired(assets: PageAssets) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Sign in required</title><link rel="stylesheet" href="\(assets.style.path)"></head>
        <body><main><h1>Sign in required</h1><section class="card notice warn"><p>Sign in through your company’s sign-in to use the API area.</p></section></main></body></html>

        """
    }
}
