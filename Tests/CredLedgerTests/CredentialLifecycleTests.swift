import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 3: service users, secrets shown once, rotation with a grace period, and what the table shows.
final class CredentialLifecycleTests: XCTestCase {
    private var t: TestLedger!

    override func setUpWithError() throws {
        t = try TestLedger("lifecycle")
        try t.makeWorld()
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    private var ledger: Ledger { t.ledger }

    func testServiceUsersUseTheCompanyMailDomain() throws {
        var seen: Set<String> = []
        for (company, admin, domain) in [(World.acme, World.alice, "acme.example"), (World.beta, World.bea, "cxplanner.com")] {
            for type in [CredentialType.staticKey, .oauth] {
                for scope in Scope.allCases {
                    let issued = try t.create(type, scope, company: company, as: admin)
                    let user = try XCTUnwrap(issued.serviceUser)
                    let match = user.wholeMatch(of: #/apiservice\+([a-z0-9]{12})@(.+)/#)
                    XCTAssertNotNil(match, user)
                    XCTAssertEqual(match.map { String($0.2) }, domain)
                    XCTAssertTrue(seen.insert(user).inserted, "service users must be unique")
                    XCTAssertEqual(try t.row(issued.id, company: company, as: admin).serviceUser, user)
                }
            }
            for type in [CredentialType.pkce, .pkcePublic] {
                let issued = try t.create(type, .read, company: company, as: admin)
                XCTAssertNil(issued.serviceUser, "PKCE clients act as the approving user")
                XCTAssertNil(try t.row(issued.id, company: company, as: admin).serviceUser)
            }
        }
        // The mail domain is stored lowercased.
        try ledger.administration.registerCompany("upper", admin: "u@upper.example", mailDomain: "Upper.EXAMPLE")
        try ledger.administration.setAPIModule("upper", enabled: true, as: "u@upper.example")
        let k = try ledger.administration.createCredential("upper", NewCredential(name: "k", type: .staticKey, scope: .global), as: "u@upper.example")
        XCTAssertTrue(k.serviceUser?.hasSuffix("@upper.example") ?? false)
    }

    func testIssuedSecretsAndWhatTheTableShows() throws {
        let s = try t.create(.staticKey, .read, name: "Nightly sync")
        XCTAssertNotNil(s.secret)
        XCTAssertNil(s.clientSecret)
        XCTAssertNil(s.clientID)
        XCTAssertEqual(s.displayPrefix, String(s.secret!.prefix(10)))
        let o = try t.create(.oauth, .readWrite)
        XCTAssertNil(o.secret)
        XCTAssertNotNil(o.clientSecret)
        XCTAssertEqual(o.displayPrefix, o.clientID)
        t.clock.advance(seconds: 5)
        let rows = try ledger.audit.credentialTable(World.acme, as: World.alice)
        XCTAssertEqual(rows.map(\.id), [s.id, o.id])
        XCTAssertEqual(rows[0].name, "Nightly sync")
        XCTAssertEqual(rows[0].scope.tableLabel, "READ ONLY")
        XCTAssertEqual(rows[1].scope.tableLabel, "READ & WRITE")
        XCTAssertEqual(rows[0].type.label, "Static API key")
        XCTAssertEqual(rows[1].type.label, "OAuth (API user)")
        XCTAssertEqual(rows[0].createdBy, World.alice)
        XCTAssertEqual(rows[0].createdAt, ManualClock().now())
        XCTAssertNil(rows[0].lastUsed)
        XCTAssertEqual(rows[0].used, 0)
        XCTAssertEqual(rows[0].displayPrefix, s.displayPrefix)
        // The credential_created event carries hashes and prefixes, never the secret.
        let created = try ledger.audit.events().compactMap { stored -> CredentialCreated? in
            if case .credentialCreated(let c) = stored.event.payload { return c }
            return nil
        }
        XCTAssertEqual(created.count, 2)
        XCTAssertEqual(created[0].secretHash, SecretFormat.hash(s.secret!))
        XCTAssertEqual(created[1].secretHash, SecretFormat.hash(o.clientSecret!))
        XCTAssertEqual(created[1].clientID, o.clientID)
    }

    func testStaticKeyRotationWithGracePeriod() throws {
        let key = try t.create(.staticKey, .readWrite)
        try ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice)
        let old = "Apikey " + key.secret!
        assertAllowed(try t.check(old, World.bridge, .write))
        let rotated = try ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 3_600_000_000, as: World.alice)
        XCTAssertEqual(rotated.id, key.id)
        XCTAssertNotEqual(rotated.secret, key.secret)
        XCTAssertNil(SecretFormat.validate(rotated.secret!, expecting: [.apiKey]).problem)
        let new = "Apikey " + rotated.secret!
        // Both work during the grace period.
        assertAllowed(try t.check(old, World.bridge, .write))
        assertAllowed(try t.check(new, World.bridge, .write))
        t.clock.advance(seconds: 3_599)
        assertAllowed(try t.check(old, World.bridge, .read))
        // At the end of the grace period the old one is superseded (`secret_superseded`, issue 11); the new one works on.
        t.clock.advance(seconds: 1)
        let expired = try t.check(old, World.bridge, .read)
        assertDenied(expired, .secretSuperseded)
        XCTAssertEqual(expired.credentialID, key.id, "uses of the old secret are still attributed to the credential")
        assertAllowed(try t.check(new, World.bridge, .read))
        t.clock.advance(seconds: 86_400)
        assertDenied(try t.check(old, World.bridge, .read), .secretSuperseded)
        // The table shows the new prefix and counts every answer.
        let row = try t.row(key.id)
        XCTAssertEqual(row.displayPrefix, String(rotated.secret!.prefix(10)))
        XCTAssertEqual(row.used, 5)
        XCTAssertEqual(row.denied, 2)
    }

    func testRotationWithoutGraceStopsTheOldSecretAtOnce() throws {
        let key = try t.create(.staticKey, .global)
        let old = "Apikey " + key.secret!
        assertAllowed(try t.check(old, World.bridge, .write))
        let rotated = try ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 0, as: World.alice)
        let decision = try t.check(old, World.bridge, .read)
        XCTAssertFalse(decision.allowed)
        // The rotated-out secret is dropped from the lookup index, so it reads as unknown.
        assertDenied(decision, .unknownCredential)
        assertAllowed(try t.check("Apikey " + rotated.secret!, World.bridge, .write))
    }

    func testSecondRotationShortensTheFirstGracePeriod() throws {
        let key = try t.create(.staticKey, .global)
        let first = "Apikey " + key.secret!
        let second = try ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 86_400_000_000, as: World.alice)
        t.clock.advance(seconds: 60)
        let third = try ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 600_000_000, as: World.alice)
        for header in [first, "Apikey " + second.secret!, "Apikey " + third.secret!] {
            assertAllowed(try t.check(header, World.bridge, .read))
        }
        t.clock.advance(seconds: 600)
        XCTAssertFalse(try t.check(first, World.bridge, .read).allowed, "the first secret cannot outlive the newest grace period")
        XCTAssertFalse(try t.check("Apikey " + second.secret!, World.bridge, .read).allowed)
        assertAllowed(try t.check("Apikey " + third.secret!, World.bridge, .read))
    }

    func testOAuthClientSecretRotation() throws {
        let client = try t.create(.oauth, .global)
        let oldSecret = client.clientSecret!
        let rotated = try ledger.administration.rotateSecret(World.acme, credential: client.id, grace: 120_000_000, as: World.alice)
        XCTAssertEqual(rotated.clientID, client.clientID)
        XCTAssertNil(rotated.secret)
        let newSecret = try XCTUnwrap(rotated.clientSecret)
        XCTAssertNotEqual(newSecret, oldSecret)
        _ = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: oldSecret)
        _ = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: newSecret)
        t.clock.advance(seconds: 120)
        assertOAuthDenied(.invalidClient, t) { _ = try self.ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: oldSecret) }
        let token = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: newSecret)
        assertAllowed(try t.check("Bearer " + token.accessToken, World.bridge, .write))
        // One recorded use; issuing tokens is not a use.
        XCTAssertEqual(try ledger.audit.credentialTable(World.acme, as: World.alice).first?.used, 1)
    }

    func testPKCEClientSecretRotation() throws {
        let client = try t.create(.pkce, .read)
        let rotated = try ledger.administration.rotateSecret(World.acme, credential: client.id, grace: 0, as: World.alice)
        let grant = try ledger.oauth.approveClient(company: World.acme, clientID: client.clientID!, user: World.alice, redirectURI: World.redirect,
                                         codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: nil)
        assertOAuthDenied(.invalidClient, t) {
            _ = try self.ledger.oauth.exchangeCode(clientID: client.clientID!, clientSecret: client.clientSecret, code: grant.code,
                                             codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
        }
        let tokens = try ledger.oauth.exchangeCode(clientID: client.clientID!, clientSecret: rotated.clientSecret, code: grant.code,
                                             codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
        assertAllowed(try t.check("Bearer " + tokens.accessToken, World.bridge, .read))
    }

    func testStateSurvivesReopen() throws {
        let key = try t.create(.staticKey, .read)
        try ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice)
        assertAllowed(try t.check("Apikey " + key.secret!, World.bridge, .read))
        let before = try t.row(key.id)
        let head = t.head
        try t.reopen()
        XCTAssertEqual(t.head, head)
        XCTAssertEqual(try t.row(key.id), before)
        assertAllowed(try t.check("Apikey " + key.secret!, World.bridge, .read))
        XCTAssertEqual(try t.row(key.id).used, 2)
        XCTAssertTrue(try ledger.audit.verify().ok)
    }
}
