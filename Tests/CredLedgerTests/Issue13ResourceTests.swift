import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Issue 13, the RFC 8707 `resource`: kept with the code at consent, bound to the token family at issue (a code for
/// R is exchanged with no resource or R only, a refresh keeps its family's, client_credentials may carry one),
/// returned by introspection as `aud`; refusals are `invalid_target`, recorded; unbound flows write the old bytes.
final class Issue13ResourceTests: XCTestCase {
    private var t: TestLedger!
    private var pkce: IssuedCredential!

    private let api = "https://api.example/mcp"
    private let other = "https://other.example/api"

    override func setUpWithError() throws {
        t = try TestLedger("resource", seed: 1313)
        try t.makeWorld()
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        pkce = try t.create(.pkce, .readWrite)
        t.tick()
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    private var ledger: Ledger { t.ledger }

    private func approve(resource: String?) throws -> AuthorizationGrant {
        try ledger.oauth.approveClient(company: World.acme, clientID: pkce.clientID!, user: World.bob, redirectURI: World.redirect,
                                       codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: nil, resource: resource)
    }

    private func exchange(_ code: String, resource: String?) throws -> TokenResponse {
        try ledger.oauth.exchangeCode(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, code: code, codeVerifier: PKCEPair.verifier,
                                      redirectURI: World.redirect, resource: resource)
    }

    private func refresh(_ token: String, resource: String?) throws -> TokenResponse {
        try ledger.oauth.refresh(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, refreshToken: token, resource: resource)
    }

    private func audience(_ token: String, client: IssuedCredential? = nil) throws -> String? {
        let client = client ?? pkce!
        let answer = try ledger.oauth.introspect(token, clientID: client.clientID!, clientSecret: client.clientSecret)
        XCTAssertTrue(answer.active)
        return answer.audience
    }

    private func payloads(after seq: UInt64) throws -> [EventPayload] { try t.events(after: seq).map(\.event.payload) }

    private func assertRebuildMatches(file: StaticString = #filePath, line: UInt = #line) throws {
        let live = try liveDigests(ledger)
        let report = try ledger.audit.verify()
        XCTAssertTrue(report.ok, "verify: \(report.projections.filter { !$0.matches }.map(\.name))", file: file, line: line)
        XCTAssertEqual(try ledger.maintenance.rebuildProjections().digests, live, "rebuild differs from the live projections", file: file, line: line)
    }

    func testConsentBindsTheCodeAndItsTokens() throws {
        let before = t.head.seq
        let grant = try approve(resource: api)
        guard case .consentGiven(let consent) = try payloads(after: before).first else { return XCTFail("no consent") }
        XCTAssertEqual(consent.resource, api)
        XCTAssertEqual(EventPayload.consentGiven(consent).schema, 2)
        XCTAssertEqual(try ledger.audit.withState { try $0.code(hash: SecretFormat.hash(grant.code))?.resource }, api)

        let issuedAt = t.head.seq
        let tokens = try exchange(grant.code, resource: nil)
        guard case .tokenIssued(let issued) = try payloads(after: issuedAt).first else { return XCTFail("no token_issued") }
        XCTAssertEqual(issued.resource, api, "a code for R yields tokens for R even when the exchange names none")
        XCTAssertEqual(try audience(tokens.accessToken), api)
        XCTAssertEqual(try audience(tokens.refreshToken!), api)
        // The binding changes nothing on the authorization path.
        assertAllowed(try t.check("Bearer " + tokens.accessToken, World.bridge, .write))
    }

    func testAnExchangeForAnotherResourceIsRefusedRecordedAndLeavesTheCode() throws {
        let grant = try approve(resource: api)
        assertOAuthDenied(.invalidTarget, t) { _ = try exchange(grant.code, resource: other) }
        // The RFC's error code (RFC 8707 §2).
        XCTAssertThrowsError(try exchange(grant.code, resource: other)) { XCTAssertEqual(($0 as? OAuthError)?.error, "invalid_target") }
        // A malformed resource is refused the same way.
        assertOAuthDenied(.invalidTarget, t) { _ = try exchange(grant.code, resource: api + "#frag") }
        // The code was not spent by the refusals: the right resource still gets tokens.
        let tokens = try exchange(grant.code, resource: api)
        XCTAssertEqual(try audience(tokens.accessToken), api)
    }

    func testACodeWithoutResourceIsBoundByTheExchange() throws {
        let grant = try approve(resource: nil)
        let tokens = try exchange(grant.code, resource: api)
        XCTAssertEqual(try audience(tokens.accessToken), api)
    }

    func testARefreshKeepsTheFamilysResourceAndMayNotChangeIt() throws {
        let first = try exchange(try approve(resource: api).code, resource: nil)
        let second = try refresh(first.refreshToken!, resource: nil)
        XCTAssertEqual(try audience(second.accessToken), api)
        let third = try refresh(second.refreshToken!, resource: api)
        XCTAssertEqual(try audience(third.accessToken), api)
        assertOAuthDenied(.invalidTarget, t) { _ = try refresh(third.refreshToken!, resource: other) }
        // Refused before spending: the refresh token still works (no reuse detection fired).
        let fourth = try refresh(third.refreshToken!, resource: nil)
        XCTAssertEqual(try audience(fourth.refreshToken!), api)

        // An unbound family cannot be narrowed by a refresh: its live tokens' audience would change under them.
        let unbound = try exchange(try approve(resource: nil).code, resource: nil)
        XCTAssertNil(try audience(unbound.accessToken))
        assertOAuthDenied(.invalidTarget, t) { _ = try refresh(unbound.refreshToken!, resource: api) }
        XCTAssertNil(try audience(try refresh(unbound.refreshToken!, resource: nil).accessToken))
    }

    func testClientCredentialsMayCarryAResource() throws {
        let client = try t.create(.oauth, .read)
        let bound = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: client.clientSecret!, resource: api)
        XCTAssertEqual(try audience(bound.accessToken, client: client), api)
        let plain = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: client.clientSecret!)
        XCTAssertNil(try audience(plain.accessToken, client: client))
        for bad in ["", "relative/path", "https://api.example/#x", "https://api.example/\u{7F}"] {
            assertOAuthDenied(.invalidTarget, t) {
                _ = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: client.clientSecret!, resource: bad)
            }
        }
        // Client authentication comes first: a wrong secret is invalid_client whatever the resource.
        assertOAuthDenied(.invalidClient, t) {
            _ = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: pkce.clientSecret!, resource: "bad")
        }
    }

    func testAConsentWithABadResourceIsRefusedAndRecorded() throws {
        assertOAuthDenied(.invalidTarget, t) { _ = try approve(resource: "not a uri") }
        assertOAuthDenied(.invalidTarget, t) { _ = try approve(resource: "urn:x:" + String(repeating: "a", count: 2048)) }
    }

    func testBoundLedgerRebuildsByteIdenticallyAndSurvivesAReopen() throws {
        let client = try t.create(.oauth, .read)
        let cc = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: client.clientSecret!, resource: "urn:example:api")
        let tokens = try refresh(try exchange(try approve(resource: api).code, resource: api).refreshToken!, resource: nil)
        let pending = try approve(resource: other)
        assertOAuthDenied(.invalidTarget, t) { _ = try exchange(pending.code, resource: api) }
        try assertRebuildMatches()
        try t.reopen()
        XCTAssertEqual(try audience(tokens.accessToken), api)
        XCTAssertEqual(try audience(cc.accessToken, client: client), "urn:example:api")
        XCTAssertEqual(try ledger.audit.withState { try $0.code(hash: SecretFormat.hash(pending.code))?.resource }, other)
        try assertRebuildMatches()
    }

    func testUnboundFlowsWriteSchemaOneAndNoAudience() throws {
        let before = t.head.seq
        let client = try t.create(.oauth, .read)
        let cc = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: client.clientSecret!)
        let tokens = try refresh(try exchange(try approve(resource: nil).code, resource: nil).refreshToken!, resource: nil)
        let oauthEvents = try payloads(after: before).filter { [.consentGiven, .tokenIssued].contains($0.type) }
        XCTAssertEqual(oauthEvents.count, 3)
        XCTAssertEqual(oauthEvents.map(\.schema), [1, 1, 1], "events without a resource keep the bytes of earlier versions")
        XCTAssertNil(try audience(tokens.accessToken))
        XCTAssertNil(try audience(cc.accessToken, client: client))
        // The per-family row of an unbound family stays empty, as earlier versions wrote it.
        let families = try ledger.audit.withState { state -> [[UInt8]?] in
            guard let number = try state.credential(clientID: pkce.clientID!)?.number else { return [] }
            return try state.families(credential: number).map { try state.store.get(.credentialFamilies, Keys.credentialFamily(number, $0)) }
        }
        XCTAssertEqual(families, [[]])
        try assertRebuildMatches()
    }
}
