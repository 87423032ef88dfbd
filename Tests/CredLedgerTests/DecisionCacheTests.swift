@testable import CredLedger
@testable import CredLedgerCore
import CredLedgerCrypto
import Foundation
import XCTest

/// Issue 15: the facts of recent decisions kept in memory (`DecisionCache`). A kept decision is made again with the
/// request's own operation and time, never outlives a change of what it read (by a command of this ledger, by another
/// writer, or while such a change is being written), and nothing is kept for a secret the ledger does not know.
/// (In debug builds every kept decision is also compared with the map's while nothing changed: every test of the
/// suite checks it.)
final class DecisionCacheTests: XCTestCase {
    /// Runs `body` with every read transaction refused: only a decision the cache answers can succeed.
    private func withoutReads<T>(_ t: TestLedger, _ body: () throws -> T) rethrows -> T {
        t.ledger.environment.faultInjector = { $0 == .txnBegin ? EIO : nil }
        defer { t.ledger.environment.faultInjector = nil }
        return try body()
    }

    private func authorize(_ t: TestLedger, _ header: String, _ project: String = World.bridge, _ op: CredLedgerCore.Operation = .read,
                           company: String = World.acme) throws -> String {
        try t.ledger.access.authorize(header: header, company: company, project: project, operation: op).code
    }

    private func cache(_ t: TestLedger) throws -> DecisionCache { try XCTUnwrap(t.ledger.access.cache) }

    /// The standard world, and a READ-WRITE static key with the editor role on bridge, with its header.
    private func editorKey(_ t: TestLedger) throws -> (key: IssuedCredential, header: String) {
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice)
        return (key, try t.header(for: key))
    }

    func testAKeptDecisionIsMadeAgainWithTheRequestsOperationAndTime() throws {
        let t = try TestLedger("decision-cache-hit")
        defer { t.remove() }
        try t.makeWorld()
        let expiry = t.clock.now() + 60_000_000
        let key = try t.ledger.administration.createCredential(World.acme, NewCredential(name: "k", type: .staticKey, scope: .readWrite,
                                                                                          expiresAt: expiry), as: World.alice)
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice)
        let header = "Apikey " + key.secret!
        XCTAssertEqual(try cache(t).count, 0)
        XCTAssertEqual(try authorize(t, header), "allowed")
        XCTAssertEqual(try cache(t).count, 1)
        // Answered without a read: the same facts, another operation (the role caps it), then a later time (expired).
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header) }, "allowed")
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header, World.bridge, .write) }, DenialReason.readOnlyRole.code)
        let kept = try withoutReads(t) { try t.ledger.access.authorize(header: header, company: World.acme, project: World.bridge, operation: .read) }
        XCTAssertEqual(kept.credentialID, key.id)
        XCTAssertEqual(kept.scope, .readWrite)
        t.clock.set(expiry)
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header) }, DenialReason.expired.code)
        // Another project is another entry: a miss, which needs a read.
        XCTAssertThrowsError(try withoutReads(t) { try authorize(t, header, World.tunnel) })
        // A check is recorded whether its decision was kept or read.
        t.clock.set(expiry - 1)
        let before = t.head
        XCTAssertEqual(try t.check(header, World.bridge, .read).code, "allowed")
        XCTAssertEqual(t.head.seq, before.seq + 1)
    }

    func testEveryChangeOfWhatADecisionReadsIsSeenByTheNextDecision() throws {
        let t = try TestLedger("decision-cache-changes")
        defer { t.remove() }
        let (key, header) = try editorKey(t)
        let admin = t.ledger.administration

        // Each step: warm the entry (a second decision is answered from memory), change, decide again.
        func step(_ change: () throws -> Void, expect: String, op: CredLedgerCore.Operation = .write, file: StaticString = #filePath,
                  line: UInt = #line) throws {
            let warm = try authorize(t, header, World.bridge, op)
            XCTAssertEqual(try withoutReads(t) { try authorize(t, header, World.bridge, op) }, warm, "kept", file: file, line: line)
            try change()
            XCTAssertEqual(try authorize(t, header, World.bridge, op), expect, file: file, line: line)
        }
        try step({ _ = try admin.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice) },
                 expect: DenialReason.readOnlyRole.code)
        try step({ try admin.revokeAccess(World.acme, credential: key.id, project: World.bridge, as: World.alice) },
                 expect: DenialReason.projectAccessMissing.code)
        try step({ _ = try admin.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice) },
                 expect: "allowed")
        try step({ _ = try admin.setAPIModule(World.acme, enabled: false, as: World.alice) }, expect: DenialReason.apiModuleDisabled.code)
        try step({ _ = try admin.setAPIModule(World.acme, enabled: true, as: World.alice) }, expect: "allowed")
        // A rotation with a grace: the old secret still works, and is superseded once the grace is over (decided from
        // memory at the later time).
        let rotated = try admin.rotateSecret(World.acme, credential: key.id, grace: 30_000_000, as: World.alice)
        XCTAssertEqual(try authorize(t, header, World.bridge, .write), "allowed")
        t.clock.advance(seconds: 31)
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header, World.bridge, .write) }, DenialReason.secretSuperseded.code)
        let newHeader = "Apikey " + rotated.secret!
        XCTAssertEqual(try authorize(t, newHeader, World.bridge, .write), "allowed")
        try admin.archiveProject(World.acme, project: World.bridge, as: World.alice)
        XCTAssertEqual(try authorize(t, newHeader, World.bridge, .write), DenialReason.projectArchived.code)
        XCTAssertEqual(try authorize(t, newHeader, World.tunnel, .write), DenialReason.projectAccessMissing.code)
        try admin.deleteCredential(World.acme, credential: key.id, as: World.alice)
        XCTAssertEqual(try authorize(t, newHeader, World.tunnel, .write), DenialReason.revoked.code)
    }

    func testATokenAndItsUsersRolesAreSeenAtOnce() throws {
        let t = try TestLedger("decision-cache-token")
        defer { t.remove() }
        try t.makeWorld()
        let client = try t.create(.pkce, .readWrite)
        _ = try t.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        let tokens = try t.pkceTokens(client, user: World.bob)
        let header = "Bearer " + tokens.accessToken
        XCTAssertEqual(try authorize(t, header, World.bridge, .write), "allowed")
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header, World.bridge, .write) }, "allowed")
        // The user's project role lowered, then the user removed from the company, then the token revoked.
        _ = try t.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .viewer, as: World.alice)
        XCTAssertEqual(try authorize(t, header, World.bridge, .write), DenialReason.readOnlyRole.code)
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header, World.bridge, .write) }, DenialReason.readOnlyRole.code)
        // Removed from the company: the user's tokens end with it.
        _ = try t.ledger.administration.setMemberRole(World.acme, email: World.bob, role: .removed, as: World.alice)
        XCTAssertEqual(try authorize(t, header, World.bridge, .read), DenialReason.tokenRevoked.code)
        let fresh = try t.pkceTokens(client, user: World.carol)
        let carol = "Bearer " + fresh.accessToken
        _ = try t.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.carol, role: .viewer, as: World.alice)
        XCTAssertEqual(try authorize(t, carol, World.bridge, .read), "allowed")
        XCTAssertEqual(try withoutReads(t) { try authorize(t, carol, World.bridge, .read) }, "allowed")
        _ = try t.ledger.oauth.revokeToken(fresh.accessToken, clientID: client.clientID!, clientSecret: client.clientSecret)
        XCTAssertEqual(try authorize(t, carol, World.bridge, .read), DenialReason.tokenRevoked.code)
    }

    func testAnotherWritersCommitTurnsEveryLookupIntoAMissUntilTheWriterHasSeenIt() throws {
        let t = try TestLedger("decision-cache-foreign")
        defer { t.remove() }
        let header = try editorKey(t).header
        XCTAssertEqual(try authorize(t, header), "allowed")
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header) }, "allowed")
        // A write outside the writer (as another process's commit is; `CrossProcessDecisionTests` has a real one that
        // revokes): no batch of ours runs after it, so the lookup itself must notice.
        let cache = try cache(t)
        let tag = try XCTUnwrap(cache.fillGeneration())
        try t.ledger.environment.write { txn in try txn.put(t.ledger.schema.meta, Array("test-foreign-write".utf8), [1]) }
        XCTAssertFalse(cache.isCurrent(tag))
        XCTAssertThrowsError(try withoutReads(t) { try authorize(t, header) }, "a foreign commit: no kept decision")
        XCTAssertEqual(try authorize(t, header), "allowed")
        XCTAssertThrowsError(try withoutReads(t) { try authorize(t, header) }, "nothing kept until the writer has seen it")
        // Once our writer has committed after it, the entries read before are dropped, and decisions are kept again.
        try t.check(header, World.tunnel, .read)
        XCTAssertNotEqual(cache.fillGeneration(), tag)
        XCTAssertThrowsError(try withoutReads(t) { try authorize(t, header) })
        XCTAssertEqual(try authorize(t, header), "allowed")
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header) }, "allowed")
    }

    func testWhileAChangeIsBeingWrittenNothingIsKeptOrUsed() throws {
        let t = try TestLedger("decision-cache-generation")
        defer { t.remove() }
        let header = try editorKey(t).header
        let cache = try cache(t)
        XCTAssertEqual(try authorize(t, header), "allowed")
        let tag = try XCTUnwrap(cache.fillGeneration())
        // As the writer does around a batch holding a command (nothing else writes during this test: the writer's own
        // calls would meet these).
        cache.beginChange()
        XCTAssertNil(cache.fillGeneration())
        XCTAssertFalse(cache.isCurrent(tag))
        XCTAssertThrowsError(try withoutReads(t) { try authorize(t, header) })
        XCTAssertEqual(try authorize(t, header), "allowed")
        cache.endChange()
        // Entries read before the change are not used after it; a decision reads again and is kept again.
        XCTAssertThrowsError(try withoutReads(t) { try authorize(t, header) })
        XCTAssertEqual(try authorize(t, header), "allowed")
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header) }, "allowed")
        // An entry read under a generation that moved before it was stored is dropped; under the current one it is kept.
        let stale = try XCTUnwrap(cache.fillGeneration())
        cache.beginChange()
        cache.endChange()
        let facts = keepable(company: 1)
        XCTAssertTrue(facts.isWorthKeeping)
        let count = cache.count
        let secret = try presented(try t.create(.staticKey, .read, name: "n"))
        cache.store(facts, for: secret, company: World.acme, project: World.tunnel, generation: stale, snapshot: 0)
        XCTAssertEqual(cache.count, count)
        cache.store(facts, for: secret, company: World.acme, project: World.tunnel, generation: try XCTUnwrap(cache.fillGeneration()), snapshot: 0)
        XCTAssertEqual(cache.count, count + 1)
    }

    /// Facts a decision of a static key of company `company` at one of its projects would have read.
    private func keepable(company: UInt32) -> RecordedFacts {
        var facts = RecordedFacts()
        facts.company = .some(CompanyFacts(number: company, apiEnabled: true))
        facts.project = (company, ProjectFacts(number: 1, archived: false))
        facts.secret = .some(SecretFacts(validUntil: 0, facts: CredentialFacts(company: company, type: .staticKey, scope: .global, deleted: false,
                                                                              expiresAt: 0, number: 99, publicID: "x", principal: nil)))
        return facts
    }

    private func presented(_ issued: IssuedCredential) throws -> PresentedSecret {
        try XCTUnwrap(try? AuthorizationHeader.presentedSecret("Apikey " + XCTUnwrap(issued.secret)).get())
    }

    func testAWriteThatCommittedNothingLeavesItsIDToTheNextWriter() throws {
        let t = try TestLedger("decision-cache-unused-id")
        defer { t.remove() }
        let (key, header) = try editorKey(t)
        try t.check(header, World.bridge, .read)
        XCTAssertEqual(try authorize(t, header), "allowed")
        // A refused command: a batch of the writer that commits nothing, and keeps the facts (it changed none).
        XCTAssertThrowsError(try t.ledger.administration.revokeAccess(World.acme, credential: key.id, project: World.tunnel, as: World.alice))
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header) }, "allowed", "a refusal changes no fact")
        // The id that batch did not use goes to a write outside the writer (as another process's commit would).
        try t.ledger.environment.write { txn in try txn.put(t.ledger.schema.meta, Array("test-foreign-write".utf8), [2]) }
        XCTAssertThrowsError(try withoutReads(t) { try authorize(t, header) }, "the other writer's commit has the unused id: a miss")
        XCTAssertEqual(try authorize(t, header), "allowed")
    }

    func testRefusedCommandsBatchedWithUsesKeepTheFacts() throws {
        let t = try TestLedger("decision-cache-refusals")
        defer { t.remove() }
        let (key, header) = try editorKey(t)
        let decision = try t.check(header, World.bridge, .read)
        XCTAssertEqual(try authorize(t, header), "allowed")
        let cache = try cache(t)
        let before = cache.fillGeneration()
        // Uses and refused commands (a revoke of access never granted) submitted together, so batches hold both: the
        // uses append events, the refusals nothing, and no fact changes.
        let group = DispatchGroup()
        let ledger = t.ledger!
        let refusals = Locked(0)
        for i in 0..<200 {
            group.enter()
            if i % 2 == 0 {
                ledger.access.record(decision) { _ in group.leave() }
            } else {
                DispatchQueue.global().async {
                    if (try? ledger.administration.revokeAccess(World.acme, credential: key.id, project: World.tunnel, as: World.alice)) == nil {
                        refusals.withLock { $0 += 1 }
                    }
                    group.leave()
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(refusals.current, 100)
        XCTAssertEqual(cache.fillGeneration(), before, "no batch moved the generation")
        XCTAssertEqual(try withoutReads(t) { try authorize(t, header) }, "allowed")
    }

    /// Events that only add rows no kept decision read (a token issued, a consent, a refused OAuth request logged)
    /// leave the kept facts in use, and each kept answer still equals the map's; a replayed code, a refresh and a
    /// revocation still move the generation.
    func testIssuedTokensConsentsAndRefusedOAuthRequestsKeepTheFacts() throws {
        let t = try TestLedger("decision-cache-oauth")
        defer { t.remove() }
        let (_, header) = try editorKey(t)
        let machine = try t.create(.oauth, .readWrite)
        let app = try t.create(.pkce, .readWrite)
        _ = try t.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        // Two kept decisions: the static key's, and a Bearer token of the same client and user as the tokens issued
        // below (it read the token, member and user-role rows).
        let first = try t.pkceTokens(app, user: World.bob)
        let bobHeader = "Bearer " + first.accessToken
        XCTAssertEqual(try authorize(t, header), "allowed")
        XCTAssertEqual(try authorize(t, bobHeader, World.bridge, .write), "allowed")
        let cache = try cache(t)
        let generation = try XCTUnwrap(cache.fillGeneration())

        // Each of these appends events, and none moves the generation: both decisions are still answered from memory,
        // and the same as the map's.
        func keeps(_ what: String, _ change: () throws -> Void, line: UInt = #line) throws {
            let seq = t.head.seq
            try change()
            XCTAssertGreaterThan(t.head.seq, seq, "\(what) appended events", line: line)
            XCTAssertEqual(cache.fillGeneration(), generation, what, line: line)
            for (h, op) in [(header, CredLedgerCore.Operation.read), (bobHeader, .write)] {
                let kept = try withoutReads(t) { try t.ledger.access.authorize(header: h, company: World.acme, project: World.bridge, operation: op) }
                let map = try t.ledger.access.authorizeFromTheMap(header: h, company: World.acme, project: World.bridge, operation: op)
                XCTAssertEqual(kept.code, "allowed", what, line: line)
                XCTAssertEqual(kept, map, what, line: line)
            }
        }
        var issued: TokenResponse?
        try keeps("client_credentials token issued") {
            issued = try t.ledger.oauth.clientCredentialsToken(clientID: machine.clientID!, clientSecret: machine.clientSecret!)
        }
        try keeps("wrong client secret refused and logged") {
            XCTAssertThrowsError(try t.ledger.oauth.clientCredentialsToken(clientID: machine.clientID!, clientSecret: "cx_wrong"))
        }
        var pkce: TokenResponse?
        try keeps("consent, code exchanged for tokens") { pkce = try t.pkceTokens(app, user: World.bob) }
        var grant: AuthorizationGrant?
        try keeps("consent given") {
            grant = try t.ledger.oauth.approveClient(company: World.acme, clientID: app.clientID!, user: World.bob, redirectURI: World.redirect,
                                                     codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "s2")
        }
        let code = try XCTUnwrap(grant).code
        try keeps("code exchanged") {
            _ = try t.ledger.oauth.exchangeCode(clientID: app.clientID!, clientSecret: app.clientSecret, code: code,
                                                codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
        }
        // The new tokens themselves are decided from the map (nothing of theirs was kept), correctly.
        let machineHeader = "Bearer " + (try XCTUnwrap(issued).accessToken)
        XCTAssertEqual(try authorize(t, machineHeader), DenialReason.projectAccessMissing.code)
        let userHeader = "Bearer " + (try XCTUnwrap(pkce).accessToken)
        XCTAssertEqual(try authorize(t, userHeader, World.bridge, .write), "allowed")
        XCTAssertEqual(try withoutReads(t) { try authorize(t, userHeader, World.bridge, .write) }, "allowed")

        // A replayed code revokes its tokens, a refresh spends a token row and a revocation ends one: each moves the
        // generation, and the next decision reads.
        XCTAssertThrowsError(try t.ledger.oauth.exchangeCode(clientID: app.clientID!, clientSecret: app.clientSecret, code: code,
                                                             codeVerifier: PKCEPair.verifier, redirectURI: World.redirect))
        XCTAssertNotEqual(cache.fillGeneration(), generation, "a replayed code moves the generation")
        XCTAssertEqual(try authorize(t, header), "allowed")
        let afterReplay = try XCTUnwrap(cache.fillGeneration())
        _ = try t.ledger.oauth.refresh(clientID: app.clientID!, clientSecret: app.clientSecret, refreshToken: try XCTUnwrap(pkce?.refreshToken))
        XCTAssertNotEqual(cache.fillGeneration(), afterReplay, "a refresh moves the generation")
        let afterRefresh = try XCTUnwrap(cache.fillGeneration())
        XCTAssertEqual(try authorize(t, userHeader, World.bridge, .write), "allowed", "the access token outlives its spent refresh token")
        _ = try t.ledger.oauth.revokeToken(try XCTUnwrap(pkce).accessToken, clientID: app.clientID!, clientSecret: app.clientSecret)
        XCTAssertNotEqual(cache.fillGeneration(), afterRefresh, "a revocation moves the generation")
        XCTAssertEqual(try authorize(t, userHeader, World.bridge, .write), DenialReason.tokenRevoked.code)
        XCTAssertEqual(try withoutReads(t) { try authorize(t, userHeader, World.bridge, .write) }, DenialReason.tokenRevoked.code)
    }

    func testNothingIsKeptForASecretTheLedgerDoesNotKnowAndTheCacheIsBounded() throws {
        let t = try TestLedger("decision-cache-bounds")
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        let cache = try cache(t)
        // Well-formed keys this ledger does not know (made by another ledger: their checksums are right), a malformed
        // header, a known key at an unknown company, at an unknown project, at another company, with a hostile slug.
        let elsewhere = try TestLedger("decision-cache-elsewhere", seed: 4_242)  // another seed: other secrets
        defer { elsewhere.remove() }
        try elsewhere.makeWorld()
        for i in 0..<20 {
            let unknown = try elsewhere.create(.staticKey, .readWrite, name: "unknown \(i)")
            XCTAssertEqual(try authorize(t, "Apikey " + unknown.secret!), DenialReason.unknownCredential.code)
        }
        _ = try authorize(t, "Apikey nonsense")
        _ = try authorize(t, "Bearer " + String(repeating: "x", count: 40))
        let real = "Apikey " + key.secret!
        XCTAssertEqual(try authorize(t, real, company: "no-such-company"), DenialReason.unknownCompany.code)
        XCTAssertEqual(try authorize(t, real, "no-such-project"), DenialReason.unknownProject.code)
        XCTAssertEqual(try authorize(t, real, World.betaProject, company: World.beta), DenialReason.otherCompany.code)
        _ = try authorize(t, real, String(repeating: "p", count: 400))
        _ = try authorize(t, real, "Bridge")
        XCTAssertEqual(cache.count, 0)
        XCTAssertEqual(try authorize(t, real, World.bridge), DenialReason.projectAccessMissing.code)
        XCTAssertEqual(cache.count, 1, "a known key at one of its company's projects: kept, allowed or not")
        // However many entries are stored, a shard never holds more than its capacity.
        let small = DecisionCache(environment: t.ledger.environment, accountedUpTo: t.ledger.environment.lastCommittedTransactionID() ?? 0,
                                  shardCapacity: 3)
        let secret = try presented(key)
        let tag = try XCTUnwrap(small.fillGeneration())
        for i in 0..<10 {
            small.store(keepable(company: 1), for: secret, company: World.acme, project: "p\(i)", generation: tag, snapshot: 0)
            XCTAssertEqual(small.count, min(i + 1, 3))
        }
        // Secrets spread over the shards: 64 of them, at most 3 per shard, fill far more than one shard.
        let spread = DecisionCache(environment: t.ledger.environment, accountedUpTo: t.ledger.environment.lastCommittedTransactionID() ?? 0,
                                   shardCapacity: 3)
        for i in 0..<64 {
            let other = PresentedSecret(scheme: .apiKey, hash: SHA256.hash(Array("secret \(i)".utf8)))
            spread.store(keepable(company: 1), for: other, company: World.acme, project: World.bridge, generation: tag, snapshot: 0)
        }
        XCTAssertGreaterThan(spread.count, 30, "keys spread over the 16 shards")
        // First in, first out: the three last keys are kept (one secret: one shard), the others were dropped.
        let now = t.clock.now()
        for i in 0..<10 {
            let kept = small.decision(secret, company: World.acme, project: "p\(i)", operation: .read, now: now)
            XCTAssertEqual(kept?.0.code, i >= 7 ? "allowed" : nil, "p\(i)")
        }
    }

    func testDecisionsOnManyThreadsNeverGoBackWhileRolesChange() throws {
        let t = try TestLedger("decision-cache-threads")
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        let header = try t.header(for: key)
        // Three states in turn, each with its own answer to a write: a stale answer is the previous state's.
        let answers = [DenialReason.projectAccessMissing.code, DenialReason.readOnlyRole.code, "allowed"]
        func set(_ state: Int) throws {
            switch state % 3 {
            case 0: try t.ledger.administration.revokeAccess(World.acme, credential: key.id, project: World.bridge, as: World.alice)
            case 1: _ = try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice)
            default: _ = try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice)
            }
        }
        _ = try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice)
        try set(0)
        let committed = Locked(0)
        let stop = Locked(false)
        let failures = Locked([String]())
        let decided = Locked(0)
        let group = DispatchGroup()
        let access = t.ledger.access
        for _ in 0..<3 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while !stop.current {
                    let before = committed.current
                    do {
                        let code = try access.authorize(header: header, company: World.acme, project: World.bridge, operation: .write).code
                        let after = committed.current
                        // Committed states before..after, or the one being written after `after`.
                        let allowed = Set((before...(after + 1)).map { answers[$0 % 3] })
                        if !allowed.contains(code) { failures.withLock { $0.append("states \(before)…\(after): \(code)") } }
                        decided.withLock { $0 += 1 }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
        }
        let deadline = Date().addingTimeInterval(60)
        for state in 1...60 {
            let target = decided.current + 20
            while decided.current < target && failures.current.isEmpty && Date() < deadline { usleep(200) }
            try set(state)
            committed.withLock { $0 = state }
        }
        stop.withLock { $0 = true }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(failures.current, [])
    }

    func testTheCacheCanBeTurnedOff() throws {
        let t = try TestLedger("decision-cache-off") { $0.cachesDecisions = false }
        defer { t.remove() }
        let header = try editorKey(t).header
        XCTAssertNil(t.ledger.access.cache)
        XCTAssertEqual(try authorize(t, header), "allowed")
        XCTAssertThrowsError(try withoutReads(t) { try authorize(t, header) })
    }
}
