import Foundation
import LMDB
import XCTest

/// `Transaction.nested`: a child write transaction inside a write transaction — an abort undoes only the child's
/// writes, a commit merges them, `MDB_MAP_FULL` inside a child grows the map and re-runs the whole write, and the
/// parent cannot be used while its child is open.
final class NestedTransactionTests: LMDBTestCase {
    private func key(_ s: String) -> [UInt8] { Array(s.utf8) }

    private struct Refused: Error {}

    func testChildAbortUndoesOnlyTheChildsWrites() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in
            try txn.put(db, key("before"), key("1"))
            XCTAssertThrowsError(try txn.nested { child in
                try child.put(db, key("child"), key("2"))
                try child.put(db, key("before"), key("overwritten"))
                XCTAssertEqual(try child.get(db, key("child")), key("2"))
                throw Refused()
            }) { XCTAssertTrue($0 is Refused, "the body's error comes back unchanged: \($0)") }
            XCTAssertNil(try txn.get(db, key("child")))
            XCTAssertEqual(try txn.get(db, key("before")), key("1"))
            try txn.put(db, key("after"), key("3"))
        }
        try env.read { txn in
            XCTAssertEqual(try txn.get(db, key("before")), key("1"))
            XCTAssertNil(try txn.get(db, key("child")))
            XCTAssertEqual(try txn.get(db, key("after")), key("3"))
        }
    }

    func testChildCommitMergesIntoTheParent() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        let result: Int = try env.write { txn in
            let r = try txn.nested { child -> Int in
                try child.put(db, key("a"), key("1"))
                // One level deeper: a grandchild's abort leaves the child's write.
                _ = try? child.nested { grandchild in
                    try grandchild.put(db, key("b"), key("2"))
                    throw Refused()
                }
                return 7
            }
            XCTAssertEqual(try txn.get(db, key("a")), key("1"))
            XCTAssertNil(try txn.get(db, key("b")))
            return r
        }
        XCTAssertEqual(result, 7)
        try env.read { txn in
            XCTAssertEqual(try txn.get(db, key("a")), key("1"))
            XCTAssertNil(try txn.get(db, key("b")))
        }
    }

    /// A swallowed error that poisons the child (here an injected `EIO` from a put) aborts the child rather than
    /// committing it — and the parent commits its own writes.
    func testChildThatSwallowedAPoisoningErrorIsAbortedAndTheParentCommits() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        // A transaction keeps the injector it began with: fail the second put, the child's.
        let puts = Locked(0)
        env.faultInjector = { call in
            guard call == .put else { return nil }
            return puts.withLock { $0 += 1; return $0 == 2 ? EIO : nil }
        }
        defer { env.faultInjector = nil }
        try env.write { txn in
            try txn.put(db, key("parent"), key("1"))
            XCTAssertThrowsError(try txn.nested { child in
                try? child.put(db, key("child"), key("2"))
            }) { XCTAssertEqual(($0 as? LMDBError)?.code, EIO) }
        }
        try env.read { txn in
            XCTAssertEqual(try txn.get(db, key("parent")), key("1"))
            XCTAssertNil(try txn.get(db, key("child")))
        }
    }

    /// `MDB_MAP_FULL` inside a child, even if the caller catches it, makes the environment grow the map and run the
    /// whole write again, so every write of the final run commits.
    func testMapFullInsideAChildGrowsTheMapAndRerunsTheWholeWrite() throws {
        var configuration = Environment.Configuration()
        configuration.mapSize = 64 << 10
        let (env, _) = try makeEnvironment(configuration)
        let db = try env.openDatabases(["kv"])[0]
        let startSize = env.mapSize
        var runs = 0
        var childFailures = 0
        try env.write { txn in
            runs += 1
            try txn.put(db, key("parent"), key("p"))
            do {
                try txn.nested { child in
                    for i in 0..<2000 { try child.put(db, key("k\(i)"), [UInt8](repeating: 7, count: 900)) }
                }
            } catch {
                // A caller that isolates failures catches the child's error; map-full must still reach the environment.
                if LMDBError.mapFull ~= error { childFailures += 1 } else { throw error }
            }
        }
        XCTAssertGreaterThan(env.mapSize, startSize)
        XCTAssertGreaterThan(childFailures, 0, "the child never hit map-full: the test proves nothing")
        XCTAssertEqual(runs, childFailures + 1)
        try env.read { txn in
            XCTAssertEqual(try txn.get(db, key("parent")), key("p"))
            XCTAssertEqual(try txn.entryCount(db), 2001)
        }
    }

    /// The parent (and a cursor of it) refuse every call while a child is open; a second child is refused the same way.
    func testParentCannotBeUsedWhileAChildIsOpen() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in
            try txn.put(db, key("a"), key("1"))
            try txn.withCursor(db) { cursor in
                try txn.nested { child in
                    try child.put(db, key("b"), key("2"))
                    assertLMDBError(.badTransaction) { try txn.get(db, key("a")) }
                    assertLMDBError(.badTransaction) { try txn.put(db, key("c"), key("3")) }
                    assertLMDBError(.badTransaction) { try txn.delete(db, key("a")) }
                    assertLMDBError(.badTransaction) { try cursor.first() }
                    assertLMDBError(.badTransaction) { try txn.nested { _ in } }
                }
                XCTAssertEqual(try cursor.first()?.key.count, 1, "the parent works again once the child ended")
            }
            XCTAssertEqual(try txn.get(db, key("b")), key("2"))
        }
        try env.read { txn in XCTAssertEqual(try txn.entryCount(db), 2) }
    }

    /// A child cannot escape its closure, and read-only or `MDB_WRITEMAP` transactions refuse to nest.
    func testNestedIsRefusedWhereLMDBHasNoChild() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.read { txn in
            assertLMDBError(.accessDenied) { try txn.nested { _ in } }
        }
        var escaped: Transaction?
        try env.write { txn in
            try txn.nested { child in escaped = copy child }
            try txn.put(db, key("a"), key("1"))
        }
        assertLMDBError(.badTransaction) { try escaped!.get(db, key("a")) }

        var configuration = Environment.Configuration()
        configuration.flags = [.writeMap]
        let (mapped, _) = try makeEnvironment(configuration, name: "writemap")
        try mapped.write { txn in
            assertLMDBError(.invalidArgument) { try txn.nested { _ in } }
        }
    }

    /// An injected `mdb_env_sync` failure comes back from `Environment.sync`.
    func testInjectedSyncFailure() throws {
        let (env, _) = try makeEnvironment()
        env.faultInjector = { $0 == .sync ? EIO : nil }
        assertLMDBError(LMDBError(code: EIO)) { try env.sync(force: true) }
        env.faultInjector = nil
        try env.sync(force: true)
    }
}
