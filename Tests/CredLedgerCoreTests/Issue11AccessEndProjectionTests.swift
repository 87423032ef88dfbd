import XCTest

import CredLedgerCore
import CredLedgerProjections

/// Issue 11, items 1 and 2, at the projection level (docs/FORMAT.md §6.1): what a removal and a rotation end is a
/// pure function of the log — also for logs written before the removal's revocation events existed.
final class Issue11AccessEndProjectionTests: XCTestCase {
    private var events: [Event] = []
    private var time = t2026

    private func emit(_ payload: EventPayload, company: UInt32 = 1, actor: Actor = .user(1), after seconds: Int64 = 1) {
        time += seconds * 1_000_000
        events.append(Event(seq: UInt64(events.count + 1), timestamp: time, company: company, actor: actor, payload: payload))
    }

    private func project() throws -> StateReader<MemoryStore> {
        let store = MemoryStore()
        var projector = Projector()
        for e in events { try projector.apply(e, to: store) }
        try projector.flush(to: store)
        return StateReader(store)
    }

    /// acme (1) and beta (2); bob (2) a member of both with a role on project 1 (acme) and 2 (beta); a PKCE client in each.
    private func world() {
        emit(.companyRegistered(slug: "acme", name: "Acme", mailDomain: "acme.example"), actor: .system)
        emit(.memberRoleSet(user: 1, email: "alice@acme.example", role: .admin), actor: .system)
        emit(.companyRegistered(slug: "beta", name: "Beta", mailDomain: "beta.example"), company: 2, actor: .system)
        emit(.memberRoleSet(user: 3, email: "bea@beta.example", role: .admin), company: 2, actor: .system)
        emit(.memberRoleSet(user: 2, email: "bob@acme.example", role: .member))
        emit(.memberRoleSet(user: 2, email: "bob@acme.example", role: .member), company: 2, actor: .user(3))
        emit(.projectCreated(project: 1, slug: "bridge", name: "Bridge"))
        emit(.projectCreated(project: 2, slug: "pb", name: "PB"), company: 2, actor: .user(3))
        emit(.userProjectRoleSet(user: 2, project: 1, role: .editor))
        emit(.userProjectRoleSet(user: 2, project: 2, role: .editor), company: 2, actor: .user(3))
        for (credential, company) in [(1, 1), (2, 2)] as [(UInt32, UInt32)] {
            emit(.credentialCreated(CredentialCreated(
                credential: credential, type: .pkce, scope: .readWrite, publicID: "cred_\(credential)", name: "App",
                serviceUser: "", displayPrefix: "cxc_\(credential)", clientID: "cxc_\(credential)",
                secretHash: sampleDigest(UInt8(credential)), expiresAt: 0, redirectURIs: ["https://app.example/cb"])),
                 company: company, actor: company == 1 ? .user(1) : .user(3))
        }
    }

    /// A consent by bob, redeemed or not; returns the token hashes issued (access, refresh).
    @discardableResult
    private func approve(credential: UInt32, company: UInt32, code: UInt8, redeem: Bool) -> [SHA256Digest] {
        emit(.consentGiven(ConsentGiven(credential: credential, user: 2, codeHash: sampleDigest(code), challenge: sampleDigest(0xEE),
                                        redirectURI: "https://app.example/cb", expiresAt: time + 60_000_000)), company: company, actor: .user(2))
        guard redeem else { return [] }
        let access = sampleDigest(code &+ 1), refresh = sampleDigest(code &+ 2)
        emit(.tokenIssued(TokenIssued(credential: credential, user: 2, grant: .authorizationCode, accessHash: access,
                                      accessExpiresAt: time + 3_600_000_000, refreshHash: refresh, refreshExpiresAt: time + 86_400_000_000,
                                      codeHash: sampleDigest(code))), company: company, actor: .credential(credential))
        return [access, refresh]
    }

    /// A log written before removals logged their endings: the projection still ends everything, in that company only.
    func testARemovalAloneEndsTokensCodesAndRolesInThatCompany() throws {
        world()
        let acmeTokens = approve(credential: 1, company: 1, code: 0x10, redeem: true)
        approve(credential: 1, company: 1, code: 0x20, redeem: false)
        let betaTokens = approve(credential: 2, company: 2, code: 0x30, redeem: true)
        approve(credential: 2, company: 2, code: 0x40, redeem: false)
        emit(.memberRoleSet(user: 2, email: "bob@acme.example", role: .removed))
        emit(.memberRoleSet(user: 2, email: "bob@acme.example", role: .member))
        let state = try project()
        for hash in acmeTokens { XCTAssertEqual(try state.token(hash: hash)?.status, .revoked) }
        XCTAssertEqual(try state.code(hash: sampleDigest(0x20))?.status, .revoked)
        XCTAssertEqual(try state.code(hash: sampleDigest(0x10))?.status, .redeemed)
        XCTAssertNil(try state.userRole(user: 2, project: 1))
        // beta untouched.
        for hash in betaTokens { XCTAssertEqual(try state.token(hash: hash)?.status, .active) }
        XCTAssertEqual(try state.code(hash: sampleDigest(0x40))?.status, .unused)
        XCTAssertEqual(try state.userRole(user: 2, project: 2)?.role, .editor)
        // The index rows (FORMAT §1).
        XCTAssertEqual(try state.families(company: 1, user: 2).count, 1)
        XCTAssertEqual(try state.families(company: 2, user: 2).count, 1)
        XCTAssertEqual(try state.codes(company: 1, user: 2).count, 2)
    }

    func testApprovalTimeIsTheConsentTimeAndRefreshKeepsIt() throws {
        world()
        let consentTime = time + 1_000_000
        let tokens = approve(credential: 1, company: 1, code: 0x10, redeem: true)
        let state = try project()
        for hash in tokens {
            let token = try XCTUnwrap(state.token(hash: hash))
            XCTAssertEqual(token.approvedAt, consentTime)
            XCTAssertEqual(token.issuedAt, consentTime + 1_000_000)
            // The row repeats its credential's facts and names the approving user (registry code version 5).
            XCTAssertEqual(token.principal, "bob@acme.example")
            XCTAssertEqual(token.publicID, "cred_1")
            XCTAssertEqual(token.type, .pkce)
            XCTAssertFalse(token.credentialDeleted)
        }
        emit(.tokenRefreshed(TokenRefreshed(credential: 1, family: UInt64(events.count), spentRefreshHash: tokens[1],
                                            accessHash: sampleDigest(0x50), accessExpiresAt: time + 3_600_000_000,
                                            refreshHash: sampleDigest(0x51), refreshExpiresAt: time + 86_400_000_000)),
             actor: .credential(1), after: 100)
        let after = try project()
        XCTAssertEqual(try after.token(hash: sampleDigest(0x50))?.approvedAt, consentTime)
        XCTAssertEqual(try after.token(hash: sampleDigest(0x51))?.approvedAt, consentTime)
        XCTAssertEqual(try after.token(hash: sampleDigest(0x50))?.principal, "bob@acme.example", "a refresh keeps the principal")
    }

    func testRotationCapsOrRevokesTheCredentialsTokens() throws {
        world()
        let first = approve(credential: 1, company: 1, code: 0x10, redeem: true)
        let other = approve(credential: 2, company: 2, code: 0x30, redeem: true)
        // Grace of 10 minutes: every live token of credential 1 now ends then; credential 2's are untouched.
        let graceEnd = time + 1_000_000 + 600_000_000   // the event is stamped a second on
        emit(.secretRotated(credential: 1, secretHash: sampleDigest(0x70), displayPrefix: "cxc_1", graceUntil: graceEnd))
        var state = try project()
        for hash in first {
            XCTAssertEqual(try state.token(hash: hash)?.expiresAt, graceEnd)
            XCTAssertEqual(try state.token(hash: hash)?.status, .active)
        }
        for hash in other { XCTAssertGreaterThan(try XCTUnwrap(state.token(hash: hash)).expiresAt, graceEnd) }
        // Grace 0 (grace end = the event's time): revoked.
        emit(.secretRotated(credential: 1, secretHash: sampleDigest(0x71), displayPrefix: "cxc_1", graceUntil: time + 1_000_000))
        state = try project()
        for hash in first { XCTAssertEqual(try state.token(hash: hash)?.status, .revoked) }
        for hash in other { XCTAssertEqual(try state.token(hash: hash)?.status, .active) }
    }
}
