@testable import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 12, defect 4: a long export or verify must not freeze the ledger. Map growth takes the environment's
/// growth lock exclusively (it waits for every transaction of the process to end, and new ones wait behind it), so a
/// reader holding one transaction for its whole run stalled the writer until it ended. Long readers now read the
/// range pinned at their start in short read transactions: the writer commits and grows the map DURING the read,
/// and the result is exactly the one made at rest.
final class Issue12LongReadTests: XCTestCase {
    /// How long a hook waits for the writer to grow the map before giving up (a liveness bound, not a speed test).
    private static let growthTimeout: TimeInterval = 60

    /// A ledger on a 1 MiB map holding the world and `uses` recorded uses; returns it and a key header.
    private func longLedger(_ label: String, uses: Int) throws -> (TestLedger, String) {
        let t = try TestLedger(label) { $0.initialMapSize = 1 << 20 }
        try t.makeWorld()
        let key = try t.create(.staticKey, .global, name: "G")
        let header = "Apikey " + key.secret!
        let decision = try t.ledger.access.authorize(header: header, company: World.acme, project: "bridge", operation: .read)
        var left = uses
        while left > 0 {
            let n = min(left, 2_000)
            try t.ledger.access.record(batch: Array(repeating: decision, count: n))
            left -= n
        }
        // Everything the writer appends from now on is strictly later than the pinned range.
        t.tick()
        return (t, header)
    }

    /// Records batches of uses on its own thread until stopped, counting commits.
    private final class BackgroundWriter: @unchecked Sendable {
        private let lock = NSLock()
        private var stopped = false
        private var commitCount = 0
        private var failure: Error?
        private let done = DispatchSemaphore(value: 0)

        var commits: Int { lock.withLock { commitCount } }
        var error: Error? { lock.withLock { failure } }

        init(_ ledger: Ledger, header: String) throws {
            let decision = try ledger.access.authorize(header: header, company: World.acme, project: "tunnel", operation: .write)
            let batch = Array(repeating: decision, count: 300)
            let thread = Thread { [self] in
                while !lock.withLock({ stopped }) {
                    do {
                        try ledger.access.record(batch: batch)
                        lock.withLock { commitCount += 1 }
                    } catch {
                        lock.withLock { failure = error }
                        break
                    }
                }
                done.signal()
            }
            thread.start()
        }

        func stop() {
            lock.withLock { stopped = true }
            done.wait()
        }
    }

    /// Called from inside a long read, between or (before the fix) within its transactions: waits until the writer
    /// has committed and grown the map. Returns whether it did within the timeout.
    private static func waitForGrowth(_ ledger: Ledger, _ writer: BackgroundWriter) -> Bool {
        let size = ledger.environment.mapSize, commits = writer.commits
        let deadline = Date().addingTimeInterval(growthTimeout)
        while Date() < deadline {
            if ledger.environment.mapSize > size, writer.commits > commits { return true }
            if writer.error != nil { return false }
            usleep(2_000)
        }
        return false
    }

    /// What two exports of the same range must share: every file, the range, the chain and the counts.
    private func assertSameExport(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        func manifest(_ dir: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))) as! [String: Any]
        }
        let ma = try manifest(a), mb = try manifest(b)
        for key in ["chain", "counts", "snapshot", "scope", "company"] {
            XCTAssertEqual(ma[key] as? NSObject, mb[key] as? NSObject, "manifest \(key)", file: file, line: line)
        }
        for key in ["from_seq", "to_seq", "first_seq", "last_seq"] {
            XCTAssertEqual((ma["range"] as! [String: Any])[key] as? NSObject, (mb["range"] as! [String: Any])[key] as? NSObject,
                           "manifest range.\(key)", file: file, line: line)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: a).filter { $0 != "manifest.json" }.sorted()
        XCTAssertEqual(files, try FileManager.default.contentsOfDirectory(atPath: b).filter { $0 != "manifest.json" }.sorted(),
                       file: file, line: line)
        for name in files {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a + "/" + name)),
                           try Data(contentsOf: URL(fileURLWithPath: b + "/" + name)), "\(name) differs", file: file, line: line)
        }
    }

    /// Through the public API with the standard budget: 70,000 events are more than one transaction's share, and the
    /// progress callback (where the old code held its one transaction) waits for the writer to grow the map.
    func testWriterGrowsTheMapWhileAnExportRunsAndTheExportIsExact() throws {
        let (t, header) = try longLedger("longexport", uses: 70_000)
        defer { t.remove() }
        let pinned = t.ledger.head
        let sizeBefore = t.ledger.environment.mapSize
        let writer = try BackgroundWriter(t.ledger, header: header)
        var grewDuringExport = false, calls = 0
        let commitsBefore = writer.commits
        let live = t.directory.path + "/live"
        let summary = try t.ledger.audit.export(ExportRequest(company: nil, format: .jsonl, directory: live)) { _ in
            calls += 1
            if calls == 1 { grewDuringExport = Self.waitForGrowth(t.ledger, writer) }
        }
        let commitsDuringExport = writer.commits - commitsBefore
        writer.stop()
        XCTAssertNil(writer.error)
        XCTAssertTrue(grewDuringExport, "the writer could not grow the map while the export ran")
        XCTAssertGreaterThan(commitsDuringExport, 0)
        XCTAssertGreaterThan(t.ledger.environment.mapSize, sizeBefore)
        XCTAssertGreaterThan(t.ledger.head.seq, pinned.seq)
        // Exactly the range pinned at the start.
        XCTAssertEqual(summary.toSeq, pinned.seq)
        XCTAssertEqual(summary.head, pinned)
        XCTAssertEqual(summary.events, pinned.seq)
        let verified = try runVerifier(live)
        XCTAssertEqual(verified.code, 0, verified.output)

        // The same range exported at rest (the writer stopped, the log longer): the same files.
        let rest = t.directory.path + "/rest"
        let again = try t.ledger.audit.export(ExportRequest(company: nil, format: .jsonl, directory: rest, until: pinned.timestamp))
        XCTAssertEqual(again.toSeq, pinned.seq)
        try assertSameExport(live, rest)
    }

    /// A company export (posting-list path) and CSV, cut into many small transactions, while the writer appends to
    /// that company's list and grows the map: equal to the export at rest.
    func testCompanyExportInSmallTransactionsWhileTheWriterGrowsTheMap() throws {
        let (t, header) = try longLedger("longcompany", uses: 6_000)
        defer { t.remove() }
        let pinned = t.ledger.head
        let writer = try BackgroundWriter(t.ledger, header: header)
        var grew = false, calls = 0
        let live = t.directory.path + "/live"
        let budget = ReadBudget(maxEvents: 250, maxNanoseconds: 10_000_000_000)
        let summary = try t.ledger.audit.export(ExportRequest(company: World.acme, format: .csv, directory: live), budget: budget) { _ in
            calls += 1
            if calls == 2 { grew = Self.waitForGrowth(t.ledger, writer) }
        }
        writer.stop()
        XCTAssertNil(writer.error)
        XCTAssertTrue(grew, "the writer could not grow the map while the export ran")
        XCTAssertGreaterThan(calls, 20, "the range was not cut into transactions")
        XCTAssertEqual(summary.toSeq, pinned.seq)
        XCTAssertGreaterThan(t.ledger.head.seq, pinned.seq)
        let verified = try runVerifier(live)
        XCTAssertEqual(verified.code, 0, verified.output)
        let rest = t.directory.path + "/rest"
        _ = try t.ledger.audit.export(ExportRequest(company: World.acme, format: .csv, directory: rest, until: pinned.timestamp))
        try assertSameExport(live, rest)
    }

    /// The full verify (chain on two threads, projection rebuild) while the writer grows the map: the writer commits
    /// during it, the projections are compared in one snapshot that includes the events appended meanwhile (the
    /// range ends there), and the report is clean.
    func testWriterGrowsTheMapWhileAVerifyRunsAndTheReportIsExact() throws {
        let (t, header) = try longLedger("longverify", uses: 6_000)
        defer { t.remove() }
        let pinned = t.ledger.head
        let sizeBefore = t.ledger.environment.mapSize
        let writer = try BackgroundWriter(t.ledger, header: header)
        let commitsBefore = writer.commits
        let state = GrowthWait()
        let ledger = t.ledger!
        let report = try ledger.audit.replay(from: 1, threads: 2, projections: true, chunkSize: 1_000,
                                       readBudget: ReadBudget(maxEvents: 500, maxNanoseconds: 10_000_000_000)) {
            if state.first() { state.set(Self.waitForGrowth(ledger, writer)) }
        }
        let commitsDuring = writer.commits - commitsBefore
        writer.stop()
        XCTAssertNil(writer.error)
        XCTAssertTrue(state.grew, "the writer could not grow the map while the verify ran")
        XCTAssertGreaterThan(commitsDuring, 0)
        XCTAssertGreaterThan(t.ledger.environment.mapSize, sizeBefore)
        XCTAssertTrue(report.ok, "\(String(describing: report.chainFailure)) \(report.projections)")
        XCTAssertEqual(report.projections.count, 5, "the four built-in projections and the transparency tree")
        // The comparison snapshot is later than the pinned head (the writer appended during the rebuild) and every
        // link up to it was checked.
        XCTAssertGreaterThan(report.head.seq, pinned.seq)
        XCTAssertEqual(report.lastGood, report.head)
        XCTAssertEqual(report.eventsVerified, report.head.seq)
        XCTAssertEqual(report.eventsProjected, report.head.seq)
        XCTAssertEqual(try t.ledger.audit.event(report.head.seq)?.hash, report.head.hash)
        // At rest: still clean.
        let rest = try t.ledger.audit.verify()
        XCTAssertTrue(rest.ok)
        XCTAssertEqual(rest.head, t.ledger.head)
    }

    /// Issue 15: the same, with the map grown while the transparency tree's own thread is between two of its read
    /// transactions: both replay threads call the hook, and each one's first call waits for a growth of the map.
    func testWriterGrowsTheMapWhileTheReplaysTreeThreadReads() throws {
        let (t, header) = try longLedger("longtree", uses: 6_000)
        defer { t.remove() }
        let pinned = t.ledger.head
        let sizeBefore = t.ledger.environment.mapSize
        let writer = try BackgroundWriter(t.ledger, header: header)
        let waited = Locked<[UInt: Bool]>([:])   // thread → whether the map grew while it waited
        let ledger = t.ledger!
        let report = try ledger.audit.replay(from: 1, threads: 2, projections: true, chunkSize: 1_000,
                                             readBudget: ReadBudget(maxEvents: 500, maxNanoseconds: 10_000_000_000)) {
            let me = UInt(pthread_self())
            guard waited.withLock({ $0[me] == nil }) else { return }
            waited.withLock { $0[me] = false }
            let grew = Self.waitForGrowth(ledger, writer)
            waited.withLock { $0[me] = grew }
        }
        writer.stop()
        XCTAssertNil(writer.error)
        XCTAssertEqual(waited.current.count, 2, "the rebuild thread and the tree thread both read in several transactions")
        XCTAssertEqual(Array(waited.current.values), [true, true], "the writer grew the map while each replay thread was between reads")
        XCTAssertGreaterThan(t.ledger.environment.mapSize, sizeBefore)
        XCTAssertTrue(report.ok, "\(String(describing: report.chainFailure)) \(report.projections)")
        XCTAssertEqual(report.projections.map(\.name).last, "merkle")
        XCTAssertGreaterThan(report.head.seq, pinned.seq)
        XCTAssertEqual(report.lastGood, report.head)
        XCTAssertEqual(report.eventsProjected, report.head.seq)
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }

    /// `log`'s line writer and `forEachEvent` stop at the head pinned at their start, even while the writer appends.
    func testEventListingsStopAtThePinnedHead() throws {
        let (t, header) = try longLedger("longlist", uses: 2_000)
        defer { t.remove() }
        let pinned = t.ledger.head
        var seen: UInt64 = 0
        var appended = false
        let d = try t.ledger.access.authorize(header: header, company: World.acme, project: "bridge", operation: .read)
        try t.ledger.audit.forEachEvent { stored in
            seen = stored.event.seq
            if !appended {
                // The writer thread appends while the visit goes on.
                appended = true
                try t.ledger.access.record(d)
            }
            return true
        }
        XCTAssertEqual(seen, pinned.seq)
        XCTAssertEqual(t.ledger.head.seq, pinned.seq + 1)
    }
}

/// The verify hook runs on the rebuild thread: its state behind a lock.
/// The replay's hook is called by the rebuild thread and by the tree thread: the first caller waits for the growth,
/// and every other caller waits until it has (a rebuild thread that ran on while the tree thread waited could take its
/// comparison snapshot before the writer's commit, and the test would see no event appended meanwhile).
private final class GrowthWait: @unchecked Sendable {
    private let condition = NSCondition()
    private var called = false
    private var done = false
    private var result = false
    /// True for the first caller, which must then `set` the outcome; a later caller returns false once it is set.
    func first() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !called {
            called = true
            return true
        }
        while !done { condition.wait() }
        return false
    }
    func set(_ grew: Bool) {
        condition.lock()
        result = grew
        done = true
        condition.broadcast()
        condition.unlock()
    }
    var grew: Bool { condition.withLock { result } }
}

/// Audit queries examine the pinned range in bounded read transactions too: cut into transactions of a few events,
/// every query gives the same page as in one.
final class Issue12AuditQueryReadTests: XCTestCase {
    func testQueriesCutIntoSmallTransactionsGiveTheSamePages() throws {
        let t = try TestLedger("longquery", seed: 5)
        defer { t.remove() }
        try RandomHistory(t, seed: 5).run(steps: 120)
        var queries: [AuditQuery] = []
        for newestFirst in [true, false] {
            for limit in [1, 7, 1_000] {
                var all = AuditQuery()
                all.limit = limit
                all.newestFirst = newestFirst
                queries.append(all)
                var acme = all
                acme.company = World.acme
                queries.append(acme)
                var denied = all
                denied.outcome = .denied
                queries.append(denied)
                var types = all
                types.types = [.credentialCreated]
                queries.append(types)
            }
        }
        for query in queries {
            let one = try t.ledger.audit.auditEvents(query, budget: ReadBudget(maxEvents: 1 << 40, maxNanoseconds: .max))
            for maxEvents: UInt64 in [1, 3] {
                let cut = try t.ledger.audit.auditEvents(query, budget: ReadBudget(maxEvents: maxEvents, maxNanoseconds: .max))
                XCTAssertEqual(cut.events.map(\.event.seq), one.events.map(\.event.seq), "\(query)")
                XCTAssertEqual(cut.previousHashes, one.previousHashes)
                XCTAssertEqual(cut.next, one.next, "\(query)")
                XCTAssertEqual(cut.examined, one.examined, "\(query)")
            }
        }
    }
}
