import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 4: OAuth — PKCE (RFC 7636), the authorization code and refresh grants with rotation and reuse
/// detection, introspection (RFC 7662), revocation (RFC 7009), and every denial recorded in the log.
final class OAuthTests: XCTestCase {
    private var t: TestLedger!
    private var pkce: IssuedCredential!
    private var pub: IssuedCredential!

    override func setUpWithError() throws {
        t = try TestLedger("oauth", seed: 77)
        try t.makeWorld()
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        pkce = try t.create(.pkce, .readWrite)
        pub = try t.create(.pkcePublic, .readWrite)
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    private var ledger: Ledger { t.ledger }

    private func authorize(_ client: IssuedCredential, user: String = World.bob, redirect: String = World.redirect,
                           challenge: String = PKCEPair.challenge, method: String = "S256", company: String = World.acme) throws -> AuthorizationGrant {
        try ledger.oauth.approveClient(company: company, clientID: client.clientID!, user: user, redirectURI: redirect, codeChallenge: challenge,
                             codeChallengeMethod: method, state: "st8")
    }

    private func exchange(_ client: IssuedCredential, _ code: String, verifier: String = PKCEPair.verifier, redirect: String = World.redirect,
                          secret: String?? = .none) throws -> TokenResponse {
        try ledger.oauth.exchangeCode(clientID: client.clientID!, clientSecret: secret ?? client.clientSecret, code: code, codeVerifier: verifier,
                                redirectURI: redirect)
    }

    private func refresh(_ client: IssuedCredential, _ token: String) throws -> TokenResponse {
        try ledger.oauth.refresh(clientID: client.clientID!, clientSecret: client.clientSecret, refreshToken: token)
    }

    /// Introspection by a confidential client (the confidential PKCE client unless told): a client sees only its own tokens.
    private func introspect(_ token: String, as client: IssuedCredential? = nil) throws -> Introspection {
        let caller = client ?? pkce!
        return try ledger.oauth.introspect(token, clientID: caller.clientID!, clientSecret: caller.clientSecret)
    }

    private func bearer(_ token: String, _ op: CredLedgerCore.Operation = .read) throws -> Decision {
        try t.check("Bearer " + token, World.bridge, op)
    }

    // MARK: PKCE

    func testRFC7636AppendixBExample() {
        XCTAssertEqual(PKCE.challenge(for: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        XCTAssertEqual(PKCE.decodeChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), SHA256.hash("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
        XCTAssertNil(PKCE.decodeChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"))
        XCTAssertNil(PKCE.decodeChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"))
        XCTAssertTrue(PKCE.isValidVerifier(String(repeating: "a", count: 43)))
        XCTAssertTrue(PKCE.isValidVerifier(String(repeating: "~", count: 128)))
        XCTAssertFalse(PKCE.isValidVerifier(String(repeating: "a", count: 42)))
        XCTAssertFalse(PKCE.isValidVerifier(String(repeating: "a", count: 129)))
        XCTAssertFalse(PKCE.isValidVerifier(String(repeating: "a", count: 42) + "+"))
    }

    func testAuthorizationCodeFlow() throws {
        for client in [pkce!, pub!] {
            let before = t.head.seq
            let grant = try authorize(client)
            XCTAssertEqual(grant.redirectURI, World.redirect)
            XCTAssertEqual(grant.location, World.redirect + "?code=" + grant.code + "&state=st8")
            XCTAssertNil(SecretFormat.validate(grant.code, expecting: [.authorizationCode]).problem)
            let consent = try t.events(after: before)
            XCTAssertEqual(consent.map(\.event.type), [.consentGiven])
            guard case .consentGiven(let c) = consent.first?.event.payload else { return XCTFail() }
            XCTAssertEqual(c.codeHash, SecretFormat.hash(grant.code))
            XCTAssertEqual(c.challenge, PKCE.decodeChallenge(PKCEPair.challenge))
            XCTAssertEqual(c.expiresAt, t.clock.now() + 60_000_000)

            let tokens = try exchange(client, grant.code)
            XCTAssertEqual(tokens.tokenType, "Bearer")
            XCTAssertEqual(tokens.expiresIn, 3600)
            XCTAssertEqual(tokens.scope, "read-write")
            XCTAssertNil(SecretFormat.validate(tokens.accessToken, expecting: [.accessToken]).problem)
            XCTAssertNil(SecretFormat.validate(try XCTUnwrap(tokens.refreshToken), expecting: [.refreshToken]).problem)
            let decision = try bearer(tokens.accessToken, .write)
            assertAllowed(decision)
            XCTAssertEqual(decision.principal, World.bob)
            XCTAssertEqual(decision.credentialID, client.id)
            // A refresh token is not an access token.
            assertDenied(try bearer(tokens.refreshToken!), .malformedHeader)
        }
    }

    func testPlainAndMalformedChallengesAreRefused() throws {
        let plain = assertOAuthDenied(.unsupportedChallengeMethod, t) { _ = try self.authorize(self.pkce, challenge: PKCEPair.verifier, method: "plain") }
        guard case .oauthRequestDenied(let credential, _, let grant, _) = plain.first?.event.payload else { return XCTFail() }
        XCTAssertNotEqual(credential, 0)
        XCTAssertEqual(grant, .authorize)
        assertOAuthDenied(.unsupportedChallengeMethod, t) { _ = try self.authorize(self.pkce, method: "s256") }
        assertOAuthDenied(.unsupportedChallengeMethod, t) { _ = try self.authorize(self.pub, method: "") }
        assertOAuthDenied(.invalidRequest, t) { _ = try self.authorize(self.pkce, challenge: "short") }
        assertOAuthDenied(.invalidRequest, t) { _ = try self.authorize(self.pkce, challenge: String(PKCEPair.challenge.dropLast()) + "=") }
    }

    func testWrongVerifier() throws {
        let grant = try authorize(pkce)
        assertOAuthDenied(.pkceVerifierMismatch, t) { _ = try self.exchange(self.pkce, grant.code, verifier: PKCEPair.otherVerifier) }
        assertOAuthDenied(.pkceVerifierMismatch, t) { _ = try self.exchange(self.pkce, grant.code, verifier: "too-short") }
        // The challenge itself is not the verifier.
        assertOAuthDenied(.pkceVerifierMismatch, t) { _ = try self.exchange(self.pkce, grant.code, verifier: PKCEPair.challenge) }
    }

    func testRedirectURIMustMatchExactly() throws {
        for uri in ["https://client.example/callback/", "https://client.example/callbacK", "https://client.example/callback?x=1",
                    "https://evil.example/callback", "http://client.example/callback"] {
            assertOAuthDenied(.redirectURIMismatch, t) { _ = try self.authorize(self.pkce, redirect: uri) }
        }
        let grant = try authorize(pub, redirect: World.redirect)
        // Another registered URI, or an unregistered one, at the token endpoint.
        assertOAuthDenied(.redirectURIMismatch, t) { _ = try self.exchange(self.pub, grant.code, redirect: World.redirect2) }
        assertOAuthDenied(.redirectURIMismatch, t) { _ = try self.exchange(self.pub, grant.code, redirect: "https://evil.example/cb") }
        // The loopback URI registered works when used consistently.
        let loop = try authorize(pub, redirect: World.loopback)
        XCTAssertTrue(loop.location.hasPrefix(World.loopback + "?code="))
        assertAllowed(try bearer(try exchange(pub, loop.code, redirect: World.loopback).accessToken))
    }

    func testCodeReplayRevokesTheTokensOfTheFirstExchange() throws {
        let grant = try authorize(pkce)
        let first = try exchange(pkce, grant.code)
        assertAllowed(try bearer(first.accessToken))
        let refreshed = try refresh(pkce, first.refreshToken!)
        assertAllowed(try bearer(refreshed.accessToken))
        let added = assertOAuthDenied(.codeReused, t) { _ = try self.exchange(self.pkce, grant.code) }
        let revocations = added.compactMap { e -> TokenRevoked? in
            if case .tokenRevoked(let r) = e.event.payload { return r }
            return nil
        }
        XCTAssertEqual(revocations.count, 1)
        XCTAssertEqual(revocations.first?.reason, .codeReuse)
        XCTAssertEqual(revocations.first?.wholeFamily, true)
        // Everything issued from that code — including the refreshed pair — stops working.
        assertDenied(try bearer(first.accessToken), .tokenRevoked)
        assertDenied(try bearer(refreshed.accessToken), .tokenRevoked)
        assertOAuthDenied(.tokenRevoked, t) { _ = try self.refresh(self.pkce, refreshed.refreshToken!) }
        XCTAssertFalse(try introspect(refreshed.accessToken).active)
        // Replaying again is still refused.
        assertOAuthDenied(.codeReused, t) { _ = try self.exchange(self.pkce, grant.code) }
        // Another code for the same client is unaffected.
        assertAllowed(try bearer(try exchange(pkce, try authorize(pkce).code).accessToken))
    }

    func testExpiredCode() throws {
        let grant = try authorize(pub)
        t.clock.advance(seconds: 60)
        assertOAuthDenied(.codeExpired, t) { _ = try self.exchange(self.pub, grant.code) }
        let fresh = try authorize(pub)
        t.clock.advance(seconds: 59)
        assertAllowed(try bearer(try exchange(pub, fresh.code).accessToken))
    }

    func testClientAuthentication() throws {
        let grant = try authorize(pub)
        // A public client must not send a secret; a confidential one must send its own.
        assertOAuthDenied(.invalidClient, t) { _ = try self.exchange(self.pub, grant.code, secret: .some(self.pkce.clientSecret)) }
        let grant2 = try authorize(pkce)
        assertOAuthDenied(.invalidClient, t) { _ = try self.exchange(self.pkce, grant2.code, secret: .some(nil)) }
        let otherSecret = try t.create(.pkce, .read).clientSecret
        assertOAuthDenied(.invalidClient, t) { _ = try self.exchange(self.pkce, grant2.code, secret: .some(otherSecret)) }
        assertOAuthDenied(.invalidClient, t) { _ = try self.exchange(self.pkce, grant2.code, secret: .some("cxs_notasecret")) }
        assertOAuthDenied(.invalidClient, t) {
            _ = try self.ledger.oauth.exchangeCode(clientID: "cxc_unknownunknownunknown1", clientSecret: nil, code: grant.code,
                                             codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
        }
        // A code belongs to the client it was issued to.
        assertOAuthDenied(.invalidGrant, t) { _ = try self.exchange(self.pub, grant2.code) }
        assertOAuthDenied(.invalidGrant, t) { _ = try self.exchange(self.pub, "cxo_garbage") }
        // The failed attempts did not spend the codes.
        assertAllowed(try bearer(try exchange(pub, grant.code).accessToken))
        assertAllowed(try bearer(try exchange(pkce, grant2.code).accessToken))

        // Grants per client type.
        let api = try t.create(.oauth, .global)
        assertOAuthDenied(.unauthorizedClient, t) {
            _ = try self.ledger.oauth.clientCredentialsToken(clientID: self.pkce.clientID!, clientSecret: self.pkce.clientSecret!)
        }
        assertOAuthDenied(.unauthorizedClient, t) { _ = try self.authorize(api) }
        assertOAuthDenied(.invalidClient, t) {
            _ = try self.ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: self.pkce.clientSecret!)
        }
        let token = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        XCTAssertNil(token.refreshToken)
        XCTAssertEqual(token.scope, "global")
        let decision = try bearer(token.accessToken, .write)
        assertAllowed(decision)
        XCTAssertEqual(decision.principal, api.serviceUser)
    }

    func testWhoMayApprove() throws {
        assertOAuthDenied(.accessDenied, t) { _ = try self.authorize(self.pkce, user: World.mallory) }
        assertOAuthDenied(.accessDenied, t) { _ = try self.authorize(self.pkce, user: World.bea) }
        assertOAuthDenied(.invalidClient, t) { _ = try self.authorize(self.pkce, company: World.beta) }
        try ledger.administration.setAPIModule(World.acme, enabled: false, as: World.alice)
        assertOAuthDenied(.apiModuleDisabled, t) { _ = try self.authorize(self.pkce) }
        try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        // A user removed after approving cannot redeem the code: the removal revoked it.
        let grant = try authorize(pkce, user: World.carol)
        try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .removed, as: World.alice)
        assertOAuthDenied(.tokenRevoked, t) { _ = try self.exchange(self.pkce, grant.code) }
    }

    func testStateIsPercentEncodedIntoAnASCIILocation() throws {
        let state = "naïve state&x=1/€"
        let grant = try ledger.oauth.approveClient(company: World.acme, clientID: pub.clientID!, user: World.bob, redirectURI: World.redirect,
                                         codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: state)
        XCTAssertEqual(grant.state, state)
        // RFC 3986: a URI is ASCII; the state must come back intact after decoding, and must not break the query.
        XCTAssertTrue(grant.location.unicodeScalars.allSatisfy(\.isASCII), "non-ASCII in \(grant.location)")
        let query = try XCTUnwrap(grant.location.split(separator: "?", maxSplits: 1).last)
        let pairs = query.split(separator: "&").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
        XCTAssertEqual(pairs.map { $0.first }, ["code", "state"])
        XCTAssertEqual(pairs.last?.last?.removingPercentEncoding, state)
    }

    func testAnExpiredClientCannotStartAnAuthorization() throws {
        let expiring = try ledger.administration.createCredential(World.acme, NewCredential(name: "short-lived", type: .pkcePublic, scope: .read,
                                                                             redirectURIs: [World.redirect], expiresAt: t.clock.now() + 60_000_000),
                                                   as: World.alice)
        let early = try authorize(expiring)
        t.clock.advance(seconds: 60)
        assertOAuthDenied(.expired, t) { _ = try self.exchange(expiring, early.code) }
        // An expired client is as dead as a deleted one: no consent, no code.
        assertOAuthDenied(.expired, t) { _ = try self.authorize(expiring) }
    }

    // MARK: refresh tokens

    func testRefreshRotationAndReuseRevokesTheFamily() throws {
        let first = try exchange(pkce, try authorize(pkce).code)
        let second = try refresh(pkce, first.refreshToken!)
        XCTAssertNotEqual(second.accessToken, first.accessToken)
        XCTAssertNotEqual(second.refreshToken, first.refreshToken)
        assertAllowed(try bearer(second.accessToken))
        let third = try refresh(pkce, second.refreshToken!)
        assertAllowed(try bearer(third.accessToken, .write))
        XCTAssertFalse(try introspect(first.refreshToken!).active, "a spent refresh token is inactive")
        XCTAssertTrue(try introspect(third.refreshToken!).active)

        // Presenting a spent refresh token: refused, and the whole family dies.
        let added = assertOAuthDenied(.refreshTokenReused, t) { _ = try self.refresh(self.pkce, first.refreshToken!) }
        let revoked = added.compactMap { e -> TokenRevoked? in
            if case .tokenRevoked(let r) = e.event.payload { return r }
            return nil
        }
        XCTAssertEqual(revoked.map(\.reason), [.refreshReuse])
        XCTAssertEqual(revoked.first?.wholeFamily, true)
        assertDenied(try bearer(third.accessToken), .tokenRevoked)
        assertDenied(try bearer(second.accessToken), .tokenRevoked)
        assertDenied(try bearer(first.accessToken), .tokenRevoked)
        assertOAuthDenied(.tokenRevoked, t) { _ = try self.refresh(self.pkce, third.refreshToken!) }
        XCTAssertFalse(try introspect(third.refreshToken!).active)
        XCTAssertFalse(try introspect(third.accessToken).active)
        // Other families of the same client live on.
        let other = try exchange(pkce, try authorize(pkce).code)
        assertAllowed(try bearer(other.accessToken))
        // A refresh token of one client is not usable by another.
        assertOAuthDenied(.invalidGrant, t) { _ = try self.refresh(self.pub, other.refreshToken!) }
        // An access token is not a refresh token.
        assertOAuthDenied(.invalidGrant, t) { _ = try self.refresh(self.pkce, other.accessToken) }
    }

    func testTokenExpiry() throws {
        let tokens = try exchange(pub, try authorize(pub).code)
        t.clock.advance(seconds: 3_599)
        assertAllowed(try bearer(tokens.accessToken))
        t.clock.advance(seconds: 1)
        assertDenied(try bearer(tokens.accessToken), .tokenExpired)
        // The refresh token outlives the access token.
        let renewed = try refresh(pub, tokens.refreshToken!)
        assertAllowed(try bearer(renewed.accessToken))
        t.clock.advance(seconds: 30 * 86_400)
        assertOAuthDenied(.tokenExpired, t) { _ = try self.refresh(self.pub, renewed.refreshToken!) }
        // client_credentials tokens expire too.
        let api = try t.create(.oauth, .global)
        let cc = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        t.clock.advance(seconds: 3_600)
        assertDenied(try bearer(cc.accessToken), .tokenExpired)
    }

    // MARK: introspection and revocation

    func testIntrospection() throws {
        let tokens = try exchange(pkce, try authorize(pkce).code)
        let access = try introspect(tokens.accessToken)
        XCTAssertTrue(access.active)
        XCTAssertEqual(access.tokenType, "access_token")
        XCTAssertEqual(access.username, World.bob)
        XCTAssertEqual(access.clientID, pkce.clientID)
        XCTAssertEqual(access.credentialID, pkce.id)
        XCTAssertEqual(access.scope, "read-write")
        XCTAssertEqual(access.expiresAt, t.clock.now() + 3_600_000_000)
        XCTAssertEqual(access.issuedAt, t.clock.now())
        let refresh = try introspect(tokens.refreshToken!)
        XCTAssertTrue(refresh.active)
        XCTAssertEqual(refresh.tokenType, "refresh_token")
        let api = try t.create(.oauth, .read)
        let cc = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        XCTAssertEqual(try introspect(cc.accessToken, as: api).username, api.serviceUser)

        // Inactive: garbage, unknown, not a token, module off.
        for text in ["", "garbage", api.clientSecret!, try SecretFormat.generate(.accessToken, using: SeededRandom(seed: 5)),
                     String(tokens.accessToken.dropLast()) + (tokens.accessToken.hasSuffix("A") ? "B" : "A")] {
            let i = try introspect(text)
            XCTAssertFalse(i.active, text)
            XCTAssertNil(i.username)
            XCTAssertNil(i.clientID)
        }
        let before = t.head
        XCTAssertTrue(try introspect(tokens.accessToken).active)
        XCTAssertEqual(t.head, before, "a successful introspection writes nothing")
        // Module off: no client of the company can authenticate, so the caller is refused (and that is recorded).
        try ledger.administration.setAPIModule(World.acme, enabled: false, as: World.alice)
        assertOAuthDenied(.apiModuleDisabled, t) { _ = try self.introspect(tokens.accessToken) }
        try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        XCTAssertTrue(try introspect(tokens.accessToken).active)
        XCTAssertEqual(t.head.seq, before.seq + 3, "two module switches and one recorded refusal")
    }

    func testRevocationOfAccessAndRefreshTokens() throws {
        let a = try exchange(pkce, try authorize(pkce).code)
        // Revoking the access token kills only it.
        try ledger.oauth.revokeToken(a.accessToken, clientID: pkce.clientID!, clientSecret: pkce.clientSecret)
        assertDenied(try bearer(a.accessToken), .tokenRevoked)
        XCTAssertFalse(try introspect(a.accessToken).active)
        XCTAssertTrue(try introspect(a.refreshToken!).active)
        let renewed = try refresh(pkce, a.refreshToken!)
        assertAllowed(try bearer(renewed.accessToken))

        // Revoking the refresh token takes the family with it.
        let b = try exchange(pub, try authorize(pub).code)
        try ledger.oauth.revokeToken(b.refreshToken!, clientID: pub.clientID!, clientSecret: nil)
        assertDenied(try bearer(b.accessToken), .tokenRevoked)
        assertOAuthDenied(.tokenRevoked, t) { _ = try self.refresh(self.pub, b.refreshToken!) }
        let events = try ledger.audit.events().compactMap { e -> TokenRevoked? in
            if case .tokenRevoked(let r) = e.event.payload { return r }
            return nil
        }
        XCTAssertEqual(events.map(\.wholeFamily), [false, true])
        XCTAssertEqual(events.map(\.reason), [.clientRequest, .clientRequest])

        // Unknown or already revoked tokens: success without effect (RFC 7009 §2.2), saying which.
        let c = try exchange(pkce, try authorize(pkce).code)
        let head = t.head
        XCTAssertEqual(try ledger.oauth.revokeToken(try SecretFormat.generate(.accessToken, using: SeededRandom(seed: 8)), clientID: pkce.clientID!,
                                              clientSecret: pkce.clientSecret), .unknown)
        XCTAssertEqual(try ledger.oauth.revokeToken("nonsense", clientID: pkce.clientID!, clientSecret: pkce.clientSecret), .unknown)
        XCTAssertEqual(try ledger.oauth.revokeToken(a.accessToken, clientID: pkce.clientID!, clientSecret: pkce.clientSecret), .alreadyInactive)
        XCTAssertEqual(t.head, head)
        // Another client's token is refused (issue 11, item 5; Issue11RevocationTests has the full set).
        assertOAuthDenied(.unauthorizedClient, t) { try self.ledger.oauth.revokeToken(c.accessToken, clientID: self.pub.clientID!, clientSecret: nil) }
        assertAllowed(try bearer(c.accessToken))
        // The client must authenticate to revoke.
        assertOAuthDenied(.invalidClient, t) { try self.ledger.oauth.revokeToken(c.accessToken, clientID: self.pkce.clientID!, clientSecret: nil) }
        assertAllowed(try bearer(c.accessToken))
    }

    func testDeletingACredentialKillsAllItsTokensAtOnce() throws {
        let api = try t.create(.oauth, .global)
        let cc1 = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        let cc2 = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        let user1 = try exchange(pkce, try authorize(pkce).code)
        let user2 = try exchange(pkce, try authorize(pkce, user: World.alice).code)
        let pending = try authorize(pkce)
        for token in [cc1.accessToken, cc2.accessToken, user1.accessToken, user2.accessToken] { assertAllowed(try bearer(token)) }

        let before = t.head.seq
        try ledger.administration.deleteCredential(World.acme, credential: api.id, as: World.alice)
        try ledger.administration.deleteCredential(World.acme, credential: pkce.id, as: World.alice)
        XCTAssertEqual(try t.events(after: before).map(\.event.type), [.credentialDeleted, .credentialDeleted], "one event each, no per-token work")
        for token in [cc1.accessToken, cc2.accessToken, user1.accessToken, user2.accessToken] {
            assertDenied(try bearer(token), .revoked)
        }
        // A deleted client cannot even introspect its old tokens.
        assertOAuthDenied(.revoked, t) { _ = try self.introspect(user1.refreshToken!) }
        assertOAuthDenied(.revoked, t) { _ = try self.introspect(cc1.accessToken, as: api) }
        assertOAuthDenied(.revoked, t) { _ = try self.refresh(self.pkce, user1.refreshToken!) }
        assertOAuthDenied(.revoked, t) { _ = try self.exchange(self.pkce, pending.code) }
        assertOAuthDenied(.revoked, t) { _ = try self.authorize(self.pkce) }
        assertOAuthDenied(.revoked, t) { _ = try self.ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!) }
        // The other client is untouched.
        assertAllowed(try bearer(try exchange(pub, try authorize(pub).code).accessToken))
    }

    func testOAuthDenialsAreInTheLogWithTheirReasons() throws {
        // Every oauth_request_denied event names its grant and reason; the RFC error code follows from the reason.
        func rfcError(_ body: () throws -> Void) -> String? {
            do { try body() } catch let e as OAuthError { return e.error } catch { return "unexpected \(error)" }
            return nil
        }
        XCTAssertEqual(rfcError { _ = try self.exchange(self.pkce, "cxo_nope") }, "invalid_grant")
        XCTAssertEqual(rfcError { _ = try self.authorize(self.pkce, method: "plain") }, "invalid_request")
        XCTAssertEqual(rfcError { _ = try self.ledger.oauth.clientCredentialsToken(clientID: "cxc_nope", clientSecret: "cxs_nope") }, "invalid_client")
        XCTAssertEqual(rfcError { _ = try self.ledger.oauth.clientCredentialsToken(clientID: self.pkce.clientID!, clientSecret: self.pkce.clientSecret!) },
                       "unauthorized_client")
        let denials = try ledger.audit.events().compactMap { e -> (GrantKind, DenialReason)? in
            if case .oauthRequestDenied(_, _, let grant, let reason) = e.event.payload { return (grant, reason) }
            return nil
        }
        XCTAssertEqual(denials.map(\.0), [.authorizationCode, .authorize, .clientCredentials, .clientCredentials])
        XCTAssertEqual(denials.map(\.1), [.invalidGrant, .unsupportedChallengeMethod, .invalidClient, .unauthorizedClient])
    }
}
