@testable import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 5, "who could act on project P at T": service users through grants or GLOBAL scope, users through
/// PKCE credentials they approved (while a grant of theirs was live), across grants, role changes, revokes,
/// scope differences, deletes, global keys, projects created later, token expiry and revocation.
final class AccessAuditTests: XCTestCase {
    /// (principal, credential name, capability) of every path, sorted.
    private func paths(_ answer: AccessAnswer) -> [String] {
        answer.paths.map { "\($0.principal) \($0.credentialName) \($0.capability.name)" }.sorted()
    }

    private func who(_ t: TestLedger, _ project: String, _ op: CredLedgerCore.Operation?, at time: Timestamp) throws -> AccessAnswer {
        try t.ledger.audit.whoCouldAct(company: World.acme, project: project, operation: op, at: .time(time))
    }

    func testWhoCouldActAcrossTheLifeOfAProject() throws {
        let t = try TestLedger("access") { o in
            o.accessTokenLifetime = 600_000_000          // 10 min
            o.refreshTokenLifetime = 3_600_000_000       // 1 h
            o.authorizationCodeLifetime = 60_000_000     // 1 min
        }
        defer { t.remove() }
        let l = t.ledger!
        try t.makeWorld()
        t.tick()
        let R = try t.create(.staticKey, .read, name: "R")
        let RW = try t.create(.staticKey, .readWrite, name: "RW")
        let G = try t.create(.staticKey, .global, name: "G")
        let O = try t.create(.oauth, .readWrite, name: "O")
        let P = try t.create(.pkce, .readWrite, name: "P")
        let PP = try t.create(.pkcePublic, .read, name: "PP")
        _ = try t.create(.staticKey, .global, name: "BetaGlobal", company: World.beta, as: World.bea)
        let created = t.clock.now()
        t.tick()
        let granted = t.clock.now()
        try l.administration.grantAccess(World.acme, credential: R.id, project: "bridge", role: .editor, as: World.alice)    // read scope caps it
        try l.administration.grantAccess(World.acme, credential: RW.id, project: "bridge", role: .editor, as: World.alice)
        try l.administration.grantAccess(World.acme, credential: O.id, project: "bridge", role: .viewer, as: World.alice)   // viewer caps it
        try l.administration.grantAccess(World.acme, credential: RW.id, project: "tunnel", role: .viewer, as: World.alice)
        try l.administration.setUserProjectRole(World.acme, project: "bridge", email: World.bob, role: .editor, as: World.alice)
        try l.administration.setUserProjectRole(World.acme, project: "bridge", email: World.carol, role: .viewer, as: World.alice)
        t.tick()
        let consented = t.clock.now()
        _ = try t.pkceTokens(P, user: World.bob)
        let carolTokens = try t.pkceTokens(P, user: World.carol)
        _ = try t.pkceTokens(P, user: World.dave)                 // dave has no role on bridge: cannot act there
        _ = try t.pkceTokens(PP, user: World.alice)               // company admin: every project, capped to read
        _ = try l.oauth.approveClient(company: World.acme, clientID: PP.clientID!, user: World.carol, redirectURI: World.redirect,
                            codeChallenge: PKCE.challenge(for: PKCEPair.verifier), codeChallengeMethod: "S256", state: nil)
        t.tick()
        let tA = t.clock.now()
        let svc = { (c: IssuedCredential) in c.serviceUser! }

        let readA = [
            "\(svc(G)) G read-write", "\(svc(O)) O read", "\(svc(R)) R read", "\(svc(RW)) RW read-write",
            "\(World.alice) PP read", "\(World.bob) P read-write", "\(World.carol) P read", "\(World.carol) PP read",
        ].sorted()
        let writeA = ["\(svc(G)) G read-write", "\(svc(RW)) RW read-write", "\(World.bob) P read-write"].sorted()
        XCTAssertEqual(paths(try who(t, "bridge", .read, at: tA)), readA)
        XCTAssertEqual(paths(try who(t, "bridge", nil, at: tA)), readA, "no --op means anyone who could at least read")
        XCTAssertEqual(paths(try who(t, "bridge", .write, at: tA)), writeA)
        // Through which role, and since when.
        let a = try who(t, "bridge", .read, at: tA)
        let byName = Dictionary(a.paths.map { ("\($0.principal) \($0.credentialName)", $0) }, uniquingKeysWith: { x, _ in x })
        XCTAssertEqual(byName["\(svc(R)) R"]?.role, .editor)
        XCTAssertEqual(byName["\(svc(R)) R"]?.since, granted)
        XCTAssertEqual(byName["\(svc(G)) G"]?.via, "GLOBAL scope")
        XCTAssertEqual(byName["\(svc(G)) G"]?.since, created)
        XCTAssertEqual(byName["\(svc(G)) G"]?.grant, "api key")
        XCTAssertEqual(byName["\(svc(O)) O"]?.grant, "client credentials")
        XCTAssertEqual(byName["\(World.alice) PP"]?.via, "company admin")
        XCTAssertEqual(byName["\(World.bob) P"]?.via, "editor")
        XCTAssertEqual(byName["\(World.bob) P"]?.since, consented)
        XCTAssertEqual(byName["\(World.bob) P"]?.grant, "refresh token")
        XCTAssertEqual(byName["\(World.bob) P"]?.grantUntil, consented + 3_600_000_000)
        XCTAssertEqual(byName["\(World.carol) PP"]?.grant, "authorization code")
        XCTAssertEqual(byName["\(World.carol) PP"]?.kind, .user)
        // Tunnel: only RW (viewer) and the GLOBAL key, plus alice through PP (admin).
        XCTAssertEqual(paths(try who(t, "tunnel", .read, at: tA)), ["\(svc(G)) G read-write", "\(svc(RW)) RW read", "\(World.alice) PP read"].sorted())

        // Changes: O promoted, RW revoked, G deleted, a new GLOBAL key, bob's role removed, a project created later.
        t.clock.advance(seconds: 61)   // carol's code expires
        let changed = t.clock.now()
        try l.administration.grantAccess(World.acme, credential: O.id, project: "bridge", role: .editor, as: World.alice)
        try l.administration.revokeAccess(World.acme, credential: RW.id, project: "bridge", as: World.alice)
        try l.administration.deleteCredential(World.acme, credential: G.id, as: World.alice)
        let G2 = try t.create(.staticKey, .global, name: "G2")
        try l.administration.setUserProjectRole(World.acme, project: "bridge", email: World.bob, role: nil, as: World.alice)
        t.tick()
        let laterCreated = t.clock.now()
        try l.administration.createProject(World.acme, project: "later", as: World.alice)
        t.tick()
        let tB = t.clock.now()
        XCTAssertEqual(paths(try who(t, "bridge", .read, at: tB)), [
            "\(svc(G2)) G2 read-write", "\(svc(O)) O read-write", "\(svc(R)) R read", "\(World.alice) PP read", "\(World.carol) P read",
        ].sorted())
        let writeB = try who(t, "bridge", .write, at: tB)
        XCTAssertEqual(paths(writeB), ["\(svc(G2)) G2 read-write", "\(svc(O)) O read-write"].sorted())
        let oWrite = writeB.paths.first { $0.credentialName == "O" }
        XCTAssertEqual(oWrite?.since, changed, "O could write only since it became editor")
        let oRead = try who(t, "bridge", .read, at: tB).paths.first { $0.credentialName == "O" }
        XCTAssertEqual(oRead?.since, granted, "O could read since its first grant; the role change did not interrupt it")
        let later = try who(t, "later", .read, at: tB)
        XCTAssertEqual(paths(later), ["\(svc(G2)) G2 read-write", "\(World.alice) PP read"].sorted())
        XCTAssertEqual(later.paths.first { $0.credentialName == "G2" }?.since, laterCreated, "a GLOBAL key reaches a later project from its creation")
        XCTAssertEqual(try who(t, "later", .read, at: tA).notes, ["project later did not exist yet"])
        XCTAssertTrue(try who(t, "later", .read, at: tA).paths.isEmpty)

        // Asking about the earlier moment again gives the earlier answer.
        XCTAssertEqual(paths(try who(t, "bridge", .read, at: tA)), readA)
        XCTAssertEqual(paths(try who(t, "bridge", .write, at: tA)), writeA)

        // Access tokens expire (10 min) but refresh tokens (1 h) still let users act.
        t.clock.advance(seconds: 700)
        XCTAssertEqual(paths(try who(t, "bridge", .read, at: t.clock.now())), [
            "\(svc(G2)) G2 read-write", "\(svc(O)) O read-write", "\(svc(R)) R read", "\(World.alice) PP read", "\(World.carol) P read",
        ].sorted())
        // Carol revokes her refresh token (the whole family goes).
        try l.oauth.revokeToken(carolTokens.refreshToken!, clientID: P.clientID!, clientSecret: P.clientSecret)
        t.tick()
        XCTAssertFalse(paths(try who(t, "bridge", .read, at: t.clock.now())).contains("\(World.carol) P read"))
        // After the refresh tokens expire nobody acts through PKCE without a new consent.
        t.clock.advance(seconds: 3_600)
        XCTAssertEqual(paths(try who(t, "bridge", .read, at: t.clock.now())),
                       ["\(svc(G2)) G2 read-write", "\(svc(O)) O read-write", "\(svc(R)) R read"].sorted())

        // The module switched off: nobody; an archived project: nobody.
        try l.administration.setAPIModule(World.acme, enabled: false, as: World.alice)
        t.tick()
        let off = try who(t, "bridge", .read, at: t.clock.now())
        XCTAssertTrue(off.paths.isEmpty)
        XCTAssertEqual(off.notes.count, 1)
        try l.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        try l.administration.archiveProject(World.acme, project: "tunnel", as: World.alice)
        t.tick()
        XCTAssertTrue(try who(t, "tunnel", .read, at: t.clock.now()).paths.isEmpty)
        XCTAssertFalse(try who(t, "bridge", .read, at: t.clock.now()).paths.isEmpty)
        // The G2 path after the module came back counts from the re-enable.
        let reenabled = try who(t, "bridge", .write, at: t.clock.now()).paths.first { $0.credentialName == "G2" }
        XCTAssertGreaterThan(reenabled?.since ?? 0, tB)

        // The command line.
        t.close()
        let r = runCLI(t, ["--json", "audit", "access", World.acme, "bridge", "--op", "write", "--at", TimeFormat.rfc3339(tA)])
        XCTAssertEqual(r.code, 0, r.all)
        let principals = (r.object["principals"] as? [[String: Any]]) ?? []
        XCTAssertEqual(principals.compactMap { $0["credential_name"] as? String }.sorted(), ["G", "P", "RW"])
        XCTAssertEqual(runCLI(t, ["audit", "access", World.acme, "bridge", "--op", "delete"]).code, 2)
        XCTAssertEqual(runCLI(t, ["audit", "access", "nosuch", "bridge"]).code, 2)
        let human = runCLI(t, ["audit", "access", World.acme, "bridge", "--seq", "20"])
        XCTAssertEqual(human.code, 0, human.all)
        XCTAssertTrue(human.out.contains("Who could act on acme/bridge"), human.out)
    }

    /// On randomized histories, every path listed for (project, write) at the head is one the hot path
    /// would allow right now, and every credential the hot path allows is listed.
    func testPathsAgreeWithTheHotPathAtTheHead() throws {
        let t = try TestLedger("access-random", seed: 77)
        defer { t.remove() }
        let history = try RandomHistory(t, seed: 77)
        try history.run(steps: 200)
        _ = try? t.ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        // Make sure the history holds a deleted key that still has its grants, and a fresh granted key.
        let doomed = try t.create(.staticKey, .readWrite, name: "doomed")
        let fresh = try t.create(.staticKey, .read, name: "fresh")
        for project in history.projects[World.acme]! {
            _ = try? t.ledger.administration.grantAccess(World.acme, credential: doomed.id, project: project, role: .editor, as: World.alice)
            _ = try? t.ledger.administration.grantAccess(World.acme, credential: fresh.id, project: project, role: .viewer, as: World.alice)
        }
        try t.ledger.administration.deleteCredential(World.acme, credential: doomed.id, as: World.alice)
        history.keys.append(.init(issued: doomed, company: World.acme))
        history.keys.append(.init(issued: fresh, company: World.acme))
        t.tick()
        let now = t.clock.now()
        var allowed = 0, denied = 0
        for project in history.projects[World.acme]! {
            for op in [CredLedgerCore.Operation.read, .write] {
                let answer = try t.ledger.audit.whoCouldAct(company: World.acme, project: project, operation: op, at: .head)
                let listed = Set(answer.paths.filter { $0.kind == .serviceUser }.map(\.credentialID))
                // Static keys can be tried directly: authorize (without recording) must agree.
                for key in history.keys where key.company == World.acme && key.issued.type == .staticKey {
                    let decision = try t.ledger.access.authorize(header: "Apikey " + key.issued.secret!, company: World.acme, project: project, operation: op)
                    XCTAssertEqual(listed.contains(key.issued.id), decision.allowed,
                                   "\(key.issued.id) \(op.name) \(project) at \(now): hot path says \(decision.code)")
                    if decision.allowed { allowed += 1 } else { denied += 1 }
                }
            }
        }
        XCTAssertGreaterThan(allowed, 5)
        XCTAssertGreaterThan(denied, 5)
    }
}
