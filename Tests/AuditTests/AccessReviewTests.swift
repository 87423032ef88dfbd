@testable import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 5, `audit review`: stale, never used, GLOBAL, broad write access, creator no longer an admin, expired;
/// deleted credentials are not reviewed; every finding carries a recommendation.
final class AccessReviewTests: XCTestCase {
    func testFindingsPerCredential() throws {
        let t = try TestLedger("review")
        defer { t.remove() }
        let l = t.ledger!
        try t.makeWorld()
        for p in 1...5 { try l.administration.createProject(World.acme, project: "x\(p)", as: World.alice) }
        try l.administration.setMemberRole(World.acme, email: World.bob, role: .admin, as: World.alice)
        try l.administration.setMemberRole(World.acme, email: World.carol, role: .admin, as: World.alice)

        let active = try t.create(.staticKey, .read, name: "active")
        let stale = try t.create(.staticKey, .read, name: "stale")
        _ = try t.create(.staticKey, .readWrite, name: "never")
        let global = try t.create(.staticKey, .global, name: "global")
        let broad = try t.create(.staticKey, .readWrite, name: "broad")
        let byBob = try t.create(.oauth, .read, name: "by-bob", as: World.bob)
        let byCarol = try t.create(.staticKey, .read, name: "by-carol", as: World.carol)
        _ = try l.administration.createCredential(World.acme, NewCredential(name: "expiring", type: .staticKey, scope: .read,
                                                                        expiresAt: t.clock.now() + 86_400_000_000), as: World.alice)
        let gone = try t.create(.staticKey, .global, name: "gone")
        for key in [active, stale, byCarol, byBob] {
            try l.administration.grantAccess(World.acme, credential: key.id, project: "bridge", role: .viewer, as: World.alice)
        }
        for p in ["bridge", "tunnel", "x1", "x2", "x3"] {
            try l.administration.grantAccess(World.acme, credential: broad.id, project: p, role: p == "x3" ? .projectAdmin : .editor, as: World.alice)
        }
        try l.administration.grantAccess(World.acme, credential: broad.id, project: "x4", role: .viewer, as: World.alice)   // read only: not counted
        try t.use("Apikey " + stale.secret!, "bridge", .read)
        try t.use("Apikey " + global.secret!, "bridge", .write)
        try t.use("Apikey " + broad.secret!, "bridge", .write)
        try t.use("Apikey " + byCarol.secret!, "bridge", .read)
        t.clock.advance(seconds: 100 * 86_400)
        try t.use("Apikey " + active.secret!, "bridge", .read)
        try t.use("Apikey " + global.secret!, "bridge", .read)
        try t.use("Apikey " + broad.secret!, "bridge", .read)
        try t.use("Apikey " + byCarol.secret!, "bridge", .read)
        let token = try l.oauth.clientCredentialsToken(clientID: byBob.clientID!, clientSecret: byBob.clientSecret!)
        try t.use("Bearer " + token.accessToken, "bridge", .read)
        try l.administration.setMemberRole(World.acme, email: World.bob, role: .member, as: World.alice)
        try l.administration.setMemberRole(World.acme, email: World.carol, role: .removed, as: World.alice)
        try l.administration.deleteCredential(World.acme, credential: gone.id, as: World.alice)

        let findings = try l.audit.accessReview(World.acme, staleDays: 90, manyProjects: 5)
        var byName: [String: Set<String>] = [:]
        for f in findings {
            byName[f.name, default: []].insert(f.kind.rawValue)
            XCTAssertFalse(f.recommendation.isEmpty)
            XCTAssertFalse(f.detail.isEmpty)
        }
        XCTAssertEqual(byName["active"], nil)
        XCTAssertEqual(byName["stale"], ["stale"])
        XCTAssertEqual(byName["never"], ["never_used"])
        XCTAssertEqual(byName["global"], ["global_scope"])
        XCTAssertEqual(byName["broad"], ["broad_write"])
        XCTAssertEqual(byName["by-bob"], ["creator_not_admin"])
        XCTAssertEqual(byName["by-carol"], ["creator_not_admin"])
        XCTAssertEqual(byName["expiring"], ["expired", "never_used"])
        XCTAssertEqual(byName["gone"], nil, "deleted credentials are not reviewed")
        XCTAssertTrue(findings.first { $0.name == "by-carol" }!.detail.contains("no longer a member"))
        XCTAssertTrue(findings.first { $0.name == "by-bob" }!.detail.contains("now a member"))
        XCTAssertTrue(findings.first { $0.name == "broad" }!.detail.contains("5 projects"))
        // A shorter window makes the recently used ones fine and nothing else changes.
        XCTAssertEqual(Set(try l.audit.accessReview(World.acme, staleDays: 200).filter { $0.kind == .stale || $0.kind == .neverUsed }.map(\.name)), [])
        XCTAssertEqual(Set(try l.audit.accessReview(World.acme, staleDays: 1).filter { $0.kind == .stale }.map(\.name)), ["stale"])
        XCTAssertEqual(Set(try l.audit.accessReview(World.acme, manyProjects: 6).map(\.kind)).contains(.broadWrite), false)

        t.close()
        let r = runCLI(t, ["--json", "audit", "review", World.acme, "--stale-days", "90"])
        XCTAssertEqual(r.code, 0, r.all)
        XCTAssertEqual((r.object["findings"] as? [Any])?.count, findings.count)
        let human = runCLI(t, ["audit", "review", World.acme])
        XCTAssertTrue(human.out.contains("Recommendation"), human.out)
        XCTAssertEqual(runCLI(t, ["audit", "review", World.acme, "--stale-days", "0"]).code, 2)
        XCTAssertEqual(runCLI(t, ["audit", "review", "nope"]).code, 2)
    }
}
