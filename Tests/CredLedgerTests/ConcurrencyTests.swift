import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 4: many concurrent callers through the group-commit writer. Every acknowledged check is exactly one
/// recorded use; the sequence stays dense and the ledger verifies.
final class ConcurrencyTests: XCTestCase {
    private var t: TestLedger!
    private var subjects: [(id: String, header: String)] = []

    override func setUpWithError() throws {
        try makeLedger()
    }

    private func makeLedger(mapSize: Int? = nil) throws {
        t?.remove()
        t = try TestLedger("concurrency", seed: 16) { options in
            if let mapSize { options.initialMapSize = mapSize }
        }
        try t.makeWorld()
        let ledger = t.ledger!
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)
        let viewer = try t.create(.staticKey, .read)
        try ledger.administration.grantAccess(World.acme, credential: viewer.id, project: World.bridge, role: .viewer, as: World.alice)
        let editor = try t.create(.staticKey, .readWrite)
        try ledger.administration.grantAccess(World.acme, credential: editor.id, project: World.bridge, role: .editor, as: World.alice)
        let global = try t.create(.staticKey, .global)
        let oauth = try t.create(.oauth, .readWrite)
        try ledger.administration.grantAccess(World.acme, credential: oauth.id, project: World.tunnel, role: .viewer, as: World.alice)
        let pkce = try t.create(.pkce, .readWrite)
        subjects = [
            (viewer.id, try t.header(for: viewer)), (editor.id, try t.header(for: editor)), (global.id, try t.header(for: global)),
            (oauth.id, try t.header(for: oauth)), (pkce.id, try t.header(for: pkce, user: World.bob)),
        ]
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    /// Per-credential tallies merged from many threads.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [String: (allowed: Int, denied: Int)] = [:]
        private var failures: [String] = []
        func add(_ local: [String: (allowed: Int, denied: Int)], failures f: [String]) {
            lock.withLock {
                for (id, c) in local {
                    let old = counts[id] ?? (0, 0)
                    counts[id] = (old.allowed + c.allowed, old.denied + c.denied)
                }
                failures += f
            }
        }
        var snapshot: ([String: (allowed: Int, denied: Int)], [String]) { lock.withLock { (counts, failures) } }
    }

    private func assertCountersMatch(_ counts: [String: (allowed: Int, denied: Int)], start: UInt64, expectedUses: Int,
                                     file: StaticString = #filePath, line: UInt = #line) throws {
        let ledger = t.ledger!
        XCTAssertEqual(counts.values.map { $0.allowed + $0.denied }.reduce(0, +), expectedUses, file: file, line: line)
        for row in try ledger.audit.credentialTable(World.acme, as: World.alice) {
            let c = counts[row.id] ?? (0, 0)
            XCTAssertEqual(row.used, UInt64(c.allowed), "Used of \(row.name)", file: file, line: line)
            XCTAssertEqual(row.denied, UInt64(c.denied), "denied of \(row.name)", file: file, line: line)
        }
        // Dense sequence; exactly one credential_used per acknowledged check.
        var expected: UInt64 = 1
        var uses = 0
        try ledger.audit.forEachEvent { stored in
            XCTAssertEqual(stored.event.seq, expected, file: file, line: line)
            expected += 1
            if stored.event.seq > start, case .credentialUsed = stored.event.payload { uses += 1 }
            return true
        }
        XCTAssertEqual(expected - 1, t.head.seq, file: file, line: line)
        XCTAssertEqual(uses, expectedUses, file: file, line: line)
        let report = try ledger.audit.verify()
        XCTAssertTrue(report.ok, "\(String(describing: report.chainFailure))", file: file, line: line)
    }

    /// `threads` threads of `perThread` synchronous checks each, over every subject, reads and writes, two projects.
    private func hammer(threads: Int, perThread: Int, whileDoing work: () throws -> Void = {}) throws -> [String: (allowed: Int, denied: Int)] {
        let ledger = t.ledger!
        let subjects = self.subjects
        let tally = Tally()
        let done = DispatchGroup()
        for n in 0..<threads {
            done.enter()
            let thread = Thread {
                var local: [String: (allowed: Int, denied: Int)] = [:]
                var failures: [String] = []
                for i in 0..<perThread {
                    let subject = subjects[(n + i) % subjects.count]
                    let op: CredLedgerCore.Operation = i % 3 == 0 ? .write : .read
                    let project = i % 4 == 0 ? World.tunnel : World.bridge
                    do {
                        let d = try ledger.access.check(header: subject.header, company: World.acme, project: project, operation: op)
                        if d.credentialID != subject.id { failures.append("attributed to \(d.credentialID ?? "nil")") }
                        var c = local[subject.id] ?? (0, 0)
                        if d.allowed { c.allowed += 1 } else { c.denied += 1 }
                        local[subject.id] = c
                    } catch {
                        failures.append("\(error)")
                    }
                }
                tally.add(local, failures: failures)
                done.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        try work()
        done.wait()
        let (counts, failures) = tally.snapshot
        XCTAssertEqual(failures, [], "every check must be acknowledged and attributed")
        return counts
    }

    func testSixteenThreadsOfFiveHundredChecks() throws {
        let start = t.head.seq
        let oauthID = subjects[3].id
        let counts = try hammer(threads: 16, perThread: 500) {
            // An admin changing access meanwhile: decisions change, the accounting must not.
            for i in 0..<40 {
                try t.ledger.administration.grantAccess(World.acme, credential: oauthID, project: World.bridge, role: i % 2 == 0 ? .editor : .viewer, as: World.alice)
            }
        }
        try assertCountersMatch(counts, start: start, expectedUses: 16 * 500)
        XCTAssertTrue(counts.values.contains { $0.allowed > 0 } && counts.values.contains { $0.denied > 0 })
    }

    /// The same while the memory map starts tiny and must grow (MDB_MAP_FULL → grow → re-run the batch) under readers.
    func testChecksWhileTheMapGrows() throws {
        try makeLedger(mapSize: 256 << 10)
        let start = t.head.seq
        let counts = try hammer(threads: 8, perThread: 500) {
            for i in 0..<20 { try t.ledger.administration.createProject(World.acme, project: "grow-\(i)", name: String(repeating: "g", count: 100), as: World.alice) }
        }
        try assertCountersMatch(counts, start: start, expectedUses: 8 * 500)
        XCTAssertGreaterThan(try t.ledger.maintenance.storageInfo().fileBytes, 256 << 10, "the map did not have to grow")
    }

    func testAsyncChecksFromATaskGroup() async throws {
        let ledger = t.ledger!
        let subjects = self.subjects
        let start = t.head.seq
        let tasks = 1_000
        let results = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for i in 0..<tasks {
                group.addTask {
                    let subject = subjects[i % subjects.count]
                    let d = try await ledger.access.check(header: subject.header, company: World.acme, project: World.bridge,
                                                   operation: i % 2 == 0 ? .read : .write)
                    XCTAssertEqual(d.credentialID, subject.id)
                    return (subject.id, d.allowed)
                }
            }
            var out: [(String, Bool)] = []
            for try await r in group { out.append(r) }
            return out
        }
        XCTAssertEqual(results.count, tasks)
        var counts: [String: (allowed: Int, denied: Int)] = [:]
        for (id, allowed) in results {
            var c = counts[id] ?? (0, 0)
            if allowed { c.allowed += 1 } else { c.denied += 1 }
            counts[id] = c
        }
        try assertCountersMatch(counts, start: start, expectedUses: tasks)
    }

    func testRecordWithCompletionFromManyThreads() throws {
        let ledger = t.ledger!
        let decision = try ledger.access.authorize(header: subjects[2].header, company: World.acme, project: World.bridge, operation: .write)
        assertAllowed(decision)
        let start = t.head.seq
        let acknowledged = DispatchGroup()
        let errors = Tally()
        for _ in 0..<2_000 {
            acknowledged.enter()
            ledger.access.record(decision) { error in
                if let error { errors.add([:], failures: ["\(error)"]) }
                acknowledged.leave()
            }
        }
        acknowledged.wait()
        XCTAssertEqual(errors.snapshot.1, [])
        try assertCountersMatch([subjects[2].id: (2_000, 0)], start: start, expectedUses: 2_000)
    }
}
