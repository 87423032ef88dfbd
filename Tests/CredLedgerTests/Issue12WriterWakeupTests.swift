@testable import CredLedger
import CredLedgerCore
import Foundation
import LMDB
import XCTest

/// Issue 12, defects 2 and 3: a blocking caller returns when its own batch commits, whatever the queue depth; with
/// `ackBeforeSync` a failed fsync after a successful commit does not report the committed batch as failed.
final class Issue12WriterWakeupTests: XCTestCase {
    /// Keeps `window` async recordings in flight (each completion submits the next) until stopped or until its own
    /// deadline: the queue stays far deeper than `maxBatch` the whole time.
    private final class Overload: @unchecked Sendable {
        private let lock = NSLock()
        private var stopped = false
        private var inFlight = 0
        private(set) var completed = 0
        private var failures: [String] = []
        let drained = DispatchSemaphore(value: 0)

        var isStopped: Bool { lock.withLock { stopped } }
        var firstFailure: String? { lock.withLock { failures.first } }
        var completedCount: Int { lock.withLock { completed } }

        func start(_ ledger: Ledger, _ decision: Decision, window: Int, deadline: DispatchTime) {
            lock.withLock { inFlight = window }
            for _ in 0..<window { submit(ledger, decision, deadline) }
        }

        private func submit(_ ledger: Ledger, _ decision: Decision, _ deadline: DispatchTime) {
            ledger.access.record(decision) { [self] error in
                let again: Bool = lock.withLock {
                    completed += 1
                    if let error { failures.append("\(error)") }
                    if stopped || DispatchTime.now() >= deadline {
                        stopped = true
                        inFlight -= 1
                        if inFlight == 0 { drained.signal() }
                        return false
                    }
                    return true
                }
                if again { submit(ledger, decision, deadline) }
            }
        }

        func stop() { lock.withLock { stopped = true } }
    }

    /// maxBatch 8 and 512 async recordings kept in flight: a blocking `record`, an admin command and an OAuth call
    /// each return while the overload goes on (before the fix they waited until the queue emptied, i.e. forever
    /// under sustained load; here the load stops itself after 90 s, so the old code fails instead of hanging).
    func testBlockingCallersReturnUnderSustainedOverload() throws {
        let t = try TestLedger("i12-overload", seed: 21) { $0.maxBatch = 8 }
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        let api = try t.create(.oauth, .global)
        let decision = try t.ledger.access.authorize(header: "Apikey " + key.secret!, company: World.acme, project: World.bridge, operation: .read)

        let load = Overload()
        load.start(t.ledger, decision, window: 512, deadline: .now() + 90)
        var drained = false
        defer {
            // Whatever failed above, the load ends before the ledger closes.
            load.stop()
            if !drained { _ = load.drained.wait(timeout: .now() + 120) }
        }
        // Let the queue fill up and the writer run at full depth.
        while load.completedCount < 200 && !load.isStopped { usleep(1000) }

        let ledger = t.ledger!
        let started = DispatchTime.now()
        let done = DispatchSemaphore(value: 0)
        let results = Locked<[String]>([])
        let calls: [(String, @Sendable () throws -> Void)] = [
            ("record", { try ledger.access.record(decision) }),
            ("createProject", { try ledger.administration.createProject(World.acme, project: "under-load", as: World.alice) }),
            ("clientCredentialsToken", { _ = try ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!) }),
            ("record(batch:)", { try ledger.access.record(batch: [decision, decision, decision]) }),
        ]
        for (name, call) in calls {
            let thread = Thread {
                do {
                    try call()
                    results.withLock { $0.append("\(name): ok") }
                } catch {
                    results.withLock { $0.append("\(name): \(error)") }
                }
                done.signal()
            }
            thread.start()
        }
        for (name, _) in calls {
            XCTAssertEqual(done.wait(timeout: .now() + 45), .success, "a blocking call (\(name)…) did not return under overload: \(results.current)")
        }
        print("Issue12WriterWakeupTests: \(calls.count) blocking calls returned in \((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000) ms under overload (\(load.completedCount) async uses so far)")
        XCTAssertFalse(load.isStopped, "the overload ended before the blocking calls returned: the test proves nothing")
        XCTAssertEqual(results.current.sorted(), calls.map { "\($0.0): ok" }.sorted())
        load.stop()
        XCTAssertEqual(load.drained.wait(timeout: .now() + 60), .success)
        drained = true
        XCTAssertNil(load.firstFailure)
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }

    /// `ackBeforeSync` with `mdb_env_sync` failing (injected EIO): the committed batch is reported as committed —
    /// a created key's secret reaches its caller and works — and the failure is counted for operators; once the
    /// disk recovers, the next batch's sync succeeds and nothing was lost.
    func testAckBeforeSyncReportsACommittedBatchDespiteAFailedSync() throws {
        let t = try TestLedger("i12-ack-sync", seed: 22) { $0.durability = .ackBeforeSync }
        defer { t.remove() }
        try t.makeWorld()
        let head = t.head.seq
        let before = t.ledger.maintenance.writerStatistics
        t.ledger.environment.faultInjector = { $0 == .sync ? EIO : nil }
        let issued: IssuedCredential
        do {
            issued = try t.create(.staticKey, .readWrite, name: "made while sync fails")
        } catch {
            t.ledger.environment.faultInjector = nil
            return XCTFail("a committed batch was reported as failed because its fsync failed: \(error)")
        }
        let decision = try t.ledger.access.check(header: "Apikey " + issued.secret!, company: World.acme, project: World.bridge, operation: .read)
        t.ledger.environment.faultInjector = nil
        XCTAssertEqual(decision.denial, .projectAccessMissing, "the key exists and its secret authenticates")
        XCTAssertEqual(t.head.seq, head + 2)
        let stats = t.ledger.maintenance.writerStatistics.since(before)
        XCTAssertGreaterThanOrEqual(stats.syncFailures, 1)
        XCTAssertTrue(stats.lastSyncFailure?.contains("Input/output error") ?? false, "\(String(describing: stats.lastSyncFailure))")
        // The disk is back: the next batch syncs, and the ledger holds every acknowledged event after a reopen.
        try t.ledger.administration.createProject(World.acme, project: "after", as: World.alice)
        XCTAssertEqual(t.ledger.maintenance.writerStatistics.since(before).syncFailures, stats.syncFailures)
        try t.reopen()
        XCTAssertEqual(t.head.seq, head + 3)
        XCTAssertEqual(try t.row(issued.id).name, "made while sync fails")
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }
}
