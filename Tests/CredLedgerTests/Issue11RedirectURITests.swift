import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 11, item 6: redirect URIs. Wildcards were accepted at registration; loopback IP redirect URIs had to match
/// the port exactly (native clients pick a free port each run, RFC 8252 §7.3); private-use schemes (RFC 8252 §7.1)
/// were refused. Now: wildcards, fragments and userinfo are refused (RFC 6749 §3.1.2); a loopback IP redirect URI
/// matches with any port at authorization, and the code exchange repeats the URI actually used, port included;
/// `localhost` is accepted but matched exactly; private-use schemes are for public clients only.
final class Issue11RedirectURITests: XCTestCase {
    private var t: TestLedger!

    override func setUpWithError() throws {
        t = try TestLedger("i11-redirect", seed: 1106)
        try t.makeWorld()
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    private var ledger: Ledger { t.ledger }

    private func register(_ type: CredentialType, _ uris: [String]) throws -> IssuedCredential {
        try ledger.administration.createCredential(World.acme, NewCredential(name: "Client \(t.head.seq)", type: type, scope: .read, redirectURIs: uris), as: World.alice)
    }

    private func authorize(_ client: IssuedCredential, _ redirect: String) throws -> AuthorizationGrant {
        try ledger.oauth.approveClient(company: World.acme, clientID: client.clientID!, user: World.bob, redirectURI: redirect,
                             codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "s")
    }

    private func exchange(_ client: IssuedCredential, _ code: String, _ redirect: String) throws -> TokenResponse {
        try ledger.oauth.exchangeCode(clientID: client.clientID!, clientSecret: client.clientSecret, code: code,
                                codeVerifier: PKCEPair.verifier, redirectURI: redirect)
    }

    // MARK: registration

    func testRefusedRegistrations() throws {
        let refusedForAll = [
            "https://*.example.com/cb",               // wildcard host
            "https://client.example/*",               // wildcard path
            "https://client.*/cb",
            "https://client.example/cb?next=*",
            "http://*:8080/cb",
            "https://client.example/cb#frag",         // fragment
            "https://client.example/cb#",
            "https://user@client.example/cb",         // userinfo
            "https://user:pw@client.example/cb",
            "http://127.0.0.1@evil.example/cb",
            "https://client.example@evil.example/cb",
            "http://client.example/cb",               // http off loopback
            "http://127.0.0.2/cb",
            "http://[::2]/cb",
            "https:///cb",                            // no host
            "https://:443/cb",
            "https:client.example/cb",
            "HTTPS://client.example/cb",              // scheme must be lowercase (exact matching)
            "https://client.example:0/cb",            // ports
            "https://client.example:65536/cb",
            "https://client.example:08443/cb",
            "https://client.example:/cb",
            "http://127.0.0.1:abc/cb",
            "http://[::1/cb",
            "https://client_example/cb",              // host characters
            "https://client%2Eexample/cb",
            "no-scheme",
            "",
            "myapp:/cb",                              // private-use scheme without a reverse domain
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            ".example.app:/cb",
            "com..app:/cb",
            "com.example.app:",                       // nothing after the scheme
            "com.example.app://user@host/cb",         // userinfo in a private-use URI
            "com.example.app:/cb#x",
            "com.example.*:/cb",
        ]
        for uri in refusedForAll {
            for type in [CredentialType.pkce, .pkcePublic] {
                assertRefused("invalid_redirect_uri", kind: .badInput, t) { _ = try self.register(type, [uri]) }
            }
        }
        // Private-use schemes: public (native) clients only.
        for uri in ["com.example.app:/cb", "com.example.app://cb", "app.claude.desktop:/oauth/callback"] {
            assertRefused("invalid_redirect_uri", kind: .badInput, t) { _ = try self.register(.pkce, [uri]) }
            XCTAssertNoThrow(try register(.pkcePublic, [uri]), uri)
        }
        // One bad URI among good ones refuses the whole credential.
        assertRefused("invalid_redirect_uri", kind: .badInput, t) { _ = try self.register(.pkce, [World.redirect, "https://*.example.com/cb"]) }
    }

    func testAcceptedRegistrations() throws {
        let accepted = [
            "https://client.example/cb", "https://client.example:8443/cb?x=1", "https://client.example", "https://[2001:db8::1]/cb",
            "http://127.0.0.1/cb", "http://127.0.0.1:8765/cb", "http://[::1]/cb", "http://[::1]:65535/cb", "http://127.0.0.1",
            "http://localhost/cb", "http://localhost:3000/oauth/callback",
        ]
        for uri in accepted {
            XCTAssertNoThrow(try register(.pkce, [uri]), uri)
            XCTAssertNoThrow(try register(.pkcePublic, [uri]), uri)
        }
    }

    func testRedirectURIParts() throws {
        let loop = try RedirectURI(parsing: "http://[::1]:5000/cb?x=1", allowPrivateUseScheme: false)
        XCTAssertEqual(loop.kind, .loopbackIP)
        XCTAssertEqual(loop.host, "[::1]")
        XCTAssertEqual(loop.port, "5000")
        XCTAssertEqual(loop.rest, "/cb?x=1")
        XCTAssertEqual(try RedirectURI(parsing: "http://localhost:3000/cb", allowPrivateUseScheme: false).kind, .localhost)
        XCTAssertEqual(try RedirectURI(parsing: "https://a.example/cb", allowPrivateUseScheme: false).kind, .https)
        XCTAssertEqual(try RedirectURI(parsing: "com.example.app:/cb", allowPrivateUseScheme: true).kind, .privateUse)
    }

    // MARK: matching

    func testMatchingRules() {
        func m(_ registered: String, _ requested: String) -> Bool { RedirectURI.matches(registered: registered, requested: requested) }
        // Loopback IP: any port, with or without one registered.
        XCTAssertTrue(m("http://127.0.0.1/cb", "http://127.0.0.1:53111/cb"))
        XCTAssertTrue(m("http://127.0.0.1/cb", "http://127.0.0.1/cb"))
        XCTAssertTrue(m("http://127.0.0.1:8765/cb", "http://127.0.0.1:40000/cb"))
        XCTAssertTrue(m("http://127.0.0.1:8765/cb", "http://127.0.0.1/cb"))
        XCTAssertTrue(m("http://[::1]/cb", "http://[::1]:61000/cb"))
        XCTAssertTrue(m("http://127.0.0.1/cb?x=1", "http://127.0.0.1:5000/cb?x=1"))
        // …but everything else about it exactly.
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://127.0.0.1:5000/other"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb/"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb?x=1"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://[::1]:5000/cb"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://localhost:5000/cb"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "https://127.0.0.1:5000/cb"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://127.0.0.1:5000@evil.example/cb"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb#x"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://127.0.0.1:0/cb"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://127.0.0.1:99999/cb"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://127.0.0.1:/cb"))
        XCTAssertFalse(m("http://127.0.0.1/cb", "http://127.0.0.1.evil.example:5000/cb"))
        // localhost is not a loopback IP (RFC 8252 §8.3): exact, port included.
        XCTAssertTrue(m("http://localhost:3000/cb", "http://localhost:3000/cb"))
        XCTAssertFalse(m("http://localhost:3000/cb", "http://localhost:3001/cb"))
        XCTAssertFalse(m("http://localhost/cb", "http://localhost:3000/cb"))
        // https and private-use: exact.
        XCTAssertFalse(m("https://client.example/callback", "https://client.example:443/callback"))
        XCTAssertFalse(m("https://client.example/callback", "https://client.example:8443/callback"))
        XCTAssertFalse(m("https://client.example/callback", "https://client.example/callback?x=1"))
        XCTAssertFalse(m("com.example.app:/cb", "com.example.app:/cb2"))
        XCTAssertTrue(m("com.example.app:/cb", "com.example.app:/cb"))
    }

    /// The port-flexible match end to end: authorize with the port actually used, exchange with the same URI; any other
    /// port (or the registered, port-less URI) at the exchange is `redirect_uri_mismatch`.
    func testLoopbackPortFlexibleAtAuthorizationAndExactAtExchange() throws {
        for (registered, used, other) in [("http://127.0.0.1/cb", "http://127.0.0.1:53111/cb", "http://127.0.0.1:53112/cb"),
                                          ("http://[::1]/cb", "http://[::1]:61000/cb", "http://[::1]:61001/cb"),
                                          (World.loopback, "http://127.0.0.1:40000/cb", World.loopback)] {
            for type in [CredentialType.pkcePublic, .pkce] {
                let client = try register(type, [registered])
                let grant = try authorize(client, used)
                XCTAssertEqual(grant.redirectURI, used)
                XCTAssertTrue(grant.location.hasPrefix(used + "?code="), grant.location)
                // The consent keeps the URI as requested.
                let consent = try ledger.audit.events().last { if case .consentGiven = $0.event.payload { true } else { false } }
                if case .consentGiven(let c) = consent?.event.payload { XCTAssertEqual(c.redirectURI, used) }
                // The exchange needs exactly that URI.
                assertOAuthDenied(.redirectURIMismatch, t) { _ = try self.exchange(client, grant.code, other) }
                let second = try authorize(client, used)
                assertOAuthDenied(.redirectURIMismatch, t) { _ = try self.exchange(client, second.code, registered == used ? other : registered) }
                let third = try authorize(client, used)
                let tokens = try exchange(client, third.code, used)
                XCTAssertFalse(tokens.accessToken.isEmpty)
            }
        }
    }

    func testNonMatchingRequestsAreRefusedAtAuthorization() throws {
        let loop = try register(.pkcePublic, ["http://127.0.0.1/cb", "http://localhost:3000/cb"])
        let web = try register(.pkce, [World.redirect])
        for uri in ["http://127.0.0.1:5000/other", "http://[::1]:5000/cb", "http://localhost:5000/cb", "http://localhost/cb",
                    "http://localhost:3001/cb", "http://127.0.0.1:5000@evil.example/cb", "http://127.0.0.1:5000/cb#x", "https://127.0.0.1/cb"] {
            assertOAuthDenied(.redirectURIMismatch, t) { _ = try self.authorize(loop, uri) }
        }
        XCTAssertNoThrow(try authorize(loop, "http://localhost:3000/cb"))
        for uri in ["https://client.example:443/callback", "https://client.example/callback/", "https://client.example/callback?x=1",
                    "https://client.example/callback#x", "https://evil.example/callback", "http://client.example/callback"] {
            assertOAuthDenied(.redirectURIMismatch, t) { _ = try self.authorize(web, uri) }
        }
    }

    /// A public native client with a private-use scheme goes through authorize and exchange.
    func testPrivateUseSchemeForAPublicClient() throws {
        let app = try register(.pkcePublic, ["com.example.app:/oauth/cb"])
        let grant = try authorize(app, "com.example.app:/oauth/cb")
        XCTAssertTrue(grant.location.hasPrefix("com.example.app:/oauth/cb?code=cxo_"), grant.location)
        XCTAssertNoThrow(try exchange(app, grant.code, "com.example.app:/oauth/cb"))
        assertOAuthDenied(.redirectURIMismatch, t) { _ = try self.authorize(app, "com.example.evil:/oauth/cb") }
    }

    func testCommandLineRefusesAWildcard() throws {
        let cli = try CLI("i11-redirect-cli")
        defer { cli.remove() }
        XCTAssertEqual(cli.run("company", "create", "acme", "--admin", World.alice).code, 0)
        XCTAssertEqual(cli.run("company", "enable-api", "acme", "--as", World.alice).code, 0)
        let head = try cli.head()
        let r = cli.run("key", "create", "acme", "--name", "MCP", "--type", "pkce", "--scope", "read", "--redirect-uri", "https://*.example.com/cb",
                        "--as", World.alice)
        XCTAssertEqual(r.code, 2, r.all)
        XCTAssertTrue(r.err.contains("invalid_redirect_uri"), r.all)
        XCTAssertTrue(r.err.contains("wildcard"), r.all)
        XCTAssertEqual(try cli.head(), head)
        let ok = cli.run("key", "create", "acme", "--name", "App", "--type", "pkce-public", "--scope", "read",
                         "--redirect-uri", "http://127.0.0.1/cb,com.example.app:/cb", "--as", World.alice)
        XCTAssertEqual(ok.code, 0, ok.all)
    }
}
