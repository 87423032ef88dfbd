@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import LMDB
import XCTest

/// Issue 15, fewer lookups per decision: a company's API flag and a project's archived flag are repeated in their slug
/// rows (registry code version 3), a key's credential facts in its `secrets` row (version 4), and a token's credential
/// facts and principal in its `tokens` row (version 5), so an API-key or client-credentials decision reads 4 rows
/// instead of 7 and a PKCE token's 5 instead of 9. The rows follow every event that changes what they repeat, both
/// paths read them, an older registry is rebuilt at open, and a damaged row is reported.
final class Issue15SlugFactsTests: XCTestCase {
    private func rawRow(_ t: TestLedger, _ table: Table, _ key: [UInt8]) throws -> [UInt8]? {
        try t.ledger.environment.read { txn in try txn.get(t.ledger.schema.database(table), key) }
    }

    private func putRaw(_ t: TestLedger, _ table: Table, _ key: [UInt8], _ value: [UInt8]) throws {
        try t.ledger.environment.write { txn in try txn.put(t.ledger.schema.database(table), key, value) }
    }

    /// The slug rows, as stored, next to the records they repeat.
    private func assertSlugRowsAgree(_ t: TestLedger, file: StaticString = #filePath, line: UInt = #line) throws {
        try t.ledger.access.withState { state in
            for slug in [World.acme, World.beta] {
                let company = try XCTUnwrap(state.company(slug: slug), file: file, line: line)
                XCTAssertEqual(try state.store.get(.companySlugs, Keys.companySlug(slug)),
                               CompanySlugEntry(company: company.number, apiEnabled: company.apiEnabled).bytes, slug, file: file, line: line)
                for project in try state.projects(company: company.number) {
                    XCTAssertEqual(try state.store.get(.projectSlugs, Keys.projectSlug(company.number, project.slug)),
                                   ProjectSlugEntry(project: project.number, archived: project.archived).bytes,
                                   "\(slug)/\(project.slug)", file: file, line: line)
                }
            }
        }
    }

    /// `header` at acme/`project`: decided in place, equal to the reference, with `code`.
    private func assertDecision(_ t: TestLedger, _ header: String, _ project: String, _ code: String,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let (decision, inPlace) = try t.ledger.access.authorizeReportingPath(header: header, company: World.acme, project: project,
                                                                         operation: .read)
        XCTAssertTrue(inPlace, "\(code): the reference path decided", file: file, line: line)
        XCTAssertEqual(decision.code, code, file: file, line: line)
        let both = try t.ledger.access.decisionsOfBothPaths(header: header, company: World.acme, project: project, operation: .read)
        XCTAssertEqual(both.inPlace, both.reference, file: file, line: line)
    }

    func testSlugRowsFollowTheModuleAndTheArchive() throws {
        let t = try TestLedger("issue15-slug-rows")
        defer { t.remove() }
        try t.makeWorld(enableAPI: false)
        try assertSlugRowsAgree(t)
        try t.ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        try assertSlugRowsAgree(t)
        let key = try t.create(.staticKey, .read)
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice)
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.tunnel, role: .viewer, as: World.alice)
        let header = try t.header(for: key)
        try assertDecision(t, header, World.bridge, "allowed")

        try t.ledger.administration.setAPIModule(World.acme, enabled: false, as: World.alice)
        try assertSlugRowsAgree(t)
        try assertDecision(t, header, World.bridge, "api_module_disabled")

        try t.ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        try t.ledger.administration.archiveProject(World.acme, project: World.bridge, as: World.alice)
        try assertSlugRowsAgree(t)
        try assertDecision(t, header, World.bridge, "project_archived")
        try assertDecision(t, header, World.tunnel, "allowed")

        try t.ledger.administration.setAPIModule(World.acme, enabled: false, as: World.alice)
        try assertSlugRowsAgree(t)
        try assertDecision(t, header, World.tunnel, "api_module_disabled")
        // Beta's rows were never touched by acme's events.
        try t.ledger.access.withState { state in
            XCTAssertEqual(try state.companyEntry(slug: World.beta)?.apiEnabled, false)
        }

        // What the live projection holds is what a rebuild from the log makes.
        let report = try t.ledger.audit.verify()
        XCTAssertTrue(report.ok, "\(report)")
    }

    /// The `secrets` rows of a key, as stored, next to its credential record.
    private func assertSecretRowsAgree(_ t: TestLedger, _ id: String, count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        try t.ledger.access.withState { state in
            let record = try XCTUnwrap(state.credential(publicID: id), file: file, line: line)
            XCTAssertEqual(record.secretHashes.count, count, file: file, line: line)
            for hash in record.secretHashes {
                let entry = try XCTUnwrap(state.secret(hash: hash), file: file, line: line)
                XCTAssertEqual(entry, SecretEntry(of: record, validUntil: entry.validUntil, hash: hash), file: file, line: line)
            }
        }
    }

    func testSecretRowsFollowRotationAndDeletion() throws {
        let t = try TestLedger("issue15-secret-rows")
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice)
        let first = try t.header(for: key)
        try assertSecretRowsAgree(t, key.id, count: 1)
        try assertDecision(t, first, World.bridge, "allowed")

        // Rotated with a grace period: both secrets' rows carry the facts; the old one still works until its end.
        let rotated = try t.ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 3_600, as: World.alice)
        let second = try t.header(for: rotated)
        try assertSecretRowsAgree(t, key.id, count: 2)
        try assertDecision(t, first, World.bridge, "allowed")
        try assertDecision(t, second, World.bridge, "allowed")

        // Deleted: every row of its secrets says so, and both secrets answer `revoked` in place.
        try t.ledger.administration.deleteCredential(World.acme, credential: key.id, as: World.alice)
        try assertSecretRowsAgree(t, key.id, count: 2)
        try t.ledger.access.withState { state in
            let record = try XCTUnwrap(state.credential(publicID: key.id))
            for hash in record.secretHashes { XCTAssertEqual(try state.secret(hash: hash)?.deleted, true) }
        }
        try assertDecision(t, first, World.bridge, "revoked")
        try assertDecision(t, second, World.bridge, "revoked")

        // A key of another company is decided from its row's facts; an OAuth client's secret row carries its facts too.
        let betaKey = try t.create(.staticKey, .readWrite, name: "beta key", company: World.beta, as: World.bea)
        try assertDecision(t, try t.header(for: betaKey), World.bridge, "other_company")
        let client = try t.create(.oauth, .read)
        try assertSecretRowsAgree(t, client.id, count: 1)
        XCTAssertEqual(try t.ledger.oauth.clientCredentialsToken(clientID: try XCTUnwrap(client.clientID),
                                                                 clientSecret: try XCTUnwrap(client.clientSecret)).tokenType.lowercased(), "bearer")

        let report = try t.ledger.audit.verify()
        XCTAssertTrue(report.ok, "\(report)")
    }

    /// The `tokens` rows of a credential, as stored, next to its record and its tokens' users: the facts repeated, the
    /// principal the service user or the approving user's email.
    private func assertTokenRowsAgree(_ t: TestLedger, _ id: String, count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        try t.ledger.access.withState { state in
            let record = try XCTUnwrap(state.credential(publicID: id), file: file, line: line)
            var rows = 0
            for family in try state.families(credential: record.number) {
                for token in try state.tokens(family: family) {
                    let principal = record.type.isUserDelegated ? try XCTUnwrap(state.email(user: token.user)) : record.serviceUser
                    XCTAssertEqual(token, TokenRecord(kind: token.kind, status: token.status, of: record, user: token.user,
                                                      principal: principal, family: token.family, expiresAt: token.expiresAt,
                                                      issuedAt: token.issuedAt, hash: token.hash, approvedAt: token.approvedAt),
                                   file: file, line: line)
                    rows += 1
                }
            }
            XCTAssertEqual(rows, count, "token rows of \(id)", file: file, line: line)
        }
    }

    func testTokenRowsFollowRefreshAndDeletion() throws {
        let t = try TestLedger("issue15-token-rows")
        defer { t.remove() }
        try t.makeWorld()
        try t.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        let client = try t.create(.oauth, .readWrite)
        try t.ledger.administration.grantAccess(World.acme, credential: client.id, project: World.bridge, role: .viewer, as: World.alice)
        let app = try t.create(.pkce, .readWrite)

        // A client-credentials token acts as its service user; a PKCE token as the user who approved it.
        let service = try t.header(for: client)
        let tokens = try t.pkceTokens(app, user: World.bob)
        let delegated = "Bearer " + tokens.accessToken
        try assertTokenRowsAgree(t, client.id, count: 1)
        try assertTokenRowsAgree(t, app.id, count: 2)
        try assertDecision(t, service, World.bridge, "allowed")
        try assertDecision(t, delegated, World.bridge, "allowed")
        let decided = try t.ledger.access.authorize(header: delegated, company: World.acme, project: World.bridge, operation: .write)
        XCTAssertEqual(decided.principal, World.bob)
        XCTAssertEqual(decided.credentialID, app.id)
        let serviceRecord = try XCTUnwrap(try t.ledger.access.withState { try $0.credential(publicID: client.id) })
        XCTAssertEqual(try t.ledger.access.authorize(header: service, company: World.acme, project: World.bridge, operation: .read).principal,
                       serviceRecord.serviceUser)

        // A refresh's new pair repeats the spent token's facts and principal.
        let renewed = try t.ledger.oauth.refresh(clientID: try XCTUnwrap(app.clientID), clientSecret: app.clientSecret,
                                                 refreshToken: try XCTUnwrap(tokens.refreshToken))
        try assertTokenRowsAgree(t, app.id, count: 4)
        try assertDecision(t, "Bearer " + renewed.accessToken, World.bridge, "allowed")

        // Deleted: every token row of the credential says so, and its tokens answer `revoked` in place, active or not.
        try t.ledger.administration.deleteCredential(World.acme, credential: app.id, as: World.alice)
        try assertTokenRowsAgree(t, app.id, count: 4)
        try assertDecision(t, delegated, World.bridge, "revoked")
        try assertDecision(t, "Bearer " + renewed.accessToken, World.bridge, "revoked")
        // The other credential's rows were not touched.
        try assertTokenRowsAgree(t, client.id, count: 1)
        try assertDecision(t, service, World.bridge, "allowed")
        try t.ledger.administration.deleteCredential(World.acme, credential: client.id, as: World.alice)
        try assertDecision(t, service, World.bridge, "revoked")

        let report = try t.ledger.audit.verify()
        XCTAssertTrue(report.ok, "\(report)")
    }

    /// A ledger last written by an older registry code version (slug rows of the number alone, `secrets` and `tokens`
    /// rows without their credential's facts) is rebuilt at its next read-write open; a read-only open refuses it rather
    /// than read rows of another shape.
    func testAnOlderRegistryIsRebuiltAtOpen() throws {
        let t = try TestLedger("issue15-old-registry")
        defer { t.remove() }
        try t.makeWorld()
        try t.ledger.administration.archiveProject(World.acme, project: World.tunnel, as: World.alice)
        let key = try t.create(.staticKey, .read)
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice)
        let header = try t.header(for: key)
        let client = try t.create(.oauth, .read)
        try t.ledger.administration.grantAccess(World.acme, credential: client.id, project: World.bridge, role: .viewer, as: World.alice)
        let token = try t.header(for: client)

        // What version 2 wrote: the number alone, and its code version in the registry's checkpoint.
        let acme = try XCTUnwrap(try t.ledger.access.withState { try $0.company(slug: World.acme) })
        let tunnel = try XCTUnwrap(try t.ledger.access.withState { try $0.project(company: acme.number, slug: World.tunnel) })
        try putRaw(t, .companySlugs, Keys.companySlug(World.acme), acme.number.bigEndianBytes)
        try putRaw(t, .projectSlugs, Keys.projectSlug(acme.number, World.tunnel), tunnel.number.bigEndianBytes)
        // … and the key's `secrets` row of 44 bytes: credential, valid_until, hash (no facts).
        let record = try XCTUnwrap(try t.ledger.access.withState { try $0.credential(publicID: key.id) })
        let hash = try XCTUnwrap(record.secretHashes.first)
        try putRaw(t, .secrets, Keys.hashPrefix(hash), record.number.bigEndianBytes + Int64(0).bigEndianBytes + hash.bytes)
        // … and the token's row of 74 bytes, as versions 2–4 wrote it (up to the approval time).
        let tokenHash = SecretFormat.hash(String(token.dropFirst("Bearer ".count)))
        let tokenRow = try XCTUnwrap(try rawRow(t, .tokens, Keys.hashPrefix(tokenHash)))
        try putRaw(t, .tokens, Keys.hashPrefix(tokenHash), Array(tokenRow.prefix(TokenRecord.Layout.company)))
        try t.ledger.environment.write { txn in
            let meta = t.ledger.schema.meta, checkpointKey = Meta.projectionKey(.registry)
            var checkpoint = try XCTUnwrap(try txn.get(meta, checkpointKey))
            checkpoint.replaceSubrange(0..<4, with: UInt32(2).bigEndianBytes)
            try txn.put(meta, checkpointKey, checkpoint)
        }

        XCTAssertThrowsError(try t.reopen(readOnly: true)) { error in
            XCTAssertEqual((error as? LedgerError)?.code, "stale_projections", "\(error)")
        }
        try t.reopen()
        try assertSlugRowsAgree(t)
        try assertSecretRowsAgree(t, key.id, count: 1)
        try assertTokenRowsAgree(t, client.id, count: 1)
        try assertDecision(t, header, World.bridge, "allowed")
        try assertDecision(t, header, World.tunnel, "project_archived")
        try assertDecision(t, token, World.bridge, "allowed")
    }

    /// A slug, `secrets` or `tokens` row of another shape (a flag of 2 or 7, a slug row cut to the number or one byte
    /// longer, the 44-byte `secrets` row and 74-byte `tokens` row of before, one byte more) is not read in place: the
    /// reference path reports the damage as the projection's, `verify` finds it, and no decision is made from it.
    func testADamagedSlugSecretsOrTokensRowIsReportedNotDecidedFrom() throws {
        let t = try TestLedger("issue15-damaged-rows")
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .read)
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice)
        let header = try t.header(for: key)
        let acme = try XCTUnwrap(try t.ledger.access.withState { try $0.company(slug: World.acme) })
        let record = try XCTUnwrap(try t.ledger.access.withState { try $0.credential(publicID: key.id) })
        let companyKey = Keys.companySlug(World.acme), projectKey = Keys.projectSlug(acme.number, World.bridge)
        let secretKey = Keys.hashPrefix(try XCTUnwrap(record.secretHashes.first))
        let goodCompany = try XCTUnwrap(try rawRow(t, .companySlugs, companyKey))
        let goodProject = try XCTUnwrap(try rawRow(t, .projectSlugs, projectKey))
        let goodSecret = try XCTUnwrap(try rawRow(t, .secrets, secretKey))
        var flaggedSecret = goodSecret
        flaggedSecret[SecretEntry.Layout.deleted] = 2
        let client = try t.create(.oauth, .read)
        try t.ledger.administration.grantAccess(World.acme, credential: client.id, project: World.bridge, role: .viewer, as: World.alice)
        let token = try t.header(for: client)
        let tokenKey = Keys.hashPrefix(SecretFormat.hash(String(token.dropFirst("Bearer ".count))))
        let goodToken = try XCTUnwrap(try rawRow(t, .tokens, tokenKey))
        var flaggedToken = goodToken
        flaggedToken[TokenRecord.Layout.credentialDeleted] = 2

        let cases: [(Table, [UInt8], [UInt8], [UInt8])] = [
            (.companySlugs, companyKey, goodCompany, goodCompany.dropLast() + [2]),
            (.companySlugs, companyKey, goodCompany, Array(goodCompany.prefix(4))),
            (.projectSlugs, projectKey, goodProject, goodProject.dropLast() + [7]),
            (.projectSlugs, projectKey, goodProject, goodProject + [0]),
            (.secrets, secretKey, goodSecret, flaggedSecret),
            (.secrets, secretKey, goodSecret, Array(goodSecret.prefix(SecretEntry.Layout.company))),
            (.secrets, secretKey, goodSecret, goodSecret + [0]),
            (.tokens, tokenKey, goodToken, flaggedToken),
            (.tokens, tokenKey, goodToken, Array(goodToken.prefix(TokenRecord.Layout.company))),
            (.tokens, tokenKey, goodToken, goodToken + [0]),
        ]
        for (table, rowKey, good, bad) in cases {
            // A key decides from every row but `tokens`; the token from every row but `secrets`.
            let header = table == .tokens ? token : header
            try putRaw(t, table, rowKey, bad)
            XCTAssertThrowsError(try t.ledger.access.authorize(header: header, company: World.acme, project: World.bridge, operation: .read),
                                 "\(table.rawValue) row of \(bad.count) bytes") { error in
                XCTAssertTrue("\(error)".contains(table.rawValue), "\(error)")
            }
            XCTAssertFalse(try t.ledger.audit.verify().ok, "verify finds the damaged \(table.rawValue) row")
            try putRaw(t, table, rowKey, good)
            try assertDecision(t, header, World.bridge, "allowed")
        }
    }
}
