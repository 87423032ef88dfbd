import Dispatch
import Foundation
@testable import LMDB
import XCTest

/// Issue 15: a read transaction ends with `mdb_txn_reset` and the next read (of any thread) renews it instead of
/// beginning a new one. A renewed reader must see every commit, the pool must stay bounded, and it must be emptied
/// before a map resize and the close (LMDB wants no transaction of this process then).
final class ReaderReuseTests: LMDBTestCase {
    func testARenewedReaderSeesEveryCommit() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [0]) }
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [0])
        XCTAssertEqual(env.idleReaderCount, 1, "the reader is kept for the next read")
        for round in UInt8(1)...50 {
            try env.write { txn in try txn.put(db, [1], [round]) }
            XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [round], "round \(round): a stale snapshot")
            XCTAssertEqual(env.idleReaderCount, 1, "round \(round): one reader renewed again and again")
        }
        // A read that throws ends its transaction for good; the next read still works.
        struct Refusal: Error {}
        XCTAssertThrowsError(try env.read { _ in throw Refusal() })
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [50])
    }

    /// A kept reader holds its snapshot only while it is the newest commit: the next read takes it as it is, a commit
    /// of this environment resets it (it must not keep freed pages from reuse), a read that a commit overtook gives
    /// its snapshot up at once, and a read-only environment holds none.
    func testAKeptReaderHoldsItsSnapshotOnlyWhileItIsTheNewest() throws {
        let (env, directory) = try makeEnvironment(Self.holdingSnapshots)
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
        XCTAssertEqual(env.heldSnapshotCount, 1, "the newest snapshot is kept")
        for _ in 0..<3 {
            XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
            XCTAssertEqual(env.heldSnapshotCount, 1)
        }
        try env.write { txn in try txn.put(db, [1], [2]) }
        XCTAssertEqual(env.heldSnapshotCount, 0, "the commit reset the held snapshot")
        XCTAssertEqual(env.idleReaderCount, 1, "the reader itself stays in the pool")
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [2])
        XCTAssertEqual(env.heldSnapshotCount, 1)

        // A commit while a read is open: that reader's snapshot is old when it ends, so it is not held.
        let value = try env.read { txn -> [UInt8]? in
            // On another thread: this one is inside a transaction of `env`.
            onAnotherThread { try env.write { w in try w.put(db, [1], [3]) } }
            return try txn.get(db, [1])
        }
        XCTAssertEqual(value, [2], "the open read keeps its own snapshot")
        XCTAssertEqual(env.heldSnapshotCount, 0, "an overtaken snapshot is given up as the read ends")
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [3])

        // Many commits, each followed by a read: every read sees its commit, whether its reader was held or reset.
        for round in UInt8(4)...60 {
            try env.write { txn in try txn.put(db, [1], [round]) }
            XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [round], "round \(round): a stale snapshot")
            XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [round], "round \(round): the held reader")
        }
        env.close()

        var readOnly = Self.holdingSnapshots
        readOnly.flags.insert(.readOnly)
        let reopened = try Environment(path: directory.appending("env"), configuration: readOnly)
        defer { reopened.close() }
        let again = try reopened.openDatabases(["kv"])[0]
        XCTAssertEqual(try reopened.read { txn in try txn.get(again, [1]) }, [60])
        XCTAssertEqual(reopened.idleReaderCount, 1)
        XCTAssertEqual(reopened.heldSnapshotCount, 0, "a read-only environment (every commit another process's) holds none")
    }

    /// Another process's commits do not reset this process's held snapshots, so an idle process would pin every
    /// page they free: a held snapshot is reset `heldSnapshotMillis` after it was kept, with no read or commit here.
    func testAHeldSnapshotIsGivenUpSoonWithoutACommit() throws {
        var configuration = Environment.Configuration()
        configuration.heldSnapshotMillis = 50
        let (env, _) = try makeEnvironment(configuration)
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        for round in 1...3 {
            XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
            let deadline = Date().addingTimeInterval(10)
            while env.heldSnapshotCount > 0 && Date() < deadline { usleep(5_000) }
            XCTAssertEqual(env.heldSnapshotCount, 0, "round \(round): the held snapshot was given up")
            XCTAssertEqual(env.idleReaderCount, 1, "round \(round): the reader stays in the pool, reset")
        }
        var never = Environment.Configuration()
        never.heldSnapshotMillis = 0
        let (other, _) = try makeEnvironment(never)
        let kv = try other.openDatabases(["kv"])[0]
        try other.write { txn in try txn.put(kv, [1], [2]) }
        XCTAssertEqual(try other.read { txn in try txn.get(kv, [1]) }, [2])
        XCTAssertEqual(other.heldSnapshotCount, 0, "0 holds no snapshot")
        // A closed environment's pending release does nothing.
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
        env.close()
        usleep(100_000)
        XCTAssertEqual(env.idleReaderCount, 0)
    }

    /// `readSnapshot`, the non-generic read of the authorization hot path, is the same transaction as `read`: it sees
    /// every commit through a renewed reader, refuses nesting, passes a body's error on unchanged, and a
    /// transaction copied out of it is refused afterwards.
    func testTheNonGenericReadIsTheSameTransaction() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        for round in UInt8(1)...20 {
            try env.write { txn in try txn.put(db, [1], [round]) }
            var seen: [UInt8]?
            try env.readSnapshot { txn in seen = try txn.get(db, [1]) }
            XCTAssertEqual(seen, [round], "round \(round): a stale snapshot")
            XCTAssertEqual(env.idleReaderCount, 1, "round \(round): the reader is renewed, as `read` does")
        }
        struct Refusal: Error {}
        XCTAssertThrowsError(try env.readSnapshot { _ in throw Refusal() }) { XCTAssertTrue($0 is Refusal) }
        XCTAssertThrowsError(try env.readSnapshot { _ in try env.readSnapshot { _ in } }) {
            XCTAssertTrue(LMDBError.badTransaction ~= $0, "nested: \($0)")
        }
        var escaped: Transaction?
        try env.readSnapshot { txn in escaped = copy txn }
        XCTAssertThrowsError(try escaped?.get(db, [1]), "a transaction used after its closure returned")
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [20])
    }

    /// The thread's "inside a transaction" mark is thread-local (perf-decide2): nesting in the same environment is
    /// refused, a transaction of another environment inside it is allowed, the mark ends with the closure (returned
    /// or thrown), and other threads are not marked by it.
    func testTheThreadLocalMarkRefusesNestingPerEnvironmentOnly() throws {
        let (first, _) = try makeEnvironment()
        let (second, _) = try makeEnvironment()
        let a = try first.openDatabases(["kv"])[0], b = try second.openDatabases(["kv"])[0]
        try first.write { txn in try txn.put(a, [1], [1]) }
        try second.write { txn in try txn.put(b, [1], [2]) }
        let inner = try first.read { _ in try second.read { txn in try txn.get(b, [1]) } }
        XCTAssertEqual(inner, [2], "a read of another environment inside a read")
        XCTAssertThrowsError(try first.read { _ in try first.read { _ in } }) { XCTAssertTrue(LMDBError.badTransaction ~= $0, "\($0)") }
        XCTAssertThrowsError(try second.readSnapshot { _ in try second.write { _ in } }) { XCTAssertTrue(LMDBError.badTransaction ~= $0) }
        XCTAssertThrowsError(try first.write { _ in _ = try first.openDatabases(["kv"]) }) { XCTAssertTrue(LMDBError.badTransaction ~= $0) }
        struct Refusal: Error {}
        XCTAssertThrowsError(try first.read { _ in throw Refusal() })
        // The marks ended: this thread reads and writes both again.
        try first.write { txn in try txn.put(a, [1], [3]) }
        XCTAssertEqual(try first.read { txn in try txn.get(a, [1]) }, [3])
        XCTAssertEqual(try second.read { txn in try txn.get(b, [1]) }, [2])
        // While this thread is inside a read of `first`, another thread reads it too (the mark is not shared).
        let value = try first.read { _ -> [UInt8]? in
            let other = Locked<[UInt8]??>(nil)
            let group = DispatchGroup()
            startThread(group) { other.withLock { $0 = try? first.read { txn in try txn.get(a, [1]) } } }
            XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
            return other.current ?? nil
        }
        XCTAssertEqual(value, [3])

        // Six environments nested on one thread (the thread's list grows past its first four places): each inner one
        // reads, and a second read of any environment already open on the thread is refused.
        var environments: [(Environment, Database)] = []
        for i in UInt8(0)..<6 {
            let (env, _) = try makeEnvironment()
            let db = try env.openDatabases(["kv"])[0]
            try env.write { txn in try txn.put(db, [1], [i]) }
            environments.append((env, db))
        }
        func nest(_ depth: Int) throws -> [UInt8] {
            guard depth < environments.count else {
                for (env, _) in environments {
                    XCTAssertThrowsError(try env.read { _ in }) { XCTAssertTrue(LMDBError.badTransaction ~= $0) }
                }
                return []
            }
            let (env, db) = environments[depth]
            return try env.read { txn in try (txn.get(db, [1]) ?? []) + nest(depth + 1) }
        }
        XCTAssertEqual(try nest(0), [0, 1, 2, 3, 4, 5])
        for (env, db) in environments { XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }?.count, 1) }
    }

    /// Threads keep readers in their own stripes (`ReaderStripes`): a commit on any thread resets the held snapshots
    /// of every stripe, and each thread's next read sees that commit.
    func testACommitResetsTheHeldSnapshotsOfEveryStripe() throws {
        let (env, _) = try makeEnvironment(Self.holdingSnapshots)
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        // 16 new threads, one after another (consecutive ordinals: every one of the 8 stripes is used twice).
        let threads = 16
        for round in UInt8(1)...3 {
            for _ in 0..<threads {
                onAnotherThread { XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [round]) }
            }
            XCTAssertEqual(env.heldSnapshotCount, 8, "round \(round): each stripe holds the newest snapshot")
            try env.write { txn in try txn.put(db, [1], [round + 1]) }
            XCTAssertEqual(env.heldSnapshotCount, 0, "round \(round): the commit reset every stripe's held snapshot")
            // Threads one after another: the second of a stripe took the reader the first gave back.
            XCTAssertEqual(env.idleReaderCount, 8, "round \(round): the readers stay kept")
        }
    }

    /// Review: the timed release is per stripe: held snapshots kept by threads of every stripe are all given up.
    func testAHeldSnapshotOfEveryStripeIsGivenUpSoon() throws {
        var configuration = Environment.Configuration()
        configuration.heldSnapshotMillis = 50
        let (env, _) = try makeEnvironment(configuration)
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        for round in 1...2 {
            for _ in 0..<16 { onAnotherThread { _ = try env.read { txn in try txn.get(db, [1]) } } }
            XCTAssertGreaterThan(env.heldSnapshotCount, 1, "round \(round): several stripes hold")
            let deadline = Date().addingTimeInterval(10)
            while env.heldSnapshotCount > 0 && Date() < deadline { usleep(5_000) }
            XCTAssertEqual(env.heldSnapshotCount, 0, "round \(round): every stripe's held snapshot was given up")
        }
    }

    func testThePoolIsBoundedAcrossThreads() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [7]) }
        // 48 threads read at the same time (each waits inside its read until all are in), then end together.
        let count = 48
        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        for _ in 0..<count {
            startThread(group) {
                do {
                    let value = try env.read { txn -> [UInt8]? in
                        inside.signal()
                        _ = release.wait(timeout: .now() + 30)
                        return try txn.get(db, [1])
                    }
                    if value != [7] { failures.withLock { $0.append("read \(String(describing: value))") } }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        for _ in 0..<count { XCTAssertEqual(inside.wait(timeout: .now() + 30), .success) }
        for _ in 0..<count { release.signal() }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(failures.current, [])
        // At most an eighth of the 254 slots is kept, the rest aborted: 8 stripes of 31 / 8 each. The 48 threads have
        // consecutive ordinals (each stripe has 6 of them), so every stripe's share is full.
        XCTAssertLessThanOrEqual(env.idleReaderCapacity, 254 / 8)
        XCTAssertGreaterThan(env.idleReaderCapacity, 254 / 8 - 8)
        XCTAssertEqual(env.idleReaderCount, env.idleReaderCapacity, "every stripe keeps its share")
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [7])
    }

    func testTinyReaderTablesKeepNoIdleReader() throws {
        var configuration = Environment.Configuration()
        configuration.maxReaders = 7
        let (env, _) = try makeEnvironment(configuration)
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
        XCTAssertEqual(env.idleReaderCount, 0, "with fewer than 8 slots every slot stays free between reads")
    }

    /// The idle reader is held (its snapshot kept): a growth aborts it all the same, and the next read's is held again.
    func testMapGrowthAndCloseEmptyThePool() throws {
        var configuration = Self.holdingSnapshots
        configuration.mapSize = 1 << 20
        let (env, directory) = try makeEnvironment(configuration)
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, key(0), [1]) }
        XCTAssertNotNil(try env.read { txn in try txn.get(db, key(0)) })
        XCTAssertEqual(env.idleReaderCount, 1)
        XCTAssertEqual(env.heldSnapshotCount, 1)
        // 4 MiB into a 1 MiB map: the write grows the map, which first aborts the idle reader.
        try env.write { txn in
            for i in UInt64(1)...1_000 { try txn.put(db, key(i), pattern(size: 4_000, seed: i)) }
        }
        XCTAssertGreaterThan(env.mapSize, 1 << 20)
        XCTAssertEqual(env.idleReaderCount, 0, "a resize empties the pool")
        XCTAssertEqual(try env.read { txn in try txn.get(db, key(1_000)) }, pattern(size: 4_000, seed: 1_000))
        XCTAssertEqual(env.idleReaderCount, 1)
        XCTAssertEqual(env.heldSnapshotCount, 1)
        XCTAssertEqual(try env.read { txn in try txn.get(db, key(999)) }, pattern(size: 4_000, seed: 999), "the held reader")
        env.close()
        XCTAssertEqual(env.idleReaderCount, 0, "the close aborts idle readers before mdb_env_close")
        // The same path opens again and reads what was committed.
        let reopened = try Environment(path: directory.appending("env"), configuration: configuration)
        defer { reopened.close() }
        let again = try reopened.openDatabases(["kv"])[0]
        XCTAssertEqual(try reopened.read { txn in try txn.get(again, key(1_000)) }, pattern(size: 4_000, seed: 1_000))
    }
}
