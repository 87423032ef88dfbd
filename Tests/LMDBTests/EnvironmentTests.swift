import Foundation
import LMDB
import XCTest

/// Opening, read-only environments, the one-per-path rule, copies, errors and bookkeeping.
final class EnvironmentTests: LMDBTestCase {
    func testVersionIsAtLeast09() {
        let version = Environment.version
        XCTAssertTrue(version.major > 0 || version.minor >= 9, "\(version)")
        XCTAssertTrue(version.string.contains("LMDB"), version.string)
    }

    func testOpeningCreatesDirectoryAndDatabasesAreCached() throws {
        let directory = try makeDirectory()
        let path = directory.appending("a/b/env")
        let env = try Environment(path: path)
        defer { env.close() }
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/data.mdb"))
        let permissions = try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.posixPermissions] as? Int
        XCTAssertEqual(permissions, 0o600)

        let first = try env.openDatabases(["events", "heads", "events"])
        XCTAssertEqual(first.map(\.name), ["events", "heads", "events"])
        XCTAssertEqual(first[0], first[2])
        XCTAssertNotEqual(first[0], first[1])
        let again = try env.openDatabases(["heads", "events", "projections"])
        XCTAssertEqual(again[0], first[1])
        XCTAssertEqual(again[1], first[0])
        XCTAssertEqual(env.path, path)
        XCTAssertFalse(env.isReadOnly)
        assertLMDBError(.invalidArgument) { try env.openDatabases([""]) }
    }

    func testTooManyDatabasesThrowsDbsFull() throws {
        var configuration = Environment.Configuration()
        configuration.maxDatabases = 2
        let (env, _) = try makeEnvironment(configuration)
        _ = try env.openDatabases(["a", "b"])
        assertLMDBError(.dbsFull) { try env.openDatabases(["c"]) }
        XCTAssertEqual(try env.openDatabases(["a"]).count, 1, "still usable")
    }

    func testOpeningTheSamePathTwiceThrowsAClearError() throws {
        let directory = try makeDirectory()
        let path = directory.appending("env")
        let env = try Environment(path: path)
        // The same directory spelt differently, and through a symlink.
        try FileManager.default.createSymbolicLink(atPath: directory.appending("link"), withDestinationPath: path)
        for alias in [path, path + "/", directory.path + "/./env", directory.appending("link")] {
            let error = assertLMDBError(.alreadyOpen) { try Environment(path: alias) }
            XCTAssertTrue(error?.description.contains("already open in this process") ?? false, "\(String(describing: error))")
        }
        // The first environment is unaffected.
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        env.close()
        env.close()  // idempotent
        assertLMDBError(.invalidArgument) { try env.read { _ in 0 } }
        assertLMDBError(.invalidArgument) { try env.write { _ in 0 } }
        XCTAssertEqual(env.info().mapSize, 0)

        // After closing, the path may be opened again.
        let reopened = try Environment(path: directory.appending("link"))
        defer { reopened.close() }
        let again = try reopened.openDatabases(["kv"])[0]
        XCTAssertEqual(try reopened.read { txn in try txn.get(again, [1]) }, [1])
        assertLMDBError(.badDBI) { try reopened.read { txn in try txn.get(db, [1]) } }
    }

    func testReadOnlyEnvironmentOnReadOnlyDirectoryRefusesWrites() throws {
        let directory = try makeDirectory()
        let path = directory.appending("env")
        do {
            let env = try Environment(path: path)
            let db = try env.openDatabases(["kv"])[0]
            try env.write { txn in try txn.put(db, Array("k".utf8), Array("v".utf8)) }
            env.close()
        }
        XCTAssertEqual(chmod(path + "/data.mdb", 0o400), 0)
        XCTAssertEqual(chmod(path, 0o500), 0)

        var configuration = Environment.Configuration()
        configuration.flags = [.readOnly]
        let env = try Environment(path: path, configuration: configuration)
        defer { env.close() }
        XCTAssertTrue(env.isReadOnly)
        let db = try env.openDatabases(["kv"])[0]
        XCTAssertEqual(try env.read { txn in try txn.get(db, Array("k".utf8)) }, Array("v".utf8))

        var runs = 0
        let error = assertLMDBError(.accessDenied) {
            try env.write { txn in
                runs += 1
                try txn.put(db, Array("k".utf8), Array("w".utf8))
            }
        }
        XCTAssertEqual(runs, 0)
        XCTAssertTrue(error?.description.contains("opened read-only") ?? false, "\(String(describing: error))")
        XCTAssertTrue(error?.description.contains("Permission denied") ?? false, "\(String(describing: error))")
        try env.read { txn in
            let error = self.assertLMDBError(.accessDenied) { try txn.put(db, Array("k".utf8), Array("w".utf8)) }
            XCTAssertTrue(error?.description.contains("read-only") ?? false)
        }
        let missing = assertLMDBError(.notFound) { try env.openDatabases(["absent"]) }
        XCTAssertTrue(missing?.description.contains("absent") ?? false)
        XCTAssertEqual(try env.read { txn in try txn.get(db, Array("k".utf8)) }, Array("v".utf8))
    }

    func testReadOnlyOpenOfMissingPathThrowsAndCreatesNothing() throws {
        let directory = try makeDirectory()
        let path = directory.appending("missing")
        var configuration = Environment.Configuration()
        configuration.flags = [.readOnly]
        assertLMDBError(.noEntry) { try Environment(path: path, configuration: configuration) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testDeinitClosesAndReleasesThePath() throws {
        let directory = try makeDirectory()
        let path = directory.appending("env")
        weak var released: Environment?
        do {
            let env = try Environment(path: path)
            released = env
            let db = try env.openDatabases(["kv"])[0]
            try env.write { txn in try txn.put(db, [1], [1]) }
        }
        XCTAssertNil(released, "no transaction or cursor keeps the environment alive")
        let env = try Environment(path: path)  // deinit unregistered the path
        defer { env.close() }
        let db = try env.openDatabases(["kv"])[0]
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
    }

    func testInvalidConfigurationIsRefused() throws {
        let directory = try makeDirectory()
        var configuration = Environment.Configuration()
        configuration.growthFactor = 1
        assertLMDBError(.invalidArgument) { try Environment(path: directory.appending("a"), configuration: configuration) }
        configuration = .init()
        configuration.mapSize = 1 << 30
        configuration.maxMapSize = 1 << 20
        assertLMDBError(.invalidArgument) { try Environment(path: directory.appending("b"), configuration: configuration) }
        // A failed open does not leave the path registered.
        let env = try Environment(path: directory.appending("a"))
        env.close()
    }

    func testCompactCopyOpensWithTheSameData() throws {
        let (env, directory) = try makeEnvironment()
        let db = try env.openDatabases(["log"])[0]
        let other = try env.openDatabases(["other"])[0]
        try env.write { txn in
            for index in UInt64(0)..<2_000 {
                try txn.put(db, key(index), pattern(size: 1_024, seed: index))
            }
            try txn.put(other, Array("x".utf8), Array("y".utf8))
        }
        try env.write { txn in
            for index in UInt64(0)..<2_000 where index % 10 != 0 {
                try txn.delete(db, key(index))
            }
        }
        let compactPath = directory.appending("backup-compact")
        let fullPath = directory.appending("backup-full")
        try env.copy(to: compactPath, compact: true)
        try env.copy(to: fullPath, compact: false)
        // Copying onto an existing copy fails instead of overwriting.
        XCTAssertThrowsError(try env.copy(to: compactPath, compact: true)) { error in
            XCTAssertEqual((error as? LMDBError)?.code, EEXIST, "\(error)")
        }

        let compactSize = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: compactPath + "/data.mdb")[.size] as? Int)
        let fullSize = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: fullPath + "/data.mdb")[.size] as? Int)
        XCTAssertLessThan(compactSize, fullSize, "compaction omits free pages")

        for path in [compactPath, fullPath] {
            let copy = try Environment(path: path)
            defer { copy.close() }
            let handles = try copy.openDatabases(["log", "other"])
            try copy.read { txn in
                XCTAssertEqual(try txn.entryCount(handles[0]), 200, path)
                for index in stride(from: UInt64(0), to: 2_000, by: 10) {
                    XCTAssertEqual(try txn.get(handles[0], key(index)), pattern(size: 1_024, seed: index), path)
                }
                XCTAssertNil(try txn.get(handles[0], key(1)), path)
                XCTAssertEqual(try txn.get(handles[1], Array("x".utf8)), Array("y".utf8), path)
            }
        }
    }

    func testErrorMessagesCarryTheLMDBText() throws {
        XCTAssertTrue(LMDBError.mapFull.message.contains("MDB_MAP_FULL"), LMDBError.mapFull.message)
        XCTAssertTrue(LMDBError.keyExists.message.contains("MDB_KEYEXIST"), LMDBError.keyExists.message)
        XCTAssertTrue(LMDBError.notFound.message.contains("MDB_NOTFOUND"), LMDBError.notFound.message)
        XCTAssertTrue(LMDBError.badValueSize.message.contains("MDB_BAD_VALSIZE"), LMDBError.badValueSize.message)
        XCTAssertEqual(LMDBError.noSpace.message, String(cString: strerror(ENOSPC)))
        XCTAssertEqual(LMDBError.accessDenied.message, String(cString: strerror(EACCES)))
        XCTAssertEqual(LMDBError.busy.code, EAGAIN)
        XCTAssertEqual(LMDBError.readOnlyFS.code, EROFS)
        XCTAssertEqual(LMDBError.noEntry.code, ENOENT)
        XCTAssertEqual(LMDBError(code: -30792), .mapFull)
        XCTAssertEqual(LMDBError(rawValue: -30799), .keyExists)
        XCTAssertEqual(LMDBError.mapFull.description, LMDBError.mapFull.message + " (code -30792)")

        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        do {
            try env.write { txn in try txn.put(db, [1], [2], flags: .noOverwrite) }
            XCTFail("expected keyExists")
        } catch LMDBError.keyExists {
            // matched by `~=`
        }
        let error = assertLMDBError(.keyExists) { try env.write { txn in try txn.put(db, [1], [2], flags: .noOverwrite) } }
        XCTAssertTrue(error?.description.contains("mdb_put") ?? false)
        XCTAssertTrue(error?.description.contains(LMDBError.keyExists.message) ?? false)
        XCTAssertFalse(LMDBError.notFound ~= CocoaError(.fileNoSuchFile))
        XCTAssertEqual(Set([LMDBError.mapFull, LMDBError(code: -30792, function: "x")]).count, 1)
    }

    func testNestedTransactionsOnOneThreadAreRefused() throws {
        let (env, directory) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in
            try txn.put(db, [1], [1])
            self.assertLMDBError(.badTransaction) { try env.read { _ in 0 } }
            self.assertLMDBError(.badTransaction) { try env.write { _ in 0 } }
            self.assertLMDBError(.badTransaction) { try env.openDatabases(["new"]) }
            self.assertLMDBError(.badTransaction) { try env.copy(to: directory.appending("copy"), compact: true) }
            self.assertLMDBError(.badTransaction) { try env.stat(db) }
            // Map-level calls that need no transaction still work inside one.
            XCTAssertGreaterThan(env.info().mapSize, 0)
            XCTAssertEqual(try txn.stat(db).entries, 1)
            _ = try env.readerCheck()
        }
        try env.read { _ in
            self.assertLMDBError(.badTransaction) { try env.read { _ in 0 } }
        }
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1], "the outer write committed")
    }

    func testInfoStatSyncAndReaderCheck() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in
            for index in UInt64(0)..<500 { try txn.put(db, key(index), pattern(size: 100, seed: index)) }
        }
        let info = env.info()
        XCTAssertEqual(info.mapSize, env.mapSize)
        XCTAssertEqual(info.mapSize, 1 << 30)
        XCTAssertEqual(info.maxReaders, 254)
        XCTAssertGreaterThan(info.lastPage, 2)
        XCTAssertGreaterThanOrEqual(info.lastTxnID, 2)
        let stat = try env.stat(db)
        XCTAssertEqual(stat.entries, 500)
        XCTAssertGreaterThanOrEqual(stat.depth, 2)
        XCTAssertGreaterThan(stat.leafPages, 1)
        XCTAssertEqual(stat.overflowPages, 0)
        XCTAssertGreaterThanOrEqual(stat.pageSize, 4_096)
        try env.sync(force: true)
        XCTAssertEqual(try env.readerCheck(), 0)
    }

    func testNoSubdirEnvironment() throws {
        let directory = try makeDirectory()
        var configuration = Environment.Configuration()
        configuration.flags = [.noSubdir]
        let path = directory.appending("nested/ledger.mdb")
        let env = try Environment(path: path, configuration: configuration)
        defer { env.close() }
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "-lock"))
        assertLMDBError(.alreadyOpen) { try Environment(path: directory.path + "/nested/../nested/ledger.mdb", configuration: configuration) }
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [2]) }
        try env.copy(to: directory.appending("backup.mdb"), compact: true)
        let copy = try Environment(path: directory.appending("backup.mdb"), configuration: configuration)
        defer { copy.close() }
        let copied = try copy.openDatabases(["kv"])[0]
        XCTAssertEqual(try copy.read { txn in try txn.get(copied, [1]) }, [2])
    }
}
