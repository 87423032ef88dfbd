import CredLedger
import CredLedgerAPI
import CredLedgerCore
import CredLedgerHTTP
import CredLedgerServer
import Foundation
import TestSupport
import XCTest

/// The admin JSON API (docs/HTTP.md "Admin API") and the page's server side, with curl: the ledger's rules and codes
/// with their statuses, bodies as the API model, the secret only in the create/rotate answer, CSRF and origin checks
/// for browser callers, hostile input refused without a write.
final class AdminAPITests: XCTestCase {
    static let alice = "alice@acme.example", bob = "bob@acme.example"
    var server: OAuthTestServer!
    var base: String { server.url + "/v1/companies/acme" }

    override func setUpWithError() throws {
        server = try OAuthTestServer("admin-api") {
            $0.identityHeader = "X-Email"
            $0.trustedProxies = [CIDR("127.0.0.1/32")!]
            $0.devLogin = true
        }
        let admin = server.ledger.administration
        _ = try admin.registerCompany("acme", admin: Self.alice, name: "Acme Corp", mailDomain: "acme.example")
        _ = try admin.setMemberRole("acme", email: Self.bob, role: .member, as: Self.alice)
        try admin.createProject("acme", project: "bridge", as: Self.alice)
        _ = try admin.registerCompany("globex", admin: "hank@globex.example", mailDomain: "globex.example")
    }

    override func tearDown() { server?.remove() }

    /// A request as the proxy-identified `user` (a script: no browser headers, no token needed).
    func call(_ method: String, _ path: String, as user: String? = alice, json: String? = nil, headers: [String] = []) throws -> CurlReply {
        var args = ["-X", method]
        if let user { args += ["-H", "X-Email: \(user)"] }
        if let json { args += ["-H", "Content-Type: application/json", "--data-binary", json] }
        for h in headers { args += ["-H", h] }
        return try CurlClient.run(args + [path.hasPrefix("http") ? path : base + path])
    }

    func assertError(_ r: CurlReply, _ status: Int, _ code: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.body, file: file, line: line)
        XCTAssertEqual(r.json["error"] as? String, code, r.body, file: file, line: line)
        XCTAssertEqual(r["Cache-Control"], "no-store", file: file, line: line)
    }

    func testRulesAndCodesOfTheLedger() throws {
        // Not signed in; the identity header from an untrusted peer is covered by IdentityTests.
        assertError(try call("GET", "/credentials", as: nil), 401, "not_signed_in")
        // A member is not an admin: every route says so, and nothing is written.
        let head = server.ledger.head.seq
        for (method, path, body) in [("GET", "", nil), ("GET", "/credentials", nil), ("GET", "/members", nil), ("GET", "/usage", nil),
                                     ("GET", "/review", nil), ("GET", "/projects", nil),
                                     ("PUT", "/api-module", #"{"api_enabled":true}"#),
                                     ("POST", "/credentials", #"{"name":"x","type":"static","scope":"read"}"#)] as [(String, String, String?)] {
            assertError(try call(method, path, as: Self.bob, json: body), 403, "not_company_admin")
        }
        XCTAssertEqual(server.ledger.head.seq, head)
        // Module disabled: creating is refused; enabling works; an unknown company is 404.
        assertError(try call("POST", "/credentials", json: #"{"name":"x","type":"static","scope":"read"}"#), 403, "api_module_disabled")
        assertError(try call("GET", server.url + "/v1/companies/nope/credentials"), 404, "unknown_company")
        let enabled = try call("PUT", "/api-module", json: #"{"api_enabled":true}"#)
        XCTAssertEqual(enabled.status, 200)
        XCTAssertEqual(try API.decode(API.APIModuleResult.self, from: Data(enabled.body.utf8)),
                       API.APIModuleResult(company: "acme", apiEnabled: true, changed: true))

        // Create: 201, the secret once, no-store.
        let created = try call("POST", "/credentials", json: #"{"name":"Nightly sync","type":"static","scope":"read"}"#)
        XCTAssertEqual(created.status, 201, created.body)
        XCTAssertEqual(created["Cache-Control"], "no-store")
        XCTAssertEqual(created["Pragma"], "no-cache")
        let issued = try API.decode(API.IssuedCredential.self, from: Data(created.body.utf8))
        let secret = try XCTUnwrap(issued.secret)
        XCTAssertTrue(secret.hasPrefix("cxk_"))
        let createdAt = server.clock.now()

        // Grant, change, revoke; the list and detail never carry the secret.
        XCTAssertEqual(try call("PUT", "/credentials/\(issued.id)/projects/bridge", json: #"{"role":"viewer"}"#).json["result"] as? String, "granted")
        XCTAssertEqual(try call("PUT", "/credentials/\(issued.id)/projects/bridge", json: #"{"role":"editor"}"#).json["result"] as? String, "changed")
        let list = try call("GET", "/credentials")
        let rows = try API.decode([API.Credential].self, from: Data(list.body.utf8))
        XCTAssertEqual(rows.map(\.name), ["Nightly sync"])
        XCTAssertEqual(rows[0].projects, [API.ProjectGrant(project: "bridge", role: "editor")])
        let detail = try call("GET", "/credentials/\(issued.id)")
        for body in [list.body, detail.body, try call("GET", "/members").body, try call("GET", "/usage").body,
                     try call("GET", "/credentials/\(issued.id)/events?limit=200").body] {
            XCTAssertFalse(body.contains(secret), "a later response carries the secret")
        }
        // Uses (in process, as the gateway would record them) show in the counters, rollups and denied reasons.
        _ = try server.ledger.access.check(header: "Apikey \(secret)", company: "acme", project: "bridge", operation: .read)
        _ = try server.ledger.access.check(header: "Apikey \(secret)", company: "acme", project: "bridge", operation: .write)
        _ = try server.ledger.access.check(header: "Apikey \(secret)", company: "acme", project: "nowhere", operation: .read)
        let usage = try API.decode(API.CredentialUsage.self, from: Data(try call("GET", "/credentials/\(issued.id)/usage").body.utf8))
        XCTAssertEqual(usage.used, 1)
        XCTAssertEqual(usage.denied, 2)
        XCTAssertEqual(usage.daily.reduce(0) { $0 + $1.allowed }, 1)
        XCTAssertEqual(usage.daily.reduce(0) { $0 + $1.denied }, 2)
        XCTAssertEqual(Set(usage.deniedByReason.map(\.reason)), ["read_only_scope", "unknown_project"])
        XCTAssertEqual(usage.toDay, String(TimeFormat.rfc3339(server.clock.now()).prefix(10)))
        assertError(try call("GET", "/credentials/\(issued.id)/usage?days=0"), 400, "invalid_request")

        // The audit timeline pages newest first.
        let first = try API.decode(API.AuditEventsPage.self, from: Data(try call("GET", "/credentials/\(issued.id)/events?limit=2").body.utf8))
        XCTAssertEqual(first.events.count, 2)
        let before = try XCTUnwrap(first.next?.before)
        let second = try API.decode(API.AuditEventsPage.self, from: Data(try call("GET", "/credentials/\(issued.id)/events?limit=2&before=\(before)").body.utf8))
        XCTAssertLessThan(second.events[0].seq, first.events[1].seq)
        XCTAssertTrue(first.events[0].seq > first.events[1].seq)

        // As of a time before the creation: the table was empty.
        server.clock.advance(seconds: 1)
        let past = TimeFormat.rfc3339(createdAt - 1)
        let asOf = try call("GET", "/credentials?at=\(PercentEncoding.encode(past))")
        XCTAssertEqual(asOf.status, 200, asOf.body)
        XCTAssertEqual(try API.decode([API.Credential].self, from: Data(asOf.body.utf8)).count, 0)

        // Module disabled again: listing and deleting still work, granting does not.
        XCTAssertEqual(try call("PUT", "/api-module", json: #"{"api_enabled":false}"#).status, 200)
        assertError(try call("PUT", "/credentials/\(issued.id)/projects/bridge", json: #"{"role":"viewer"}"#), 403, "api_module_disabled")
        assertError(try call("POST", "/credentials/\(issued.id)/rotate", json: #"{"grace":"0"}"#), 403, "api_module_disabled")
        XCTAssertEqual(try call("GET", "/credentials").status, 200)
        let deleted = try call("DELETE", "/credentials/\(issued.id)")
        XCTAssertEqual(deleted.body, #"{"deleted":true,"id":"\#(issued.id)"}"#)
        XCTAssertTrue(try call("GET", "/credentials?all=true").body.contains(#""status":"deleted""#))
        // Another company's admin cannot see or touch it through their path or ours.
        assertError(try call("GET", "/credentials/\(issued.id)", as: "hank@globex.example"), 403, "not_company_admin")
        assertError(try call("GET", server.url + "/v1/companies/globex/credentials/\(issued.id)", as: "hank@globex.example"), 404, "unknown_credential")
    }

    func testHostileInputIsRefusedAndWritesNothing() throws {
        XCTAssertEqual(try call("PUT", "/api-module", json: #"{"api_enabled":true}"#).status, 200)
        let head = server.ledger.head.seq
        let cases: [(String, String, String?, [String], Int, String)] = [
            ("POST", "/credentials", #"{"name":"x","type":"bogus","scope":"read"}"#, [], 400, "invalid_request"),
            ("POST", "/credentials", #"{"name":"x","type":"static"}"#, [], 400, "invalid_request"),
            ("POST", "/credentials", #"{"name":"x","type":"static","scope":"read","as":"hank@globex.example"}"#, [], 400, "invalid_request"),
            ("POST", "/credentials", #"{"name":"x","type":"static","scope":"read","company":"globex"}"#, [], 400, "invalid_request"),
            ("POST", "/credentials", #"["name"]"#, [], 400, "invalid_request"),
            ("POST", "/credentials", #"{"name":1,"type":"static","scope":"read"}"#, [], 400, "invalid_request"),
            ("POST", "/credentials", #"{"name":"bad\u0007name","type":"static","scope":"read"}"#, [], 400, "invalid_name"),
            ("POST", "/credentials", #"{"name":"k cxk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","type":"static","scope":"read"}"#, [], 400, "secret_in_field"),
            ("POST", "/credentials", #"{"name":"x","type":"pkce","scope":"read","redirect_uris":["http://evil.example/cb"]}"#, [], 400, "invalid_redirect_uri"),
            ("PUT", "/credentials/cred_nope/projects/bridge", #"{"role":"viewer"}"#, [], 404, "unknown_credential"),
            ("PUT", "/api-module", #"{"api_enabled":"yes"}"#, [], 400, "invalid_request"),
            // A repeated member (Foundation keeps the first, most other parsers the last): refused, also when escaped.
            ("POST", "/credentials", #"{"name":"x","type":"static","scope":"read","scope":"global"}"#, [], 400, "invalid_request"),
            ("PUT", "/api-module", #"{"api_enabled":false,"api_\u0065nabled":true}"#, [], 400, "invalid_request"),
        ]
        for (method, path, body, headers, status, code) in cases {
            let r = try call(method, path, json: body, headers: headers)
            XCTAssertEqual(r.status, status, "\(body ?? ""): \(r.body)")
            XCTAssertEqual(r.json["error"] as? String, code, "\(body ?? ""): \(r.body)")
        }
        // Not JSON at all, and a form body: 415.
        let form = try CurlClient.run(["-X", "POST", "-H", "X-Email: \(Self.alice)", "-d", "name=x&type=static&scope=read", base + "/credentials"])
        assertError(form, 415, "unsupported_media_type")
        // Query strings: unknown, repeated, malformed keys.
        assertError(try call("GET", "/credentials?al=true"), 400, "invalid_request")
        assertError(try call("GET", "/credentials?at=2026-01-01T00:00:00Z&at=2026-01-02T00:00:00Z"), 400, "invalid_request")
        assertError(try call("GET", "/credentials?at=%ZZ"), 400, "invalid_request")
        assertError(try call("GET", "/credentials?at=yesterday"), 400, "invalid_request")
        assertError(try call("GET", "/credentials?at=2026-01-01T00:00:00Z&seq=3"), 400, "invalid_request")
        assertError(try call("GET", "/credentials/cred_x/events?limit=100000"), 404, "unknown_credential")
        XCTAssertEqual(server.ledger.head.seq, head, "a refused request wrote")
    }

    /// Rotation (the page's *Rotate secret…*): the new secret once, in the answer only; the old one's fate by the grace;
    /// what cannot be rotated, or a grace that is not a duration, is refused and writes nothing.
    func testRotationAnswersTheNewSecretOnceAndRefusesWhatCannotBeRotated() throws {
        XCTAssertEqual(try call("PUT", "/api-module", json: #"{"api_enabled":true}"#).status, 200)
        func create(_ body: String) throws -> API.IssuedCredential {
            let r = try call("POST", "/credentials", json: body)
            XCTAssertEqual(r.status, 201, r.body)
            return try API.decode(API.IssuedCredential.self, from: Data(r.body.utf8))
        }
        let key = try create(#"{"name":"sync","type":"static","scope":"read"}"#)
        let client = try create(#"{"name":"erp","type":"oauth","scope":"read"}"#)
        let app = try create(#"{"name":"desk","type":"pkce-public","scope":"read","redirect_uris":["http://127.0.0.1/cb"]}"#)
        let gone = try create(#"{"name":"gone","type":"static","scope":"read"}"#)
        XCTAssertEqual(try call("DELETE", "/credentials/\(gone.id)").status, 200)
        // Globex's module is on, so its admin reaches the lookup (an id of another company is not found there).
        XCTAssertEqual(try call("PUT", server.url + "/v1/companies/globex/api-module", as: "hank@globex.example", json: #"{"api_enabled":true}"#).status, 200)
        let head = server.ledger.head.seq
        let rotate = "/credentials/\(key.id)/rotate"
        for (path, user, body, status, code) in [
            (rotate, Self.alice, #"{"grace":"forever"}"#, 400, "invalid_request"),
            (rotate, Self.alice, #"{"grace":"-1h"}"#, 400, "invalid_request"),
            (rotate, Self.alice, #"{"grace":""}"#, 400, "invalid_request"),
            (rotate, Self.alice, #"{"grace":"24 h"}"#, 400, "invalid_request"),
            (rotate, Self.alice, #"{"grace":"99999d"}"#, 400, "invalid_request"),
            (rotate, Self.alice, #"{"grace":24}"#, 400, "invalid_request"),
            (rotate, Self.alice, #"{}"#, 400, "invalid_request"),
            (rotate, Self.alice, #"{"grace":"1h","as":"hank@globex.example"}"#, 400, "invalid_request"),
            (rotate, Self.bob, #"{"grace":"1h"}"#, 403, "not_company_admin"),
            (rotate, "hank@globex.example", #"{"grace":"1h"}"#, 403, "not_company_admin"),
            (server.url + "/v1/companies/globex/credentials/\(key.id)/rotate", "hank@globex.example", #"{"grace":"1h"}"#, 404, "unknown_credential"),
            ("/credentials/\(app.id)/rotate", Self.alice, #"{"grace":"0"}"#, 409, "no_secret"),
            ("/credentials/\(gone.id)/rotate", Self.alice, #"{"grace":"0"}"#, 409, "credential_deleted"),
            ("/credentials/cred_nope/rotate", Self.alice, #"{"grace":"0"}"#, 404, "unknown_credential"),
        ] {
            assertError(try call("POST", path, as: user, json: body), status, code)
        }
        XCTAssertEqual(server.ledger.head.seq, head, "a refused rotation wrote")

        // A grace: both secrets work until it ends. Now (an OAuth client): the old secret and its tokens stop at once.
        let graced = try call("POST", rotate, json: #"{"grace":"24h"}"#)
        XCTAssertEqual(graced.status, 200, graced.body)
        XCTAssertEqual(graced["Cache-Control"], "no-store")
        let newKey = try API.decode(API.IssuedCredential.self, from: Data(graced.body.utf8))
        let secret = try XCTUnwrap(newKey.secret)
        XCTAssertNotEqual(secret, key.secret)
        XCTAssertNil(newKey.oldTokens, "a static key has no tokens")
        // The key has no project access: both secrets are its own during the grace (not unknown, not superseded).
        for header in ["Apikey " + secret, "Apikey " + (key.secret ?? "")] {
            XCTAssertEqual(try server.ledger.access.authorize(header: header, company: "acme", project: "bridge", operation: .read).denial,
                           .projectAccessMissing, "both keys are the credential's during the grace")
        }
        server.clock.advance(seconds: 24 * 3600 + 1)
        XCTAssertEqual(try server.ledger.access.authorize(header: "Apikey " + (key.secret ?? ""), company: "acme", project: "bridge",
                                                          operation: .read).denial, .secretSuperseded, "the grace ended")
        let token = try server.ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: client.clientSecret!)
        let now = try call("POST", "/credentials/\(client.id)/rotate", json: #"{"grace":"0"}"#)
        XCTAssertEqual(now.status, 200, now.body)
        let newClient = try API.decode(API.IssuedCredential.self, from: Data(now.body.utf8))
        XCTAssertEqual(newClient.oldTokens, "revoked")
        XCTAssertEqual(newClient.clientID, client.clientID, "the client id stays")
        XCTAssertThrowsError(try server.ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: client.clientSecret!))
        XCTAssertEqual(try server.ledger.access.authorize(header: "Bearer " + token.accessToken, company: "acme", project: "bridge", operation: .read).denial,
                       .tokenRevoked)
        XCTAssertNoThrow(try server.ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: try XCTUnwrap(newClient.clientSecret)))
        // The new secrets were in those answers only: not in the list, the detail or the events.
        for path in ["/credentials?all=true", "/credentials/\(key.id)", "/credentials/\(client.id)", "/credentials/\(client.id)/events?limit=50"] {
            let body = try call("GET", path).body
            XCTAssertFalse(body.contains(secret) || body.contains(newClient.clientSecret ?? "-"), path)
        }
    }

    /// Browser callers (a session cookie, or any Origin / Sec-Fetch-Site) need the page's CSRF token to change state.
    func testCSRFAndOriginChecksForBrowserCallers() throws {
        XCTAssertEqual(try call("PUT", "/api-module", json: #"{"api_enabled":true}"#).status, 200)
        let login = try CurlClient.run(["-d", "email=alice%40acme.example&next=%2Fcompanies%2Facme%2Fapi", server.url + "/login"])
        XCTAssertEqual(login.status, 303)
        let cookie = try XCTUnwrap(login["Set-Cookie"]?.split(separator: ";").first.map(String.init))
        let page = try CurlClient.run(["-H", "Cookie: \(cookie)", server.url + "/companies/acme/api"])
        XCTAssertEqual(page.status, 200)
        let token = try XCTUnwrap(page.body.firstMatch(of: /data-csrf="([^"]+)"/)?.1).description
        let body = #"{"name":"From the page","type":"static","scope":"read"}"#
        func post(_ headers: [String]) throws -> CurlReply {
            try call("POST", "/credentials", as: nil, json: body, headers: ["Cookie: \(cookie)"] + headers)
        }
        let head = server.ledger.head.seq
        assertError(try post([]), 403, "csrf_token_invalid")
        assertError(try post(["X-CSRF-Token: \(token)x"]), 403, "csrf_token_invalid")
        assertError(try post(["X-CSRF-Token: \(token)", "Origin: https://evil.example"]), 403, "cross_site_request")
        assertError(try post(["X-CSRF-Token: \(token)", "Origin: null"]), 403, "cross_site_request")
        assertError(try post(["X-CSRF-Token: \(token)", "Sec-Fetch-Site: cross-site"]), 403, "cross_site_request")
        // A token for another company (or user) does not fit.
        let other = server.context.csrfToken(for: SignedInUser(email: Self.alice), purpose: "admin:globex")
        assertError(try post(["X-CSRF-Token: \(other)"]), 403, "csrf_token_invalid")
        // The proxy-identified caller from a browser needs it too.
        assertError(try call("POST", "/credentials", json: body, headers: ["Sec-Fetch-Site: same-origin"]), 403, "csrf_token_invalid")
        XCTAssertEqual(server.ledger.head.seq, head)
        let ok = try post(["X-CSRF-Token: \(token)", "Origin: \(server.url)", "Sec-Fetch-Site: same-origin"])
        XCTAssertEqual(ok.status, 201, ok.body)
        // Reads need no token.
        XCTAssertEqual(try call("GET", "/credentials", as: nil, headers: ["Cookie: \(cookie)"]).status, 200)
    }

    func testPageStatesHeadersAndAssets() throws {
        // Nobody signed in, dev login on: to the login page and back.
        let anonymous = try CurlClient.run([server.url + "/companies/acme/api"])
        XCTAssertEqual(anonymous.status, 303)
        XCTAssertEqual(anonymous["Location"], "/login?next=%2Fcompanies%2Facme%2Fapi")
        // A member: the seeds' sentence, no script, no table.
        let member = try call("GET", server.url + "/companies/acme/api", as: Self.bob)
        XCTAssertEqual(member.status, 403)
        XCTAssertTrue(member.body.contains("Only company admins can use the API area"))
        XCTAssertFalse(member.body.contains("<script"))
        // The admin, module off: the enterprise message and the switch; then on.
        let off = try call("GET", server.url + "/companies/acme/api")
        XCTAssertEqual(off.status, 200)
        XCTAssertTrue(off.body.contains("Enterprise feature") && off.body.contains(#"id="enable-module""#))
        XCTAssertEqual(off["Content-Security-Policy"],
                       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
        XCTAssertEqual(off["X-Frame-Options"], "DENY")
        XCTAssertEqual(off["Referrer-Policy"], "no-referrer")
        XCTAssertEqual(off["Cache-Control"], "no-store")
        // No inline script or style anywhere: every <script> has a src, no style attribute or element.
        XCTAssertNil(off.body.firstMatch(of: /<script(?![^>]*\ssrc=)/))
        XCTAssertFalse(off.body.contains("style=") || off.body.contains("<style"))
        XCTAssertFalse(off.body.contains("http://") && off.body.contains("cdn"))
        // Hostile names are escaped.
        try server.ledger.administration.createProject("acme", project: "x", name: "<script>alert(1)</script>", as: Self.alice)
        // Assets: hashed names, long cache, right types; another name is 404.
        for match in off.body.matches(of: /(?:src|href)="(\/assets\/admin-[0-9a-f]{12}\.(css|js))"/) {
            let asset = try CurlClient.run([server.url + String(match.1)])
            XCTAssertEqual(asset.status, 200)
            XCTAssertEqual(asset["Cache-Control"], "public, max-age=31536000, immutable")
            XCTAssertEqual(asset["Content-Type"], match.2 == "js" ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8")
            XCTAssertFalse(asset.body.contains("localStorage.set") || asset.body.contains("sessionStorage.set"))
        }
        XCTAssertEqual(off.body.matches(of: /\/assets\/admin-[0-9a-f]{12}\.(css|js)/).count, 2)
        XCTAssertEqual(try CurlClient.run([server.url + "/assets/admin-000000000000.js"]).status, 404)
        // An unknown company: 404 page.
        XCTAssertEqual(try call("GET", server.url + "/v1/companies/nope").status, 404)
        XCTAssertEqual(try call("GET", server.url + "/companies/nope/api").status, 404)
    }
}
