import Foundation
import LMDB
import XCTest

/// put/get/delete, cursors, flags, rollback and key checks — most bodies run across several
/// environment configurations (GRDB style).
final class TransactionTests: LMDBTestCase {
    /// The configurations every configuration-independent test runs under.
    static var configurations: [(label: String, configuration: Environment.Configuration)] {
        var plain = Environment.Configuration()
        plain.mapSize = 16 << 20
        var writeMap = plain
        writeMap.flags = [.writeMap]
        var noSync = plain
        noSync.flags = [.noSync, .noMetaSync, .noReadAhead]
        var noSubdir = plain
        noSubdir.flags = [.noSubdir]
        var tiny = plain
        tiny.mapSize = 64 << 10  // grows during the test
        var tinyWriteMap = tiny
        tinyWriteMap.flags = [.writeMap]
        return [
            ("default", plain), ("writeMap", writeMap), ("noSync", noSync), ("noSubdir", noSubdir),
            ("tinyMap", tiny), ("tinyWriteMap", tinyWriteMap),
        ]
    }

    /// Runs `body` once per configuration, each in its own temporary directory.
    func forEachConfiguration(file: StaticString = #filePath, line: UInt = #line, _ body: (Environment, String) throws -> Void) throws {
        for (label, configuration) in Self.configurations {
            let (environment, _) = try makeEnvironment(configuration)
            do {
                try body(environment, label)
            } catch {
                XCTFail("[\(label)] \(error)", file: file, line: line)
            }
            environment.close()
        }
    }

    func testPutGetDelete() throws {
        try forEachConfiguration { env, label in
            let (db) = try env.openDatabases(["kv"])[0]
            try env.write { txn in
                XCTAssertFalse(txn.isReadOnly)
                try txn.put(db, Array("alpha".utf8), Array("one".utf8))
                try txn.put(db, Array("beta".utf8), Array("two".utf8))
                try txn.put(db, Array("empty".utf8), [])
            }
            try env.read { txn in
                XCTAssertTrue(txn.isReadOnly)
                XCTAssertEqual(try txn.get(db, Array("alpha".utf8)), Array("one".utf8), label)
                XCTAssertEqual(try txn.get(db, Array("beta".utf8)), Array("two".utf8), label)
                XCTAssertEqual(try txn.get(db, Array("empty".utf8)), [], label)
                XCTAssertNil(try txn.get(db, Array("gamma".utf8)), label)
                XCTAssertEqual(try txn.entryCount(db), 3, label)
            }
            // Overwrite, no-overwrite, delete.
            try env.write { txn in
                try txn.put(db, Array("alpha".utf8), Array("uno".utf8))
                self.assertLMDBError(.keyExists) {
                    try txn.put(db, Array("beta".utf8), Array("zwei".utf8), flags: .noOverwrite)
                }
                XCTAssertTrue(try txn.delete(db, Array("beta".utf8)), label)
                XCTAssertFalse(try txn.delete(db, Array("beta".utf8)), label)
                XCTAssertFalse(try txn.delete(db, Array("never".utf8)), label)
            }
            try env.read { txn in
                XCTAssertEqual(try txn.get(db, Array("alpha".utf8)), Array("uno".utf8), label)
                XCTAssertNil(try txn.get(db, Array("beta".utf8)), label)
                XCTAssertEqual(try txn.entryCount(db), 2, label)
            }
            // Buffer API: the value is readable in place, inside the transaction.
            try env.read { txn in
                let value = try Array("alpha".utf8).withUnsafeBytes { try txn.get(db, $0) }
                XCTAssertEqual(value.map { Array($0) }, Array("uno".utf8), label)
            }
            try env.write { txn in try txn.empty(db) }
            XCTAssertEqual(try env.read { txn in try txn.entryCount(db) }, 0, label)
            XCTAssertEqual(try env.stat(db).entries, 0, label)
        }
    }

    func testCursorIteratesBigEndianKeysInNumericOrder() throws {
        try forEachConfiguration { env, label in
            let db = try env.openDatabases(["log"])[0]
            // Values chosen so that little-endian or lexical-decimal order would differ.
            var numbers: [UInt64] = [0, 1, 2, 255, 256, 257, 65_535, 65_536, 1 << 32, (1 << 32) + 1, .max - 1, .max]
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<200 { numbers.append(UInt64.random(in: 0...UInt64.max, using: &generator)) }
            numbers = Array(Set(numbers))
            try env.write { txn in
                for number in numbers.shuffled() {
                    try txn.put(db, key(number), pattern(size: 16, seed: number))
                }
            }
            let sorted = numbers.sorted()
            try env.read { txn in
                let forward: [UInt64] = try txn.withCursor(db) { cursor in
                    var seen: [UInt64] = []
                    var entry = try cursor.first()
                    while let current = entry {
                        guard let number = decodeKey(current.key) else { XCTFail("bad key"); return seen }
                        XCTAssertEqual(Array(current.value), pattern(size: 16, seed: number), label)
                        seen.append(number)
                        entry = try cursor.next()
                    }
                    XCTAssertNil(try cursor.next(), label)
                    XCTAssertNil(try cursor.current(), "past the end: nothing current")
                    return seen
                }
                XCTAssertEqual(forward, sorted, label)

                let backward: [UInt64] = try txn.withCursor(db) { cursor in
                    var seen: [UInt64] = []
                    var entry = try cursor.last()
                    while let current = entry {
                        seen.append(decodeKey(current.key) ?? 0)
                        entry = try cursor.previous()
                    }
                    return seen
                }
                XCTAssertEqual(backward, sorted.reversed(), label)

                // Seeks.
                try txn.withCursor(db) { cursor in
                    XCTAssertNil(try cursor.current(), "not positioned yet")
                    let probe: UInt64 = 300
                    let atLeast = try cursor.seek(atLeast: key(probe)).flatMap { decodeKey($0.key) }
                    XCTAssertEqual(atLeast, sorted.first { $0 >= probe }, label)
                    XCTAssertEqual(try cursor.current().flatMap { decodeKey($0.key) }, atLeast, label)
                    let exact = try cursor.seek(exactly: key(65_536))
                    XCTAssertEqual(exact.flatMap { decodeKey($0.key) }, 65_536, label)
                    XCTAssertEqual(exact.map { Array($0.value) }, pattern(size: 16, seed: 65_536), label)
                    XCTAssertNil(try cursor.seek(exactly: key(3)), label)
                    XCTAssertNil(try cursor.current(), "a miss leaves nothing current")
                    XCTAssertEqual(try cursor.first().flatMap { decodeKey($0.key) }, sorted.first, label)
                    XCTAssertEqual(try cursor.seek(atLeast: key(.max)).flatMap { decodeKey($0.key) }, .max, label)
                    XCTAssertNil(try cursor.next(), label)
                    let buffered = try key(257).withUnsafeBytes { try cursor.seek(atLeast: $0) }
                    XCTAssertEqual(buffered.flatMap { decodeKey($0.key) }, 257, label)
                }
            }
        }
    }

    func testCursorWrites() throws {
        try forEachConfiguration { env, label in
            let db = try env.openDatabases(["cursor"])[0]
            try env.write { txn in
                try txn.withCursor(db) { cursor in
                    for number in UInt64(0)..<100 {
                        try cursor.put(key(number), [UInt8(number)], flags: .append)
                    }
                    self.assertLMDBError(.keyExists) { try cursor.put(key(50), [0], flags: .append) }
                    // Replace the current entry in place.
                    XCTAssertNotNil(try cursor.seek(exactly: key(10)))
                    try [UInt8](repeating: 0xAB, count: 3).withUnsafeBytes { value in
                        try key(10).withUnsafeBytes { try cursor.put($0, value, flags: .current) }
                    }
                    // Delete every even key while iterating.
                    var entry = try cursor.first()
                    while let current = entry {
                        if let number = decodeKey(current.key), number % 2 == 0 {
                            try cursor.deleteCurrent()
                        }
                        entry = try cursor.next()
                    }
                }
            }
            try env.read { txn in
                XCTAssertEqual(try txn.entryCount(db), 50, label)
                XCTAssertNil(try txn.get(db, key(10)), label)
                XCTAssertEqual(try txn.get(db, key(11)), [11], label)
                let keys: [UInt64] = try txn.withCursor(db) { cursor in
                    var keys: [UInt64] = []
                    while let entry = try cursor.next() { keys.append(decodeKey(entry.key) ?? 0) }
                    return keys
                }
                XCTAssertEqual(keys, Array(stride(from: UInt64(1), to: 100, by: 2)), label)
                try txn.withCursor(db) { cursor in
                    _ = try cursor.first()
                    self.assertLMDBError(.accessDenied) { try cursor.deleteCurrent() }
                    self.assertLMDBError(.accessDenied) { try cursor.put(key(1000), [1]) }
                }
            }
            try env.write { txn in
                try txn.withCursor(db) { cursor in
                    self.assertLMDBError(.notFound) { try cursor.deleteCurrent() }
                }
            }
        }
    }

    func testAppendOutOfOrderThrowsKeyExists() throws {
        try forEachConfiguration { env, label in
            let db = try env.openDatabases(["log"])[0]
            try env.write { txn in
                for sequence in UInt64(1)...10 {
                    try txn.put(db, key(sequence), pattern(size: 32, seed: sequence), flags: .append)
                }
            }
            for outOfOrder: UInt64 in [5, 10, 0] {
                let error = assertLMDBError(.keyExists) {
                    try env.write { txn in try txn.put(db, key(outOfOrder), [1], flags: .append) }
                }
                XCTAssertEqual(error?.function, "mdb_put", label)
            }
            try env.write { txn in try txn.put(db, key(11), [11], flags: .append) }
            XCTAssertEqual(try env.read { txn in try txn.entryCount(db) }, 11, label)
            XCTAssertEqual(try env.read { txn in try txn.get(db, key(5)) }, pattern(size: 32, seed: 5), label)
        }
    }

    func testThrowingClosureRollsBackAndRethrowsUnchanged() throws {
        struct Refused: Error, Equatable { let reason: String }
        try forEachConfiguration { env, label in
            let db = try env.openDatabases(["kv"])[0]
            try env.write { txn in try txn.put(db, [1], [1]) }
            var runs = 0
            do {
                try env.write { txn in
                    runs += 1
                    try txn.put(db, [1], [99])
                    try txn.put(db, [2], [2])
                    _ = try txn.delete(db, [1])
                    throw Refused(reason: "policy")
                }
                XCTFail("expected a throw")
            } catch let error as Refused {
                XCTAssertEqual(error, Refused(reason: "policy"), label)
            }
            XCTAssertEqual(runs, 1, "a user error is not retried")
            try env.read { txn in
                XCTAssertEqual(try txn.get(db, [1]), [1], label)
                XCTAssertNil(try txn.get(db, [2]), label)
            }
            // A swallowed keyExists does not poison the transaction: the rest commits.
            try env.write { txn in
                XCTAssertThrowsError(try txn.put(db, [1], [5], flags: .noOverwrite))
                try txn.put(db, [3], [3])
            }
            XCTAssertEqual(try env.read { txn in try txn.get(db, [3]) }, [3], label)
        }
    }

    func testKeySizeChecks() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        XCTAssertEqual(Environment.maxKeySize, 511)
        let longest = [UInt8](repeating: 7, count: 511)
        let tooLong = [UInt8](repeating: 7, count: 512)
        try env.write { txn in
            try txn.put(db, longest, [1])
            for bad in [[UInt8](), tooLong] {
                let error = self.assertLMDBError(.badValueSize) { try txn.put(db, bad, [1]) }
                XCTAssertTrue(error?.description.contains("1...511") ?? false, "\(String(describing: error))")
                self.assertLMDBError(.badValueSize) { try txn.get(db, bad) }
                self.assertLMDBError(.badValueSize) { try txn.delete(db, bad) }
                try txn.withCursor(db) { cursor in
                    self.assertLMDBError(.badValueSize) { try cursor.seek(atLeast: bad) }
                    self.assertLMDBError(.badValueSize) { try cursor.seek(exactly: bad) }
                    self.assertLMDBError(.badValueSize) { try cursor.put(bad, [1]) }
                }
            }
            // Buffer variants, including a nil base address.
            self.assertLMDBError(.badValueSize) {
                try txn.put(db, UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0))
            }
            // Bad sizes don't poison the transaction: the longest key still commits.
        }
        XCTAssertEqual(try env.read { txn in try txn.get(db, longest) }, [1])
        // Values have no such limit.
        let big = pattern(size: 3 << 20, seed: 9)
        try env.write { txn in try txn.put(db, [9], big) }
        XCTAssertEqual(try env.read { txn in try txn.get(db, [9]) }, big)
    }

    /// `Transaction` is copyable (so views can wrap it) but not Sendable: a copy used after its
    /// closure, or on another thread, is refused instead of reaching a freed `MDB_txn`.
    func testTransactionOutsideItsClosureOrThreadIsRefused() throws {
        final class Box: @unchecked Sendable { var transaction: Transaction? }
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }

        let escaped = Box()
        try env.read { txn in escaped.transaction = copy txn }
        let error = assertLMDBError(.badTransaction) { try escaped.transaction?.get(db, [1]) }
        XCTAssertTrue(error?.description.contains("after its read/write closure returned") ?? false)
        try env.write { txn in escaped.transaction = copy txn }
        assertLMDBError(.badTransaction) { try escaped.transaction?.put(db, [2], [2]) }
        assertLMDBError(.badTransaction) { try escaped.transaction?.withCursor(db) { try $0.first() } }

        let crossThread = Locked<LMDBError?>(nil)
        try env.read { txn in
            escaped.transaction = copy txn
            let done = DispatchGroup()
            self.startThread(done) {
                do {
                    _ = try escaped.transaction?.get(db, [1])
                } catch {
                    crossThread.withLock { $0 = error as? LMDBError }
                }
            }
            XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
            XCTAssertEqual(try txn.get(db, [1]), [1], "the owning thread may still use it")
        }
        XCTAssertEqual(crossThread.current, .badTransaction)
        XCTAssertTrue(crossThread.current?.description.contains("another thread") ?? false)
        escaped.transaction = nil
    }

    func testWritesInReadTransactionAreRefused() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.read { txn in
            let error = self.assertLMDBError(.accessDenied) { try txn.put(db, [1], [1]) }
            XCTAssertTrue(error?.description.contains("read-only transaction") ?? false)
            self.assertLMDBError(.accessDenied) { try txn.delete(db, [1]) }
            self.assertLMDBError(.accessDenied) { try txn.empty(db) }
        }
        try env.write { txn in
            self.assertLMDBError(.invalidArgument) { try txn.put(db, [1], [1], flags: .current) }
        }
    }
}
