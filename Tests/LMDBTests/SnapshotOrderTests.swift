import Dispatch
import Foundation
import LMDB
import XCTest

/// A thread's successive read snapshots never go back, even when readers are preempted inside the begin.
///
/// LMDB 0.9 begins (or renews) a read transaction by loading the committed txnid, choosing that txnid's meta page,
/// and copying it a moment later. A reader preempted between the two while the writer commits twice copies the
/// page the second commit has just rewritten: a snapshot newer than its txnid. The commit publishes its txnid only
/// after its synchronous meta write returns, so the same thread's next read can get the older snapshot before it.
/// `Environment` checks each begun snapshot against the newest meta page and takes a fresh one when two commits
/// overtook it (see `Environment.settleReadSnapshot`).
final class SnapshotOrderTests: LMDBTestCase {
    func testSnapshotsNeverGoBackWithMoreReadersThanCores() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["seq"])[0]
        try env.write { txn in try txn.put(db, [1], key(0)) }
        let commits: UInt64 = 4_000  // ~2 s; without the guard about 1 run in 12 went back
        let readers = 8  // more runnable threads than this machine's cores: readers are preempted mid-begin
        let failures = Locked<[String]>([])
        let writerDone = Locked(false)
        let reads = Locked(0)
        let group = DispatchGroup()
        let readersReady = DispatchSemaphore(value: 0)

        startThread(group) {
            for _ in 0..<readers where readersReady.wait(timeout: .now() + 30) == .timedOut {
                failures.withLock { $0.append("readers never started") }
            }
            do {
                // Durable commits (the default): the meta page's synchronous write keeps the published txnid
                // behind the rewritten page for a whole fsync, the window in which a later read can go back.
                for value in 1...commits {
                    try env.write { txn in try txn.put(db, [1], key(value)) }
                }
            } catch {
                failures.withLock { $0.append("writer: \(error)") }
            }
            writerDone.withLock { $0 = true }
        }
        startMonotonicReaders(group, count: readers, env: env, ready: readersReady, writerDone: writerDone,
                              failures: failures, reads: reads, final: commits) { txn in
            guard let value = try txn.get(db, [1]).flatMap({ $0.withUnsafeBytes(decodeKey) }) else { return .bad("no value") }
            return .value(value)
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success, "threads did not finish")
        XCTAssertEqual(failures.current, [])
        // The writer starts once every reader has read, and each reads once more after it: all overlapped the commits.
        XCTAssertGreaterThanOrEqual(reads.current, readers * 2, "every reader read before and after the commits")
    }
}
