import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Issue 11, items 1 and 2 ("access that outlives the person"): a removal ends every token, code and project role
/// of the user in the company, for good; a role set to none or a project archived stops what was granted through it,
/// and a later re-grant does not revive older tokens; a rotation ends the tokens obtained with the old secret, at
/// once (grace 0) or when the grace runs out.
final class Issue11AccessEndTests: XCTestCase {
    private var t: TestLedger!
    private var pkce: IssuedCredential!

    override func setUpWithError() throws {
        t = try TestLedger("access-end", seed: 1111)
        try t.makeWorld()
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        try ledger.administration.setUserProjectRole(World.acme, project: World.tunnel, email: World.bob, role: .viewer, as: World.alice)
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.carol, role: .editor, as: World.alice)
        pkce = try t.create(.pkce, .readWrite)
        tick()
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    private var ledger: Ledger { t.ledger }

    /// Moves the clock on, so that events of different steps have different times (as they do in real life).
    private func tick(_ seconds: Double = 1) { t.clock.advance(seconds: seconds) }

    private func bearer(_ token: String, _ project: String = World.bridge, _ op: CredLedgerCore.Operation = .read) throws -> Decision {
        try t.check("Bearer " + token, project, op)
    }

    /// Introspection of a token by the client it was issued to (a client sees only its own tokens), authenticated with
    /// `secret` (default: the client's first secret; after a rotation, pass the one that still authenticates).
    private func accessEndIsActive(_ token: String, client: IssuedCredential? = nil, secret: String? = nil) throws -> Bool {
        let client = client ?? pkce!
        return try ledger.oauth.introspect(token, clientID: client.clientID!, clientSecret: secret ?? client.clientSecret).active
    }

    private func approve(_ client: IssuedCredential, user: String = World.bob) throws -> AuthorizationGrant {
        try ledger.oauth.approveClient(company: World.acme, clientID: client.clientID!, user: user, redirectURI: World.redirect,
                             codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: nil)
    }

    private func exchange(_ client: IssuedCredential, _ code: String, secret: String? = nil) throws -> TokenResponse {
        try ledger.oauth.exchangeCode(clientID: client.clientID!, clientSecret: secret ?? client.clientSecret, code: code,
                                codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
    }

    private func refresh(_ client: IssuedCredential, _ token: String, secret: String? = nil) throws -> TokenResponse {
        try ledger.oauth.refresh(clientID: client.clientID!, clientSecret: secret ?? client.clientSecret, refreshToken: token)
    }

    private func remove(_ email: String) throws {
        try ledger.administration.setMemberRole(World.acme, email: email, role: .removed, as: World.alice)
        tick()
    }

    /// Live projections equal a rebuild from the log, and `verify` is clean.
    private func assertRebuildMatches(file: StaticString = #filePath, line: UInt = #line) throws {
        let live = try liveDigests(ledger)
        let report = try ledger.audit.verify()
        XCTAssertTrue(report.ok, "verify: \(report.projections.filter { !$0.matches }.map(\.name))", file: file, line: line)
        XCTAssertEqual(try ledger.maintenance.rebuildProjections().digests, live, "rebuild differs from the live projections", file: file, line: line)
    }

    private func revocations(after seq: UInt64) throws -> [TokenRevoked] {
        try t.events(after: seq).compactMap { if case .tokenRevoked(let r) = $0.event.payload { r } else { nil } }
    }

    // MARK: Item 1: removal

    func testRemovalEndsAccessAndRefreshTokensAtOnceWithReasonInTheLog() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        let carols = try t.pkceTokens(pkce, user: World.carol)
        tick()
        assertAllowed(try bearer(tokens.accessToken, World.bridge, .write))
        XCTAssertTrue(try accessEndIsActive(tokens.accessToken))
        XCTAssertTrue(try accessEndIsActive(tokens.refreshToken!))

        let before = t.head.seq
        try remove(World.bob)

        // Introspection: both inactive at once.
        XCTAssertFalse(try accessEndIsActive(tokens.accessToken), "access token of a removed user is still active")
        XCTAssertFalse(try accessEndIsActive(tokens.refreshToken!), "refresh token of a removed user is still active")
        // Checks deny with the token's revocation, on every project.
        assertDenied(try bearer(tokens.accessToken), .tokenRevoked)
        assertDenied(try bearer(tokens.accessToken, World.tunnel), .tokenRevoked)
        assertOAuthDenied(.tokenRevoked, t) { _ = try self.refresh(self.pkce, tokens.refreshToken!) }
        // The log says what ended and why: the family, with reason user_removed, and both project roles.
        let added = try t.events(after: before)
        XCTAssertEqual(added.first?.event.type, .memberRoleSet)
        let revoked = added.compactMap { if case .tokenRevoked(let r) = $0.event.payload { r } else { nil } }
        XCTAssertEqual(revoked.count, 1)
        XCTAssertEqual(revoked.first?.reason, .userRemoved)
        XCTAssertEqual(revoked.first?.wholeFamily, true)
        let roles = added.compactMap { e -> UInt32? in
            if case .userProjectRoleSet(_, let p, nil) = e.event.payload { p } else { nil }
        }
        XCTAssertEqual(roles.count, 2, "both of bob's project roles end")
        let fields = try EventFields(audit: ledger.audit)
        let exported = added.map { fields.line($0) }.joined(separator: "\n")
        XCTAssertTrue(exported.contains("reason=user_removed"), exported)
        // History stays answerable: as of just before the removal bob held both roles and could act; now neither.
        let then = try ledger.audit.state(asOf: .seq(before), company: World.acme)
        XCTAssertEqual(try then.memberships(company: World.acme).userRoles.filter { $0.email == World.bob }.count, 2)
        XCTAssertTrue(try then.whoCouldAct(company: World.acme, project: World.bridge, operation: .write).paths.contains { $0.principal == World.bob })
        XCTAssertEqual(try ledger.audit.memberships(World.acme).userRoles.filter { $0.email == World.bob }.count, 0)
        XCTAssertFalse(try ledger.audit.whoCouldAct(company: World.acme, project: World.bridge, operation: .read, at: .head).paths
            .contains { $0.principal == World.bob })
        // Someone else's tokens are untouched.
        assertAllowed(try bearer(carols.accessToken, World.bridge, .write))
        XCTAssertTrue(try accessEndIsActive(carols.refreshToken!))
        try assertRebuildMatches()
    }

    func testReAddingTheUserRevivesNothing() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        tick()
        try remove(World.bob)
        // Re-added, with the same project role again.
        try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .member, as: World.alice)
        tick()
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        tick()
        assertDenied(try bearer(tokens.accessToken), .tokenRevoked)
        XCTAssertFalse(try accessEndIsActive(tokens.accessToken))
        XCTAssertFalse(try accessEndIsActive(tokens.refreshToken!))
        assertOAuthDenied(.tokenRevoked, t) { _ = try self.refresh(self.pkce, tokens.refreshToken!) }
        // Re-added as admin does not revive them either.
        try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .admin, as: World.alice)
        tick()
        assertDenied(try bearer(tokens.accessToken, World.tunnel), .tokenRevoked)
        // The project roles did not come back by themselves: only the one given again exists.
        let roles = try ledger.audit.memberships(World.acme).userRoles.filter { $0.email == World.bob }
        XCTAssertEqual(roles.map(\.project), [World.bridge])
        // A new approval works.
        let fresh = try t.pkceTokens(pkce, user: World.bob)
        assertAllowed(try bearer(fresh.accessToken, World.bridge, .write))
        try assertRebuildMatches()
    }

    func testAnUnusedCodeIsRevokedByTheRemovalAndStaysDead() throws {
        let grant = try approve(pkce)
        let expired = try approve(pkce)
        _ = expired
        tick()
        let before = t.head.seq
        try remove(World.bob)
        let codeEvents = try t.events(after: before).compactMap { if case .codeRevoked(let c) = $0.event.payload { c } else { nil } }
        XCTAssertEqual(codeEvents.count, 2, "both unused codes end")
        XCTAssertTrue(codeEvents.allSatisfy { $0.reason == .userRemoved && $0.credential == codeEvents[0].credential })
        XCTAssertEqual(Set(codeEvents.map(\.codeHash)), [SecretFormat.hash(grant.code), SecretFormat.hash(expired.code)])
        // Re-added (within the code's minute): the code still cannot be exchanged.
        try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .member, as: World.alice)
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        tick()
        let denied = assertOAuthDenied(.tokenRevoked, t) { _ = try self.exchange(self.pkce, grant.code) }
        XCTAssertTrue(try revocations(after: before).allSatisfy { $0.reason == .userRemoved }, "no code_reused revocation for a revoked code")
        XCTAssertEqual(denied.count, 1)
        // The audit no longer sees bob acting through the revoked code.
        let who = try ledger.audit.whoCouldAct(company: World.acme, project: World.bridge, operation: .read, at: .head)
        XCTAssertFalse(who.paths.contains { $0.principal == World.bob }, "\(who.paths)")
        try assertRebuildMatches()
    }

    func testARemovedCodeOrTokenIsOnlyThatCompanys() throws {
        // Bob is also a member of beta, with a role and a token there; removing him from acme leaves beta alone.
        try ledger.administration.setMemberRole(World.beta, email: World.bob, role: .member, as: World.bea)
        try ledger.administration.setUserProjectRole(World.beta, project: World.betaProject, email: World.bob, role: .editor, as: World.bea)
        let betaClient = try t.create(.pkce, .readWrite, company: World.beta, as: World.bea)
        let betaTokens = try t.pkceTokens(betaClient, user: World.bob, company: World.beta)
        let acmeTokens = try t.pkceTokens(pkce, user: World.bob)
        tick()
        try remove(World.bob)
        assertDenied(try bearer(acmeTokens.accessToken), .tokenRevoked)
        assertAllowed(try t.check("Bearer " + betaTokens.accessToken, World.betaProject, .write, company: World.beta))
        XCTAssertTrue(try accessEndIsActive(betaTokens.refreshToken!, client: betaClient))
        try assertRebuildMatches()
    }

    func testWhoCouldActForgetsTheRemovedUser() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        tick()
        let beforeRemoval = try ledger.audit.whoCouldAct(company: World.acme, project: World.bridge, operation: .write, at: .head)
        XCTAssertTrue(beforeRemoval.paths.contains { $0.principal == World.bob })
        try remove(World.bob)
        try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .member, as: World.alice)
        tick()
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        tick()
        let after = try ledger.audit.whoCouldAct(company: World.acme, project: World.bridge, operation: .read, at: .head)
        XCTAssertFalse(after.paths.contains { $0.principal == World.bob }, "\(after.paths)")
        assertDenied(try bearer(tokens.accessToken), .tokenRevoked)
    }

    // MARK: Item 1: a role set to none, a project archived

    func testARoleSetToNoneAndGivenAgainDoesNotReviveOlderTokens() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        tick()
        assertAllowed(try bearer(tokens.accessToken, World.bridge, .write))
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: nil, as: World.alice)
        tick()
        assertDenied(try bearer(tokens.accessToken), .userNotMember)
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        tick()
        // The older approval does not cover the new grant: not the access token, nor one refreshed from it.
        assertDenied(try bearer(tokens.accessToken), .userNotMember)
        let refreshed = try refresh(pkce, tokens.refreshToken!)
        assertDenied(try bearer(refreshed.accessToken), .userNotMember)
        // The tunnel role, untouched since the approval, still works.
        assertAllowed(try bearer(refreshed.accessToken, World.tunnel, .read))
        // who-could-act agrees with the check: bob acts on bridge only through a new approval.
        var who = try ledger.audit.whoCouldAct(company: World.acme, project: World.bridge, operation: .read, at: .head)
        XCTAssertFalse(who.paths.contains { $0.principal == World.bob }, "\(who.paths)")
        let fresh = try t.pkceTokens(pkce, user: World.bob)
        assertAllowed(try bearer(fresh.accessToken, World.bridge, .write))
        who = try ledger.audit.whoCouldAct(company: World.acme, project: World.bridge, operation: .write, at: .head)
        XCTAssertTrue(who.paths.contains { $0.principal == World.bob && $0.via == "editor" }, "\(who.paths)")
        try assertRebuildMatches()
    }

    func testAdminPowerGivenAfterTheApprovalDoesNotReachOlderTokens() throws {
        let tokens = try t.pkceTokens(pkce, user: World.carol)   // carol: member, editor on bridge only
        tick()
        try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .admin, as: World.alice)
        tick()
        assertDenied(try bearer(tokens.accessToken, World.tunnel), .userNotMember)
        assertAllowed(try bearer(tokens.accessToken, World.bridge, .write))   // her older project role still counts
        let fresh = try t.pkceTokens(pkce, user: World.carol)
        assertAllowed(try bearer(fresh.accessToken, World.tunnel, .write))
        // Demoted and promoted again: the admin power is newer than the fresh approval too.
        try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .member, as: World.alice)
        tick()
        try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .admin, as: World.alice)
        tick()
        assertDenied(try bearer(fresh.accessToken, World.tunnel), .userNotMember)
        try assertRebuildMatches()
    }

    func testAnArchivedProjectStopsServiceAndDelegatedTokensForGood() throws {
        let api = try t.create(.oauth, .readWrite)
        try ledger.administration.grantAccess(World.acme, credential: api.id, project: World.bridge, role: .editor, as: World.alice)
        let key = try t.create(.staticKey, .global)
        let service = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        let delegated = try t.pkceTokens(pkce, user: World.bob)
        tick()
        assertAllowed(try bearer(service.accessToken, World.bridge, .write))
        assertAllowed(try bearer(delegated.accessToken, World.bridge, .write))
        try ledger.administration.archiveProject(World.acme, project: World.bridge, as: World.alice)
        tick()
        assertDenied(try bearer(service.accessToken, World.bridge, .write), .projectArchived)
        assertDenied(try bearer(delegated.accessToken, World.bridge, .read), .projectArchived)
        assertDenied(try t.check("Apikey " + key.secret!, World.bridge, .read), .projectArchived)
        // Nothing can be granted there again.
        assertRefused("project_archived", t) {
            try self.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        }
        assertRefused("project_archived", t) { try self.ledger.administration.archiveProject(World.acme, project: World.bridge, as: World.alice) }
        // Refreshed tokens and new service tokens stay denied there.
        let refreshed = try refresh(pkce, delegated.refreshToken!)
        assertDenied(try bearer(refreshed.accessToken, World.bridge, .read), .projectArchived)
        let newService = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        assertDenied(try bearer(newService.accessToken, World.bridge, .read), .projectArchived)
        try assertRebuildMatches()
    }

    // MARK: Item 2: rotation

    func testGraceZeroEndsClientCredentialsTokensAtOnce() throws {
        let api = try t.create(.oauth, .readWrite)
        try ledger.administration.grantAccess(World.acme, credential: api.id, project: World.bridge, role: .editor, as: World.alice)
        let old = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        tick()
        assertAllowed(try bearer(old.accessToken, World.bridge, .write))
        let rotated = try ledger.administration.rotateSecret(World.acme, credential: api.id, grace: 0, as: World.alice)
        // No time passes: the old token is dead now.
        assertDenied(try bearer(old.accessToken), .tokenRevoked)
        XCTAssertFalse(try accessEndIsActive(old.accessToken, client: api, secret: rotated.clientSecret), "a token minted with the ended secret is still active")
        assertOAuthDenied(.invalidClient, t) {
            _ = try self.ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        }
        let fresh = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: rotated.clientSecret!)
        assertAllowed(try bearer(fresh.accessToken, World.bridge, .write))
        XCTAssertEqual(fresh.expiresIn, 3600)
        try assertRebuildMatches()
    }

    func testGraceZeroEndsConfidentialPKCETokensAndRefreshTokens() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        let unredeemed = try approve(pkce)
        tick()
        let rotated = try ledger.administration.rotateSecret(World.acme, credential: pkce.id, grace: 0, as: World.alice)
        assertDenied(try bearer(tokens.accessToken), .tokenRevoked)
        XCTAssertFalse(try accessEndIsActive(tokens.accessToken, secret: rotated.clientSecret))
        XCTAssertFalse(try accessEndIsActive(tokens.refreshToken!, secret: rotated.clientSecret))
        // The client, now authenticated with its new secret, cannot refresh the old family.
        assertOAuthDenied(.tokenRevoked, t) { _ = try self.refresh(self.pkce, tokens.refreshToken!, secret: rotated.clientSecret!) }
        // A code the user approved is not a token of the old secret: the new secret redeems it.
        let redeemed = try exchange(pkce, unredeemed.code, secret: rotated.clientSecret!)
        assertAllowed(try bearer(redeemed.accessToken, World.bridge, .write))
        try assertRebuildMatches()
    }

    func testGraceEndsTheOldSecretsTokensWhenItRunsOut() throws {
        let api = try t.create(.oauth, .readWrite)
        try ledger.administration.grantAccess(World.acme, credential: api.id, project: World.bridge, role: .editor, as: World.alice)
        let before = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        let pkceTokens = try t.pkceTokens(pkce, user: World.bob)
        tick()
        let grace: Int64 = 600_000_000
        let rotatedAt = t.clock.now()
        let rotatedAPI = try ledger.administration.rotateSecret(World.acme, credential: api.id, grace: grace, as: World.alice)
        let rotatedPKCE = try ledger.administration.rotateSecret(World.acme, credential: pkce.id, grace: grace, as: World.alice)
        tick(60)
        // During the grace: a token minted with the old secret ends with the grace, one minted with the new does not.
        let during = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        XCTAssertEqual(during.expiresIn, (rotatedAt + grace - t.clock.now()) / 1_000_000, "capped at the end of the grace")
        let fresh = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: rotatedAPI.clientSecret!)
        XCTAssertEqual(fresh.expiresIn, 3600)
        // PKCE: a refresh with the old secret gives capped tokens; with the new secret, full ones.
        let refreshedOld = try refresh(pkce, pkceTokens.refreshToken!)
        let refreshedNew = try refresh(pkce, refreshedOld.refreshToken!, secret: rotatedPKCE.clientSecret!)
        for token in [before.accessToken, during.accessToken, fresh.accessToken] {
            assertAllowed(try bearer(token))
            XCTAssertTrue(try accessEndIsActive(token, client: api, secret: rotatedAPI.clientSecret))
        }
        for token in [pkceTokens.accessToken, refreshedNew.accessToken] {
            assertAllowed(try bearer(token))
            XCTAssertTrue(try accessEndIsActive(token, secret: rotatedPKCE.clientSecret))
        }
        // The grace runs out.
        t.clock.set(rotatedAt + grace)
        for token in [before.accessToken, during.accessToken] {
            assertDenied(try bearer(token), .tokenExpired)
            XCTAssertFalse(try accessEndIsActive(token, client: api, secret: rotatedAPI.clientSecret))
        }
        for token in [pkceTokens.accessToken, refreshedOld.accessToken] {
            assertDenied(try bearer(token), .tokenExpired)
            XCTAssertFalse(try accessEndIsActive(token, secret: rotatedPKCE.clientSecret))
        }
        XCTAssertFalse(try accessEndIsActive(pkceTokens.refreshToken!, secret: rotatedPKCE.clientSecret))
        assertAllowed(try bearer(fresh.accessToken, World.bridge, .write))
        assertAllowed(try bearer(refreshedNew.accessToken, World.bridge, .write))
        XCTAssertTrue(try accessEndIsActive(refreshedNew.refreshToken!, secret: rotatedPKCE.clientSecret))
        // The old family's last refresh token was spent by the refresh with the new secret; that one goes on.
        let again = try refresh(pkce, refreshedNew.refreshToken!, secret: rotatedPKCE.clientSecret!)
        assertAllowed(try bearer(again.accessToken))
        try assertRebuildMatches()
    }

    func testAShorterGraceLaterShortensTheOldTokensAgain() throws {
        let api = try t.create(.oauth, .global)
        let token = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        tick()
        _ = try ledger.administration.rotateSecret(World.acme, credential: api.id, grace: 1_800_000_000, as: World.alice)
        tick()
        assertAllowed(try bearer(token.accessToken))
        // A second rotation with grace 0 ends every older secret, and their tokens, now.
        let last = try ledger.administration.rotateSecret(World.acme, credential: api.id, grace: 0, as: World.alice)
        assertDenied(try bearer(token.accessToken), .tokenRevoked)
        let fresh = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: last.clientSecret!)
        assertAllowed(try bearer(fresh.accessToken, World.bridge, .write))
        try assertRebuildMatches()
    }

    // MARK: Review finding 3: setting a role the user already has is a no-op

    func testReSettingTheSameProjectRoleKeepsOlderTokensAndWritesNoEvent() throws {
        let tokens = try t.pkceTokens(pkce, user: World.bob)   // bob: editor on bridge, viewer on tunnel
        tick()
        let head = t.head
        XCTAssertEqual(try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice),
                       .unchanged)
        XCTAssertEqual(try ledger.administration.setUserProjectRole(World.acme, project: World.tunnel, email: World.bob, role: .viewer, as: World.alice),
                       .unchanged)
        XCTAssertEqual(t.head, head, "re-setting an unchanged project role wrote an event")
        tick()
        assertAllowed(try bearer(tokens.accessToken, World.bridge, .write))
        assertAllowed(try bearer(tokens.accessToken, World.tunnel, .read))
        XCTAssertTrue(try accessEndIsActive(tokens.accessToken))
        let who = try ledger.audit.whoCouldAct(company: World.acme, project: World.bridge, operation: .write, at: .head)
        XCTAssertTrue(who.paths.contains { $0.principal == World.bob }, "\(who.paths)")

        // A changed role (even a lower one) is a grant after the approval: the older token needs a new approval.
        let beforeChange = t.head
        XCTAssertEqual(try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .viewer, as: World.alice),
                       .changed)
        XCTAssertEqual(t.head.seq, beforeChange.seq + 1)
        tick()
        assertDenied(try bearer(tokens.accessToken, World.bridge, .read), .userNotMember)
        assertAllowed(try bearer(tokens.accessToken, World.tunnel, .read))
        XCTAssertTrue(DenialReason.userNotMember.fix.contains("after the approval"), DenialReason.userNotMember.fix)
        // A role given to a user who had none is `granted`; removing one that does not exist stays refused.
        XCTAssertEqual(try ledger.administration.setUserProjectRole(World.acme, project: World.tunnel, email: World.carol, role: .viewer, as: World.alice),
                       .granted)
        XCTAssertEqual(try ledger.administration.setUserProjectRole(World.acme, project: World.tunnel, email: World.carol, role: nil, as: World.alice),
                       .changed)
        let beforeRefusal = t.head
        assertRefused("access_not_granted", t) {
            try self.ledger.administration.setUserProjectRole(World.acme, project: World.tunnel, email: World.carol, role: nil, as: World.alice)
        }
        XCTAssertEqual(t.head, beforeRefusal)
        try assertRebuildMatches()
    }

    func testReSettingTheSameCompanyRoleKeepsOlderTokensAndWritesNoEvent() throws {
        XCTAssertEqual(try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .admin, as: World.alice), .changed)
        tick()
        let admin = try t.pkceTokens(pkce, user: World.carol)     // carol: admin, so also tunnel (where she has no role)
        let member = try t.pkceTokens(pkce, user: World.bob)
        tick()
        let head = t.head
        XCTAssertEqual(try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .admin, as: World.alice), .unchanged)
        XCTAssertEqual(try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .member, as: World.alice), .unchanged)
        XCTAssertEqual(try ledger.administration.setMemberRole(World.acme, email: World.alice, role: .admin, as: World.alice), .unchanged)
        XCTAssertEqual(t.head, head, "re-setting an unchanged company role wrote an event")
        tick()
        assertAllowed(try bearer(admin.accessToken, World.tunnel, .write))
        assertAllowed(try bearer(member.accessToken, World.bridge, .write))

        // A new member is `granted`; a removal twice ends things once and the second writes nothing.
        XCTAssertEqual(try ledger.administration.setMemberRole(World.acme, email: "dan@acme.example", role: .member, as: World.alice), .granted)
        XCTAssertEqual(try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .removed, as: World.alice), .changed)
        let removed = t.head
        XCTAssertEqual(try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .removed, as: World.alice), .unchanged)
        XCTAssertEqual(t.head, removed)
        assertDenied(try bearer(member.accessToken), .tokenRevoked)

        // A changed company role still ends the admin power of older tokens, and promoting again does not bring it back.
        XCTAssertEqual(try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .member, as: World.alice), .changed)
        tick()
        assertDenied(try bearer(admin.accessToken, World.tunnel, .read), .userNotMember)
        XCTAssertEqual(try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .admin, as: World.alice), .changed)
        tick()
        assertDenied(try bearer(admin.accessToken, World.tunnel, .read), .userNotMember)
        assertAllowed(try bearer(admin.accessToken, World.bridge, .write))   // her project role predates the approval
        try assertRebuildMatches()
    }

    /// Review finding 11: `unauthorized_client`'s fix fits a revocation of another client's token (not only a grant
    /// the client type may not use), and a delegated token's `user_not_member` says a later role needs a new approval.
    func testFixTextsFitEveryUseOfTheirReason() throws {
        let other = try t.create(.pkce, .readWrite, name: "other desktop")
        let tokens = try t.pkceTokens(pkce, user: World.bob)
        func denial(_ body: () throws -> Void) -> OAuthError? {
            do { try body() } catch let error as OAuthError { return error } catch { XCTFail("\(error)") }
            return nil
        }
        let revocation = denial { _ = try self.ledger.oauth.revokeToken(tokens.accessToken, clientID: other.clientID!, clientSecret: other.clientSecret) }
        XCTAssertEqual(revocation?.reason, .unauthorizedClient)
        XCTAssertTrue(revocation?.description.contains("issued to another client") ?? false, "\(String(describing: revocation))")
        let api = try t.create(.oauth, .readWrite)
        let grant = denial { _ = try self.ledger.oauth.approveClient(company: World.acme, clientID: api.clientID!, user: World.bob,
                                                           redirectURI: World.redirect, codeChallenge: PKCEPair.challenge,
                                                           codeChallengeMethod: "S256", state: nil) }
        XCTAssertEqual(grant?.reason, .unauthorizedClient)
        XCTAssertTrue(grant?.description.contains("may not use this grant") ?? false, "\(String(describing: grant))")
        assertAllowed(try bearer(tokens.accessToken))   // the refused revocation ended nothing
        XCTAssertTrue(DenialReason.userNotMember.fix.contains("a role given or changed after the approval needs a new approval"))
    }
}

/// The same, through the command line.
final class Issue11AccessEndCLITests: XCTestCase {
    private var cli: CLI!
    private let alice = World.alice

    override func setUpWithError() throws {
        cli = try CLI("access-end-cli")
        issue11SetUpCLICompany(cli)
        XCTAssertEqual(cli.run("project", "member", "acme", "bridge", World.bob, "--role", "editor", "--as", alice).code, 0)
    }

    override func tearDown() {
        cli?.remove()
        cli = nil
    }

    private func tick() { cli.clock.advance(seconds: 1) }

    /// `token introspect` by the client the token was issued to (a client sees only its own tokens).
    private func introspect(_ token: String, clientID: String, secret: String) -> Bool? {
        cli.run("--json", "token", "introspect", "--token", token, "--client-id", clientID, "--client-secret", secret).object["active"] as? Bool
    }

    private func check(_ token: String) -> CLIResult {
        cli.run("--json", "auth", "check", "acme", "--header", "Bearer \(token)", "--project", "bridge", "--op", "read")
    }

    func testMemberSetRemovedEndsTokensAndCodesThroughTheCLI() throws {
        let created = cli.run("--json", "key", "create", "acme", "--name", "Desktop", "--type", "pkce", "--scope", "read-write",
                              "--redirect-uri", World.redirect, "--as", alice).object
        let clientID = try XCTUnwrap(created["client_id"] as? String)
        let secret = try XCTUnwrap(created["client_secret"] as? String)
        func authorize() throws -> String {
            let r = cli.run("--json", "oauth", "authorize", "acme", "--client-id", clientID, "--user", World.bob, "--redirect-uri", World.redirect,
                            "--code-challenge", PKCEPair.challenge, "--code-challenge-method", "S256")
            return try XCTUnwrap(r.object["code"] as? String, r.all)
        }
        let code = try authorize()
        let exchanged = cli.run("--json", "oauth", "token", "--grant", "authorization_code", "--client-id", clientID, "--client-secret", secret,
                                "--code", code, "--code-verifier", PKCEPair.verifier, "--redirect-uri", World.redirect).object
        let access = try XCTUnwrap(exchanged["access_token"] as? String)
        let refresh = try XCTUnwrap(exchanged["refresh_token"] as? String)
        let unused = try authorize()
        tick()
        XCTAssertEqual(check(access).code, 0)
        XCTAssertEqual(introspect(access, clientID: clientID, secret: secret), true)

        XCTAssertEqual(cli.run("member", "set", "acme", World.bob, "--role", "removed", "--as", alice).code, 0)
        tick()
        XCTAssertEqual(introspect(access, clientID: clientID, secret: secret), false)
        XCTAssertEqual(introspect(refresh, clientID: clientID, secret: secret), false)
        let denied = check(access)
        XCTAssertEqual(denied.code, 1)
        XCTAssertEqual(denied.object["result"] as? String, "token_revoked")

        // Re-added with the same role: nothing comes back.
        XCTAssertEqual(cli.run("member", "set", "acme", World.bob, "--role", "member", "--as", alice).code, 0)
        XCTAssertEqual(cli.run("project", "member", "acme", "bridge", World.bob, "--role", "editor", "--as", alice).code, 0)
        tick()
        XCTAssertEqual(check(access).object["result"] as? String, "token_revoked")
        XCTAssertEqual(introspect(access, clientID: clientID, secret: secret), false)
        let refreshed = cli.run("--json", "oauth", "token", "--grant", "refresh_token", "--client-id", clientID, "--client-secret", secret,
                                "--refresh-token", refresh)
        XCTAssertEqual(refreshed.code, 1)
        XCTAssertEqual(refreshed.object["reason"] as? String, "token_revoked")
        let exchange = cli.run("--json", "oauth", "token", "--grant", "authorization_code", "--client-id", clientID, "--client-secret", secret,
                               "--code", unused, "--code-verifier", PKCEPair.verifier, "--redirect-uri", World.redirect)
        XCTAssertEqual(exchange.code, 1, exchange.all)
        XCTAssertEqual(exchange.object["error"] as? String, "invalid_grant")
        XCTAssertEqual(exchange.object["reason"] as? String, "token_revoked")

        // The log: the removal, then what it ended, with its reason.
        let log = cli.run("--json", "log").out.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let ended = log.filter { ["token_revoked", "code_revoked"].contains($0["type"] as? String) }
        XCTAssertEqual(ended.map { $0["type"] as? String }, ["code_revoked", "token_revoked"])
        for event in ended { XCTAssertEqual((event["payload"] as? [String: Any])?["reason"] as? String, "user_removed") }
        XCTAssertTrue(log.contains { ($0["type"] as? String) == "user_project_role_set"
            && ($0["payload"] as? [String: Any])?["role"] as? String == "none" })
        XCTAssertEqual(cli.run("verify").code, 0)
    }

    func testRotateWithGraceZeroEndsTheOldSecretsTokensThroughTheCLI() throws {
        let created = cli.run("--json", "key", "create", "acme", "--name", "Sync", "--type", "oauth", "--scope", "read", "--as", alice).object
        let id = try XCTUnwrap(created["id"] as? String)
        let clientID = try XCTUnwrap(created["client_id"] as? String)
        let secret = try XCTUnwrap(created["client_secret"] as? String)
        XCTAssertEqual(cli.run("access", "grant", "acme", id, "bridge", "--role", "viewer", "--as", alice).code, 0)
        let token = try XCTUnwrap(cli.run("--json", "token", "client-credentials", "--client-id", clientID, "--client-secret", secret)
            .object["access_token"] as? String)
        tick()
        XCTAssertEqual(check(token).code, 0)
        let rotated = cli.run("--json", "key", "rotate", "acme", id, "--grace", "0", "--as", alice)
        XCTAssertEqual(rotated.code, 0, rotated.all)
        let newSecret = try XCTUnwrap(rotated.object["client_secret"] as? String, rotated.all)
        XCTAssertEqual(check(token).object["result"] as? String, "token_revoked")
        XCTAssertEqual(introspect(token, clientID: clientID, secret: newSecret), false)
        XCTAssertNil(introspect(token, clientID: clientID, secret: secret), "the ended secret no longer authenticates")
        XCTAssertEqual(cli.run("verify").code, 0)
    }

    /// Review finding 3: idempotent provisioning (`project member … --role editor` again) changes nothing.
    func testSettingAnUnchangedRoleAgainThroughTheCLIIsANoOp() throws {
        let created = cli.run("--json", "key", "create", "acme", "--name", "Desktop", "--type", "pkce", "--scope", "read-write",
                              "--redirect-uri", World.redirect, "--as", alice).object
        let clientID = try XCTUnwrap(created["client_id"] as? String)
        let secret = try XCTUnwrap(created["client_secret"] as? String)
        let code = try XCTUnwrap(cli.run("--json", "oauth", "authorize", "acme", "--client-id", clientID, "--user", World.bob,
                                         "--redirect-uri", World.redirect, "--code-challenge", PKCEPair.challenge,
                                         "--code-challenge-method", "S256").object["code"] as? String)
        let access = try XCTUnwrap(cli.run("--json", "oauth", "token", "--grant", "authorization_code", "--client-id", clientID,
                                           "--client-secret", secret, "--code", code, "--code-verifier", PKCEPair.verifier,
                                           "--redirect-uri", World.redirect).object["access_token"] as? String)
        tick()
        let events = cli.run("--json", "log").out.split(separator: "\n").count
        let again = cli.run("project", "member", "acme", "bridge", World.bob, "--role", "editor", "--as", alice)
        XCTAssertEqual(again.code, 0, again.all)
        XCTAssertTrue(again.out.contains("unchanged"), again.out)
        let json = cli.run("--json", "project", "member", "acme", "bridge", World.bob, "--role", "editor", "--as", alice)
        XCTAssertEqual(json.object["result"] as? String, "unchanged", json.all)
        let member = cli.run("--json", "member", "set", "acme", World.bob, "--role", "member", "--as", alice)
        XCTAssertEqual(member.object["result"] as? String, "unchanged", member.all)
        XCTAssertEqual(cli.run("--json", "log").out.split(separator: "\n").count, events, "an unchanged role wrote an event")
        tick()
        XCTAssertEqual(check(access).object["result"] as? String, "allowed")
        XCTAssertEqual(introspect(access, clientID: clientID, secret: secret), true)
        // A changed role is a grant after the approval: the older token is denied, with a fix that says so.
        let changed = cli.run("--json", "project", "member", "acme", "bridge", World.bob, "--role", "viewer", "--as", alice)
        XCTAssertEqual(changed.object["result"] as? String, "changed", changed.all)
        tick()
        let denied = check(access)
        XCTAssertEqual(denied.object["result"] as? String, "user_not_member", denied.all)
        XCTAssertTrue((denied.object["fix"] as? String ?? "").contains("new approval"), denied.all)
    }
}
