import Dispatch
import Foundation
@testable import LMDB
import XCTest

/// A kept reader that holds its snapshot (`Environment.IdleReader.holdsSnapshot`) is taken by the next read without
/// `mdb_txn_renew`: it must still serve that read as a new transaction would, whatever happened since it began.
final class HeldSnapshotTests: LMDBTestCase {
    /// `openDatabases` of a database that already exists commits a write transaction that changes nothing: LMDB does
    /// not advance the txnid, so a read open meanwhile still reads "the newest commit" as it ends and would be held.
    /// But LMDB fixes a transaction's databases (`mt_numdbs`) when it begins or renews: the held transaction cannot
    /// use the handle `openDatabases` returned (EINVAL), although the read that takes it starts after that return.
    func testAReaderBegunBeforeOpenDatabasesIsNotHeldForAReadOfTheNewDatabase() throws {
        let (first, directory) = try makeEnvironment()
        let kv = try first.openDatabases(["kv", "late"])
        try first.write { txn in
            try txn.put(kv[0], [1], [1])
            try txn.put(kv[1], [2], [2])
        }
        first.close()
        // Reopened: "late" exists in the file but is not open in this environment yet.
        let env = try Environment(path: directory.appending("env"))
        defer { env.close() }
        let db = try env.openDatabases(["kv"])[0]

        let late = Locked<Database?>(nil)
        let value = try env.read { txn -> [UInt8]? in
            // On another thread: this one is inside a transaction of `env`.
            let group = DispatchGroup()
            let failure = Locked<String?>(nil)
            startThread(group) {
                do {
                    let opened = try env.openDatabases(["late"])[0]
                    late.withLock { $0 = opened }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
            }
            XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
            XCTAssertNil(failure.current)
            return try txn.get(db, [1])
        }
        XCTAssertEqual(value, [1])
        let handle = try XCTUnwrap(late.current)
        XCTAssertEqual(try env.read { txn in try txn.get(handle, [2]) }, [2], "a read after openDatabases returned uses its handle")
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
    }
}
