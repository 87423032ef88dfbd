import Dispatch
import Foundation
@testable import LMDB
import XCTest

/// A kept reader that holds its snapshot (`ReaderStripes.IdleReader.holdsSnapshot`) is taken by the next read without
/// `mdb_txn_renew`: it must still serve that read as a new transaction would, whatever happened since it began.
final class HeldSnapshotTests: LMDBTestCase {
    /// `openDatabases` of a database that already exists commits a write transaction that changes nothing: LMDB does
    /// not advance the txnid, so a read open meanwhile still reads "the newest commit" as it ends and would be held.
    /// But LMDB fixes a transaction's databases (`mt_numdbs`) when it begins or renews: the held transaction cannot
    /// use the handle `openDatabases` returned (EINVAL), although the read that takes it starts after that return.
    func testAReaderBegunBeforeOpenDatabasesIsNotHeldForAReadOfTheNewDatabase() throws {
        let (first, directory) = try makeEnvironment(Self.holdingSnapshots)
        let kv = try first.openDatabases(["kv", "late"])
        try first.write { txn in
            try txn.put(kv[0], [1], [1])
            try txn.put(kv[1], [2], [2])
        }
        first.close()
        // Reopened: "late" exists in the file but is not open in this environment yet.
        let env = try Environment(path: directory.appending("env"), configuration: Self.holdingSnapshots)
        defer { env.close() }
        let db = try env.openDatabases(["kv"])[0]

        let late = Locked<Database?>(nil)
        let value = try env.read { txn -> [UInt8]? in
            // On another thread: this one is inside a transaction of `env`.
            onAnotherThread {
                let opened = try env.openDatabases(["late"])[0]
                late.withLock { $0 = opened }
            }
            return try txn.get(db, [1])
        }
        XCTAssertEqual(value, [1])
        let handle = try XCTUnwrap(late.current)
        XCTAssertEqual(try env.read { txn in try txn.get(handle, [2]) }, [2], "a read after openDatabases returned uses its handle")
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
    }

    /// The sequential case: a reader held in the pool when `openDatabases` opens an existing database (a commit that
    /// changes nothing) and when it creates one (a new txnid). Either way the next read uses the new handle.
    func testAHeldReaderInThePoolServesAReadOfADatabaseOpenedAfterIt() throws {
        let (first, directory) = try makeEnvironment(Self.holdingSnapshots)
        let kv = try first.openDatabases(["kv", "late"])
        try first.write { txn in try txn.put(kv[1], [2], [2]) }
        first.close()
        let env = try Environment(path: directory.appending("env"), configuration: Self.holdingSnapshots)
        defer { env.close() }
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
        XCTAssertEqual(env.heldSnapshotCount, 1)
        let late = try env.openDatabases(["late"])[0]
        XCTAssertEqual(try env.read { txn in try txn.get(late, [2]) }, [2], "an existing database opened later")
        let created = try env.openDatabases(["created"])[0]
        XCTAssertNil(try env.read { txn in try txn.get(created, [3]) }, "a database created later")
        try env.write { txn in try txn.put(created, [3], [3]) }
        XCTAssertEqual(try env.read { txn in try txn.get(created, [3]) }, [3])
    }

    /// An injected begin fault reaches the read even when a held reader waits in the pool (which it drops), and a
    /// committed child transaction is seen by the next read once its parent commits (only the parent's commit is a
    /// commit of the environment, and it resets the held reader).
    func testBeginFaultsAndNestedCommitsWithAHeldReader() throws {
        let (env, _) = try makeEnvironment(Self.holdingSnapshots)
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
        XCTAssertEqual(env.heldSnapshotCount, 1)
        env.faultInjector = { call in call == .txnBegin ? EIO : nil }
        XCTAssertThrowsError(try env.read { txn in try txn.get(db, [1]) }, "the injected fault, not the held snapshot")
        env.faultInjector = nil
        XCTAssertEqual(env.idleReaderCount, 0, "the fault dropped the held reader")
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
        XCTAssertEqual(env.heldSnapshotCount, 1)

        try env.write { txn in
            try txn.nested { child in try child.put(db, [1], [2]) }
        }
        XCTAssertEqual(env.heldSnapshotCount, 0)
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [2], "the child's write, committed by its parent")
        // A write that changes nothing commits without a new txnid: the held snapshot is still the newest.
        try env.write { _ in }
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [2])
    }

    /// Threads read while a writer commits: no read sees an older value than one whose commit returned before the read
    /// started, nor goes back on its thread. The writer reads its own commit twice after each (the second read takes
    /// the held snapshot), and the readers take held snapshots between commits. Commits without fsync keep it short.
    func testNoReadSeesLessThanWhatWasCommittedBeforeItStarted() throws {
        var configuration = Self.holdingSnapshots
        configuration.flags.insert(.noSync)
        let (env, _) = try makeEnvironment(configuration)
        let db = try env.openDatabases(["seq"])[0]
        try env.write { txn in try txn.put(db, [1], key(0)) }
        let commits: UInt64 = 4_000
        let committed = Locked<UInt64>(0)
        let writerDone = Locked(false)
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        @Sendable func value(_ env: Environment) throws -> UInt64? {
            try env.read { txn in try txn.get(db, [1]).flatMap { $0.withUnsafeBytes(decodeKey) } }
        }
        startThread(group) {
            do {
                for next in 1...commits {
                    try env.write { txn in try txn.put(db, [1], key(next)) }
                    committed.withLock { $0 = next }
                    for attempt in 0..<2 where try value(env) != next {
                        failures.withLock { $0.append("writer: read \(attempt) after commit \(next) missed it") }
                    }
                }
            } catch {
                failures.withLock { $0.append("writer: \(error)") }
            }
            writerDone.withLock { $0 = true }
        }
        for reader in 0..<3 {
            startThread(group) {
                var last: UInt64 = 0
                while true {
                    let finished = writerDone.current
                    let before = committed.current
                    let seen: UInt64
                    do {
                        guard let v = try value(env) else {
                            failures.withLock { $0.append("reader \(reader): no value") }
                            return
                        }
                        seen = v
                    } catch {
                        failures.withLock { $0.append("reader \(reader): \(error)") }
                        return
                    }
                    if seen < before || seen < last {
                        failures.withLock { $0.append("reader \(reader): read \(seen) after \(before) committed, \(last) read") }
                        return
                    }
                    last = seen
                    if finished { break }
                }
                if last != commits { failures.withLock { $0.append("reader \(reader): final value \(last)") } }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "threads did not finish")
        XCTAssertEqual(failures.current, [])
    }
}
