import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 11 item 12: an expired credential shows as `expired` (with its expiry) in `key show`, `key list`
/// (table and JSON) and the as-of table; `key rotate` refuses it (`credential_expired`) instead of printing a
/// secret that is useless from birth; and the denial says the same. A rotated-out secret whose grace ended is
/// told apart (`secret_superseded`) on both decision paths.
final class Issue11ExpiryTests: XCTestCase {
    func testExpiredCredentialIsShownExpiredAndCannotBeRotated() throws {
        let t = try TestLedger("i11-expiry", seed: 121)
        defer { t.remove() }
        let ledger = t.ledger!
        try t.makeWorld()
        let created = t.clock.now()
        let expiresAt = created + 3_600_000_000
        let key = try ledger.administration.createCredential(World.acme, NewCredential(name: "Short", type: .staticKey, scope: .global, expiresAt: expiresAt),
                                              as: World.alice)
        let client = try ledger.administration.createCredential(World.acme, NewCredential(name: "Short client", type: .oauth, scope: .global,
                                                                           expiresAt: expiresAt), as: World.alice)
        let forever = try t.create(.staticKey, .global, name: "Forever")
        var row = try t.row(key.id)
        XCTAssertEqual(row.status, .active)
        XCTAssertEqual(row.expiresAt, expiresAt)

        t.clock.advance(seconds: 3_600)
        row = try t.row(key.id)
        XCTAssertEqual(row.status, .expired, "the table said active after the expiry")
        XCTAssertEqual(try ledger.audit.credentialDetail(World.acme, credential: key.id, as: World.alice).status, .expired)
        XCTAssertEqual(try t.row(forever.id).status, .active)
        let denied = try t.check("Apikey " + key.secret!, World.bridge, .read)
        assertDenied(denied, .expired)
        XCTAssertTrue(DenialReason.expired.fix.contains("create a new credential"), DenialReason.expired.fix)
        XCTAssertFalse(DenialReason.expired.fix.contains("rotate or"), "the denial must not advise a rotation that is refused")

        // Rotating an expired credential is refused, and nothing is written (no useless secret is printed).
        assertRefused("credential_expired", kind: .refused, t) { _ = try ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 0, as: World.alice) }
        assertRefused("credential_expired", kind: .refused, t) {
            _ = try ledger.administration.rotateSecret(World.acme, credential: client.id, grace: 3_600_000_000, as: World.alice)
        }
        assertOAuthDenied(.expired, t) { _ = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: client.clientSecret!) }
        // It can still be deleted; deleted wins over expired.
        try ledger.administration.deleteCredential(World.acme, credential: key.id, as: World.alice)
        XCTAssertEqual(try t.row(key.id).status, .deleted)

        // The as-of table judges expiry at its own moment.
        let before = try ledger.audit.credentialTable(World.acme, as: World.alice, asOf: .time(created + 1_000_000))
        XCTAssertEqual(before.first { $0.id == client.id }?.status, .active)
        let after = try ledger.audit.credentialTable(World.acme, as: World.alice, includeDeleted: true, asOf: .time(expiresAt + 1))
        XCTAssertEqual(after.first { $0.id == client.id }?.status, .expired)
        XCTAssertEqual(after.first { $0.id == key.id }?.status, .deleted, "deleted at the expiry: deleted wins")
        let justBefore = try ledger.audit.credentialTable(World.acme, as: World.alice, asOf: .time(expiresAt - 1))
        XCTAssertEqual(justBefore.first { $0.id == key.id }?.status, .active)
    }

    func testAGraceEndedSecretIsSupersededNotExpired() throws {
        let t = try TestLedger("i11-superseded", seed: 122)
        defer { t.remove() }
        let ledger = t.ledger!
        try t.makeWorld()
        let key = try t.create(.staticKey, .global, name: "Rotating")
        let rotated = try ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 60_000_000, as: World.alice)
        assertAllowed(try t.check("Apikey " + key.secret!, World.bridge, .read))
        t.clock.advance(seconds: 60)
        // `check` runs the in-place path and (debug builds) asserts the reference path agrees.
        assertDenied(try t.check("Apikey " + key.secret!, World.bridge, .read), .secretSuperseded)
        assertDenied(try ledger.access.authorize(header: "Apikey " + key.secret!, company: World.acme, project: World.bridge, operation: .read),
                     .secretSuperseded)
        assertAllowed(try t.check("Apikey " + rotated.secret!, World.bridge, .read))
        XCTAssertEqual(try t.row(key.id).status, .active, "the credential itself is fine")
        XCTAssertEqual(DenialReason(code: "secret_superseded"), .secretSuperseded)
        XCTAssertEqual(DenialReason.secretSuperseded.rawValue, 14)
    }

    func testTheCLIShowsExpiryAndRefusesToRotate() throws {
        let cli = try CLI("i11-expiry-cli")
        defer { cli.remove() }
        issue11SetUpCLICompany(cli)
        let created = cli.run("--json", "key", "create", "acme", "--name", "Short", "--type", "static", "--scope", "global",
                              "--expires-in", "1h", "--as", World.alice)
        XCTAssertEqual(created.code, 0, created.all)
        let id = try XCTUnwrap(created.object["id"] as? String)
        let expiresAt = TimeFormat.rfc3339(cli.clock.now() + 3_600_000_000)
        var json = cli.run("--json", "key", "list", "acme", "--as", World.alice)
        var row = try XCTUnwrap((json.json as? [[String: Any]])?.first)
        XCTAssertEqual(row["status"] as? String, "active")
        XCTAssertEqual(row["expires_at"] as? String, expiresAt)

        cli.clock.advance(seconds: 3_601)
        json = cli.run("--json", "key", "list", "acme", "--as", World.alice)
        row = try XCTUnwrap((json.json as? [[String: Any]])?.first)
        XCTAssertEqual(row["status"] as? String, "expired")
        XCTAssertEqual(row["expires_at"] as? String, expiresAt)
        let table = cli.run("key", "list", "acme", "--as", World.alice)
        XCTAssertEqual(table.code, 0, table.all)
        let lines = table.out.split(separator: "\n")
        XCTAssertTrue(lines.first?.contains("Status") == true && lines.first?.contains("Expires") == true, table.out)
        XCTAssertTrue(lines.last?.contains("expired") == true, table.out)
        XCTAssertTrue(lines.last?.contains(String(expiresAt.prefix(19)).replacingOccurrences(of: "T", with: " ")) == true, table.out)
        let show = cli.run("key", "show", "acme", id, "--as", World.alice)
        XCTAssertTrue(show.out.contains("expired \(expiresAt)"), show.out)

        let rotate = issue11AssertCLIFails(cli, 1, printing: "credential_expired", ["key", "rotate", "acme", id, "--grace", "0", "--as", World.alice])
        XCTAssertFalse(rotate.all.contains("cxk_"), "a rotation of an expired key printed a secret: \(rotate.all)")
        let denied = cli.run("auth", "check", "acme", "--header", "Apikey \(created.object["secret"] as? String ?? "")", "--project", "bridge", "--op", "read")
        XCTAssertEqual(denied.code, 1)
        XCTAssertTrue(denied.out.contains("expired") && !denied.out.contains("rotate or"), denied.out)

        // The as-of table (`--at`) judges at its moment.
        let earlier = TimeFormat.rfc3339(cli.clock.now() - 3_000_000_000)
        let asOf = cli.run("--json", "key", "list", "acme", "--as", World.alice, "--at", earlier)
        XCTAssertEqual(asOf.code, 0, asOf.all)
        XCTAssertEqual((asOf.json as? [[String: Any]])?.first?["status"] as? String, "active")
        let later = cli.run("--json", "key", "list", "acme", "--as", World.alice, "--at", TimeFormat.rfc3339(cli.clock.now()))
        XCTAssertEqual((later.json as? [[String: Any]])?.first?["status"] as? String, "expired")
    }
}
