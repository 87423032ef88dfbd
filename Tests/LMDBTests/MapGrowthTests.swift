import Foundation
import LMDB
import XCTest

/// MDB_MAP_FULL handling: growth, re-run, maxMapSize, and the fault-injection paths.
final class MapGrowthTests: LMDBTestCase {
    private func smallMap(_ mapSize: Int = 1 << 20, max maxMapSize: Int = 1 << 40) -> Environment.Configuration {
        var configuration = Environment.Configuration()
        configuration.mapSize = mapSize
        configuration.maxMapSize = maxMapSize
        return configuration
    }

    private static let valueSize = 64 << 10
    private static let valueCount = 320  // 320 × 64 KiB = 20 MiB

    func testOneMiBMapGrowsToHoldTwentyMiBAcrossTransactions() throws {
        let (env, _) = try makeEnvironment(smallMap())
        let db = try env.openDatabases(["blobs"])[0]
        XCTAssertEqual(env.mapSize, 1 << 20)
        var runs = 0
        for batch in 0..<10 {
            try env.write { txn in
                runs += 1
                for index in (batch * 32)..<(batch * 32 + 32) {
                    try txn.put(db, key(UInt64(index)), pattern(size: Self.valueSize, seed: UInt64(index)))
                }
            }
        }
        XCTAssertGreaterThan(runs, 10, "some batches must have been re-run after growth")
        XCTAssertGreaterThanOrEqual(env.mapSize, 20 << 20)
        try assertIntact(env, db)
    }

    func testOneMiBMapGrowsToHoldTwentyMiBInOneTransaction() throws {
        let (env, _) = try makeEnvironment(smallMap())
        let db = try env.openDatabases(["blobs"])[0]
        var runs = 0
        try env.write { txn in
            // Re-run safe: it only writes what it computes from its inputs.
            runs += 1
            for index in 0..<Self.valueCount {
                try txn.put(db, key(UInt64(index)), pattern(size: Self.valueSize, seed: UInt64(index)))
            }
        }
        XCTAssertGreaterThanOrEqual(runs, 5, "1 → 2 → 4 → 8 → 16 → 32 MiB")
        XCTAssertGreaterThanOrEqual(env.mapSize, 20 << 20)
        try assertIntact(env, db)
        // Growth survives reopening: the recorded size is kept when larger than configured.
        let size = env.mapSize
        let path = env.path
        env.close()
        let reopened = try Environment(path: path, configuration: smallMap())
        defer { reopened.close() }
        XCTAssertGreaterThanOrEqual(reopened.mapSize, size)
        try assertIntact(reopened, try reopened.openDatabases(["blobs"])[0])
    }

    private func assertIntact(_ env: Environment, _ db: Database, file: StaticString = #filePath, line: UInt = #line) throws {
        try env.read { txn in
            XCTAssertEqual(try txn.entryCount(db), Self.valueCount, file: file, line: line)
            for index in 0..<Self.valueCount {
                let value = try txn.get(db, key(UInt64(index)))
                XCTAssertEqual(value, pattern(size: Self.valueSize, seed: UInt64(index)), "value \(index)", file: file, line: line)
            }
        }
    }

    func testMaxMapSizeReachedThrowsMapFullAndWritesNothing() throws {
        let (env, _) = try makeEnvironment(smallMap(1 << 20, max: 4 << 20))
        let db = try env.openDatabases(["blobs"])[0]
        try env.write { txn in try txn.put(db, [0], [0]) }
        var runs = 0
        let error = assertLMDBError(.mapFull) {
            try env.write { txn in
                runs += 1
                for index in 1...128 {  // 8 MiB
                    try txn.put(db, key(UInt64(index)), pattern(size: Self.valueSize, seed: UInt64(index)))
                }
            }
        }
        XCTAssertTrue(error?.description.contains("maxMapSize") ?? false, "\(String(describing: error))")
        XCTAssertEqual(runs, 3, "ran at 1, 2 and 4 MiB")
        XCTAssertEqual(env.mapSize, 4 << 20)
        try env.read { txn in
            XCTAssertEqual(try txn.entryCount(db), 1, "nothing partial written")
            XCTAssertEqual(try txn.get(db, [0]), [0])
        }
        // Still usable for writes that fit.
        try env.write { txn in try txn.put(db, [1], [1]) }
        XCTAssertEqual(try env.stat(db).entries, 2)

        // `catch LMDBError.mapFull` reads naturally.
        do {
            try env.write { txn in try txn.put(db, [2], pattern(size: 8 << 20, seed: 2)) }
            XCTFail("expected mapFull")
        } catch LMDBError.mapFull {
        } catch {
            XCTFail("unexpected \(error)")
        }
    }

    func testSwallowedMapFullStillGrowsAndReRuns() throws {
        let (env, _) = try makeEnvironment(smallMap())
        let db = try env.openDatabases(["blobs"])[0]
        let big = pattern(size: 2 << 20, seed: 1)
        var runs = 0
        var swallowed = 0
        try env.write { txn in
            runs += 1
            do {
                try txn.put(db, [1], big)
            } catch {
                swallowed += 1  // the transaction is now poisoned; returning must not commit
            }
        }
        XCTAssertGreaterThan(swallowed, 0)
        XCTAssertEqual(runs, swallowed + 1)
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, big)
    }

    func testInjectedMapFullOnCommitGrowsAndRetries() throws {
        let (env, _) = try makeEnvironment(smallMap(8 << 20))
        let db = try env.openDatabases(["kv"])[0]
        let commits = Locked(0)
        env.faultInjector = { call in
            guard call == .commit else { return nil }
            let count = commits.withLock { count -> Int in
                count += 1
                return count
            }
            return count == 1 ? -30792 /* MDB_MAP_FULL */ : nil
        }
        var runs = 0
        let result = try env.write { txn -> String in
            runs += 1
            try txn.put(db, Array("k".utf8), Array("v".utf8))
            return "done"
        }
        XCTAssertEqual(result, "done")
        XCTAssertEqual(runs, 2, "body re-run after the failed commit")
        XCTAssertEqual(commits.current, 2)
        XCTAssertEqual(env.mapSize, 16 << 20, "grew ×2")
        env.faultInjector = nil
        XCTAssertEqual(try env.read { txn in try txn.get(db, Array("k".utf8)) }, Array("v".utf8))
    }

    func testInjectedNoSpaceOnCommitSurfacesAndCommitsNothing() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        let size = env.mapSize
        env.faultInjector = { call in call == .commit ? ENOSPC : nil }
        var runs = 0
        do {
            try env.write { txn in
                runs += 1
                try txn.put(db, [1], [2])
                try txn.put(db, [2], [2])
            }
            XCTFail("expected ENOSPC")
        } catch LMDBError.noSpace {
            // surfaced unchanged, matched by `~=`
        }
        XCTAssertEqual(runs, 1, "ENOSPC is not retried")
        XCTAssertEqual(env.mapSize, size, "ENOSPC does not grow the map")
        env.faultInjector = nil
        try env.read { txn in
            XCTAssertEqual(try txn.get(db, [1]), [1])
            XCTAssertNil(try txn.get(db, [2]))
        }
        // The writer lock was released: the next write goes through.
        try env.write { txn in try txn.put(db, [2], [2]) }
        XCTAssertEqual(try env.read { txn in try txn.get(db, [2]) }, [2])
    }

    func testInjectedNoSpaceErrorDescribesTheCall() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        env.faultInjector = { call in call == .commit ? ENOSPC : nil }
        let error = assertLMDBError(.noSpace) { try env.write { txn in try txn.put(db, [1], [1]) } }
        XCTAssertEqual(error?.function, "mdb_txn_commit")
        XCTAssertEqual(error?.message, String(cString: strerror(ENOSPC)))
        XCTAssertTrue(error?.description.contains("No space left on device") ?? false)

        // ENOSPC from a put poisons the transaction and surfaces even if swallowed.
        env.faultInjector = { call in call == .put ? ENOSPC : nil }
        var runs = 0
        assertLMDBError(.noSpace) {
            try env.write { txn in
                runs += 1
                try? txn.put(db, [1], [1])
            }
        }
        XCTAssertEqual(runs, 1)
        env.faultInjector = nil
        XCTAssertNil(try env.read { txn in try txn.get(db, [1]) })
    }

    func testInjectedMapResizedOnBeginIsAdoptedAndRetried() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        let begins = Locked(0)
        env.faultInjector = { call in
            guard call == .txnBegin else { return nil }
            let count = begins.withLock { count -> Int in
                count += 1
                return count
            }
            return count == 1 ? -30785 /* MDB_MAP_RESIZED */ : nil
        }
        var runs = 0
        try env.write { txn in
            runs += 1
            try txn.put(db, [1], [1])
        }
        XCTAssertEqual(runs, 1, "the body never ran in the refused transaction")
        XCTAssertEqual(begins.current, 2)
        XCTAssertEqual(env.mapSize, Environment.Configuration().mapSize, "set_mapsize(0) never shrinks our map")
        env.faultInjector = nil
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
    }

    func testInjectedReadersFullRunsReaderCheckAndRetriesOnce() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        let begins = Locked(0)
        env.faultInjector = { call in
            guard call == .txnBegin else { return nil }
            let count = begins.withLock { count -> Int in
                count += 1
                return count
            }
            return count == 1 ? -30790 /* MDB_READERS_FULL */ : nil
        }
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
        XCTAssertEqual(begins.current, 2)

        env.faultInjector = { call in call == .txnBegin ? -30790 : nil }
        let error = assertLMDBError(.readersFull) { try env.read { _ in 1 } }
        XCTAssertTrue(error?.description.contains("mdb_reader_check") ?? false)
        env.faultInjector = nil
    }

    func testInjectedGetAndDeleteErrorsSurface() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        env.faultInjector = { call in call == .get ? EIO : nil }
        assertLMDBError(LMDBError(code: EIO)) { try env.read { txn in try txn.get(db, [1]) } }
        assertLMDBError(LMDBError(code: EIO)) { try env.read { txn in try txn.withCursor(db) { try $0.first() } } }
        env.faultInjector = { call in call == .delete ? EIO : nil }
        assertLMDBError(LMDBError(code: EIO)) { try env.write { txn in try txn.delete(db, [1]) } }
        env.faultInjector = nil
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
    }
}
