@testable import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 12, defect 1: every request of a batch succeeds or fails on its own. A command that throws anything (a
/// storage, codec or projection error, not only a `LedgerError`) fails alone: its events, its projection writes and
/// the projector's accumulation of them are undone with its child transaction, and the rest of the batch commits.
final class Issue12WriterIsolationTests: XCTestCase {
    /// Waits for async completions.
    private final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [Int: Error?] = [:]
        let group = DispatchGroup()
        func set(_ index: Int, _ error: Error?) { lock.withLock { results[index] = .some(error) } }
        func error(_ index: Int) -> Error?? { lock.withLock { results[index] } }
    }

    /// A use, an admin command, a command that appends a good event and then fails in the projection with LMDB's
    /// key-size error (a `projectCreated` whose slug makes a key longer than 511 bytes), more uses and commands, and a
    /// command that throws an error of its own type (no `LedgerError`) after staging an event —
    /// all queued at once, so they share one batch. Only the failing command fails; what it appended before failing
    /// (an event, its projection rows, its postings) is gone, and a rebuild agrees byte for byte with the live tables.
    func testANonLedgerErrorInTheMiddleOfABatchFailsOnlyItsRequest() throws {
        let t = try TestLedger("i12-isolation", seed: 12)
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        _ = try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice)
        let writer = try XCTUnwrap(t.ledger.writer)
        let decision = try t.ledger.access.authorize(header: "Apikey " + key.secret!, company: World.acme, project: World.bridge, operation: .write)
        XCTAssertTrue(decision.allowed)
        let alice = try t.ledger.audit.withState { try $0.user(email: World.alice) }!
        let acme = try t.ledger.audit.withState { try $0.company(slug: World.acme) }!.number

        let outcomes = Outcomes()
        func request(_ index: Int, _ job: WriteRequest.Job) -> WriteRequest {
            outcomes.group.enter()
            return WriteRequest(job) { error in
                outcomes.set(index, error)
                outcomes.group.leave()
            }
        }
        func createProject(_ slug: String) -> WriteRequest.Job {
            .command(QueuedCommand(StageProject(company: acme, actor: alice, slug: slug)))
        }
        // Appends a good project, then one whose `project_slugs` key (4 + 600 bytes) LMDB refuses.
        let failing: WriteRequest.Job = .command(QueuedCommand(HalfDoneProjects(company: acme, actor: alice)))
        // Stages an event, then throws an error of its own type (no `LedgerError`) from `decide`.
        let foreign: WriteRequest.Job = .command(QueuedCommand(ForeignFailure(company: acme, actor: alice)))
        let use = decision.job
        let head = t.head.seq
        let batchesBefore = t.ledger.maintenance.writerStatistics.batches
        writer.submit([request(0, use), request(1, createProject("first")), request(2, use), request(3, failing),
                       request(4, use), request(5, createProject("second")), request(6, use), request(7, foreign)])
        XCTAssertEqual(outcomes.group.wait(timeout: .now() + 30), .success)

        XCTAssertEqual(t.ledger.maintenance.writerStatistics.batches - batchesBefore, 1, "the requests must share one batch for the test to mean anything")
        for i in [0, 1, 2, 4, 5, 6] {
            XCTAssertNil(outcomes.error(i) ?? nil, "request \(i) failed with its batch: \(String(describing: outcomes.error(i)))")
        }
        let failure = try XCTUnwrap(outcomes.error(3) ?? nil, "the failing command succeeded")
        XCTAssertEqual((failure as? LedgerError)?.code, "storage_error", "\(failure)")
        let foreignFailure = try XCTUnwrap(outcomes.error(7) ?? nil, "the command that threw succeeded")
        XCTAssertTrue(foreignFailure is ForeignFailure.Failure, "its own error, as thrown: \(foreignFailure)")
        XCTAssertEqual(t.head.seq, head + 6, "4 uses + 2 projects; nothing of the failed command")
        let appended = try t.ledger.audit.events(from: head + 1)
        let slugs = appended.compactMap { stored -> String? in
            if case .projectCreated(_, let slug, _) = stored.event.payload { return slug }
            return nil
        }
        XCTAssertEqual(slugs, ["first", "second"])
        try t.ledger.audit.withState { state in
            XCTAssertNil(try state.project(company: acme, slug: "half-done"))
            XCTAssertNotNil(try state.project(company: acme, slug: "first"))
            XCTAssertNotNil(try state.project(company: acme, slug: "second"))
        }
        let report = try t.ledger.audit.verify()
        XCTAssertTrue(report.ok, "live projections differ from a rebuild: \(report.projections.filter { !$0.matches })")
        // The ledger keeps working.
        try t.ledger.administration.createProject(World.acme, project: "third", as: World.alice)
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }

    /// A command that fails on its own in a batch of one leaves the file untouched (no checkpoint rewrite):
    /// the no-op rule holds with the child transaction too.
    func testAFailedCommandAloneWritesNothing() throws {
        let t = try TestLedger("i12-isolation-alone", seed: 13)
        defer { t.remove() }
        try t.makeWorld()
        let writer = try XCTUnwrap(t.ledger.writer)
        let acme = try t.ledger.audit.withState { try $0.company(slug: World.acme) }!.number
        let before = try Data(contentsOf: URL(fileURLWithPath: t.path + "/data.mdb"))
        let head = t.head
        XCTAssertThrowsError(try t.ledger.perform(AppendEvents(company: acme, .projectCreated(project: 99, slug: String(repeating: "y", count: 600), name: "long")))) { error in
            XCTAssertEqual((error as? LedgerError)?.code, "storage_error", "\(error)")
        }
        XCTAssertEqual(t.head, head)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: t.path + "/data.mdb")), before)
    }

    /// Input that used to reach a key unvalidated: `authorize` with an empty (or over-long) company or project is a
    /// clean denial recorded as `credential_used` — never a thrown error.
    func testEmptyAndOverlongSlugsAreRecordedDenials() throws {
        let t = try TestLedger("i12-empty-slug", seed: 14)
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        let header = "Apikey " + key.secret!
        let long = String(repeating: "z", count: 600)
        for (company, project, code) in [("", World.bridge, "unknown_company"), (long, World.bridge, "unknown_company"),
                                         (World.acme, "", "unknown_project"), (World.acme, long, "unknown_project"),
                                         ("", "", "unknown_company")] {
            let head = t.head.seq
            let decision = try t.ledger.access.check(header: header, company: company, project: project, operation: .read)
            XCTAssertFalse(decision.allowed)
            XCTAssertEqual(t.head.seq, head + 1, "company '\(company.prefix(8))', project '\(project.prefix(8))': one credential_used")
            let last = try XCTUnwrap(try t.ledger.audit.events(from: head + 1).first)
            guard case .credentialUsed(let use) = last.event.payload else { return XCTFail("not a use: \(last.event.payload)") }
            XCTAssertEqual(use.denial?.code, decision.denial?.code)
            XCTAssertEqual(decision.code, code)
        }
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }

    /// An empty or over-long client id at the token endpoint is an OAuth `invalid_client`, never a storage error.
    func testEmptyClientIDIsInvalidClient() throws {
        let t = try TestLedger("i12-empty-client", seed: 15)
        defer { t.remove() }
        try t.makeWorld()
        _ = try t.create(.oauth, .global)
        for clientID in ["", String(repeating: "c", count: 600)] {
            assertOAuthDenied(.invalidClient, t) { _ = try t.ledger.oauth.clientCredentialsToken(clientID: clientID, clientSecret: "x") }
        }
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }

    /// `MDB_MAP_FULL` while a command's child transaction appends is no failure of that command: the map grows and
    /// the whole batch runs again, and every command of it succeeds (a batch of 2,500 project creations queued at once
    /// on a 1 MiB map).
    func testMapFullInsideACommandGrowsTheMapAndEveryCommandSucceeds() throws {
        let t = try TestLedger("i12-isolation-growth", seed: 16) { $0.initialMapSize = 1 << 20 }
        defer { t.remove() }
        try t.makeWorld()
        let writer = try XCTUnwrap(t.ledger.writer)
        let alice = try t.ledger.audit.withState { try $0.user(email: World.alice) }!
        let acme = try t.ledger.audit.withState { try $0.company(slug: World.acme) }!.number
        let startSize = t.ledger.environment.mapSize
        let head = t.head.seq
        let outcomes = Outcomes()
        var requests: [WriteRequest] = []
        for i in 0..<2500 {
            outcomes.group.enter()
            let project = StageProject(company: acme, actor: alice, slug: "grown-\(i)-" + String(repeating: "p", count: 40),
                                       name: String(repeating: "n", count: 200))
            requests.append(WriteRequest(.command(QueuedCommand(project))) { error in
                outcomes.set(i, error)
                outcomes.group.leave()
            })
        }
        writer.submit(requests)
        XCTAssertEqual(outcomes.group.wait(timeout: .now() + 60), .success)
        for i in 0..<2500 { XCTAssertNil(outcomes.error(i) ?? nil, "command \(i): \(String(describing: outcomes.error(i)))") }
        XCTAssertGreaterThan(t.ledger.environment.mapSize, startSize, "the map never grew: the test proves nothing")
        XCTAssertEqual(t.head.seq, head + 2500)
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }
}

/// Creates a project numbered from the state as of its place in the batch, with none of `CreateProject`'s checks.
private struct StageProject: LedgerCommand {
    let company: UInt32
    let actor: UInt32
    let slug: String
    var name: String?

    func decide(_ ctx: inout BatchContext) throws {
        let number = try ctx.state.counter(.project) + 1
        ctx.emit(company: company, actor: .user(actor), .projectCreated(project: number, slug: slug, name: name ?? slug))
    }
}

/// Stages a good project, then one whose `project_slugs` key (4 + 600 bytes) LMDB refuses: it fails halfway through
/// appending, with an LMDB error.
private struct HalfDoneProjects: LedgerCommand {
    let company: UInt32
    let actor: UInt32

    func decide(_ ctx: inout BatchContext) throws {
        let number = try ctx.state.counter(.project) + 1
        ctx.emit(company: company, actor: .user(actor), .projectCreated(project: number, slug: "half-done", name: "half"))
        ctx.emit(company: company, actor: .user(actor), .projectCreated(project: number + 1, slug: String(repeating: "x", count: 600), name: "long"))
    }
}

/// Stages an event, then throws an error that is no `LedgerError` (what a codec or a bug would throw).
private struct ForeignFailure: LedgerCommand {
    struct Failure: Error {}
    let company: UInt32
    let actor: UInt32

    func decide(_ ctx: inout BatchContext) throws {
        ctx.emit(company: company, actor: .user(actor), .projectCreated(project: 1_000, slug: "never", name: "never"))
        throw Failure()
    }
}
