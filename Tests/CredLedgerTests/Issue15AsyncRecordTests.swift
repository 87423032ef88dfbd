@testable import CredLedger
import CredLedgerCore
import Foundation
import LMDB
import XCTest

/// Issue 15: async `record` and `check` queue a plain request that carries the caller's continuation (no completion
/// closure, no request object), and the writer signals only when it waits. Each path keeps its guarantees: resumed
/// only once its own batch is durable, with its own error, exactly once, also when the ledger closes under it.
final class Issue15AsyncRecordTests: XCTestCase {
    /// Fails the test instead of hanging when an awaited call never returns (a lost wake-up or resume): the body runs
    /// in a task of its own, polled until `seconds` pass.
    private func within<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = Locked<Result<T, Error>?>(nil)
        Task.detached {
            let result: Result<T, Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
        }
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let result = outcome.current { return try result.get() }
            try await Task.sleep(nanoseconds: 1_000_000)
        }
        throw LedgerError("test_timeout", "\(what) did not return within \(seconds) s", kind: .badInput)
    }

    /// The blocking `record` (in an async context the async overload would be chosen).
    private static func recordBlocking(_ ledger: Ledger, _ decision: Decision) throws {
        try ledger.access.record(decision)
    }

    /// Counts uses in the log from `seq + 1` on.
    private func usesAfter(_ t: TestLedger, _ seq: UInt64) throws -> [StoredEvent] {
        try t.events(after: seq).filter { if case .credentialUsed = $0.event.payload { true } else { false } }
    }

    /// The world with one READ-WRITE static key: its header and an allowed read decision on acme/bridge.
    private func worldWithReadWriteKey(_ t: TestLedger) throws -> (header: String, decision: Decision) {
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        let header = "Apikey " + key.secret!
        return (header, try t.ledger.access.authorize(header: header, company: World.acme, project: World.bridge, operation: .read))
    }

    /// 600 async records: when each returns, at least as many uses are committed as calls have returned — no caller is
    /// resumed before its batch is durable — and every returned call is exactly one event.
    func testEveryAsyncRecordReturnsOnlyOnceItsUseIsCommitted() async throws {
        let t = try TestLedger("i15-async-order", seed: 41) { $0.maxBatch = 16 }
        defer { t.remove() }
        let (_, decision) = try worldWithReadWriteKey(t)
        let ledger = t.ledger!
        let start = t.head.seq
        let returned = Locked(0)
        let early = Locked<[String]>([])
        try await within(120, "600 async records") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<600 {
                    group.addTask {
                        try await ledger.access.record(decision)
                        // Counted after reading the head would let a late reader undercount; count first, then read.
                        let n = returned.withLock { $0 += 1; return $0 }
                        let committed = Int(ledger.head.seq - start)
                        if committed < n { early.withLock { $0.append("\(n) returned, \(committed) committed") } }
                    }
                }
                try await group.waitForAll()
            }
        }
        let resumedEarly = early.current
        XCTAssertTrue(resumedEarly.isEmpty, "\(resumedEarly.count) callers were resumed before their use was committed, first: \(resumedEarly.prefix(3))")
        XCTAssertEqual(try usesAfter(t, start).count, 600)
        XCTAssertEqual(t.head.seq, start + 600)
        XCTAssertGreaterThan(t.ledger.maintenance.writerStatistics.batches, 1)
        let verified = try await t.ledger.audit.verify()
        XCTAssertTrue(verified.ok)
    }

    /// A use at another company, recorded async and through `check` async, appends the same two events (owner's trail,
    /// then the anonymous notice) as the blocking `record`.
    func testAsyncRecordOfAUseAtAnotherCompanyWritesTheSameTwoEventsAsTheBlockingOne() async throws {
        let t = try TestLedger("i15-async-cross", seed: 42)
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .global, name: "acme-global")
        let header = "Apikey " + key.secret!
        let decision = try t.ledger.access.authorize(header: header, company: World.beta, project: World.betaProject, operation: .read)
        XCTAssertEqual(decision.denial, .otherCompany)

        var start = t.head.seq
        try Self.recordBlocking(t.ledger, decision)
        let blocking = try usesAfter(t, start)
        start = t.head.seq
        try await t.ledger.access.record(decision)
        let async = try usesAfter(t, start)
        start = t.head.seq
        let checked = try await t.ledger.access.check(header: header, company: World.beta, project: World.betaProject, operation: .read)
        let viaCheck = try usesAfter(t, start)

        XCTAssertEqual(checked.denial, .otherCompany)
        XCTAssertEqual(blocking.count, 2)
        for recorded in [async, viaCheck] {
            XCTAssertEqual(recorded.map(\.event.company), blocking.map(\.event.company))
            XCTAssertEqual(recorded.map(\.event.actor), blocking.map(\.event.actor))
            XCTAssertEqual(recorded.map(\.event.payload), blocking.map(\.event.payload))
        }
        XCTAssertNotEqual(blocking[0].event.company, blocking[1].event.company, "the owner's trail, then the target's notice")
    }

    /// A failed commit (ENOSPC injected) resumes every async caller — `record` and `check` — with the storage error
    /// (`disk_full`) and writes nothing; the next use works.
    func testAFailedCommitResumesEveryAsyncCallerWithTheError() async throws {
        let t = try TestLedger("i15-async-fail", seed: 43)
        defer { t.remove() }
        let (header, decision) = try worldWithReadWriteKey(t)
        let ledger = t.ledger!
        let head = t.head.seq
        ledger.environment.faultInjector = { $0 == .commit ? ENOSPC : nil }
        let outcomes = try await within(60, "async records on a failing disk") {
            await withTaskGroup(of: String.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        do {
                            if i % 2 == 0 {
                                try await ledger.access.record(decision)
                            } else {
                                _ = try await ledger.access.check(header: header, company: World.acme, project: World.bridge, operation: .read)
                            }
                            return "ok"
                        } catch {
                            return (error as? LedgerError)?.code ?? "\(error)"
                        }
                    }
                }
                var all: [String] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
        }
        ledger.environment.faultInjector = nil
        XCTAssertEqual(outcomes.count, 50)
        XCTAssertEqual(Set(outcomes), ["disk_full"], "every caller gets the batch's storage error")
        XCTAssertEqual(t.head.seq, head, "a failed commit writes nothing")
        try await ledger.access.record(decision)
        XCTAssertEqual(t.head.seq, head + 1)
        let verified = try await ledger.audit.verify()
        XCTAssertTrue(verified.ok)
    }

    /// Closing the ledger while async records are in flight: every call returns — recorded, or `ledger_closed` — none
    /// hangs, and exactly the ones that returned without error are in the log after a reopen.
    func testClosingTheLedgerUnderAsyncRecordsAnswersEveryCallerOnce() async throws {
        let t = try TestLedger("i15-async-close", seed: 44) { $0.maxBatch = 8 }
        defer { t.remove() }
        let (_, decision) = try worldWithReadWriteKey(t)
        let ledger = t.ledger!
        let start = t.head.seq
        let started = Locked(0)
        let outcomes = try await within(120, "async records while the ledger closes") {
            try await withThrowingTaskGroup(of: String?.self) { group in
                let record: @Sendable () async -> String? = {
                    started.withLock { $0 += 1 }
                    do {
                        try await ledger.access.record(decision)
                        return "ok"
                    } catch {
                        return (error as? LedgerError)?.code ?? "\(error)"
                    }
                }
                for _ in 0..<300 { group.addTask(operation: record) }
                // The close starts while uses are queued (maxBatch 8: many batches still to write) and more keep coming.
                group.addTask {
                    while started.current < 100 { try await Task.sleep(nanoseconds: 100_000) }
                    ledger.close()
                    return nil
                }
                for _ in 0..<100 { group.addTask(operation: record) }
                var all: [String] = []
                for try await outcome in group { if let outcome { all.append(outcome) } }
                return all
            }
        }
        XCTAssertEqual(outcomes.count, 400)
        XCTAssertEqual(Set(outcomes).subtracting(["ok", "ledger_closed"]), [], "\(Set(outcomes))")
        let recorded = outcomes.filter { $0 == "ok" }.count
        XCTAssertGreaterThan(recorded, 0)
        print("Issue15AsyncRecordTests: \(recorded) recorded, \(400 - recorded) ledger_closed")
        do {
            try await ledger.access.record(decision)
            XCTFail("a closed ledger recorded a use")
        } catch {
            XCTAssertEqual((error as? LedgerError)?.code, "ledger_closed")
        }
        try t.reopen()
        XCTAssertEqual(try usesAfter(t, start).count, recorded, "exactly the acknowledged uses are durable")
        let verified = try await t.ledger.audit.verify()
        XCTAssertTrue(verified.ok)
    }

    /// A read-only ledger answers the async forms with `read_only` at once.
    func testAsyncRecordOnAReadOnlyLedgerIsReadOnly() async throws {
        let t = try TestLedger("i15-async-ro", seed: 45)
        defer { t.remove() }
        let (header, decision) = try worldWithReadWriteKey(t)
        try t.reopen(readOnly: true)
        let head = t.head.seq
        for call in 0..<3 {
            do {
                switch call {
                case 0: try await t.ledger.access.record(decision)
                case 1: _ = try await t.ledger.access.check(header: header, company: World.acme, project: World.bridge, operation: .read)
                default: try await t.ledger.access.record(batch: [decision, decision])
                }
                XCTFail("call \(call) recorded on a read-only ledger")
            } catch {
                XCTAssertEqual((error as? LedgerError)?.code, "read_only", "call \(call): \(error)")
            }
        }
        XCTAssertEqual(t.head.seq, head)
    }

    /// The writer goes idle between uses (it waits for work): every kind of request queued then still wakes it —
    /// async, completion and blocking — and a submit while it is busy needs no signal of its own.
    func testRequestsAfterTheWriterWentIdleWakeIt() async throws {
        let t = try TestLedger("i15-async-idle", seed: 46)
        defer { t.remove() }
        let (_, decision) = try worldWithReadWriteKey(t)
        let ledger = t.ledger!
        let head = t.head.seq
        for round in 0..<20 {
            // Long enough for the writer to finish the previous batch and wait on its condition again.
            usleep(round % 2 == 0 ? 20_000 : 200)
            switch round % 3 {
            case 0:
                try await within(30, "async record after idle (round \(round))") { try await ledger.access.record(decision) }
            case 1:
                let done = DispatchSemaphore(value: 0)
                ledger.access.record(decision) { error in
                    XCTAssertNil(error)
                    done.signal()
                }
                XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "completion after idle (round \(round))")
            default:
                try await within(30, "blocking record after idle (round \(round))") {
                    try await Task.detached { try Self.recordBlocking(ledger, decision) }.value
                }
            }
        }
        XCTAssertEqual(t.head.seq, head + 20)
        XCTAssertEqual(try usesAfter(t, head).count, 20)
    }
}
