import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 11 item 3: with the API module disabled an admin can still list, show and delete (revoke) credentials —
/// a leaked key is revoked without first re-enabling the module, which would bring every key back to life.
/// Creating, rotating and granting stay behind the module; everything stays admin-only.
final class Issue11ModuleDisabledTests: XCTestCase {
    func testListShowAndDeleteWorkWhileTheModuleIsDisabled() throws {
        let t = try TestLedger("i11-module", seed: 111)
        defer { t.remove() }
        let ledger = t.ledger!
        try t.makeWorld()
        let leaked = try t.create(.staticKey, .global, name: "Leaked key")
        let reader = try t.create(.staticKey, .read, name: "Reader")
        try ledger.administration.grantAccess(World.acme, credential: reader.id, project: World.bridge, role: .viewer, as: World.alice)
        let client = try t.create(.oauth, .global, name: "Client")
        let token = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: client.clientSecret!)
        assertAllowed(try t.check("Apikey " + leaked.secret!, World.bridge, .write))

        try ledger.administration.setAPIModule(World.acme, enabled: false, as: World.alice)
        assertDenied(try t.check("Apikey " + leaked.secret!, World.bridge, .read), .apiModuleDisabled)

        // Listing and showing work (they failed with api_module_disabled before).
        let rows = try ledger.audit.credentialTable(World.acme, as: World.alice)
        XCTAssertEqual(Set(rows.map(\.id)), [leaked.id, reader.id, client.id])
        XCTAssertEqual(try ledger.audit.credentialDetail(World.acme, credential: leaked.id, as: World.alice).name, "Leaked key")

        // Still admin-only.
        assertRefused("not_company_admin", t) { _ = try ledger.audit.credentialTable(World.acme, as: World.bob) }
        assertRefused("not_company_admin", t) { _ = try ledger.audit.credentialDetail(World.acme, credential: leaked.id, as: World.bob) }
        assertRefused("not_company_admin", t) { try ledger.administration.deleteCredential(World.acme, credential: leaked.id, as: World.bob) }
        assertRefused("not_company_admin", t) { try ledger.administration.deleteCredential(World.acme, credential: leaked.id, as: World.bea) }
        // Another company's admin does not reach acme's credentials.
        assertRefused("unknown_credential", t) { try ledger.administration.deleteCredential(World.beta, credential: leaked.id, as: World.bea) }

        // Creating, rotating and granting still need the module.
        assertRefused("api_module_disabled", t) { _ = try t.create(.staticKey, .read, name: "New") }
        assertRefused("api_module_disabled", t) { _ = try ledger.administration.rotateSecret(World.acme, credential: leaked.id, grace: 0, as: World.alice) }
        assertRefused("api_module_disabled", t) {
            try ledger.administration.grantAccess(World.acme, credential: reader.id, project: World.tunnel, role: .viewer, as: World.alice)
        }
        assertRefused("api_module_disabled", t) { try ledger.administration.revokeAccess(World.acme, credential: reader.id, project: World.bridge, as: World.alice) }

        // Delete writes exactly one credential_deleted and leaves the module off.
        let before = t.head
        try ledger.administration.deleteCredential(World.acme, credential: leaked.id, as: World.alice)
        try ledger.administration.deleteCredential(World.acme, credential: client.id, as: World.alice)
        let added = try t.events(after: before.seq).map(\.event.payload)
        XCTAssertEqual(added.count, 2)
        XCTAssertTrue(added.allSatisfy { if case .credentialDeleted = $0 { true } else { false } }, "\(added)")
        XCTAssertEqual(try ledger.audit.withState { try $0.company(slug: World.acme)?.apiEnabled }, false, "deleting must not re-enable the module")
        assertRefused("credential_deleted", t) { try ledger.administration.deleteCredential(World.acme, credential: leaked.id, as: World.alice) }
        XCTAssertEqual(try ledger.audit.credentialTable(World.acme, as: World.alice, includeDeleted: true).first { $0.id == leaked.id }?.status, .deleted)

        // Re-enabling revives the others, never the deleted ones.
        try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        assertDenied(try t.check("Apikey " + leaked.secret!, World.bridge, .read), .revoked)
        assertDenied(try t.check("Bearer " + token.accessToken, World.bridge, .read), .revoked)
        assertAllowed(try t.check("Apikey " + reader.secret!, World.bridge, .read))
        assertOAuthDenied(.revoked, t) { _ = try ledger.oauth.clientCredentialsToken(clientID: client.clientID!, clientSecret: client.clientSecret!) }
        // And after a reopen (projections read back from disk).
        try t.reopen()
        assertDenied(try t.check("Apikey " + leaked.secret!, World.bridge, .read), .revoked)
    }

    func testTheCLIListsShowsAndDeletesWhileTheModuleIsDisabled() throws {
        let cli = try CLI("i11-module-cli")
        defer { cli.remove() }
        issue11SetUpCLICompany(cli)
        let created = cli.run("--json", "key", "create", "acme", "--name", "Leaked", "--type", "static", "--scope", "global", "--as", World.alice)
        XCTAssertEqual(created.code, 0, created.all)
        let id = try XCTUnwrap(created.object["id"] as? String), secret = try XCTUnwrap(created.object["secret"] as? String)
        XCTAssertEqual(cli.run("company", "disable-api", "acme", "--as", World.alice).code, 0)

        let list = cli.run("key", "list", "acme", "--as", World.alice)
        XCTAssertEqual(list.code, 0, list.all)
        XCTAssertTrue(list.out.contains(id), list.out)
        let show = cli.run("--json", "key", "show", "acme", id, "--as", World.alice)
        XCTAssertEqual(show.code, 0, show.all)
        XCTAssertEqual(show.object["status"] as? String, "active")
        issue11AssertCLIFails(cli, 1, printing: "not_company_admin", ["key", "list", "acme", "--as", World.bob])
        issue11AssertCLIFails(cli, 1, printing: "not_company_admin", ["key", "delete", "acme", id, "--yes", "--as", World.bob])
        issue11AssertCLIFails(cli, 1, printing: "api_module_disabled",
                              ["key", "create", "acme", "--name", "K2", "--type", "static", "--scope", "read", "--as", World.alice])
        issue11AssertCLIFails(cli, 1, printing: "api_module_disabled", ["key", "rotate", "acme", id, "--grace", "0", "--as", World.alice])
        issue11AssertCLIFails(cli, 1, printing: "api_module_disabled",
                              ["access", "grant", "acme", id, "bridge", "--role", "viewer", "--as", World.alice])

        let delete = cli.run("key", "delete", "acme", id, "--yes", "--as", World.alice)
        XCTAssertEqual(delete.code, 0, delete.all)
        XCTAssertEqual(cli.run("company", "enable-api", "acme", "--as", World.alice).code, 0)
        let check = cli.run("--json", "auth", "check", "acme", "--header", "Apikey \(secret)", "--project", "bridge", "--op", "read")
        XCTAssertEqual(check.code, 1)
        XCTAssertEqual(check.object["result"] as? String, "revoked")
    }
}
