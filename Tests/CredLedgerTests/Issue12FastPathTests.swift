@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Issue 12, "no magic offsets on the hot path": the in-place readers use the offsets the row codecs declare
/// (`<Record>.Layout`), both paths decide through one rule function, the in-place path is the one ordinary requests
/// take, and it agrees with the reference on random histories.
final class Issue12FastPathTests: XCTestCase {
    // MARK: - Layouts against the codecs

    /// `body` gets the encoded row as a `RowView`.
    private func fastPathWithRow<R>(_ record: some ProjectionRow, _ body: (RowView) throws -> R) rethrows -> R {
        try record.bytes.withUnsafeBytes { try body(RowView($0)) }
    }

    private func fastPathDigest(_ byte: UInt8) -> SHA256Digest { SHA256Digest(bytes: (0..<32).map { byte &+ UInt8($0) })! }

    /// The decision resolves a company and a project from their slug rows alone (issue 15: one lookup each, not two).
    func testCompanyAndProjectSlugLayoutsAreWhereTheCodecsWrite() throws {
        for enabled in [true, false] {
            let entry = CompanySlugEntry(company: 0x0102_0304, apiEnabled: enabled)
            XCTAssertEqual(entry.bytes, [1, 2, 3, 4, enabled ? 1 : 0])
            XCTAssertEqual(entry.bytes.count, CompanySlugEntry.Layout.size)
            XCTAssertEqual(try CompanySlugEntry.decode(entry.bytes), entry)
            fastPathWithRow(entry) { XCTAssertEqual($0.companySlugFacts, CompanyFacts(number: 0x0102_0304, apiEnabled: enabled)) }
        }
        for archived in [true, false] {
            let entry = ProjectSlugEntry(project: 0x0A0B_0C0D, archived: archived)
            XCTAssertEqual(entry.bytes, [0x0A, 0x0B, 0x0C, 0x0D, archived ? 1 : 0])
            XCTAssertEqual(entry.bytes.count, ProjectSlugEntry.Layout.size)
            XCTAssertEqual(try ProjectSlugEntry.decode(entry.bytes), entry)
            fastPathWithRow(entry) { XCTAssertEqual($0.projectSlugFacts, ProjectFacts(number: 0x0A0B_0C0D, archived: archived)) }
        }
        // A flag other than 0 or 1 is no row the codec writes: neither reader takes it (the reference then reports it).
        let odd: [UInt8] = [0, 0, 0, 1, 2]
        odd.withUnsafeBytes {
            XCTAssertNil(RowView($0).companySlugFacts)
            XCTAssertNil(RowView($0).projectSlugFacts)
        }
        XCTAssertThrowsError(try CompanySlugEntry.decode(odd))
        XCTAssertThrowsError(try ProjectSlugEntry.decode(odd))
        // The four-byte rows of registry code version 2 (the number alone) are of another shape: a ledger that has them is
        // rebuilt at its next read-write open; until then neither path reads them as facts.
        [0, 0, 0, 1].withUnsafeBytes { XCTAssertNil(RowView($0).companySlugFacts) }
        XCTAssertThrowsError(try CompanySlugEntry.decode([0, 0, 0, 1]))
    }

    func testCredentialLayoutIsWhereTheCodecWrites() throws {
        for type in CredentialType.allCases {
            let record = CredentialRecord(company: 0x0102_0304, type: type, scope: .readWrite, deleted: true, expiresAt: 0x1112_1314_1516_1718,
                                          number: 0x0506_0708, createdAt: 0x2122_2324_2526_2728, deletedAt: 0x3132_3334_3536_3738,
                                          createdBy: 0x090A_0B0C, rotatedAt: 0x4142_4344_4546_4748, publicID: "cred_ABC",
                                          name: "name", serviceUser: "svc-user", displayPrefix: "cxk_12", clientID: "cxc_9",
                                          redirectURIs: ["https://a.example/cb", "https://b.example/cb"],
                                          secretHashes: [fastPathDigest(1), fastPathDigest(2)])
            try fastPathWithRow(record) { row in
                typealias L = CredentialRecord.Layout
                XCTAssertEqual(row.u32(L.company), 0x0102_0304)
                XCTAssertEqual(row.u8(L.type), type.rawValue)
                XCTAssertEqual(row.u8(L.scope), Scope.readWrite.rawValue)
                XCTAssertEqual(row.u8(L.deleted), 1)
                XCTAssertEqual(row.i64(L.expiresAt), 0x1112_1314_1516_1718)
                XCTAssertEqual(row.u32(L.number), 0x0506_0708)
                XCTAssertEqual(row.i64(L.createdAt), 0x2122_2324_2526_2728)
                XCTAssertEqual(row.i64(L.deletedAt), 0x3132_3334_3536_3738)
                XCTAssertEqual(row.u32(L.createdBy), 0x090A_0B0C)
                XCTAssertEqual(row.i64(L.rotatedAt), 0x4142_4344_4546_4748)
                // The five strings, the URI count and URIs, the hash count and hashes, and nothing else.
                let afterStrings = try XCTUnwrap(row.skipStrings(L.stringCount, from: L.strings))
                XCTAssertEqual(row.u8(afterStrings), 2)
                let afterURIs = try XCTUnwrap(row.skipStrings(2, from: afterStrings + 1))
                XCTAssertEqual(row.u8(afterURIs), 2)
                XCTAssertEqual(afterURIs + 1 + 2 * L.hashSize, row.count)
            }
        }
        // No URIs, no hashes, not deleted, no expiry.
        let plain = CredentialRecord(company: 7, type: .staticKey, scope: .global, deleted: false, expiresAt: 0, number: 9, createdAt: 1,
                                     deletedAt: 0, createdBy: 2, rotatedAt: 0, publicID: "cred_X", name: "", serviceUser: "s",
                                     displayPrefix: "", clientID: "", redirectURIs: [], secretHashes: [])
        try fastPathWithRow(plain) { row in
            let afterStrings = try XCTUnwrap(row.skipStrings(CredentialRecord.Layout.stringCount, from: CredentialRecord.Layout.strings))
            XCTAssertEqual(row.u8(afterStrings), 0)
            XCTAssertEqual(row.u8(afterStrings + 1), 0)
            XCTAssertEqual(afterStrings + 2, row.count)
        }
    }

    func testSecretTokenAndRoleLayoutsAreWhereTheCodecsWrite() throws {
        let hash = fastPathDigest(0x40)
        for type in CredentialType.allCases {
            for deleted in [false, true] {
                let secret = SecretEntry(credential: 0x0102_0304, validUntil: 0x1112_1314_1516_1718, hash: hash, company: 0x0506_0708,
                                         type: type, scope: .global, deleted: deleted, expiresAt: 0x2122_2324_2526_2728,
                                         publicID: "cred_ABC", serviceUser: "svc-user")
                XCTAssertEqual(secret.bytes.count, SecretEntry.Layout.strings + 2 + 8 + 2 + 8)
                XCTAssertEqual([SecretEntry.Layout.company, SecretEntry.Layout.strings], [44, 59], "docs/FORMAT.md §6.2")
                XCTAssertEqual(try SecretEntry.decode(secret.bytes), secret)
                fastPathWithRow(secret) { row in
                    guard case .found(let facts) = row.secretFacts(matching: hash) else { return XCTFail("secret not read") }
                    XCTAssertEqual(facts, SecretFacts(validUntil: 0x1112_1314_1516_1718,
                                                      facts: CredentialFacts(company: 0x0506_0708, type: type, scope: .global,
                                                                             deleted: deleted, expiresAt: 0x2122_2324_2526_2728,
                                                                             number: 0x0102_0304, publicID: "cred_ABC",
                                                                             principal: type.isUserDelegated ? nil : "svc-user")))
                    XCTAssertEqual(row.u8(SecretEntry.Layout.deleted), deleted ? 1 : 0)
                    guard case .missing = row.secretFacts(matching: fastPathDigest(0x41)) else { return XCTFail("another hash matched") }
                }
            }
        }
        // A deleted flag other than 0 or 1 is no row the codec writes.
        var odd = SecretEntry(credential: 1, validUntil: 0, hash: hash, company: 2, type: .staticKey, scope: .read, deleted: false,
                              expiresAt: 0, publicID: "cred_a", serviceUser: "s").bytes
        odd[SecretEntry.Layout.deleted] = 2
        odd.withUnsafeBytes { raw in
            guard case .unusual = RowView(raw).secretFacts(matching: hash) else { return XCTFail("a flag of 2 was read") }
        }
        XCTAssertThrowsError(try SecretEntry.decode(odd))

        // A token's row: its own state, then its credential's facts and its principal (registry code version 5).
        for status in [TokenRecord.Status.active, .spent, .revoked] {
            for (type, deleted) in [(CredentialType.oauth, false), (.pkce, true), (.pkcePublic, false)] {
                let token = TokenRecord(kind: .refresh, status: status, credential: 0x0102_0304, user: 0x0506_0708,
                                        family: 0x2122_2324_2526_2728, expiresAt: 0x1112_1314_1516_1718, issuedAt: 0x3132_3334_3536_3738,
                                        hash: hash, approvedAt: 0x4142_4344_4546_4748, company: 0x5152_5354, type: type, scope: .read,
                                        credentialDeleted: deleted, credentialExpiresAt: 0x6162_6364_6566_6768, publicID: "cred_TOK",
                                        principal: "who@acme.example")
                typealias L = TokenRecord.Layout
                // The offsets docs/FORMAT.md §6.2 states.
                XCTAssertEqual([L.approvedAt, L.company, L.credentialDeleted, L.strings], [66, 74, 80, 89])
                XCTAssertEqual(token.bytes.count, L.strings + 2 + 8 + 2 + 16)
                XCTAssertEqual(try TokenRecord.decode(token.bytes), token)
                fastPathWithRow(token) { row in
                    guard case .found(let facts) = row.tokenFacts(matching: hash) else { return XCTFail("token not read") }
                    XCTAssertEqual(facts, TokenFacts(kind: .refresh, status: status, user: 0x0506_0708, expiresAt: 0x1112_1314_1516_1718,
                                                     approvedAt: 0x4142_4344_4546_4748,
                                                     facts: CredentialFacts(company: 0x5152_5354, type: type, scope: .read, deleted: deleted,
                                                                            expiresAt: 0x6162_6364_6566_6768, number: 0x0102_0304,
                                                                            publicID: "cred_TOK", principal: "who@acme.example")))
                    XCTAssertEqual(row.u32(L.family).map { UInt64($0) << 32 | UInt64(row.u32(L.family + 4)!) }, 0x2122_2324_2526_2728)
                    XCTAssertEqual(row.i64(L.issuedAt), 0x3132_3334_3536_3738)
                    XCTAssertEqual(row.u8(L.credentialDeleted), deleted ? 1 : 0)
                    guard case .missing = row.tokenFacts(matching: fastPathDigest(0x41)) else { return XCTFail("another hash matched") }
                }
            }
        }
        // A deleted flag other than 0 or 1 is no row the codec writes.
        var oddToken = TokenRecord(kind: .access, status: .active, credential: 1, user: 0, family: 3, expiresAt: 4, issuedAt: 5, hash: hash,
                                   approvedAt: 6, company: 7, type: .oauth, scope: .read, credentialDeleted: false, credentialExpiresAt: 0,
                                   publicID: "cred_a", principal: "s").bytes
        oddToken[TokenRecord.Layout.credentialDeleted] = 2
        oddToken.withUnsafeBytes { raw in
            guard case .unusual = RowView(raw).tokenFacts(matching: hash) else { return XCTFail("a flag of 2 was read") }
        }
        XCTAssertThrowsError(try TokenRecord.decode(oddToken))

        for role in ProjectRole.allCases {
            let grant = RoleGrant(role: role, since: 0x1112_1314_1516_1718)
            XCTAssertEqual(grant.bytes.count, RoleGrant.Layout.size)
            fastPathWithRow(grant) { XCTAssertEqual($0.grantFacts, RoleFacts(role: role, since: 0x1112_1314_1516_1718)) }
        }
        for role in [CompanyRole.member, .admin, .removed] {
            let member = MemberRecord(role: role, since: 0x2122_2324_2526_2728)
            XCTAssertEqual(member.bytes.count, MemberRecord.Layout.size)
            fastPathWithRow(member) { XCTAssertEqual($0.memberFacts, RoleFacts(role: role, since: 0x2122_2324_2526_2728)) }
        }
        XCTAssertEqual(Keys.emailByUser(0x0102_0304), [Keys.emailByUserTag, 1, 2, 3, 4])
    }

    /// A row one byte longer or shorter than its codec writes is not read in place (the reference path decides and
    /// reports it).
    func testRowsOfAnotherShapeAreNotReadInPlace() {
        let hash = fastPathDigest(3)
        let rows: [(String, [UInt8], (RowView) -> Bool)] = [
            ("company slug", CompanySlugEntry(company: 1, apiEnabled: true).bytes, { $0.companySlugFacts != nil }),
            ("project slug", ProjectSlugEntry(project: 2, archived: false).bytes, { $0.projectSlugFacts != nil }),
            ("secret", SecretEntry(credential: 1, validUntil: 0, hash: hash, company: 2, type: .staticKey, scope: .read, deleted: false,
                                   expiresAt: 0, publicID: "cred_a", serviceUser: "s").bytes,
             { if case .found = $0.secretFacts(matching: hash) { return true } else { return false } }),
            ("token", TokenRecord(kind: .access, status: .active, credential: 1, user: 2, family: 3, expiresAt: 4, issuedAt: 5, hash: hash,
                                  approvedAt: 6, company: 7, type: .pkce, scope: .read, credentialDeleted: false, credentialExpiresAt: 0,
                                  publicID: "cred_a", principal: "u@a.example").bytes,
             { if case .found = $0.tokenFacts(matching: hash) { return true } else { return false } }),
            ("member", MemberRecord(role: .admin, since: 1).bytes, { $0.memberFacts != nil }),
            ("grant", RoleGrant(role: .viewer, since: 1).bytes, { $0.grantFacts != nil }),
        ]
        for (name, bytes, reads) in rows {
            XCTAssertTrue(bytes.withUnsafeBytes { reads(RowView($0)) }, "\(name): the codec's own row")
            XCTAssertFalse((bytes + [0]).withUnsafeBytes { reads(RowView($0)) }, "\(name): one byte more")
            XCTAssertFalse(bytes.dropLast().withUnsafeBytes { reads(RowView($0)) }, "\(name): one byte less")
        }
    }

    // MARK: - Which path decides

    func testOrdinaryRequestsTakeTheInPlacePath() throws {
        let t = try TestLedger("issue12-fastpath")
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice)
        let oauth = try t.create(.oauth, .read)
        try t.ledger.administration.grantAccess(World.acme, credential: oauth.id, project: World.bridge, role: .editor, as: World.alice)
        let global = try t.create(.staticKey, .global)
        let pkce = try t.create(.pkce, .readWrite)
        try t.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        let betaKey = try t.create(.staticKey, .readWrite, name: "beta key", company: World.beta, as: World.bea)
        let deleted = try t.create(.staticKey, .readWrite, name: "deleted key")
        let deletedHeader = try t.header(for: deleted)
        try t.ledger.administration.deleteCredential(World.acme, credential: deleted.id, as: World.alice)

        let keyHeader = try t.header(for: key), oauthHeader = try t.header(for: oauth), pkceHeader = try t.header(for: pkce)
        let cases: [(header: String, company: String, project: String, op: CredLedgerCore.Operation, code: String)] = [
            (keyHeader, World.acme, World.bridge, .write, "allowed"),
            (keyHeader, World.acme, World.tunnel, .read, "project_access_missing"),
            (keyHeader, World.acme, "nope", .read, "unknown_project"),
            (keyHeader, World.beta, World.betaProject, .read, "other_company"),
            (try t.header(for: global), World.acme, World.tunnel, .write, "allowed"),
            (oauthHeader, World.acme, World.bridge, .read, "allowed"),
            (oauthHeader, World.acme, World.bridge, .write, "read_only_scope"),
            (pkceHeader, World.acme, World.bridge, .write, "allowed"),
            (pkceHeader, World.acme, World.tunnel, .read, "user_not_member"),
            (try t.header(for: betaKey), World.beta, World.betaProject, .read, "project_access_missing"),
            (deletedHeader, World.acme, World.bridge, .read, "revoked"),
            (try "Apikey " + SecretFormat.generate(.apiKey, using: SeededRandom(seed: 5)), World.acme, World.bridge, .read, "unknown_credential"),
            ("Basic Zm9vOmJhcg==", World.acme, World.bridge, .read, "malformed_header"),
        ]
        for c in cases {
            let (decision, inPlace) = try t.ledger.access.authorizeReportingPath(header: c.header, company: c.company, project: c.project,
                                                                          operation: c.op)
            XCTAssertTrue(inPlace, "\(c.code) at \(c.company)/\(c.project): the reference path decided")
            if c.code != "malformed_header" { XCTAssertEqual(decision.code, c.code, "\(c.company)/\(c.project)") }
            let both = try t.ledger.access.decisionsOfBothPaths(header: c.header, company: c.company, project: c.project, operation: c.op)
            XCTAssertEqual(both.inPlace, both.reference)
        }

        // An unknown company is the reference path's: it finds the secret's owner to record the attempt there.
        let (unknown, inPlace) = try t.ledger.access.authorizeReportingPath(header: keyHeader, company: "nope", project: World.bridge,
                                                                     operation: .read)
        XCTAssertFalse(inPlace)
        XCTAssertEqual(unknown.code, "unknown_company")
        XCTAssertEqual(unknown.credentialID, key.id)
    }

    /// Project slugs of every length around the in-place key buffer (64 bytes: the company number and up to 60 bytes of
    /// slug on the stack, longer ones through a copy), up to the longest allowed: each decided in place, as the
    /// reference decides; unknown and non-ASCII ones of those lengths too.
    func testSlugsOfEveryLengthAroundTheStackKeyAreDecidedInPlace() throws {
        let t = try TestLedger("issue12-slug-lengths")
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        let header = try t.header(for: key)
        for length in [1, 15, 16, 58, 59, 60, 61, 62, 63] {
            let slug = String(repeating: "p", count: length - 1) + "\(length % 10)"
            try t.ledger.administration.createProject(World.acme, project: slug, as: World.alice)
            try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: slug, role: .editor, as: World.alice)
            let unknown = String(repeating: "q", count: length)
            let accented = String(repeating: "é", count: (length + 1) / 2)
            for (project, code) in [(slug, "allowed"), (unknown, "unknown_project"), (accented, "unknown_project")] {
                let (decision, inPlace) = try t.ledger.access.authorizeReportingPath(header: header, company: World.acme, project: project,
                                                                              operation: .write)
                XCTAssertTrue(inPlace, "project slug of \(project.utf8.count) bytes: the reference path decided")
                XCTAssertEqual(decision.code, code, "project slug of \(project.utf8.count) bytes")
                let both = try t.ledger.access.decisionsOfBothPaths(header: header, company: World.acme, project: project, operation: .write)
                XCTAssertEqual(both.inPlace, both.reference, "project slug of \(project.utf8.count) bytes")
            }
        }
        // A company slug is the whole key: every allowed length fits the stack buffer; an unknown one is the reference's.
        let (unknown, inPlace) = try t.ledger.access.authorizeReportingPath(header: header, company: String(repeating: "c", count: 63),
                                                                     project: World.bridge, operation: .read)
        XCTAssertFalse(inPlace)
        XCTAssertEqual(unknown.code, "unknown_company")
    }

    // MARK: - One rule sequence

    /// Facts made up by the test: the rule function is the same whatever reads them.
    private struct StubFacts: AuthorizationFacts {
        var company = CompanyFacts(number: 1, apiEnabled: true)
        var project: ProjectFacts? = ProjectFacts(number: 2, archived: false)
        /// The key's row, by its end (nil: no row); its facts are `credential`'s (the row repeats them).
        var secretValidUntil: Timestamp? = 0
        /// The token's row: its state; its facts are `credential`'s (the row repeats them, and the principal).
        var token: (kind: TokenRecord.Kind, status: TokenRecord.Status, user: UInt32, expiresAt: Timestamp)? = nil
        var credential = CredentialFacts(company: 1, type: .staticKey, scope: .readWrite, deleted: false, expiresAt: 0, number: 3,
                                         publicID: "cred_stub", principal: "svc")
        var access: RoleFacts<ProjectRole>? = RoleFacts(role: .editor, since: 0)
        var member: RoleFacts<CompanyRole>? = RoleFacts(role: .member, since: 0)
        var userRole: RoleFacts<ProjectRole>? = RoleFacts(role: .editor, since: 0)

        func company(slug: String) throws -> CompanyFacts? { company }
        func project(company: UInt32, slug: String) throws -> ProjectFacts? { project }
        func secret(hash: SHA256Digest) throws -> SecretFacts? {
            secretValidUntil.map { SecretFacts(validUntil: $0, facts: credential) }
        }
        func token(hash: SHA256Digest) throws -> TokenFacts? {
            token.map { TokenFacts(kind: $0.kind, status: $0.status, user: $0.user, expiresAt: $0.expiresAt, approvedAt: 0, facts: credential) }
        }
        func member(company: UInt32, user: UInt32) throws -> RoleFacts<CompanyRole>? { member }
        func userRole(user: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>? { userRole }
        func access(credential: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>? { access }
    }

    /// deleted → secret problem → wrong type → expired → other company → module → project → role, each reason
    /// reported only when every earlier check passes.
    func testOneRuleSequenceOverAnyFacts() throws {
        let parsed = AuthorizationHeader.parse(try "Apikey " + SecretFormat.generate(.apiKey, using: SeededRandom(seed: 9)))
        let now: Timestamp = 1_000
        func code(_ facts: StubFacts, _ op: CredLedgerCore.Operation = .write) throws -> String {
            try Ledger.decide(parsed, company: "c", project: "p", operation: op, now: now, facts: facts).code
        }
        var facts = StubFacts()
        XCTAssertEqual(try code(facts), "allowed")
        facts.access = RoleFacts(role: .viewer, since: 0)
        XCTAssertEqual(try code(facts), "read_only_role")
        XCTAssertEqual(try code(facts, .read), "allowed")
        facts.access = nil
        XCTAssertEqual(try code(facts), "project_access_missing")
        facts.project?.archived = true
        XCTAssertEqual(try code(facts), "project_archived")
        facts.project = nil
        XCTAssertEqual(try code(facts), "unknown_project")
        facts.company.apiEnabled = false
        XCTAssertEqual(try code(facts), "api_module_disabled")
        facts.credential.company = 7
        XCTAssertEqual(try code(facts), "other_company")
        facts.credential.expiresAt = now
        XCTAssertEqual(try code(facts), "expired")
        facts.credential.type = .oauth
        XCTAssertEqual(try code(facts), "wrong_credential_type")
        facts.secretValidUntil = now
        XCTAssertEqual(try code(facts), "secret_superseded")
        facts.credential.deleted = true
        XCTAssertEqual(try code(facts), "revoked")
        facts.secretValidUntil = nil
        XCTAssertEqual(try code(facts), "unknown_credential")
    }

    /// A Bearer token is decided from the facts its row carries: its own state after its credential's, and for a
    /// user-delegated credential the principal the row names (no `credentials` or `users` row is read).
    func testOneRuleSequenceForTokensOverAnyFacts() throws {
        let parsed = AuthorizationHeader.parse(try "Bearer " + SecretFormat.generate(.accessToken, using: SeededRandom(seed: 10)))
        let now: Timestamp = 1_000
        func decide(_ facts: StubFacts, _ op: CredLedgerCore.Operation = .write) throws -> Decision {
            try Ledger.decide(parsed, company: "c", project: "p", operation: op, now: now, facts: facts)
        }
        var facts = StubFacts()
        facts.secretValidUntil = nil
        facts.credential = CredentialFacts(company: 1, type: .pkce, scope: .readWrite, deleted: false, expiresAt: 0, number: 3,
                                           publicID: "cred_app", principal: "bob@acme.example")
        facts.token = (.access, .active, 5, now + 1)
        var decision = try decide(facts)
        XCTAssertEqual(decision.code, "allowed")
        XCTAssertEqual(decision.principal, "bob@acme.example")
        XCTAssertEqual(decision.credentialID, "cred_app")
        facts.userRole = RoleFacts(role: .viewer, since: 0)
        XCTAssertEqual(try decide(facts).code, "read_only_role")
        facts.member = nil
        XCTAssertEqual(try decide(facts).code, "user_not_member")
        facts.token?.expiresAt = now
        XCTAssertEqual(try decide(facts).code, "token_expired")
        facts.token?.status = .revoked
        XCTAssertEqual(try decide(facts).code, "token_revoked")
        facts.credential.deleted = true
        XCTAssertEqual(try decide(facts).code, "revoked")
        facts.token?.kind = .refresh
        XCTAssertEqual(try decide(facts).code, "unknown_credential")
        // A client-credentials token acts as its service user, with the credential's grants.
        facts.credential = CredentialFacts(company: 1, type: .oauth, scope: .read, deleted: false, expiresAt: 0, number: 4,
                                           publicID: "cred_svc", principal: "svc-reporting")
        facts.token = (.access, .active, 0, now + 1)
        decision = try decide(facts, .read)
        XCTAssertEqual(decision.code, "allowed")
        XCTAssertEqual(decision.principal, "svc-reporting")
        XCTAssertEqual(try decide(facts).code, "read_only_scope")
    }

    // MARK: - Agreement on random histories

    func testInPlaceAgreesWithTheReferenceOnRandomHistories() throws {
        var inPlace = 0, total = 0, mismatches: [String] = [], codes: Set<String> = []
        for seed: UInt64 in [12, 1212, 121_212] {
            let history = try FastPathHistory(seed: seed)
            defer { history.t.remove() }
            try history.run(steps: 300) { header, company, project, op in
                let both = try history.t.ledger.access.decisionsOfBothPaths(header: header, company: company, project: project, operation: op)
                total += 1
                guard let fast = both.inPlace else { return }
                inPlace += 1
                codes.insert(fast.code)
                if fast != both.reference { mismatches.append("seed \(seed) \(company)/\(project) \(op): \(fast) ≠ \(both.reference)") }
            }
        }
        XCTAssertEqual(mismatches, [])
        // The histories reach every rule of the sequence on the in-place path.
        // (`wrong_credential_type` needs an API-key-shaped secret of another type, which the commands never issue:
        // `testOneRuleSequenceOverAnyFacts` covers it.)
        let rules: Set = ["allowed", "unknown_credential", "revoked", "secret_superseded", "expired",
                          "other_company", "api_module_disabled", "unknown_project", "project_archived", "token_revoked",
                          "token_expired", "project_access_missing", "read_only_scope", "read_only_role", "user_not_member"]
        XCTAssertEqual(rules.subtracting(codes), [], "rules never decided in place")
        XCTAssertGreaterThan(inPlace, 0)
        // Only unknown companies (about 5 % of the requests here) go to the reference path.
        XCTAssertGreaterThan(Double(inPlace), 0.85 * Double(total), "\(inPlace) of \(total) decided in place")
        print("Issue12FastPathTests: \(total) decisions, \(inPlace) in place, \(mismatches.count) mismatches; codes \(codes.sorted())")
    }
}

/// A seeded history of admin changes, rotations, deletions, OAuth flows and clock jumps across three companies,
/// asking `probe` many random authorization questions along the way.
private final class FastPathHistory {
    typealias Probe = (String, String, String, CredLedgerCore.Operation) throws -> Void

    let t: TestLedger
    var dice: Dice
    let companies = ["alpha", "bravo", "charlie"]
    var projects: [String: [String]] = [:]
    var credentials: [(issued: IssuedCredential, company: String, clientSecret: String?)] = []
    /// Headers issued so far, and the company of their credential.
    var headers: [(header: String, company: String)] = []

    init(seed: UInt64) throws {
        t = try TestLedger("issue12-history-\(seed)", seed: seed)
        dice = Dice(seed: seed)
    }

    private func admin(_ company: String) -> String { "root@\(company).example" }
    private func users(_ company: String) -> [String] { (1...3).map { "u\($0)@\(company).example" } + [admin(company)] }

    /// Runs `body`, ignoring refusals: random commands are often invalid, which is fine here.
    private func attempt(_ body: () throws -> Void) {
        do { try body() } catch is LedgerError {} catch is OAuthError {} catch { XCTFail("unexpected error \(error)") }
    }

    func run(steps: Int, probe: Probe) throws {
        let ledger = t.ledger!
        for company in companies {
            try ledger.administration.registerCompany(company, admin: admin(company), mailDomain: "\(company).example")
            try ledger.administration.setAPIModule(company, enabled: true, as: admin(company))
            try ledger.administration.createProject(company, project: "p0", as: admin(company))
            for user in users(company).prefix(3) { try ledger.administration.setMemberRole(company, email: user, role: .member, as: admin(company)) }
            projects[company] = ["p0"]
        }
        for _ in 0..<steps {
            step(ledger)
            for _ in 0..<6 { try ask(probe) }
        }
    }

    private func step(_ ledger: Ledger) {
        let company = dice.pick(companies)
        let actor = admin(company)
        switch dice.int(15) {
        case 0, 1, 2:
            let type = dice.pick(CredentialType.allCases)
            let expires: Timestamp? = dice.chance(20) ? t.clock.now() + Timestamp(dice.int(3)) * 60_000_000 : nil
            attempt {
                let issued = try ledger.administration.createCredential(company, NewCredential(name: "c\(credentials.count)", type: type, scope: dice.pick(Scope.allCases),
                                                                               redirectURIs: type.isUserDelegated ? [World.redirect] : [],
                                                                               expiresAt: expires), as: actor)
                credentials.append((issued, company, issued.clientSecret))
                if let key = issued.secret { headers.append(("Apikey " + key, company)) }
                // A client secret presented as an API key (refused by its prefix).
                if let secret = issued.clientSecret, dice.chance(30) { headers.append(("Apikey " + secret, company)) }
            }
        case 3, 4:
            guard let c = credentials.randomElement(using: &dice) else { return }
            let target = dice.chance(90) ? c.company : company
            attempt {
                try ledger.administration.grantAccess(target, credential: c.issued.id, project: dice.pick(projects[target]!), role: dice.pick(ProjectRole.allCases),
                                       as: admin(target))
            }
        case 5:
            guard let c = credentials.randomElement(using: &dice) else { return }
            attempt { try ledger.administration.revokeAccess(c.company, credential: c.issued.id, project: dice.pick(projects[c.company]!), as: admin(c.company)) }
        case 6:
            guard !credentials.isEmpty else { return }
            let i = dice.int(credentials.count)
            let c = credentials[i]
            attempt {
                let issued = try ledger.administration.rotateSecret(c.company, credential: c.issued.id, grace: dice.pick([Int64(0), 60_000_000]), as: admin(c.company))
                if let key = issued.secret { headers.append(("Apikey " + key, c.company)) }
                if let secret = issued.clientSecret { credentials[i].clientSecret = secret }
            }
        case 7:
            guard let c = credentials.randomElement(using: &dice), dice.chance(50) else { return }
            attempt { try ledger.administration.deleteCredential(c.company, credential: c.issued.id, as: admin(c.company)) }
        case 8:
            let slug = "p\(dice.int(4))"
            attempt {
                try ledger.administration.createProject(company, project: slug, as: actor)
                projects[company]!.append(slug)
            }
        case 9:
            if dice.chance(30) { attempt { try ledger.administration.archiveProject(company, project: dice.pick(projects[company]!), as: actor) } }
        case 10:
            attempt { try ledger.administration.setMemberRole(company, email: dice.pick(Array(users(company).prefix(3))),
                                               role: dice.pick([CompanyRole.member, .admin, .removed]), as: actor) }
            attempt {
                try ledger.administration.setUserProjectRole(company, project: dice.pick(projects[company]!), email: dice.pick(users(company)),
                                              role: dice.chance(25) ? nil : dice.pick(ProjectRole.allCases), as: actor)
            }
        case 11:
            attempt { try ledger.administration.setAPIModule(company, enabled: dice.chance(70), as: actor) }
        case 12:
            guard let c = credentials.filter({ $0.issued.type == .oauth }).randomElement(using: &dice), let secret = c.clientSecret else { return }
            attempt {
                headers.append(("Bearer " + (try ledger.oauth.clientCredentialsToken(clientID: c.issued.clientID!, clientSecret: secret).accessToken),
                                c.company))
            }
        case 13:
            guard let c = credentials.filter({ $0.issued.type.isUserDelegated }).randomElement(using: &dice) else { return }
            attempt {
                let grant = try ledger.oauth.approveClient(company: c.company, clientID: c.issued.clientID!, user: dice.pick(users(c.company)),
                                                 redirectURI: World.redirect, codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256",
                                                 state: nil)
                let tokens = try ledger.oauth.exchangeCode(clientID: c.issued.clientID!, clientSecret: c.clientSecret, code: grant.code,
                                                     codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
                headers.append(("Bearer " + tokens.accessToken, c.company))
                if dice.chance(20), let refresh = tokens.refreshToken {
                    _ = try ledger.oauth.revokeToken(dice.chance(50) ? refresh : tokens.accessToken, clientID: c.issued.clientID!,
                                               clientSecret: c.clientSecret)
                }
            }
        default:
            t.clock.advance(seconds: dice.pick([1.0, 30, 61, 3_700]))
        }
    }

    private func ask(_ probe: Probe) throws {
        var header: String
        var owner: String?
        if !headers.isEmpty, dice.chance(90) {
            (header, owner) = dice.pick(headers)
        } else {
            header = dice.pick(["", "Basic Zm9vOmJhcg==", "Apikey cxk_short", "Bearer " + String(repeating: "x", count: 300),
                                try "Apikey " + SecretFormat.generate(.apiKey, using: SeededRandom(seed: dice.next()))])
        }
        if dice.chance(3) { header = header.lowercased() }
        // Mostly the credential's own company; sometimes another one or none.
        let company = dice.chance(5) ? "nope" : dice.chance(70) ? owner ?? dice.pick(companies) : dice.pick(companies)
        let project = dice.chance(10) ? "nope" : dice.pick(projects[company] ?? ["p0"])
        try probe(header, company, project, dice.chance(50) ? .read : .write)
    }
}

extension RowView {
    /// The offset after `count` consecutive strings starting at `offset` (the layout tests walk records with it).
    func skipStrings(_ count: Int, from offset: Int) -> Int? {
        var at = offset
        for _ in 0..<count {
            guard let s = asciiString(at) else { return nil }
            at = s.end
        }
        return at
    }
}
