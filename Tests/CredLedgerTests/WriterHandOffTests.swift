@testable import CredLedger
import CredLedgerCore
import Foundation
import LMDB
import XCTest

/// Issue 15, one caller in a loop: the writer acknowledges small batches of async and blocking callers itself (no
/// hand-off to the acknowledgement thread), completion closures stay on that thread, and the writer polls its queue
/// after a batch only under steady traffic and always falls asleep on an idle ledger.
final class WriterHandOffTests: XCTestCase {
    /// The world with one READ-WRITE static key and an allowed read decision on acme/bridge.
    private func allowedDecision(_ t: TestLedger) throws -> (header: String, decision: Decision) {
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        let header = "Apikey " + key.secret!
        return (header, try t.ledger.access.authorize(header: header, company: World.acme, project: World.bridge, operation: .read))
    }

    /// The blocking `record` (in an async context the async overload would be chosen).
    private static func recordBlocking(_ ledger: Ledger, _ decision: Decision) throws {
        try ledger.access.record(decision)
    }

    /// The blocking `record`, on a thread of its own (it blocks until durable), awaited.
    private static func recordBlockingOffTheTask(_ ledger: Ledger, _ decision: Decision) async throws {
        let task = Task.detached { try recordBlocking(ledger, decision) }
        try await task.value
    }

    private func writer(_ t: TestLedger) throws -> GroupCommitWriter {
        try XCTUnwrap(t.ledger.access.writer)
    }

    /// Waits (up to 10 s) until the writer sleeps waiting for work; false if it never does.
    private func writerFallsAsleep(_ writer: GroupCommitWriter) -> Bool {
        for _ in 0..<10_000 {
            if writer.isWaitingForWork { return true }
            usleep(1_000)
        }
        return false
    }

    /// One async caller, then one blocking caller, in a loop: every batch (one use) is acknowledged by the writer
    /// itself, each call returns only once its use is committed, and each use is one event.
    func testOneCallerInALoopIsAcknowledgedByTheWriterItself() async throws {
        let t = try TestLedger("handoff-inline", seed: 51)
        defer { t.remove() }
        let (header, decision) = try allowedDecision(t)
        let ledger = t.ledger!
        let start = t.head.seq
        let before = ledger.maintenance.writerStatistics
        for i in 0..<30 {
            switch i % 3 {
            case 0: try await ledger.access.record(decision)
            case 1: _ = try await ledger.access.check(header: header, company: World.acme, project: World.bridge, operation: .read)
            default: try await Self.recordBlockingOffTheTask(ledger, decision)
            }
            XCTAssertEqual(ledger.head.seq, start + UInt64(i + 1), "call \(i) returned before its use was committed")
        }
        let delta = ledger.maintenance.writerStatistics.since(before)
        XCTAssertEqual(delta.batches, 30)
        // Only the first may miss: its batch can follow one the acknowledgement thread still holds (a completion of the
        // setup); from then on that thread has nothing, so every batch is the writer's.
        XCTAssertGreaterThanOrEqual(delta.inlineAcknowledgedBatches, 29, "a lone caller's batch is acknowledged without a hand-off")
        let verified = try await ledger.audit.verify()
        XCTAssertTrue(verified.ok)
    }

    /// A completion closure is caller code: the writer never acknowledges its batch itself, also for a batch of one.
    func testACompletionClosureStillRunsOnTheAcknowledgementThread() throws {
        let t = try TestLedger("handoff-completion", seed: 52)
        defer { t.remove() }
        let (_, decision) = try allowedDecision(t)
        let before = t.ledger.maintenance.writerStatistics
        for _ in 0..<5 {
            let done = DispatchSemaphore(value: 0)
            t.ledger.access.record(decision) { error in
                XCTAssertNil(error)
                done.signal()
            }
            XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        }
        let delta = t.ledger.maintenance.writerStatistics.since(before)
        XCTAssertEqual(delta.batches, 5)
        XCTAssertEqual(delta.inlineAcknowledgedBatches, 0)
    }

    /// A failed commit (ENOSPC) acknowledged by the writer itself still gives the lone async and blocking caller the
    /// storage error and writes nothing; the next use works.
    func testAFailedCommitAcknowledgedByTheWriterGivesItsCallerTheError() async throws {
        let t = try TestLedger("handoff-enospc", seed: 53)
        defer { t.remove() }
        let (_, decision) = try allowedDecision(t)
        let ledger = t.ledger!
        let head = t.head.seq
        let before = ledger.maintenance.writerStatistics
        ledger.environment.faultInjector = { $0 == .commit ? ENOSPC : nil }
        for blocking in [false, true, false] {
            do {
                if blocking {
                    try await Self.recordBlockingOffTheTask(ledger, decision)
                } else {
                    try await ledger.access.record(decision)
                }
                XCTFail("a use was acknowledged on a full disk (blocking: \(blocking))")
            } catch {
                XCTAssertEqual((error as? LedgerError)?.code, "disk_full", "\(error)")
            }
        }
        ledger.environment.faultInjector = nil
        XCTAssertEqual(t.head.seq, head, "a failed commit writes nothing")
        let stats = ledger.maintenance.writerStatistics.since(before)
        XCTAssertGreaterThanOrEqual(stats.inlineAcknowledgedBatches, 2, "the first may follow a batch the acknowledgement thread holds: \(stats)")
        try await ledger.access.record(decision)
        XCTAssertEqual(t.head.seq, head + 1)
    }

    /// Under steady traffic (one caller in a loop) the writer takes some batches while polling; it then falls asleep
    /// once the traffic stops, and requests 30 ms apart (longer than the 10 ms poll) are never taken while polling.
    /// (Requests closer than the poll window are steady traffic: once one is taken while polling, the next can be too,
    /// which is why the gap must exceed the window, not only steady traffic's 2 ms.) With polling off it never takes a
    /// batch while polling.
    func testTheWriterPollsOnlyUnderSteadyTrafficAndFallsAsleepWhenIdle() async throws {
        let t = try TestLedger("handoff-poll", seed: 54) { $0.writerPollMicros = 10_000 }
        defer { t.remove() }
        let (_, decision) = try allowedDecision(t)
        let ledger = t.ledger!
        let writer = try writer(t)

        // How soon a resumed caller comes back is the scheduler's: on a loaded machine a gap can exceed steady traffic's
        // 2 ms, after which the writer sleeps at once. So up to 1,000 back-to-back uses, until one is taken while polling.
        var before = ledger.maintenance.writerStatistics
        var uses = 0
        while uses < 1_000, ledger.maintenance.writerStatistics.since(before).takenWhilePolling == 0 {
            for _ in 0..<20 { try await ledger.access.record(decision) }
            uses += 20
        }
        XCTAssertGreaterThan(ledger.maintenance.writerStatistics.since(before).takenWhilePolling, 0,
                             "a caller coming straight back finds the writer polling (\(uses) uses)")
        XCTAssertTrue(writerFallsAsleep(writer), "the writer kept polling an idle ledger")

        before = ledger.maintenance.writerStatistics
        for _ in 0..<10 {
            usleep(30_000)
            try await ledger.access.record(decision)
        }
        XCTAssertEqual(ledger.maintenance.writerStatistics.since(before).takenWhilePolling, 0,
                       "requests further apart than the poll window are not taken while polling")
        XCTAssertTrue(writerFallsAsleep(writer))

        let off = try TestLedger("handoff-poll-off", seed: 55) { $0.writerPollMicros = 0 }
        defer { off.remove() }
        let (_, offDecision) = try allowedDecision(off)
        before = off.ledger.maintenance.writerStatistics
        for _ in 0..<40 { try await off.ledger.access.record(offDecision) }
        let delta = off.ledger.maintenance.writerStatistics.since(before)
        XCTAssertEqual(delta.batches, 40)
        XCTAssertEqual(delta.takenWhilePolling, 0)
    }
}
