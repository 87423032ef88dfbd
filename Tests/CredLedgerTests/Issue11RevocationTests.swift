import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 11, item 5: revocation (RFC 7009 §2.1) verifies the client and that the token was issued to it. Before, a
/// wrong client, a static key or another company's token got "revoked (or already unusable)" and exit 0, and the token
/// kept working. Now those are refused (`unauthorized_client`, `unsupported_token_type`), an unknown token is answered
/// with success but said to be unknown, and only a real revocation is an event.
final class Issue11RevocationTests: XCTestCase {
    private var t: TestLedger!
    private var pkce: IssuedCredential!
    private var otherPKCE: IssuedCredential!
    private var pub: IssuedCredential!
    private var api: IssuedCredential!
    private var betaPKCE: IssuedCredential!

    override func setUpWithError() throws {
        t = try TestLedger("i11-revoke", seed: 1105)
        try t.makeWorld()
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        try ledger.administration.setUserProjectRole(World.beta, project: World.betaProject, email: World.bea, role: .editor, as: World.bea)
        pkce = try t.create(.pkce, .readWrite, name: "MCP")
        otherPKCE = try t.create(.pkce, .readWrite, name: "Other MCP")
        pub = try t.create(.pkcePublic, .readWrite, name: "CLI app")
        api = try t.create(.oauth, .global, name: "ERP")
        betaPKCE = try t.create(.pkce, .readWrite, name: "Beta MCP", company: World.beta, as: World.bea)
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    private var ledger: Ledger { t.ledger }

    private func revoke(_ token: String, by client: IssuedCredential, secret: String?? = .none) throws -> RevocationOutcome {
        try ledger.oauth.revokeToken(token, clientID: client.clientID!, clientSecret: secret ?? client.clientSecret)
    }

    private func bearer(_ token: String, company: String = World.acme, project: String = World.bridge) throws -> Decision {
        try t.check("Bearer " + token, project, .read, company: company)
    }

    private func rfcError(_ body: () throws -> Void) -> String? {
        do { try body() } catch let e as OAuthError { return e.error } catch { return "unexpected \(error)" }
        return nil
    }

    private func assertNoTokenRevoked(_ added: [StoredEvent], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(added.contains { if case .tokenRevoked = $0.event.payload { true } else { false } },
                       "a refused revocation revoked something", file: file, line: line)
    }

    /// A client other than the one the token was issued to is refused; the token keeps working.
    func testRevocationByTheWrongClientIsRefusedAndTheTokenKeepsWorking() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        for (label, client) in [("another confidential client", otherPKCE!), ("a public client", pub!), ("the API user", api!)] {
            for token in [tokens.accessToken, tokens.refreshToken!] {
                let added = assertOAuthDenied(.unauthorizedClient, t) { _ = try self.revoke(token, by: client) }
                assertNoTokenRevoked(added)
                if case .oauthRequestDenied(let credential, _, let grant, _) = added.first?.event.payload {
                    XCTAssertEqual(grant, .revocation, label)
                    XCTAssertNotEqual(credential, 0, "\(label): the refusal names the calling client")
                }
            }
        }
        XCTAssertEqual(rfcError { _ = try self.revoke(tokens.accessToken, by: self.otherPKCE) }, "unauthorized_client")
        assertAllowed(try bearer(tokens.accessToken))
        let renewed = try ledger.oauth.refresh(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, refreshToken: tokens.refreshToken!)
        assertAllowed(try bearer(renewed.accessToken))
    }

    /// Another company's token is refused the same way, whichever side asks.
    func testAnotherCompanysTokenIsRefused() throws {
        let acmeTokens = try t.pkceTokens(pkce, user: World.bob)
        let betaTokens = try t.pkceTokens(betaPKCE, user: World.bea, company: World.beta)
        assertNoTokenRevoked(assertOAuthDenied(.unauthorizedClient, t) { _ = try self.revoke(acmeTokens.accessToken, by: self.betaPKCE) })
        assertNoTokenRevoked(assertOAuthDenied(.unauthorizedClient, t) { _ = try self.revoke(betaTokens.refreshToken!, by: self.pkce) })
        assertAllowed(try bearer(acmeTokens.accessToken))
        assertAllowed(try bearer(betaTokens.accessToken, company: World.beta, project: World.betaProject))
    }

    /// A static key (or any secret that is not an access or refresh token) is `unsupported_token_type`; the key keeps working.
    func testStaticKeysAndOtherSecretsAreUnsupportedTokenTypes() throws {
        let key = try t.create(.staticKey, .global, name: "Static")
        let betaKey = try t.create(.staticKey, .global, name: "Beta static", company: World.beta, as: World.bea)
        let grant = try ledger.oauth.approveClient(company: World.acme, clientID: pkce.clientID!, user: World.bob, redirectURI: World.redirect,
                                         codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: nil)
        for (label, secret) in [("static key", key.secret!), ("another company's static key", betaKey.secret!),
                                ("a client secret", api.clientSecret!), ("an authorization code", grant.code)] {
            let added = assertOAuthDenied(.unsupportedTokenType, t) { _ = try self.revoke(secret, by: self.pkce) }
            assertNoTokenRevoked(added)
            XCTAssertEqual(rfcError { _ = try self.revoke(secret, by: self.pkce) }, "unsupported_token_type", label)
        }
        assertAllowed(try t.check("Apikey " + key.secret!, World.bridge, .read))
        XCTAssertNoThrow(try ledger.oauth.exchangeCode(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, code: grant.code,
                                                 codeVerifier: PKCEPair.verifier, redirectURI: World.redirect))
        XCTAssertEqual(DenialReason.unsupportedTokenType.rawValue, 53, "stored in the log: never renumber")
        XCTAssertEqual(DenialReason(code: "unsupported_token_type"), .unsupportedTokenType)
    }

    /// Client authentication comes first: a wrong secret is `invalid_client` whatever the token is.
    func testClientAuthenticationComesFirst() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        let key = try t.create(.staticKey, .read, name: "Static")
        for token in [tokens.accessToken, key.secret!, "garbage"] {
            assertNoTokenRevoked(assertOAuthDenied(.invalidClient, t) { _ = try self.revoke(token, by: self.pkce, secret: self.otherPKCE.clientSecret) })
            assertNoTokenRevoked(assertOAuthDenied(.invalidClient, t) { _ = try self.revoke(token, by: self.pkce, secret: .some(nil)) })
        }
        assertAllowed(try bearer(tokens.accessToken))
    }

    /// An unknown token: success as RFC 7009 §2.2 asks, said to be unknown, and no event at all.
    func testUnknownTokensAreNotEvents() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        var flipped = Array(tokens.accessToken)
        flipped[10] = flipped[10] == "Q" ? "R" : "Q"
        let head = t.head
        for token in [try SecretFormat.generate(.accessToken, using: SeededRandom(seed: 4)), try SecretFormat.generate(.refreshToken, using: SeededRandom(seed: 5)),
                      String(flipped), "garbage", "", "cxa_short"] {
            XCTAssertEqual(try revoke(token, by: pkce), .unknown, token)
        }
        XCTAssertEqual(t.head, head, "an unknown token changed the log")
        assertAllowed(try bearer(tokens.accessToken))
    }

    /// The client's own token: revoked, one `token_revoked` event; again: already inactive, no event.
    func testOwnTokenIsRevokedOnceAndTheSecondTimeSaysAlreadyInactive() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        var before = t.head
        XCTAssertEqual(try revoke(tokens.accessToken, by: pkce), .revoked)
        let added = try t.events(after: before.seq)
        XCTAssertEqual(added.map(\.event.type), [.tokenRevoked])
        if case .tokenRevoked(let r) = added.first?.event.payload {
            XCTAssertEqual(r.reason, .clientRequest)
            XCTAssertFalse(r.wholeFamily)
        }
        assertDenied(try bearer(tokens.accessToken), .tokenRevoked)
        before = t.head
        XCTAssertEqual(try revoke(tokens.accessToken, by: pkce), .alreadyInactive)
        XCTAssertEqual(t.head, before)

        // A public client revokes its own refresh token (with its client_id alone): the family goes.
        let publicTokens = try t.pkceTokens(pub, user: World.bob)
        XCTAssertEqual(try revoke(publicTokens.refreshToken!, by: pub), .revoked)
        assertDenied(try bearer(publicTokens.accessToken), .tokenRevoked)
        // An expired token of its own: nothing to revoke, no event.
        let cc = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        t.clock.advance(seconds: 3_601)
        before = t.head
        XCTAssertEqual(try revoke(cc.accessToken, by: api), .alreadyInactive)
        XCTAssertEqual(t.head, before)
    }

    /// A stolen refresh token was rotated by the thief: the client's own (now spent) refresh token still ends the
    /// whole grant, the thief's pair included. Before, that was "success" with no effect.
    func testRevokingASpentRefreshTokenEndsItsFamily() throws {
        let client = try t.pkceTokens(pkce, user: World.bob)
        let thief = try ledger.oauth.refresh(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, refreshToken: client.refreshToken!)
        assertAllowed(try bearer(thief.accessToken))
        let before = t.head
        XCTAssertEqual(try revoke(client.refreshToken!, by: pkce), .revoked)
        let added = try t.events(after: before.seq)
        XCTAssertEqual(added.map(\.event.type), [.tokenRevoked])
        if case .tokenRevoked(let r) = added.first?.event.payload { XCTAssertTrue(r.wholeFamily) }
        assertDenied(try bearer(thief.accessToken), .tokenRevoked)
        assertOAuthDenied(.tokenRevoked, t) {
            _ = try self.ledger.oauth.refresh(clientID: self.pkce.clientID!, clientSecret: self.pkce.clientSecret, refreshToken: thief.refreshToken!)
        }
        // Nothing is left alive: asking again changes nothing.
        let head = t.head
        XCTAssertEqual(try revoke(client.refreshToken!, by: pkce), .alreadyInactive)
        XCTAssertEqual(try revoke(thief.refreshToken!, by: pkce), .alreadyInactive)
        XCTAssertEqual(t.head, head)
        // Another family of the same client is untouched.
        let other = try t.pkceTokens(pkce, user: World.bob)
        assertAllowed(try bearer(other.accessToken))
    }

    // MARK: command line

    func testCommandLineSaysExactlyWhatHappened() throws {
        let cli = try CLI("i11-revoke-cli")
        defer { cli.remove() }
        let alice = World.alice
        XCTAssertEqual(cli.run("company", "create", "acme", "--admin", alice, "--mail-domain", "acme.example").code, 0)
        XCTAssertEqual(cli.run("company", "enable-api", "acme", "--as", alice).code, 0)
        XCTAssertEqual(cli.run("project", "create", "acme", "bridge", "--as", alice).code, 0)
        func client(_ name: String) -> (id: String, secret: String, cred: String) {
            let r = cli.run("--json", "key", "create", "acme", "--name", name, "--type", "oauth", "--scope", "global", "--as", alice)
            XCTAssertEqual(r.code, 0, r.all)
            return (r.object["client_id"] as? String ?? "", r.object["client_secret"] as? String ?? "", r.object["id"] as? String ?? "")
        }
        let erp = client("ERP"), other = client("Other")
        let keyJSON = cli.run("--json", "key", "create", "acme", "--name", "Static", "--type", "static", "--scope", "global", "--as", alice).object
        let staticKey = keyJSON["secret"] as? String ?? ""
        let token = cli.run("--json", "token", "client-credentials", "--client-id", erp.id, "--client-secret", erp.secret).object["access_token"] as? String ?? ""
        XCTAssertFalse(token.isEmpty)
        func works() -> Bool { cli.run("auth", "check", "acme", "--header", "Bearer \(token)", "--project", "bridge", "--op", "read").code == 0 }

        // Wrong client: refused, exit 1, the token keeps working.
        let wrong = cli.run("token", "revoke", "--token", token, "--client-id", other.id, "--client-secret", other.secret)
        XCTAssertEqual(wrong.code, 1, wrong.all)
        XCTAssertTrue(wrong.err.contains("unauthorized_client"), wrong.all)
        XCTAssertFalse(wrong.out.contains("revoked"), wrong.all)
        XCTAssertTrue(works())
        let wrongJSON = cli.run("--json", "token", "revoke", "--token", token, "--client-id", other.id, "--client-secret", other.secret)
        XCTAssertEqual(wrongJSON.object["error"] as? String, "unauthorized_client")
        // Static key: unsupported_token_type.
        let key = cli.run("--json", "token", "revoke", "--token", staticKey, "--client-id", erp.id, "--client-secret", erp.secret)
        XCTAssertEqual(key.code, 1, key.all)
        XCTAssertEqual(key.object["error"] as? String, "unsupported_token_type")
        // Unknown: exit 0, said so, no event.
        var head = try cli.head()
        let unknown = cli.run("token", "revoke", "--token", try SecretFormat.generate(.accessToken, using: SeededRandom(seed: 6)),
                              "--client-id", erp.id, "--client-secret", erp.secret)
        XCTAssertEqual(unknown.code, 0, unknown.all)
        XCTAssertEqual(unknown.out, "unknown token: nothing to revoke\n")
        XCTAssertEqual(try cli.head(), head)
        // Own token: revoked (one event), then already inactive (none).
        let own = cli.run("token", "revoke", "--token", token, "--client-id", erp.id, "--client-secret", erp.secret)
        XCTAssertEqual(own.code, 0, own.all)
        XCTAssertEqual(own.out, "revoked\n")
        XCTAssertEqual(try cli.head().seq, head.seq + 1)
        XCTAssertFalse(works())
        head = try cli.head()
        let again = cli.run("--json", "token", "revoke", "--token", token, "--client-id", erp.id, "--client-secret", erp.secret)
        XCTAssertEqual(again.code, 0, again.all)
        XCTAssertEqual(again.object["result"] as? String, "already_inactive")
        XCTAssertEqual(try cli.head(), head)
    }

    /// With the company's API module off, tokens do not work — and would work again when it is switched back on. A
    /// client can still end its own tokens then (revocation only removes access); issuing stays refused.
    func testAClientRevokesItsOwnTokenWhileTheModuleIsDisabled() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        let cc = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        try ledger.administration.setAPIModule(World.acme, enabled: false, as: World.alice)
        XCTAssertEqual(try revoke(tokens.refreshToken!, by: pkce), .revoked)
        XCTAssertEqual(try revoke(cc.accessToken, by: api), .revoked)
        // Authentication still counts: a wrong secret is refused, module or not.
        XCTAssertEqual(rfcError { _ = try self.revoke(cc.accessToken, by: self.api, secret: "cxs_wrong") }, "invalid_client")
        assertOAuthDenied(.apiModuleDisabled, t) {
            _ = try self.ledger.oauth.clientCredentialsToken(clientID: self.api.clientID!, clientSecret: self.api.clientSecret!)
        }
        try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        assertDenied(try bearer(tokens.accessToken), .tokenRevoked)
        assertDenied(try bearer(cc.accessToken), .tokenRevoked)
    }
}
