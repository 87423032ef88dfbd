@testable import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 12, "typed commands": every state change is a `LedgerCommand` value run by the writer through one protocol,
/// with a blocking and an async `perform`; the old `Ledger` methods are wrappers of them; audit reads have async forms
/// that run on the reader pool, never on the cooperative pool.
final class Issue12TypedCommandTests: XCTestCase {
    /// How a scripted step is run.
    private enum TypedCommandMode: CaseIterable { case oldMethod, performBlocking, performAsync }

    /// Runs one command the way `mode` says: through the old `Ledger` method (`old`), or `perform` blocking or async.
    private func typedRun<C: LedgerCommand>(_ ledger: Ledger, _ mode: TypedCommandMode, _ command: C,
                                            old: () throws -> C.Result) async throws -> C.Result {
        switch mode {
        case .oldMethod: return try old()
        case .performBlocking: return try typedBlocking { try ledger.perform(command) }
        case .performAsync: return try await ledger.perform(command)
        }
    }

    /// Calls the blocking form of an overloaded method from an async test (in an async context Swift picks the async one).
    private func typedBlocking<R>(_ body: () throws -> R) rethrows -> R { try body() }

    /// Expects `body` to throw; returns the error.
    private func typedError(_ body: () async throws -> Void) async -> Error? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    /// Every command type (admin, OAuth, maintenance), refusals (nothing written) and recorded OAuth denials included,
    /// run three times on equal ledgers (same seed, same clock): through the old methods, `perform` blocking and
    /// `perform` async. The three logs are identical event for event (seq, time, payload, hash), and so are the
    /// results — the secrets and tokens drawn from the seeded random included.
    func testEveryCommandThroughPerformBlockingAndAsyncGivesTheSameEventsAsTheOldMethod() async throws {
        var logs: [[StoredEvent]] = []
        var transcripts: [[String]] = []
        for mode in TypedCommandMode.allCases {
            let t = try TestLedger("i12-typed-\(mode)", seed: 1212)
            defer { t.remove() }
            let l = t.ledger!
            var out: [String] = []
            let reg = try CompanyRegistration(slug: World.acme, admin: World.alice, name: "Acme", mailDomain: "acme.example")
            out.append("\(try await typedRun(l, mode, RegisterCompany(reg)) { try l.administration.registerCompany(reg) })")
            out.append("\(try await typedRun(l, mode, SetAPIModule(company: World.acme, enabled: true, actor: World.alice)) { try l.administration.setAPIModule(World.acme, enabled: true, as: World.alice) })")
            out.append("\(try await typedRun(l, mode, SetAPIModule(company: World.acme, enabled: true, actor: World.alice)) { try l.administration.setAPIModule(World.acme, enabled: true, as: World.alice) })")
            out.append("\(try await typedRun(l, mode, SetMemberRole(company: World.acme, email: World.bob, role: .member, actor: World.alice)) { try l.administration.setMemberRole(World.acme, email: World.bob, role: .member, as: World.alice) })")
            out.append("\(try await typedRun(l, mode, SetMemberRole(company: World.acme, email: World.carol, role: .member, actor: World.alice)) { try l.administration.setMemberRole(World.acme, email: World.carol, role: .member, as: World.alice) })")
            try await typedRun(l, mode, CreateProject(company: World.acme, project: World.bridge, name: "Bridge", actor: World.alice)) { try l.administration.createProject(World.acme, project: World.bridge, name: "Bridge", as: World.alice) }
            try await typedRun(l, mode, CreateProject(company: World.acme, project: World.tunnel, actor: World.alice)) { try l.administration.createProject(World.acme, project: World.tunnel, as: World.alice) }
            out.append("\(try await typedRun(l, mode, SetUserProjectRole(company: World.acme, project: World.bridge, email: World.bob, role: .editor, actor: World.alice)) { try l.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice) })")
            let staticKey = NewCredential(name: "ci key", type: .staticKey, scope: .readWrite)
            let key = try await typedRun(l, mode, CreateCredential(company: World.acme, staticKey, actor: World.alice)) { try l.administration.createCredential(World.acme, staticKey, as: World.alice) }
            let oauthSpec = NewCredential(name: "svc", type: .oauth, scope: .readWrite)
            let oauth = try await typedRun(l, mode, CreateCredential(company: World.acme, oauthSpec, actor: World.alice)) { try l.administration.createCredential(World.acme, oauthSpec, as: World.alice) }
            let pkceSpec = NewCredential(name: "app", type: .pkce, scope: .readWrite, redirectURIs: [World.redirect])
            let pkce = try await typedRun(l, mode, CreateCredential(company: World.acme, pkceSpec, actor: World.alice)) { try l.administration.createCredential(World.acme, pkceSpec, as: World.alice) }
            out.append("\(key.id) \(key.secret ?? "-") \(oauth.clientID ?? "-") \(oauth.clientSecret ?? "-") \(pkce.clientSecret ?? "-")")
            out.append("\(try await typedRun(l, mode, GrantAccess(company: World.acme, credential: key.id, project: World.bridge, role: .editor, actor: World.alice)) { try l.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice) })")
            out.append("\(try await typedRun(l, mode, GrantAccess(company: World.acme, credential: key.id, project: World.tunnel, role: .viewer, actor: World.alice)) { try l.administration.grantAccess(World.acme, credential: key.id, project: World.tunnel, role: .viewer, as: World.alice) })")
            try await typedRun(l, mode, RevokeAccess(company: World.acme, credential: key.id, project: World.tunnel, actor: World.alice)) { try l.administration.revokeAccess(World.acme, credential: key.id, project: World.tunnel, as: World.alice) }
            let rotated = try await typedRun(l, mode, RotateSecret(company: World.acme, credential: key.id, grace: 60_000_000, actor: World.alice)) { try l.administration.rotateSecret(World.acme, credential: key.id, grace: 60_000_000, as: World.alice) }
            out.append(rotated.secret ?? "-")
            // OAuth: client credentials, consent, code exchange, refresh, introspection, revocation.
            let cc = try await typedRun(l, mode, ClientCredentialsGrant(clientID: oauth.clientID!, clientSecret: oauth.clientSecret!)) { try l.oauth.clientCredentialsToken(clientID: oauth.clientID!, clientSecret: oauth.clientSecret!) }
            let approve = ApproveClient(company: World.acme, clientID: pkce.clientID!, user: World.bob, redirectURI: World.redirect,
                                        codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "s 1")
            let grant = try await typedRun(l, mode, approve) { try l.oauth.approveClient(company: World.acme, clientID: pkce.clientID!, user: World.bob, redirectURI: World.redirect, codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "s 1") }
            let exchange = ExchangeCode(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, code: grant.code, codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
            let tokens = try await typedRun(l, mode, exchange) { try l.oauth.exchangeCode(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, code: grant.code, codeVerifier: PKCEPair.verifier, redirectURI: World.redirect) }
            let refreshed = try await typedRun(l, mode, RefreshGrant(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, refreshToken: tokens.refreshToken!)) { try l.oauth.refresh(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, refreshToken: tokens.refreshToken!) }
            let seen = try await typedRun(l, mode, IntrospectToken(token: cc.accessToken, clientID: oauth.clientID!, clientSecret: oauth.clientSecret)) { try l.oauth.introspect(cc.accessToken, clientID: oauth.clientID!, clientSecret: oauth.clientSecret) }
            XCTAssertTrue(seen.active)
            let revoked = try await typedRun(l, mode, RevokeToken(token: refreshed.refreshToken!, clientID: pkce.clientID!, clientSecret: pkce.clientSecret)) { try l.oauth.revokeToken(refreshed.refreshToken!, clientID: pkce.clientID!, clientSecret: pkce.clientSecret) }
            XCTAssertEqual(revoked, .revoked)
            out.append("\(cc.accessToken) \(cc.expiresIn) \(grant.location) \(tokens.accessToken) \(tokens.refreshToken!) \(refreshed.accessToken) \(seen.username ?? "-")")
            // A recorded OAuth denial (a replayed code): thrown as OAuthError after its events commit, in every mode.
            let before = t.head.seq
            let denial = await typedError { _ = try await self.typedRun(l, mode, exchange) { try l.oauth.exchangeCode(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, code: grant.code, codeVerifier: PKCEPair.verifier, redirectURI: World.redirect) } }
            XCTAssertEqual((denial as? OAuthError)?.reason, .codeReused, "\(mode): \(String(describing: denial))")
            XCTAssertGreaterThan(t.head.seq, before, "\(mode): the denial was not recorded")
            // Refusals write nothing, in every mode: a state refusal, and a validation refusal (never queued).
            let head = t.head
            let archived = await typedError { try await self.typedRun(l, mode, RevokeAccess(company: World.acme, credential: key.id, project: World.tunnel, actor: World.alice)) { try l.administration.revokeAccess(World.acme, credential: key.id, project: World.tunnel, as: World.alice) } }
            XCTAssertEqual((archived as? LedgerError)?.code, LedgerError.accessNotGranted.code, "\(mode)")
            let invalid = await typedError { _ = try await self.typedRun(l, mode, SetMemberRole(company: World.acme, email: "not an email", role: .member, actor: World.alice)) { try l.administration.setMemberRole(World.acme, email: "not an email", role: .member, as: World.alice) } }
            XCTAssertEqual((invalid as? LedgerError)?.code, "invalid_email", "\(mode): \(String(describing: invalid))")
            XCTAssertEqual(t.head, head, "\(mode): a refusal wrote something")
            // The rest of the admin commands.
            try await typedRun(l, mode, ArchiveProject(company: World.acme, project: World.tunnel, actor: World.alice)) { try l.administration.archiveProject(World.acme, project: World.tunnel, as: World.alice) }
            try await typedRun(l, mode, DeleteCredential(company: World.acme, credential: oauth.id, actor: World.alice)) { try l.administration.deleteCredential(World.acme, credential: oauth.id, as: World.alice) }
            out.append("\(try await typedRun(l, mode, SetMemberRole(company: World.acme, email: World.bob, role: .removed, actor: World.alice)) { try l.administration.setMemberRole(World.acme, email: World.bob, role: .removed, as: World.alice) })")
            // Maintenance: the rebuild, blocking or async.
            let rebuilt = mode == .performAsync ? try await l.maintenance.rebuildProjections() : try typedBlocking { try l.maintenance.rebuildProjections() }
            out.append("\(rebuilt.events) \(rebuilt.digests.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })")
            let verified = try await l.audit.verify()
            XCTAssertTrue(verified.ok, "\(mode)")
            logs.append(try await l.audit.events())
            transcripts.append(out)
        }
        XCTAssertGreaterThan(logs[0].count, 25)
        for i in 1..<logs.count {
            XCTAssertEqual(logs[i].count, logs[0].count, "\(TypedCommandMode.allCases[i])")
            for (a, b) in zip(logs[0], logs[i]) { XCTAssertEqual(a, b, "\(TypedCommandMode.allCases[i]) seq \(a.event.seq)") }
            XCTAssertEqual(transcripts[i], transcripts[0], "\(TypedCommandMode.allCases[i])")
        }
    }

    /// Holds the writer thread inside a command until `release()`: everything queued behind it waits in the queue.
    private final class TypedWriterGate: @unchecked Sendable {
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        /// A command that signals it runs, then blocks the writer thread until the gate opens.
        private struct Hold: LedgerCommand {
            let entered: DispatchSemaphore
            let gate: DispatchSemaphore
            func decide(_ ctx: inout BatchContext) throws {
                entered.signal()
                gate.wait()
            }
        }

        func hold(_ writer: GroupCommitWriter) {
            writer.submit(WriteRequest(.command(QueuedCommand(Hold(entered: entered, gate: gate)))) { [self] _ in done.signal() })
            entered.wait()
        }
        func release() {
            gate.signal()
            done.wait()
        }
    }

    /// Counts tasks between "about to await `perform`" and "resumed".
    private final class TypedInFlight: @unchecked Sendable {
        private let lock = NSLock()
        private var now = 0
        private(set) var peak = 0
        func enter() { lock.withLock { now += 1; peak = max(peak, now) } }
        func leave() { lock.withLock { now -= 1 } }
        var current: Int { lock.withLock { now } }
    }

    /// 2,000 async admin commands from one TaskGroup, with the writer held busy: all 2,000 are in flight at once on a
    /// cooperative pool of a few threads, so none of them holds a thread while it waits (a blocking `perform` would keep
    /// at most one task per pool thread in flight, and this test would time out). Released, every one completes, and the
    /// log holds exactly the events they staged: 2,000 `project_created`, numbered and named as each command decided.
    func testTwoThousandAsyncAdminCommandsRunWithoutAThreadEach() async throws {
        let t = try TestLedger("i12-typed-many", seed: 2000)
        defer { t.remove() }
        try t.makeWorld()
        let ledger = t.ledger!
        let writer = try XCTUnwrap(ledger.writer)
        let count = 2_000
        XCTAssertLessThan(ProcessInfo.processInfo.activeProcessorCount * 4, count, "the cooperative pool must be far smaller than the callers")
        let head = t.head.seq
        let gate = TypedWriterGate()
        gate.hold(writer)
        let inFlight = TypedInFlight()
        // Release the writer once every command is waiting, or after 30 s (then the assertion below fails). On a thread
        // of its own, not a task: if the commands held the cooperative pool's threads, a task could never run.
        let reachedBox = TypedInFlight()
        let released = DispatchSemaphore(value: 0)
        Thread {
            let deadline = DispatchTime.now().uptimeNanoseconds + 30_000_000_000
            while inFlight.current < count && DispatchTime.now().uptimeNanoseconds < deadline { usleep(1_000) }
            for _ in 0..<inFlight.current { reachedBox.enter() }
            gate.release()
            released.signal()
        }.start()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                group.addTask {
                    inFlight.enter()
                    defer { inFlight.leave() }
                    try await ledger.perform(CreateProject(company: World.acme, project: "many-\(i)", actor: World.alice))
                }
            }
            try await group.waitForAll()
        }
        released.wait()
        XCTAssertEqual(reachedBox.peak, count, "not every async command was in flight at once: some held a thread while waiting")
        XCTAssertEqual(inFlight.peak, count)
        let events = try await ledger.audit.events(from: head + 1)
        // The gate's command staged nothing; the 2,000 commands staged one event each, nothing else was written.
        XCTAssertEqual(events.count, count)
        var slugs = Set<String>(), numbers = Set<UInt32>()
        for stored in events {
            guard case .projectCreated(let number, let slug, _) = stored.event.payload else { return XCTFail("unexpected \(stored.event.payload)") }
            slugs.insert(slug)
            numbers.insert(number)
        }
        XCTAssertEqual(slugs, Set((0..<count).map { "many-\($0)" }))
        XCTAssertEqual(numbers.count, count, "two commands decided the same project number")
        let verified = try await ledger.audit.verify()
        XCTAssertTrue(verified.ok)
    }

    /// Async audit reads run on the reader pool while the writer is held busy inside a command: they complete (they need
    /// no writer), on a `credledger-rd-…` thread, not on the cooperative pool; the held command then completes too.
    func testAsyncAuditReadsWhileTheWriterIsBusy() async throws {
        let t = try TestLedger("i12-typed-reads", seed: 77)
        defer { t.remove() }
        try t.makeWorld()
        let ledger = t.ledger!
        let key = try t.create(.staticKey, .readWrite)
        _ = try typedBlocking { try ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice) }
        _ = try typedBlocking { try ledger.access.check(header: "Apikey " + key.secret!, company: World.acme, project: World.bridge, operation: .read) }
        let expected = try typedBlocking { try ledger.audit.auditEvents(AuditQuery()) }
        let gate = TypedWriterGate()
        gate.hold(try XCTUnwrap(ledger.writer))
        // An admin command queued behind the held writer: it must not complete before the release.
        let queued = Task { try await ledger.perform(CreateProject(company: World.acme, project: "behind", actor: World.alice)) }

        let page = try await ledger.audit.auditEvents(AuditQuery())
        XCTAssertEqual(page.events, expected.events)
        let thread = try await ledger.audit.read { _ in Thread.current.name ?? "" }
        XCTAssertTrue(thread.hasPrefix("credledger-rd-"), thread)
        let usage = try await ledger.audit.usage(World.acme)
        XCTAssertEqual(usage, try typedBlocking { try ledger.audit.usage(World.acme) })
        let table = try await ledger.audit.credentialTable(World.acme, as: World.alice)
        XCTAssertEqual(table.map(\.id), [key.id])
        let members = try await ledger.audit.memberships(World.acme)
        XCTAssertEqual(members, try typedBlocking { try ledger.audit.memberships(World.acme) })
        let review = try await ledger.audit.accessReview(World.acme)
        XCTAssertEqual(review, try typedBlocking { try ledger.audit.accessReview(World.acme) })
        let who = try await ledger.audit.whoCouldAct(company: World.acme, project: World.bridge, operation: .write, at: .head)
        XCTAssertFalse(who.paths.isEmpty)
        let verified = try await ledger.audit.verify()
        XCTAssertTrue(verified.ok)
        let replayed = try await ledger.audit.replay()
        XCTAssertNil(replayed.chainFailure)
        let exportDirectory = t.directory.appending("export")
        let request = ExportRequest(company: World.acme, format: .jsonl, directory: exportDirectory)
        let summary = try await ledger.audit.export(request)
        XCTAssertGreaterThan(summary.events, 0)
        // Bad input to an async read is its error, as in the blocking form.
        let missing = await typedError { _ = try await ledger.audit.usage("no-such-company") }
        XCTAssertNotNil(missing as? LedgerError)
        XCTAssertThrowsError(try typedBlocking { try ledger.audit.usage("no-such-company") }) { XCTAssertEqual(($0 as? LedgerError)?.code, (missing as? LedgerError)?.code) }

        let headWhileHeld = t.head.seq
        gate.release()
        try await queued.value
        XCTAssertEqual(t.head.seq, headWhileHeld + 1)
    }

    /// A command performed on a closed ledger fails with `ledger_closed` (async: the continuation is resumed, never
    /// leaked), and on a read-only ledger with `read_only`; neither writes anything.
    func testAsyncPerformOnAClosedOrReadOnlyLedger() async throws {
        let t = try TestLedger("i12-typed-closed", seed: 5)
        defer { t.remove() }
        try t.makeWorld()
        let head = t.head
        t.ledger.close()
        let closed = await typedError { try await t.ledger.perform(CreateProject(company: World.acme, project: "late", actor: World.alice)) }
        XCTAssertEqual((closed as? LedgerError)?.code, "ledger_closed", "\(String(describing: closed))")
        var options = t.options
        options.readOnly = true
        let readOnly = try Ledger(path: t.path, options: options)
        defer { readOnly.close() }
        let refused = await typedError { try await readOnly.perform(CreateProject(company: World.acme, project: "late", actor: World.alice)) }
        XCTAssertEqual((refused as? LedgerError)?.code, "read_only")
        XCTAssertThrowsError(try typedBlocking { try readOnly.perform(CreateProject(company: World.acme, project: "late", actor: World.alice)) })
        XCTAssertEqual(readOnly.head, head)
    }
}
