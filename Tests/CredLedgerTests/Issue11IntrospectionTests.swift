import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 11, item 4: introspection (RFC 7662 §2.1) requires client authentication. Before, anyone holding a token
/// string learnt its credential id, user, scope and expiry, whatever company it belonged to. Now the caller is a
/// confidential client with a live secret (else `invalid_client`, recorded as `oauth_request_denied`), and it sees
/// only tokens issued to itself; everything else is `{"active": false}`.
final class Issue11IntrospectionTests: XCTestCase {
    private var t: TestLedger!
    private var pkce: IssuedCredential!       // confidential PKCE client of acme
    private var otherPKCE: IssuedCredential!  // a second confidential PKCE client of acme
    private var pub: IssuedCredential!        // public PKCE client of acme
    private var api: IssuedCredential!        // OAuth API user of acme
    private var betaAPI: IssuedCredential!    // OAuth API user of beta

    override func setUpWithError() throws {
        t = try TestLedger("i11-introspect", seed: 1104)
        try t.makeWorld()
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        pkce = try t.create(.pkce, .readWrite, name: "MCP")
        otherPKCE = try t.create(.pkce, .read, name: "Other MCP")
        pub = try t.create(.pkcePublic, .read, name: "CLI app")
        api = try t.create(.oauth, .global, name: "ERP")
        betaAPI = try t.create(.oauth, .global, name: "Beta ERP", company: World.beta, as: World.bea)
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    private var ledger: Ledger { t.ledger }

    private func introspect(_ token: String, by client: IssuedCredential, secret: String?? = .none) throws -> Introspection {
        try ledger.oauth.introspect(token, clientID: client.clientID!, clientSecret: secret ?? client.clientSecret)
    }

    /// Every field of an inactive answer is empty: nothing about the token leaks.
    private func assertInactive(_ info: Introspection, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(info.active, label, file: file, line: line)
        XCTAssertNil(info.clientID, label, file: file, line: line)
        XCTAssertNil(info.credentialID, label, file: file, line: line)
        XCTAssertNil(info.username, label, file: file, line: line)
        XCTAssertNil(info.scope, label, file: file, line: line)
        XCTAssertNil(info.tokenType, label, file: file, line: line)
        XCTAssertNil(info.expiresAt, label, file: file, line: line)
        XCTAssertNil(info.issuedAt, label, file: file, line: line)
    }

    /// The attack: a token string alone, with no or a failed client authentication, is refused with `invalid_client`,
    /// each refusal recorded once as `oauth_request_denied` with grant `introspection`.
    func testIntrospectionWithoutClientAuthenticationIsInvalidClient() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        let token = tokens.accessToken
        let attempts: [(String, () throws -> Void)] = [
            ("no secret", { _ = try self.introspect(token, by: self.pkce, secret: .some(nil)) }),
            ("another client's secret", { _ = try self.introspect(token, by: self.pkce, secret: self.api.clientSecret) }),
            ("a made-up secret", { _ = try self.introspect(token, by: self.pkce, secret: try SecretFormat.generate(.clientSecret, using: SeededRandom(seed: 3))) }),
            ("the token as the secret", { _ = try self.introspect(token, by: self.pkce, secret: token) }),
            ("unknown client id", { _ = try self.ledger.oauth.introspect(token, clientID: "cxc_unknown", clientSecret: self.pkce.clientSecret) }),
            ("empty client id", { _ = try self.ledger.oauth.introspect(token, clientID: "", clientSecret: nil) }),
            ("a public client (nothing to authenticate with)", { _ = try self.introspect(token, by: self.pub) }),
            ("a public client sending a secret", { _ = try self.introspect(token, by: self.pub, secret: self.pkce.clientSecret) }),
        ]
        for (label, body) in attempts {
            let added = assertOAuthDenied(.invalidClient, t, body)  // RFC error `invalid_client`
            XCTAssertEqual(added.count, 1, label)
            if case .oauthRequestDenied(_, _, let grant, _) = added.first?.event.payload {
                XCTAssertEqual(grant, .introspection, label)
            } else {
                XCTFail("\(label): no oauth_request_denied event")
            }
        }
        // The right client with its secret does see it, and that writes nothing.
        let before = t.head
        XCTAssertTrue(try introspect(token, by: pkce).active)
        XCTAssertEqual(t.head, before, "a successful introspection is not an event")
    }

    /// A secret that ended (rotation with grace 0) or a deleted caller cannot introspect either.
    func testRotatedOutSecretAndDeletedCallerCannotIntrospect() throws {
        let cc = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        let rotated = try ledger.administration.rotateSecret(World.acme, credential: api.id, grace: 0, as: World.alice)
        assertOAuthDenied(.invalidClient, t) { _ = try self.introspect(cc.accessToken, by: self.api) }
        let fresh = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: rotated.clientSecret!)
        XCTAssertTrue(try introspect(fresh.accessToken, by: api, secret: rotated.clientSecret).active)
        try ledger.administration.deleteCredential(World.acme, credential: api.id, as: World.alice)
        let added = assertOAuthDenied(.revoked, t) { _ = try self.introspect(fresh.accessToken, by: self.api, secret: rotated.clientSecret) }
        XCTAssertEqual(added.count, 1)
        do {
            _ = try introspect(fresh.accessToken, by: api, secret: rotated.clientSecret)
        } catch let e as OAuthError {
            XCTAssertEqual(e.error, "invalid_client")
        }
    }

    /// A caller sees only tokens issued to itself: another client of its own company, or of another company, gets
    /// `{"active": false}` with nothing else, exactly as for an unknown token.
    func testAClientSeesOnlyItsOwnTokens() throws {
        let user = try t.pkceTokens(pkce, user: World.bob)
        let cc = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        let betaToken = try ledger.oauth.clientCredentialsToken(clientID: betaAPI.clientID!, clientSecret: betaAPI.clientSecret!)
        let before = t.head

        // Own tokens: active, with the details.
        let own = try introspect(user.accessToken, by: pkce)
        XCTAssertTrue(own.active)
        XCTAssertEqual(own.username, World.bob)
        XCTAssertEqual(own.credentialID, pkce.id)
        XCTAssertTrue(try introspect(user.refreshToken!, by: pkce).active)
        XCTAssertEqual(try introspect(cc.accessToken, by: api).username, api.serviceUser)
        XCTAssertTrue(try introspect(betaToken.accessToken, by: betaAPI).active)

        // Same company, another client.
        assertInactive(try introspect(user.accessToken, by: otherPKCE), "another PKCE client of acme")
        assertInactive(try introspect(user.refreshToken!, by: api), "acme's API user on a PKCE refresh token")
        assertInactive(try introspect(cc.accessToken, by: pkce), "a PKCE client on the API user's token")
        // Another company, both ways.
        assertInactive(try introspect(user.accessToken, by: betaAPI), "beta on acme's user token")
        assertInactive(try introspect(cc.accessToken, by: betaAPI), "beta on acme's API token")
        assertInactive(try introspect(betaToken.accessToken, by: api), "acme on beta's token")
        // Unknown and garbage look the same.
        assertInactive(try introspect(try SecretFormat.generate(.accessToken, using: SeededRandom(seed: 9)), by: pkce), "unknown")
        assertInactive(try introspect("garbage", by: pkce), "garbage")
        assertInactive(try introspect(api.clientSecret!, by: pkce), "a client secret")
        XCTAssertEqual(t.head, before, "introspection by authenticated clients wrote to the log")
    }

    /// Found while testing: an empty client id (or one longer than a store key) failed with a storage error at every
    /// OAuth endpoint instead of `invalid_client`.
    func testEmptyOrHugeClientIDIsInvalidClientAtEveryEndpoint() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        for clientID in ["", String(repeating: "c", count: 600)] {
            assertOAuthDenied(.invalidClient, t) { _ = try self.ledger.oauth.introspect(tokens.accessToken, clientID: clientID, clientSecret: self.api.clientSecret) }
            assertOAuthDenied(.invalidClient, t) { _ = try self.ledger.oauth.revokeToken(tokens.accessToken, clientID: clientID, clientSecret: nil) }
            assertOAuthDenied(.invalidClient, t) { _ = try self.ledger.oauth.clientCredentialsToken(clientID: clientID, clientSecret: self.api.clientSecret!) }
            assertOAuthDenied(.invalidClient, t) {
                _ = try self.ledger.oauth.approveClient(company: World.acme, clientID: clientID, user: World.bob, redirectURI: World.redirect,
                                              codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: nil)
            }
        }
        assertAllowed(try t.check("Bearer " + tokens.accessToken, World.bridge, .read))
    }

    // MARK: command line

    func testCommandLineIntrospectionNeedsClientAuthentication() throws {
        let cli = try CLI("i11-introspect-cli")
        defer { cli.remove() }
        let alice = World.alice
        XCTAssertEqual(cli.run("company", "create", "acme", "--admin", alice, "--mail-domain", "acme.example").code, 0)
        XCTAssertEqual(cli.run("company", "enable-api", "acme", "--as", alice).code, 0)
        XCTAssertEqual(cli.run("company", "create", "beta", "--admin", World.bea).code, 0)
        XCTAssertEqual(cli.run("company", "enable-api", "beta", "--as", World.bea).code, 0)
        func client(_ company: String, _ admin: String, _ name: String) -> (id: String, secret: String) {
            let r = cli.run("--json", "key", "create", company, "--name", name, "--type", "oauth", "--scope", "global", "--as", admin)
            XCTAssertEqual(r.code, 0, r.all)
            return (r.object["client_id"] as? String ?? "", r.object["client_secret"] as? String ?? "")
        }
        let erp = client("acme", alice, "ERP"), other = client("acme", alice, "Other"), beta = client("beta", World.bea, "Beta ERP")
        let issued = cli.run("--json", "token", "client-credentials", "--client-id", erp.id, "--client-secret", erp.secret)
        let token = issued.object["access_token"] as? String ?? ""
        XCTAssertFalse(token.isEmpty, issued.all)

        // The attack as it was: a token alone. Now a usage error, and nothing about the token is printed.
        let bare = cli.run("token", "introspect", "--token", token)
        XCTAssertEqual(bare.code, 2, bare.all)
        XCTAssertTrue(bare.all.contains("--client-id"), bare.all)
        XCTAssertFalse(bare.all.contains("active"), bare.all)

        // Failed client authentication: exit 1, the RFC error shape in --json, and the refusal recorded.
        let head = try cli.head()
        let wrong = cli.run("--json", "token", "introspect", "--token", token, "--client-id", erp.id, "--client-secret", other.secret)
        XCTAssertEqual(wrong.code, 1, wrong.all)
        XCTAssertEqual(wrong.object["error"] as? String, "invalid_client")
        XCTAssertEqual(wrong.object["reason"] as? String, "invalid_client")
        XCTAssertNotNil(wrong.object["error_description"] as? String)
        XCTAssertNil(wrong.object["active"])
        XCTAssertEqual(try cli.head().seq, head.seq + 1, "the failed client authentication is recorded")
        let noSecret = cli.run("token", "introspect", "--token", token, "--client-id", erp.id)
        XCTAssertEqual(noSecret.code, 1, noSecret.all)
        XCTAssertTrue(noSecret.err.contains("invalid_client"), noSecret.all)

        // The owner sees it; another client of acme and beta's client see exactly {"active": false}.
        let mine = cli.run("--json", "token", "introspect", "--token", token, "--client-id", erp.id, "--client-secret", erp.secret)
        XCTAssertEqual(mine.code, 0, mine.all)
        XCTAssertEqual(mine.object["active"] as? Bool, true)
        XCTAssertEqual(mine.object["client_id"] as? String, erp.id)
        for caller in [other, beta] {
            let before = try cli.head()
            let r = cli.run("--json", "token", "introspect", "--token", token, "--client-id", caller.id, "--client-secret", caller.secret)
            XCTAssertEqual(r.code, 0, r.all)
            XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), #"{"active":false}"#)
            XCTAssertEqual(try cli.head(), before)
        }
        let human = cli.run("token", "introspect", "--token", token, "--client-id", beta.id, "--client-secret", beta.secret)
        XCTAssertEqual(human.out, "inactive\n")
    }
}
