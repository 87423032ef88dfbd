import CredLedger
import CredLedgerCore
import CredLedgerHTTP
@testable import CredLedgerServer
import Foundation
import TestSupport
import XCTest

/// The OAuth endpoints over HTTP with curl as the client: discovery, the token endpoint's rules, the authorization
/// code flow through the consent form, introspection and revocation, and their abuse cases (docs/HTTP.md).
final class OAuthHTTPTests: XCTestCase {
    /// acme (API on, bob and carol members), beta; an OAuth API user, a confidential and a public PKCE client, and a
    /// PKCE client with a hostile name. The identity header is trusted from 127.0.0.1.
    struct Fixture {
        let server: OAuthTestServer
        let oauth: IssuedCredential
        let pkce: IssuedCredential
        let publicClient: IssuedCredential
        let hostile: IssuedCredential
        var url: String { server.url }
        var secrets: [String] { [oauth.clientSecret, pkce.clientSecret, hostile.clientSecret].compactMap { $0 } }
    }

    static let redirect = "https://client.example/callback"
    static let hostileName = "<script>alert(1)</script> & \"co\""

    static func makeFixture(_ label: String, devLogin: Bool = false, issuer: String? = nil) throws -> Fixture {
        let test = try TestLedger(label)
        let ledger = test.ledger!
        try ledger.administration.registerCompany(World.acme, admin: World.alice, name: "Acme <Corp>", mailDomain: "acme.example")
        _ = try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        _ = try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .member, as: World.alice)
        _ = try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .member, as: World.alice)
        let uris = [Self.redirect, World.loopback]
        let oauth = try ledger.administration.createCredential(World.acme, NewCredential(name: "Reporting", type: .oauth, scope: .read), as: World.alice)
        let pkce = try ledger.administration.createCredential(World.acme, NewCredential(name: "Claude connector", type: .pkce, scope: .readWrite,
                                                                                        redirectURIs: uris), as: World.alice)
        let publicClient = try ledger.administration.createCredential(World.acme, NewCredential(name: "CLI app", type: .pkcePublic, scope: .global,
                                                                                                redirectURIs: uris), as: World.alice)
        let hostile = try ledger.administration.createCredential(World.acme, NewCredential(name: Self.hostileName, type: .pkce, scope: .read,
                                                                                           redirectURIs: uris), as: World.alice)
        let server = try OAuthTestServer(label, test: test) {
            $0.identityHeader = "X-Forwarded-Email"
            $0.trustedProxies = [CIDR("127.0.0.1/32")!]
            $0.devLogin = devLogin
            $0.issuer = issuer
        }
        return Fixture(server: server, oauth: oauth, pkce: pkce, publicClient: publicClient, hostile: hostile)
    }

    // MARK: - Discovery

    func testDiscoveryNamesTheIssuerNeverTheHost() throws {
        let f = try Self.makeFixture("oauth-discovery", issuer: "https://auth.example.com")
        defer { f.server.remove() }
        let meta = try CurlClient.run(["-H", "Host: evil.example", "\(f.url)/.well-known/oauth-authorization-server"])
        XCTAssertEqual(meta.status, 200)
        XCTAssertEqual(meta["content-type"], "application/json")
        let m = meta.json
        XCTAssertEqual(m["issuer"] as? String, "https://auth.example.com")
        XCTAssertEqual(m["authorization_endpoint"] as? String, "https://auth.example.com/oauth/authorize")
        XCTAssertEqual(m["token_endpoint"] as? String, "https://auth.example.com/oauth/token")
        XCTAssertEqual(m["introspection_endpoint"] as? String, "https://auth.example.com/oauth/introspect")
        XCTAssertEqual(m["revocation_endpoint"] as? String, "https://auth.example.com/oauth/revoke")
        XCTAssertEqual(m["response_types_supported"] as? [String], ["code"])
        XCTAssertEqual(m["code_challenge_methods_supported"] as? [String], ["S256"])
        XCTAssertEqual(Set(m["grant_types_supported"] as? [String] ?? []), ["authorization_code", "client_credentials", "refresh_token"])
        XCTAssertEqual(m["token_endpoint_auth_methods_supported"] as? [String], ["client_secret_basic", "client_secret_post", "none"])
        XCTAssertEqual(m["authorization_response_iss_parameter_supported"] as? Bool, true)
        XCTAssertFalse(meta.body.contains("evil.example"))

        let resource = try CurlClient.run(["-H", "Host: evil.example", "\(f.url)/.well-known/oauth-protected-resource"])
        XCTAssertEqual(resource.status, 200)
        let r = resource.json
        XCTAssertEqual(r["resource"] as? String, "https://auth.example.com")
        XCTAssertEqual(r["authorization_servers"] as? [String], ["https://auth.example.com"])
        XCTAssertEqual(r["bearer_methods_supported"] as? [String], ["header"])
        XCTAssertEqual(r["scopes_supported"] as? [String], ["read", "read-write", "global"])
        XCTAssertEqual(try CurlClient.run(["-X", "POST", "\(f.url)/.well-known/oauth-authorization-server"]).status, 405)
    }

    // MARK: - Token endpoint

    func testClientCredentialsAndTheTokenEndpointRules() throws {
        let f = try Self.makeFixture("oauth-token")
        defer { f.server.remove() }
        let id = try XCTUnwrap(f.oauth.clientID), secret = try XCTUnwrap(f.oauth.clientSecret)
        let token = "\(f.url)/oauth/token"

        let basic = try CurlClient.run(["-u", "\(id):\(secret)", "-d", "grant_type=client_credentials&unknown=ignored", token])
        XCTAssertEqual(basic.status, 200, basic.body)
        assertNoStore(basic)
        XCTAssertEqual(basic.json["token_type"] as? String, "Bearer")
        XCTAssertEqual(basic.json["scope"] as? String, "read")
        XCTAssertEqual(basic.json["expires_in"] as? Int, 3600)
        XCTAssertNil(basic.json["refresh_token"])
        let access = try XCTUnwrap(basic.json["access_token"] as? String)

        let post = try CurlClient.run(["--data-urlencode", "grant_type=client_credentials", "--data-urlencode", "client_id=\(id)",
                                 "--data-urlencode", "client_secret=\(secret)", "-H", "Content-Type: application/X-WWW-form-urlencoded; charset=UTF-8", token])
        XCTAssertEqual(post.status, 200, post.body)

        func expect(_ args: [String], _ status: Int, _ error: String, basicChallenge: Bool = false, line: UInt = #line) throws {
            let r = try CurlClient.run(args + [token])
            XCTAssertEqual(r.status, status, r.body, line: line)
            XCTAssertEqual(r.json["error"] as? String, error, r.body, line: line)
            assertNoStore(r, line: line)
            if status == 401 { XCTAssertTrue(r["www-authenticate"]?.hasPrefix("Basic") ?? false, line: line) }
            if basicChallenge { XCTAssertNotNil(r["www-authenticate"], line: line) }
        }
        // Wrong client, wrong secret, no secret, bad Basic.
        try expect(["-u", "\(id):\(secret.dropLast())x", "-d", "grant_type=client_credentials"], 401, "invalid_client", basicChallenge: true)
        try expect(["-u", "cl_nobody:\(secret)", "-d", "grant_type=client_credentials"], 401, "invalid_client")
        try expect(["-d", "grant_type=client_credentials&client_id=\(id)&client_secret=wrong"], 401, "invalid_client")
        try expect(["-d", "grant_type=client_credentials&client_id=\(id)&client_secret="], 401, "invalid_client")
        try expect(["-H", "Authorization: Basic !!!", "-d", "grant_type=client_credentials"], 401, "invalid_client", basicChallenge: true)
        try expect(["-H", "Authorization: Basic \(Data("nocolon".utf8).base64EncodedString())", "-d", "grant_type=client_credentials"],
                   401, "invalid_client", basicChallenge: true)
        try expect(["-d", "grant_type=client_credentials"], 401, "invalid_client")
        // Basic and a body secret: one method only.
        try expect(["-u", "\(id):\(secret)", "-d", "grant_type=client_credentials&client_secret=\(secret)"], 400, "invalid_request")
        try expect(["-u", "\(id):\(secret)", "-d", "grant_type=client_credentials&client_id=other"], 400, "invalid_request")
        // Form rules: repeated, wrong content type, bad percent-encoding, missing and unknown grant types.
        try expect(["-u", "\(id):\(secret)", "-d", "grant_type=client_credentials&grant_type=client_credentials"], 400, "invalid_request")
        try expect(["-u", "\(id):\(secret)", "-H", "Content-Type: application/json", "-d", #"{"grant_type":"client_credentials"}"#], 400, "invalid_request")
        try expect(["-u", "\(id):\(secret)", "-d", "grant_type=client_credentials&x=%zz"], 400, "invalid_request")
        try expect(["-u", "\(id):\(secret)", "-d", "scope=read"], 400, "invalid_request")
        try expect(["-u", "\(id):\(secret)", "-d", "grant_type=password"], 400, "unsupported_grant_type")
        try expect(["-u", "\(id):\(secret)", "-d", "grant_type=client_credentials&resource=not%20a%20uri"], 400, "invalid_target")
        try expect(["-u", "\(id):\(secret)", "-d", "grant_type=client_credentials&resource=https://api.example/%23frag#x"], 400, "invalid_target")
        // A PKCE client may not use client_credentials; a public client sending a secret is not authenticated.
        try expect(["-u", "\(f.pkce.clientID!):\(f.pkce.clientSecret!)", "-d", "grant_type=client_credentials"], 400, "unauthorized_client")
        try expect(["-d", "grant_type=refresh_token&refresh_token=x&client_id=\(f.publicClient.clientID!)&client_secret=\(secret)"],
                   401, "invalid_client")
        // Oversized body: refused by the server before any parsing.
        let big = String(repeating: "a", count: 70_000)
        XCTAssertEqual(try CurlClient.run(["-u", "\(id):\(secret)", "-d", "grant_type=client_credentials&x=\(big)", token]).status, 413)
        XCTAssertEqual(try CurlClient.run([token]).status, 405)

        // The access token works at introspection (the OAuth API user introspects its own token).
        let intro = try CurlClient.run(["-u", "\(id):\(secret)", "-d", "token=\(access)", "\(f.url)/oauth/introspect"])
        XCTAssertEqual(intro.status, 200, intro.body)
        assertNoStore(intro)
        XCTAssertEqual(intro.json["active"] as? Bool, true)
        XCTAssertEqual(intro.json["client_id"] as? String, id)
        XCTAssertEqual(intro.json["token_type"] as? String, "access_token")
        assertLogIsClean(f, extra: [access])
    }

    // MARK: - Authorization code flow

    func testAuthorizationCodeFlowThroughTheConsentForm() throws {
        let f = try Self.makeFixture("oauth-code", issuer: nil)
        defer { f.server.remove() }
        let pkce = f.pkce, clientID = pkce.clientID!, secret = pkce.clientSecret!
        let consent = try authorizePage(f, clientID: clientID, user: World.bob, state: "st-1")
        XCTAssertEqual(consent.status, 200, consent.body)
        assertPageHeaders(consent)
        XCTAssertTrue(consent.body.contains("Claude connector"))
        XCTAssertTrue(consent.body.contains("Acme &lt;Corp&gt;"), consent.body)
        XCTAssertTrue(consent.body.contains("READ &amp; WRITE"))
        XCTAssertTrue(consent.body.contains("bob@acme.example"))
        XCTAssertFalse(consent.body.contains("<script"))
        let csrf = try XCTUnwrap(Self.csrf(in: consent.body))

        let approved = try approve(f, clientID: clientID, user: World.bob, state: "st-1", csrf: csrf)
        XCTAssertEqual(approved.status, 303, approved.body)
        let location = try XCTUnwrap(approved["location"])
        XCTAssertTrue(location.hasPrefix(Self.redirect + "?code="), location)
        let query = try Self.query(location)
        XCTAssertEqual(query["state"], "st-1")
        XCTAssertEqual(query["iss"], f.server.context.issuer)
        let code = try XCTUnwrap(query["code"])

        let tokenURL = "\(f.url)/oauth/token"
        // Wrong verifier, wrong redirect_uri, another client: refused (each recorded), and the code stays unspent.
        let wrongVerifier = try CurlClient.run(["-u", "\(clientID):\(secret)", "--data-urlencode", "grant_type=authorization_code", "--data-urlencode", "code=\(code)",
                                          "--data-urlencode", "code_verifier=\(PKCEPair.otherVerifier)", "--data-urlencode", "redirect_uri=\(Self.redirect)", tokenURL])
        XCTAssertEqual(wrongVerifier.status, 400)
        XCTAssertEqual(wrongVerifier.json["error"] as? String, "invalid_grant")
        XCTAssertEqual(wrongVerifier.json["reason"] as? String, "pkce_verifier_mismatch")
        let wrongRedirect = try exchange(f, clientID: clientID, secret: secret, code: code, redirectURI: World.redirect2)
        XCTAssertEqual(wrongRedirect.json["error"] as? String, "invalid_grant")
        let otherClient = try exchange(f, clientID: f.hostile.clientID!, secret: f.hostile.clientSecret!, code: code)
        XCTAssertEqual(otherClient.json["error"] as? String, "invalid_grant")

        let tokens = try exchange(f, clientID: clientID, secret: secret, code: code)
        XCTAssertEqual(tokens.status, 200, tokens.body)
        assertNoStore(tokens)
        let access = try XCTUnwrap(tokens.json["access_token"] as? String)
        let refresh = try XCTUnwrap(tokens.json["refresh_token"] as? String)
        XCTAssertEqual(tokens.json["scope"] as? String, "read-write")
        // A replayed code is refused and ends what it gave.
        let replay = try exchange(f, clientID: clientID, secret: secret, code: code)
        XCTAssertEqual(replay.status, 400)
        XCTAssertEqual(replay.json["reason"] as? String, "code_reused")
        let dead = try CurlClient.run(["-u", "\(clientID):\(secret)", "-d", "token=\(access)", "\(f.url)/oauth/introspect"])
        XCTAssertEqual(dead.body, #"{"active":false}"#)

        // A second consent; refresh rotation; reuse of a spent refresh token.
        let code2 = try approvedCode(f, clientID: clientID, user: World.bob)
        let second = try exchange(f, clientID: clientID, secret: secret, code: code2)
        let refresh2 = try XCTUnwrap(second.json["refresh_token"] as? String)
        let rotated = try CurlClient.run(["-u", "\(clientID):\(secret)", "-d", "grant_type=refresh_token&refresh_token=\(refresh2)", tokenURL])
        XCTAssertEqual(rotated.status, 200, rotated.body)
        let access3 = try XCTUnwrap(rotated.json["access_token"] as? String)
        XCTAssertNotEqual(rotated.json["refresh_token"] as? String, refresh2)
        let intro = try CurlClient.run(["-u", "\(clientID):\(secret)", "-d", "token=\(access3)&token_type_hint=access_token", "\(f.url)/oauth/introspect"])
        XCTAssertEqual(intro.json["active"] as? Bool, true)
        XCTAssertEqual(intro.json["username"] as? String, World.bob)
        // Introspection needs a confidential client: the public one, or none, is invalid_client.
        let publicIntro = try CurlClient.run(["-d", "token=\(access3)&client_id=\(f.publicClient.clientID!)", "\(f.url)/oauth/introspect"])
        XCTAssertEqual(publicIntro.status, 401)
        XCTAssertEqual(try CurlClient.run(["-d", "token=\(access3)", "\(f.url)/oauth/introspect"]).status, 401)
        // Another client sees nothing of it.
        let foreign = try CurlClient.run(["-u", "\(f.hostile.clientID!):\(f.hostile.clientSecret!)", "-d", "token=\(access3)", "\(f.url)/oauth/introspect"])
        XCTAssertEqual(foreign.body, #"{"active":false}"#)

        let reuse = try CurlClient.run(["-u", "\(clientID):\(secret)", "-d", "grant_type=refresh_token&refresh_token=\(refresh2)", tokenURL])
        XCTAssertEqual(reuse.json["reason"] as? String, "refresh_token_reused")
        XCTAssertEqual(try CurlClient.run(["-u", "\(clientID):\(secret)", "-d", "token=\(access3)", "\(f.url)/oauth/introspect"]).body, #"{"active":false}"#)

        // Revocation: 200 with an empty body for a live, a dead or an unknown token; missing token is invalid_request.
        let code3 = try approvedCode(f, clientID: clientID, user: World.bob)
        let access4 = try XCTUnwrap(try exchange(f, clientID: clientID, secret: secret, code: code3).json["access_token"] as? String)
        for value in [access4, access4, "not-a-token"] {
            let revoked = try CurlClient.run(["-u", "\(clientID):\(secret)", "-d", "token=\(value)", "\(f.url)/oauth/revoke"])
            XCTAssertEqual(revoked.status, 200, revoked.body)
            XCTAssertEqual(revoked.body, "")
            assertNoStore(revoked)
        }
        XCTAssertEqual(try CurlClient.run(["-u", "\(clientID):\(secret)", "-d", "token=\(access4)", "\(f.url)/oauth/introspect"]).body, #"{"active":false}"#)
        let noToken = try CurlClient.run(["-u", "\(clientID):\(secret)", "-d", "token_type_hint=access_token", "\(f.url)/oauth/revoke"])
        XCTAssertEqual(noToken.status, 400)
        XCTAssertEqual(noToken.json["error"] as? String, "invalid_request")
        let badSecret = try CurlClient.run(["-u", "\(clientID):wrong", "-d", "token=\(access4)", "\(f.url)/oauth/revoke"])
        XCTAssertEqual(badSecret.status, 401)
        // A public client revokes with its client_id alone.
        let pub = try CurlClient.run(["-d", "token=\(refresh)&client_id=\(f.publicClient.clientID!)", "\(f.url)/oauth/revoke"])
        XCTAssertEqual(pub.status, 400, "another client's token: the ledger's unauthorized_client")
        XCTAssertEqual(pub.json["error"] as? String, "unauthorized_client")

        assertLogIsClean(f, extra: [access, refresh, code, code2, access3, csrf])
    }

    func testAuthorizeRequestErrorsPagesAndRedirects() throws {
        let f = try Self.makeFixture("oauth-authorize-errors")
        defer { f.server.remove() }
        let clientID = f.pkce.clientID!
        let base = Self.authorizeParameters(clientID: clientID, state: "s1")

        func get(_ parameters: [(String, String)], user: String? = World.bob) throws -> CurlReply {
            var args = [String]()
            if let user { args += ["-H", "X-Forwarded-Email: \(user)"] }
            return try CurlClient.run(args + ["\(f.url)/oauth/authorize?" + Self.encode(parameters)])
        }
        func assertPage(_ r: CurlReply, _ status: Int, _ text: String, line: UInt = #line) {
            XCTAssertEqual(r.status, status, r.body, line: line)
            XCTAssertNil(r["location"], "never a redirect before the client and redirect URI are trusted", line: line)
            XCTAssertTrue(r.body.contains(text), r.body, line: line)
        }
        // Before trust: pages.
        assertPage(try get(base.filter { $0.0 != "client_id" }), 400, "client_id is missing")
        assertPage(try get(base.map { $0.0 == "client_id" ? ($0.0, "cl_unknown") : $0 }), 400, "Unknown client")
        assertPage(try get(base.map { $0.0 == "redirect_uri" ? ($0.0, "https://evil.example/callback") : $0 }), 400, "not one registered")
        assertPage(try get(base.map { $0.0 == "redirect_uri" ? ($0.0, "https://client.example/callback/../x") : $0 }), 400, "not one registered")
        assertPage(try get(base + [("client_id", clientID)]), 400, "client_id is repeated")
        assertPage(try get(base + [("redirect_uri", "https://evil.example/")]), 400, "redirect_uri is repeated")
        assertPage(try get(base.filter { $0.0 != "redirect_uri" }), 400, "no redirect_uri")
        assertPage(try get(base.map { $0.0 == "client_id" ? ($0.0, f.oauth.clientID!) : $0 }), 400, "client credentials")
        assertPage(try get(base.map { $0.0 == "client_id" ? ($0.0, String(repeating: "x", count: 5000)) : $0 }), 400, "too long")
        XCTAssertEqual(try CurlClient.run(["\(f.url)/oauth/authorize?client_id=%zz"]).status, 400)

        // After trust: redirects with error, state and iss.
        func assertRedirect(_ r: CurlReply, _ error: String, state: String? = "s1", line: UInt = #line) throws {
            XCTAssertEqual(r.status, 303, r.body, line: line)
            let location = try XCTUnwrap(r["location"], line: line)
            XCTAssertTrue(location.hasPrefix(Self.redirect + "?"), location, line: line)
            let q = try Self.query(location)
            XCTAssertEqual(q["error"], error, location, line: line)
            XCTAssertEqual(q["state"], state, line: line)
            XCTAssertEqual(q["iss"], f.server.context.issuer, line: line)
            XCTAssertNil(q["code"], line: line)
        }
        try assertRedirect(try get(base.map { $0.0 == "response_type" ? ($0.0, "token") : $0 }), "unsupported_response_type")
        try assertRedirect(try get(base.filter { $0.0 != "response_type" }), "invalid_request")
        try assertRedirect(try get(base.filter { $0.0 != "code_challenge" }), "invalid_request")
        try assertRedirect(try get(base.map { $0.0 == "code_challenge_method" ? ($0.0, "plain") : $0 }), "invalid_request")
        try assertRedirect(try get(base.filter { $0.0 != "code_challenge_method" }), "invalid_request")
        try assertRedirect(try get(base.map { $0.0 == "code_challenge" ? ($0.0, "short") : $0 }), "invalid_request")
        try assertRedirect(try get(base + [("code_challenge", PKCEPair.challenge)]), "invalid_request")
        try assertRedirect(try get(base + [("state", "s2")]), "invalid_request", state: nil)
        try assertRedirect(try get(base.map { $0.0 == "state" ? ($0.0, String(repeating: "s", count: 600)) : $0 }), "invalid_request", state: nil)
        try assertRedirect(try get(base + [("resource", "relative/path")]), "invalid_target")
        try assertRedirect(try get(base + [("scope", String(repeating: "x", count: 3000))]), "invalid_request")

        // Not signed in: without dev login a page saying the proxy signs in; with it, the login page.
        assertPage(try get(base, user: nil), 401, "front proxy")
        let dev = try Self.makeFixture("oauth-authorize-devlogin", devLogin: true)
        defer { dev.server.remove() }
        let toLogin = try CurlClient.run(["\(dev.url)/oauth/authorize?" + Self.encode(Self.authorizeParameters(clientID: dev.pkce.clientID!, state: "s1"))])
        XCTAssertEqual(toLogin.status, 303)
        let login = try XCTUnwrap(toLogin["location"])
        XCTAssertTrue(login.hasPrefix("/login?next=%2Foauth%2Fauthorize%3F"), login)
        // Following it: sign in through the dev page, come back, see the consent page with the cookie.
        let next = try XCTUnwrap(try Self.query("http://x" + login)["next"])
        let signedIn = try CurlClient.run(["--data-urlencode", "email=carol@acme.example", "--data-urlencode", "next=\(next)", "\(dev.url)/login"])
        XCTAssertEqual(signedIn["location"], next)
        let cookie = String(try XCTUnwrap(signedIn["set-cookie"]).split(separator: ";")[0])
        let consent = try CurlClient.run(["-H", "Cookie: \(cookie)", "\(dev.url)\(next)"])
        XCTAssertEqual(consent.status, 200)
        XCTAssertTrue(consent.body.contains("carol@acme.example"))

        // Hostile names are escaped.
        let hostile = try get(Self.authorizeParameters(clientID: f.hostile.clientID!, state: "<b>"))
        XCTAssertEqual(hostile.status, 200)
        XCTAssertFalse(hostile.body.contains("<script>"))
        XCTAssertFalse(hostile.body.contains("<b>"))
        XCTAssertTrue(hostile.body.contains(HTML.escape(Self.hostileName)))
        XCTAssertTrue(hostile.body.contains("READ ONLY"))
    }

    func testConsentCSRFDenialAndRemovedUsers() throws {
        let f = try Self.makeFixture("oauth-consent")
        defer { f.server.remove() }
        let clientID = f.pkce.clientID!
        let page = try authorizePage(f, clientID: clientID, user: World.bob, state: "s1")
        let csrf = try XCTUnwrap(Self.csrf(in: page.body))
        let carolCSRF = try XCTUnwrap(Self.csrf(in: try authorizePage(f, clientID: clientID, user: World.carol, state: "s1").body))
        let otherRequestCSRF = try XCTUnwrap(Self.csrf(in: try authorizePage(f, clientID: clientID, user: World.bob, state: "s2").body))
        let eventsBefore = f.server.ledger.head.seq

        func refused(_ r: CurlReply, _ status: Int = 403, line: UInt = #line) {
            XCTAssertEqual(r.status, status, r.body, line: line)
            XCTAssertNil(r["location"], line: line)
        }
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: nil))
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: "1.00"))
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: carolCSRF))
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: otherRequestCSRF))
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: csrf, extra: ["-H", "Sec-Fetch-Site: cross-site"]))
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: csrf, extra: ["-H", "Origin: https://evil.example"]))
        refused(try approve(f, clientID: clientID, user: nil, state: "s1", csrf: csrf), 401)
        // A form that changed the redirect URI to one not registered: a page, never a redirect.
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: csrf, redirectURI: "https://evil.example/cb"), 400)
        XCTAssertEqual(f.server.ledger.head.seq, eventsBefore, "refused forms record nothing")

        // Same-origin browser headers pass.
        let ok = try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: csrf,
                             extra: ["-H", "Origin: \(f.server.context.issuer)", "-H", "Sec-Fetch-Site: same-origin"])
        XCTAssertEqual(ok.status, 303)
        XCTAssertNotNil(try Self.query(ok["location"] ?? "")["code"])

        // A consent form answers once: the same token again, to approve or to deny, is refused and records nothing.
        let answered = f.server.ledger.head.seq
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: csrf))
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: csrf, decision: "deny"))
        XCTAssertEqual(f.server.ledger.head.seq, answered, "a replayed consent form records nothing")

        // Deny (a fresh form): access_denied to the client, recorded as a refusal; the deny cannot become an approve.
        let denyCSRF = try XCTUnwrap(Self.csrf(in: try authorizePage(f, clientID: clientID, user: World.bob, state: "s1").body))
        XCTAssertNotEqual(denyCSRF, csrf, "every form gets its own token")
        let denied = try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: denyCSRF, decision: "deny")
        XCTAssertEqual(denied.status, 303)
        let q = try Self.query(try XCTUnwrap(denied["location"]))
        XCTAssertEqual(q["error"], "access_denied")
        XCTAssertEqual(q["state"], "s1")
        XCTAssertNil(q["code"])
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: denyCSRF))
        let last = try XCTUnwrap(f.server.ledger.audit.events(from: f.server.ledger.head.seq).first)
        guard case .oauthRequestDenied(_, _, let grant, let reason) = last.event.payload else { return XCTFail("\(last.event.payload)") }
        XCTAssertEqual(grant, .authorize)
        XCTAssertEqual(reason, .accessDenied)

        // A user removed from the company cannot consent: access_denied, no code.
        _ = try f.server.ledger.administration.setMemberRole(World.acme, email: World.carol, role: .removed, as: World.alice)
        let removed = try approve(f, clientID: clientID, user: World.carol, state: "s1", csrf: carolCSRF)
        XCTAssertEqual(removed.status, 303)
        XCTAssertEqual(try Self.query(removed["location"] ?? "")["error"], "access_denied")
        // Someone of no company at all: the same.
        let stranger = try XCTUnwrap(Self.csrf(in: try authorizePage(f, clientID: clientID, user: World.mallory, state: "s1").body))
        XCTAssertEqual(try Self.query(try approve(f, clientID: clientID, user: World.mallory, state: "s1", csrf: stranger)["location"] ?? "")["error"],
                       "access_denied")
        // The CSRF token expires.
        f.server.clock.advance(seconds: 3601)
        refused(try approve(f, clientID: clientID, user: World.bob, state: "s1", csrf: csrf))
        assertLogIsClean(f, extra: [csrf])
    }

    // MARK: - Helpers

    static func authorizeParameters(clientID: String, state: String, redirectURI: String = redirect) -> [(String, String)] {
        [("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirectURI), ("state", state),
         ("code_challenge", PKCEPair.challenge), ("code_challenge_method", "S256")]
    }

    static func encode(_ parameters: [(String, String)]) -> String {
        parameters.map { PercentEncoding.formEncode($0.0) + "=" + PercentEncoding.formEncode($0.1) }.joined(separator: "&")
    }

    func authorizePage(_ f: Fixture, clientID: String, user: String, state: String) throws -> CurlReply {
        try CurlClient.run(["-H", "X-Forwarded-Email: \(user)", "\(f.url)/oauth/authorize?" + Self.encode(Self.authorizeParameters(clientID: clientID, state: state))])
    }

    func approve(_ f: Fixture, clientID: String, user: String?, state: String, csrf: String?, decision: String = "approve",
                 redirectURI: String = redirect, extra: [String] = []) throws -> CurlReply {
        var parameters = Self.authorizeParameters(clientID: clientID, state: state, redirectURI: redirectURI) + [("decision", decision)]
        if let csrf { parameters.append(("csrf", csrf)) }
        var args = extra + ["-d", Self.encode(parameters)]
        if let user { args += ["-H", "X-Forwarded-Email: \(user)"] }
        return try CurlClient.run(args + ["\(f.url)/oauth/authorize"])
    }

    func approvedCode(_ f: Fixture, clientID: String, user: String) throws -> String {
        let csrf = try XCTUnwrap(Self.csrf(in: try authorizePage(f, clientID: clientID, user: user, state: "s").body))
        let r = try approve(f, clientID: clientID, user: user, state: "s", csrf: csrf)
        return try XCTUnwrap(try Self.query(r["location"] ?? "")["code"])
    }

    func exchange(_ f: Fixture, clientID: String, secret: String, code: String, redirectURI: String = redirect) throws -> CurlReply {
        try CurlClient.run(["-u", "\(clientID):\(secret)", "--data-urlencode", "grant_type=authorization_code", "--data-urlencode", "code=\(code)",
                      "--data-urlencode", "code_verifier=\(PKCEPair.verifier)", "--data-urlencode", "redirect_uri=\(redirectURI)", "\(f.url)/oauth/token"])
    }

    static func csrf(in page: String) -> String? {
        guard let range = page.range(of: #"name="csrf" value=""#) else { return nil }
        let rest = page[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    static func query(_ url: String) throws -> [String: String] {
        guard let q = url.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var out: [String: String] = [:]
        for field in try QueryString.parse(String(q)).fields { out[field.name] = field.value }
        return out
    }

    func assertNoStore(_ r: CurlReply, line: UInt = #line) {
        XCTAssertEqual(r["cache-control"], "no-store", line: line)
        XCTAssertEqual(r["pragma"], "no-cache", line: line)
    }

    func assertPageHeaders(_ page: CurlReply, line: UInt = #line) {
        XCTAssertEqual(page["content-security-policy"],
                       "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'", line: line)
        XCTAssertEqual(page["x-frame-options"], "DENY", line: line)
        XCTAssertEqual(page["x-content-type-options"], "nosniff", line: line)
        XCTAssertEqual(page["referrer-policy"], "same-origin", line: line)
        assertNoStore(page, line: line)
    }

    /// No secret, token, code or CSRF token in any server log line (the log sink captured).
    func assertLogIsClean(_ f: Fixture, extra: [String], line: UInt = #line) {
        let lines = f.server.logLines.current
        XCTAssertFalse(lines.isEmpty, "the log sink captured the requests", line: line)
        for needle in f.secrets + extra where !needle.isEmpty {
            for logLine in lines { XCTAssertFalse(logLine.contains(needle), "log line leaks a secret: \(logLine)", line: line) }
        }
        for logLine in lines {
            XCTAssertFalse(logLine.contains("code="), logLine, line: line)
            XCTAssertFalse(logLine.lowercased().contains("authorization:"), logLine, line: line)
        }
    }
}
