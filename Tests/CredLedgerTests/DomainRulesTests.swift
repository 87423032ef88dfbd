import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 3: every admin-side rule and error code of the ledger. Each refusal must leave the log untouched.
final class DomainRulesTests: XCTestCase {
    private var t: TestLedger!

    override func setUpWithError() throws {
        t = try TestLedger("rules")
        try t.makeWorld()
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    private var ledger: Ledger { t.ledger }

    // MARK: unknown things (bad input)

    func testUnknownCompanyIsBadInputEverywhere() throws {
        let a = World.alice
        let calls: [(String, () throws -> Void)] = [
            ("setAPIModule", { try self.ledger.administration.setAPIModule("nope", enabled: true, as: a) }),
            ("setMemberRole", { try self.ledger.administration.setMemberRole("nope", email: World.bob, role: .member, as: a) }),
            ("createProject", { try self.ledger.administration.createProject("nope", project: "p", as: a) }),
            ("archiveProject", { try self.ledger.administration.archiveProject("nope", project: World.bridge, as: a) }),
            ("setUserProjectRole", { try self.ledger.administration.setUserProjectRole("nope", project: World.bridge, email: World.bob, role: .viewer, as: a) }),
            ("createCredential", { _ = try self.ledger.administration.createCredential("nope", NewCredential(name: "k", type: .staticKey, scope: .read), as: a) }),
            ("rotateSecret", { _ = try self.ledger.administration.rotateSecret("nope", credential: "cred_x", grace: 0, as: a) }),
            ("deleteCredential", { try self.ledger.administration.deleteCredential("nope", credential: "cred_x", as: a) }),
            ("grantAccess", { try self.ledger.administration.grantAccess("nope", credential: "cred_x", project: World.bridge, role: .viewer, as: a) }),
            ("revokeAccess", { try self.ledger.administration.revokeAccess("nope", credential: "cred_x", project: World.bridge, as: a) }),
            ("credentialTable", { _ = try self.ledger.audit.credentialTable("nope", as: a) }),
            ("credentialDetail", { _ = try self.ledger.audit.credentialDetail("nope", credential: "cred_x", as: a) }),
        ]
        for (name, call) in calls {
            let before = t.head
            assertRefused("unknown_company", kind: .badInput, t) { try call() }
            XCTAssertEqual(t.head, before, name)
        }
    }

    func testUnknownCredentialIsBadInputAndCompanyScoped() throws {
        let betaKey = try t.create(.staticKey, .read, company: World.beta, as: World.bea)
        try ledger.administration.grantAccess(World.beta, credential: betaKey.id, project: World.betaProject, role: .viewer, as: World.bea)
        // A credential id that does not exist, and one of another company: both unknown here.
        for id in ["cred_doesnotexist0000", betaKey.id] {
            assertRefused("unknown_credential", kind: .badInput, t) { _ = try self.ledger.administration.rotateSecret(World.acme, credential: id, grace: 0, as: World.alice) }
            assertRefused("unknown_credential", kind: .badInput, t) { try self.ledger.administration.deleteCredential(World.acme, credential: id, as: World.alice) }
            assertRefused("unknown_credential", kind: .badInput, t) {
                try self.ledger.administration.grantAccess(World.acme, credential: id, project: World.bridge, role: .viewer, as: World.alice)
            }
            assertRefused("unknown_credential", kind: .badInput, t) { try self.ledger.administration.revokeAccess(World.acme, credential: id, project: World.bridge, as: World.alice) }
            assertRefused("unknown_credential", kind: .badInput, t) { _ = try self.ledger.audit.credentialDetail(World.acme, credential: id, as: World.alice) }
        }
        // The other company's credential is untouched and still works there.
        XCTAssertFalse(try t.row(betaKey.id, company: World.beta, as: World.bea).deleted)
        assertAllowed(try t.check("Apikey " + betaKey.secret!, World.betaProject, .read, company: World.beta))
    }

    func testUnknownProjectIsBadInputAndCompanyScoped() throws {
        let key = try t.create(.staticKey, .readWrite)
        try ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice)
        // "pb" exists, but in beta: from acme it is unknown.
        for project in ["nope", World.betaProject] {
            assertRefused("unknown_project", kind: .badInput, t) {
                try self.ledger.administration.grantAccess(World.acme, credential: key.id, project: project, role: .viewer, as: World.alice)
            }
            assertRefused("unknown_project", kind: .badInput, t) { try self.ledger.administration.revokeAccess(World.acme, credential: key.id, project: project, as: World.alice) }
            assertRefused("unknown_project", kind: .badInput, t) { try self.ledger.administration.archiveProject(World.acme, project: project, as: World.alice) }
            assertRefused("unknown_project", kind: .badInput, t) {
                try self.ledger.administration.setUserProjectRole(World.acme, project: project, email: World.bob, role: .viewer, as: World.alice)
            }
        }
        // Using a key on an unknown project is a recorded denial, not an error.
        assertDenied(try t.check("Apikey " + key.secret!, "nope", .read), .unknownProject)
    }

    // MARK: admin-only

    func testNotCompanyAdminForMembersStrangersAndOtherCompaniesAdmins() throws {
        let key = try t.create(.staticKey, .read)
        try ledger.administration.setMemberRole(World.acme, email: "gone@acme.example", role: .member, as: World.alice)
        try ledger.administration.setMemberRole(World.acme, email: "gone@acme.example", role: .removed, as: World.alice)
        // bob is a member, mallory a stranger, bea the admin of another company, gone was removed.
        for actor in [World.bob, World.mallory, World.bea, "gone@acme.example"] {
            let cases: [() throws -> Void] = [
                { try self.ledger.administration.setAPIModule(World.acme, enabled: false, as: actor) },
                { try self.ledger.administration.setMemberRole(World.acme, email: "x@acme.example", role: .member, as: actor) },
                { try self.ledger.administration.setMemberRole(World.acme, email: World.bob, role: .admin, as: actor) },
                { try self.ledger.administration.createProject(World.acme, project: "newp", as: actor) },
                { try self.ledger.administration.archiveProject(World.acme, project: World.bridge, as: actor) },
                { try self.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: actor) },
                { _ = try self.ledger.administration.createCredential(World.acme, NewCredential(name: "k", type: .staticKey, scope: .global), as: actor) },
                { _ = try self.ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 0, as: actor) },
                { try self.ledger.administration.deleteCredential(World.acme, credential: key.id, as: actor) },
                { try self.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: actor) },
                { try self.ledger.administration.revokeAccess(World.acme, credential: key.id, project: World.bridge, as: actor) },
                { _ = try self.ledger.audit.credentialTable(World.acme, as: actor) },
                { _ = try self.ledger.audit.credentialDetail(World.acme, credential: key.id, as: actor) },
            ]
            for call in cases { assertRefused("not_company_admin", kind: .refused, t) { try call() } }
        }
        // An admin of acme is not an admin of beta either.
        assertRefused("not_company_admin", kind: .refused, t) { _ = try self.ledger.audit.credentialTable(World.beta, as: World.alice) }
        // Promoted, bob can act.
        try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .admin, as: World.alice)
        XCTAssertEqual(try ledger.audit.credentialTable(World.acme, as: World.bob).map(\.id), [key.id])
    }

    func testAPIModuleDisabledOnEveryAPIAreaAction() throws {
        let key = try t.create(.staticKey, .read)
        let oauth = try t.create(.oauth, .readWrite)
        try ledger.administration.grantAccess(World.acme, credential: oauth.id, project: World.bridge, role: .editor, as: World.alice)
        XCTAssertTrue(try ledger.administration.setAPIModule(World.acme, enabled: false, as: World.alice))
        let a = World.alice
        let cases: [() throws -> Void] = [
            { _ = try self.ledger.administration.createCredential(World.acme, NewCredential(name: "k", type: .staticKey, scope: .read), as: a) },
            { _ = try self.ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 0, as: a) },
            { try self.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: a) },
            { try self.ledger.administration.revokeAccess(World.acme, credential: oauth.id, project: World.bridge, as: a) },
        ]
        for call in cases { assertRefused("api_module_disabled", kind: .refused, t) { try call() } }
        // Issue 11: listing, showing (and deleting, Issue11ModuleDisabledTests) stay open to admins, so a leaked key
        // can be revoked without re-enabling the module.
        XCTAssertEqual(try ledger.audit.credentialTable(World.acme, as: a).count, 2)
        XCTAssertEqual(try ledger.audit.credentialDetail(World.acme, credential: key.id, as: a).id, key.id)
        // The admin check comes first: a member hears "not admin", not "module disabled".
        assertRefused("not_company_admin", t) { _ = try self.ledger.audit.credentialTable(World.acme, as: World.bob) }
        // Credentials stop working while the module is off (denied and recorded).
        assertDenied(try t.check("Apikey " + key.secret!, World.bridge, .read), .apiModuleDisabled)
        // Turning it off twice changes nothing.
        let before = t.head
        XCTAssertFalse(try ledger.administration.setAPIModule(World.acme, enabled: false, as: World.alice))
        XCTAssertEqual(t.head, before)
        // Back on: everything works again.
        XCTAssertTrue(try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice))
        XCTAssertEqual(try ledger.audit.credentialTable(World.acme, as: a).count, 2)
    }

    func testLastAdminCannotBeDemotedOrRemoved() throws {
        assertRefused("last_admin", kind: .refused, t) { try self.ledger.administration.setMemberRole(World.acme, email: World.alice, role: .member, as: World.alice) }
        assertRefused("last_admin", kind: .refused, t) { try self.ledger.administration.setMemberRole(World.acme, email: World.alice, role: .removed, as: World.alice) }
        // Case of the email does not matter.
        assertRefused("last_admin", t) { try self.ledger.administration.setMemberRole(World.acme, email: "ALICE@acme.example", role: .member, as: World.alice) }
        try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .admin, as: World.alice)
        try ledger.administration.setMemberRole(World.acme, email: World.alice, role: .member, as: World.bob)
        assertRefused("last_admin", t) { try self.ledger.administration.setMemberRole(World.acme, email: World.bob, role: .removed, as: World.bob) }
        assertRefused("not_company_admin", t) { _ = try self.ledger.audit.credentialTable(World.acme, as: World.alice) }
    }

    func testNotCompanyMember() throws {
        assertRefused("not_company_member", t) { try self.ledger.administration.setMemberRole(World.acme, email: World.mallory, role: .removed, as: World.alice) }
        assertRefused("not_company_member", t) {
            try self.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.mallory, role: .viewer, as: World.alice)
        }
        // An admin of another company is a stranger here too.
        assertRefused("not_company_member", t) {
            try self.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bea, role: .viewer, as: World.alice)
        }
    }

    func testDeletedCredentialRules() throws {
        let key = try t.create(.staticKey, .read)
        try ledger.administration.deleteCredential(World.acme, credential: key.id, as: World.alice)
        assertRefused("credential_deleted", kind: .refused, t) { try self.ledger.administration.deleteCredential(World.acme, credential: key.id, as: World.alice) }
        assertRefused("credential_deleted", t) { _ = try self.ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 0, as: World.alice) }
        assertRefused("credential_deleted", t) {
            try self.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice)
        }
        // Deleted credentials leave the table but stay in the full listing and the log.
        XCTAssertFalse(try ledger.audit.credentialTable(World.acme, as: World.alice).contains { $0.id == key.id })
        let row = try t.row(key.id)
        XCTAssertTrue(row.deleted)
        XCTAssertEqual(row.deletedAt, t.clock.now())
        assertDenied(try t.check("Apikey " + key.secret!, World.bridge, .read), .revoked)
    }

    func testGrantRulesForGlobalAndUserDelegatedCredentials() throws {
        for type in [CredentialType.staticKey, .oauth] {
            let global = try t.create(type, .global)
            assertRefused("global_scope_needs_no_grant", kind: .refused, t) {
                try self.ledger.administration.grantAccess(World.acme, credential: global.id, project: World.bridge, role: .viewer, as: World.alice)
            }
        }
        for type in [CredentialType.pkce, .pkcePublic] {
            for scope in Scope.allCases {
                let delegated = try t.create(type, scope)
                assertRefused("user_delegated_credential", kind: .refused, t) {
                    try self.ledger.administration.grantAccess(World.acme, credential: delegated.id, project: World.bridge, role: .editor, as: World.alice)
                }
            }
        }
    }

    func testGrantChangeRevokeAndAccessNotGranted() throws {
        let key = try t.create(.staticKey, .readWrite)
        assertRefused("access_not_granted", kind: .refused, t) { try self.ledger.administration.revokeAccess(World.acme, credential: key.id, project: World.bridge, as: World.alice) }
        XCTAssertEqual(try ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice), .granted)
        // Same role again: nothing to do, nothing written.
        let before = t.head
        XCTAssertEqual(try ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice), .unchanged)
        XCTAssertEqual(t.head, before)
        XCTAssertEqual(try ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice), .changed)
        XCTAssertEqual(try t.events(after: before.seq).map(\.event.type), [.projectAccessChanged])
        XCTAssertEqual(try t.row(key.id).projects.map { "\($0.project)=\($0.role)" }, ["bridge=editor"])
        try ledger.administration.revokeAccess(World.acme, credential: key.id, project: World.bridge, as: World.alice)
        XCTAssertTrue(try t.row(key.id).projects.isEmpty)
        assertRefused("access_not_granted", t) { try self.ledger.administration.revokeAccess(World.acme, credential: key.id, project: World.bridge, as: World.alice) }
        // Removing a user's project role that was never given.
        assertRefused("access_not_granted", t) {
            try self.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: nil, as: World.alice)
        }
        assertDenied(try t.check("Apikey " + key.secret!, World.bridge, .read), .projectAccessMissing)
    }

    func testNoSecretToRotateForPublicClients() throws {
        let pub = try t.create(.pkcePublic, .read)
        XCTAssertNil(pub.clientSecret)
        XCTAssertNil(pub.secret)
        assertRefused("no_secret", kind: .refused, t) { _ = try self.ledger.administration.rotateSecret(World.acme, credential: pub.id, grace: 0, as: World.alice) }
    }

    func testArchivedProjects() throws {
        let key = try t.create(.staticKey, .read)
        try ledger.administration.grantAccess(World.acme, credential: key.id, project: World.tunnel, role: .viewer, as: World.alice)
        assertAllowed(try t.check("Apikey " + key.secret!, World.tunnel, .read))
        try ledger.administration.archiveProject(World.acme, project: World.tunnel, as: World.alice)
        assertRefused("project_archived", kind: .refused, t) { try self.ledger.administration.archiveProject(World.acme, project: World.tunnel, as: World.alice) }
        assertRefused("project_archived", t) {
            try self.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.tunnel, role: .editor, as: World.alice)
        }
        assertDenied(try t.check("Apikey " + key.secret!, World.tunnel, .read), .projectArchived)
        let global = try t.create(.staticKey, .global)
        assertDenied(try t.check("Apikey " + global.secret!, World.tunnel, .read), .projectArchived)
    }

    func testCompanyAndProjectExist() throws {
        assertRefused("company_exists", kind: .badInput, t) { try self.ledger.administration.registerCompany(World.acme, admin: "other@x.example") }
        assertRefused("project_exists", kind: .badInput, t) { try self.ledger.administration.createProject(World.acme, project: World.bridge, as: World.alice) }
        // The same project slug in another company is fine.
        try ledger.administration.createProject(World.beta, project: World.bridge, as: World.bea)
    }

    // MARK: input validation

    func testInvalidNames() throws {
        let bad = ["", "   ", String(repeating: "n", count: 101), "tab\there", "new\nline", "bell\u{07}", "del\u{7F}", "nul\u{0}"]
        for name in bad {
            assertRefused("invalid_name", kind: .badInput, t) {
                _ = try self.ledger.administration.createCredential(World.acme, NewCredential(name: name, type: .staticKey, scope: .read), as: World.alice)
            }
            assertRefused("invalid_name", kind: .badInput, t) { try self.ledger.administration.createProject(World.acme, project: "named", name: name, as: World.alice) }
            assertRefused("invalid_name", kind: .badInput, t) { try self.ledger.administration.registerCompany("named", admin: "x@named.example", name: name) }
        }
        // Boundary: exactly 100 characters (also multi-byte ones) is fine.
        _ = try ledger.administration.createCredential(World.acme, NewCredential(name: String(repeating: "n", count: 100), type: .staticKey, scope: .read), as: World.alice)
        _ = try ledger.administration.createCredential(World.acme, NewCredential(name: String(repeating: "é", count: 100), type: .staticKey, scope: .read), as: World.alice)
        _ = try ledger.administration.createCredential(World.acme, NewCredential(name: "Claude ✓ integration", type: .staticKey, scope: .read), as: World.alice)
    }

    func testInvalidSlugs() throws {
        let bad = ["", "Acme", "-acme", "a_b", "a b", "a.b", "ä", String(repeating: "a", count: 64)]
        for slug in bad {
            assertRefused("invalid_company", kind: .badInput, t) { try self.ledger.administration.registerCompany(slug, admin: "x@y.example") }
            assertRefused("invalid_project", kind: .badInput, t) { try self.ledger.administration.createProject(World.acme, project: slug, as: World.alice) }
        }
        try ledger.administration.registerCompany(String(repeating: "a", count: 63), admin: "x@y.example")
        try ledger.administration.createProject(World.acme, project: "a-1", as: World.alice)
    }

    func testInvalidEmailsAndMailDomains() throws {
        let bad = ["", "nope", "@acme.example", "a@", "a@b", "a@@acme.example", "a b@acme.example", "a@acme..example", "a@acme_x.example",
                   "é@acme.example", String(repeating: "a", count: 250) + "@acme.example"]
        for email in bad {
            assertRefused("invalid_email", kind: .badInput, t) { try self.ledger.administration.registerCompany("newco", admin: email) }
            assertRefused("invalid_email", kind: .badInput, t) { try self.ledger.administration.setMemberRole(World.acme, email: email, role: .member, as: World.alice) }
        }
        for domain in ["", "localhost", "a..b", "exa mple.com", "-"] {
            assertRefused("invalid_mail_domain", kind: .badInput, t) { try self.ledger.administration.registerCompany("newco", admin: "a@b.example", mailDomain: domain) }
        }
    }

    func testInvalidRedirectURIs() throws {
        var created = 0  // names are unique per company (issue 11)
        func create(_ type: CredentialType, _ uris: [String]) throws {
            created += 1
            _ = try ledger.administration.createCredential(World.acme, NewCredential(name: "r\(created)", type: type, scope: .read, redirectURIs: uris), as: World.alice)
        }
        // Missing for PKCE types.
        for type in [CredentialType.pkce, .pkcePublic] {
            assertRefused("invalid_redirect_uri", kind: .badInput, t) { try create(type, []) }
        }
        // Given for static keys and OAuth API users.
        for type in [CredentialType.staticKey, .oauth] {
            assertRefused("invalid_redirect_uri", kind: .badInput, t) { try create(type, [World.redirect]) }
        }
        let bad = ["http://client.example/cb", "ftp://client.example/cb", "client.example/cb", "https://", "https://client.example/cb#frag",
                   "https://client.example/a b", "https://clïent.example/cb", "javascript:alert(1)",
                   "https://client.example/" + String(repeating: "x", count: 2048)]
        for uri in bad {
            assertRefused("invalid_redirect_uri", kind: .badInput, t) { try create(.pkce, [uri]) }
            assertRefused("invalid_redirect_uri", kind: .badInput, t) { try create(.pkcePublic, [World.redirect, uri]) }
        }
        // More than five.
        let six = (1...6).map { "https://client.example/cb\($0)" }
        assertRefused("invalid_redirect_uri", kind: .badInput, t) { try create(.pkce, six) }
        try create(.pkce, Array(six.prefix(5)))
        // Loopback may use http.
        try create(.pkcePublic, ["http://localhost:8080/cb", "http://127.0.0.1/cb", "http://[::1]:9/cb"])
    }

    func testInvalidGraceAndExpiry() throws {
        let key = try t.create(.staticKey, .read)
        assertRefused("invalid_grace", kind: .badInput, t) { _ = try self.ledger.administration.rotateSecret(World.acme, credential: key.id, grace: -1, as: World.alice) }
        assertRefused("invalid_grace", kind: .badInput, t) {
            _ = try self.ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 30 * 86_400_000_000 + 1, as: World.alice)
        }
        assertRefused("invalid_expires", kind: .badInput, t) {
            _ = try self.ledger.administration.createCredential(World.acme, NewCredential(name: "e", type: .staticKey, scope: .read, expiresAt: self.t.clock.now()),
                                                 as: World.alice)
        }
    }

    func testCredentialExpiry() throws {
        let expiring = try ledger.administration.createCredential(World.acme, NewCredential(name: "short", type: .staticKey, scope: .global,
                                                                             expiresAt: t.clock.now() + 3_600_000_000), as: World.alice)
        XCTAssertEqual(try t.row(expiring.id).expiresAt, t.clock.now() + 3_600_000_000)
        assertAllowed(try t.check("Apikey " + expiring.secret!, World.bridge, .write))
        t.clock.advance(seconds: 3_599)
        assertAllowed(try t.check("Apikey " + expiring.secret!, World.bridge, .write))
        t.clock.advance(seconds: 1)
        assertDenied(try t.check("Apikey " + expiring.secret!, World.bridge, .write), .expired)
        let row = try t.row(expiring.id)
        XCTAssertEqual(row.used, 2)
        XCTAssertEqual(row.denied, 1)
    }

    func testDenialCodesAreDistinctStableAndNameAFix() {
        let codes = DenialReason.allCases.map(\.code)
        XCTAssertEqual(Set(codes).count, codes.count)
        XCTAssertEqual(Set(DenialReason.allCases.map(\.rawValue)).count, codes.count)
        for reason in DenialReason.allCases {
            XCTAssertEqual(DenialReason(code: reason.code), reason)
            XCTAssertFalse(reason.fix.isEmpty)
            XCTAssertNotNil(reason.code.wholeMatch(of: #/[a-z]+(_[a-z]+)*/#), reason.code)
        }
        // Codes are stored in the log: pin a few byte values and names.
        XCTAssertEqual(DenialReason.readOnlyScope.rawValue, 31)
        XCTAssertEqual(DenialReason.projectAccessMissing.code, "project_access_missing")
        XCTAssertEqual(DenialReason.refreshTokenReused.rawValue, 48)
        let errors: [LedgerError] = [.apiModuleDisabled, .notCompanyAdmin, .notCompanyMember, .lastAdmin, .credentialDeleted, .globalScopeNeedsNoGrant,
                                     .userDelegatedNoGrant, .accessNotGranted, .noSecretToRotate, .projectArchived, .confirmationRequired]
        XCTAssertEqual(Set(errors.map(\.code)).count, errors.count)
        for error in errors { XCTAssertGreaterThan(error.message.count, 15, error.code) }
    }

    func testReadOnlyLedgerRefusesWrites() throws {
        t.close()
        var options = t.options
        options.readOnly = true
        let readOnly = try Ledger(path: t.path, options: options)
        defer { readOnly.close() }
        XCTAssertThrowsError(try readOnly.administration.createProject(World.acme, project: "x", as: World.alice)) { error in
            XCTAssertEqual((error as? LedgerError)?.code, "read_only")
        }
        XCTAssertEqual(try readOnly.audit.credentialTable(World.acme, as: World.alice).count, 0)
    }
}
