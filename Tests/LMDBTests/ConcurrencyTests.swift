import Dispatch
import Foundation
import LMDB
import XCTest

/// Readers on other threads while a writer commits; reader slots.
final class ConcurrencyTests: LMDBTestCase {
    /// Two keys always written together: every snapshot must see them equal, and never go back.
    func testReadersSeeConsistentSnapshotsWhileAWriterCommits() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["pair"])[0]
        try env.write { txn in
            try txn.put(db, Array("a".utf8), key(0))
            try txn.put(db, Array("b".utf8), key(0))
        }
        let failures = Locked<[String]>([])
        let writerDone = Locked(false)
        let snapshots = Locked(0)
        let group = DispatchGroup()
        let commits: UInt64 = 400
        let readersReady = DispatchSemaphore(value: 0)

        startThread(group) {
            // Start only once both readers are reading, so the commits really overlap them.
            for _ in 0..<2 where readersReady.wait(timeout: .now() + 30) == .timedOut {
                failures.withLock { $0.append("readers never started") }
            }
            do {
                for value in 1...commits {
                    try env.write { txn in
                        try txn.put(db, Array("a".utf8), key(value))
                        try txn.put(db, Array("b".utf8), pattern(size: 2_000, seed: value))  // force page churn
                        try txn.put(db, Array("b".utf8), key(value))
                    }
                }
            } catch {
                failures.withLock { $0.append("writer: \(error)") }
            }
            writerDone.withLock { $0 = true }
        }
        startMonotonicReaders(group, count: 2, env: env, ready: readersReady, writerDone: writerDone, failures: failures,
                              reads: snapshots, final: commits) { txn in
            let a = try txn.get(db, Array("a".utf8)).flatMap { bytes in bytes.withUnsafeBytes(decodeKey) }
            let b = try txn.get(db, Array("b".utf8)).flatMap { bytes in bytes.withUnsafeBytes(decodeKey) }
            guard let a, let b, a == b else { return .bad("torn snapshot a=\(String(describing: a)) b=\(String(describing: b))") }
            return .value(a)
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success, "threads did not finish")
        XCTAssertEqual(failures.current, [])
        XCTAssertGreaterThanOrEqual(snapshots.current, 4, "each reader read before and after the writer")
    }

    /// A read transaction keeps its snapshot while another thread commits.
    func testLongReadKeepsItsSnapshot() throws {
        let (env, _) = try makeEnvironment()
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        let readerStarted = DispatchSemaphore(value: 0)
        let writerCommitted = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        let observed = Locked<[[UInt8]?]>([])
        let failures = Locked<[String]>([])

        startThread(group) {
            do {
                try env.read { txn in
                    observed.withLock { $0.append(try? txn.get(db, [1])) }
                    readerStarted.signal()
                    if writerCommitted.wait(timeout: .now() + 30) == .timedOut {
                        failures.withLock { $0.append("writer never committed") }
                    }
                    observed.withLock { $0.append(try? txn.get(db, [1])) }
                }
                observed.withLock { $0.append(try? env.read { txn in try txn.get(db, [1]) }) }
            } catch {
                failures.withLock { $0.append("reader: \(error)") }
            }
        }
        XCTAssertEqual(readerStarted.wait(timeout: .now() + 30), .success)
        try env.write { txn in try txn.put(db, [1], [2]) }
        writerCommitted.signal()
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(failures.current, [])
        XCTAssertEqual(observed.current, [[1], [1], [2]])
    }

    /// With every reader slot held by live threads, a read throws readersFull (after one
    /// mdb_reader_check) instead of hanging; it works again once a slot is free.
    func testReaderSlotsExhausted() throws {
        var configuration = Environment.Configuration()
        configuration.maxReaders = 2
        let (env, _) = try makeEnvironment(configuration)
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [1], [1]) }
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for _ in 0..<2 {
            startThread(group) {
                _ = try? env.read { _ in
                    holding.signal()
                    _ = release.wait(timeout: .now() + 30)
                }
            }
        }
        XCTAssertEqual(holding.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(holding.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(env.info().readers, 2)
        assertLMDBError(.readersFull) { try env.read { txn in try txn.get(db, [1]) } }
        release.signal()
        release.signal()
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(try env.read { txn in try txn.get(db, [1]) }, [1])
    }

    /// Growth waits for readers of other threads, then proceeds.
    func testGrowthWaitsForReadersOnOtherThreads() throws {
        var configuration = Environment.Configuration()
        configuration.mapSize = 1 << 20
        let (env, _) = try makeEnvironment(configuration)
        let db = try env.openDatabases(["kv"])[0]
        try env.write { txn in try txn.put(db, [0], [0]) }
        let stop = Locked(false)
        let failures = Locked<[String]>([])
        let group = DispatchGroup()
        // Made before the readers start: the writes must not wait for CPU time the readers take.
        let values = (UInt64(1)...40).map { pattern(size: 256 << 10, seed: $0) }
        let ends = Array(values[0].prefix(64) + values[0].suffix(64))
        // More threads than the map lock has stripes (`ReaderStripes`): a growth must wait for the readers of each.
        for _ in 0..<9 {
            startThread(group) {
                while !stop.current {
                    do {
                        // The first big value (once written) is read from both ends of its 256 KiB in the map.
                        let (value, big) = try env.read { txn in
                            (try txn.get(db, [0]), try key(1).withUnsafeBytes { k in try txn.get(db, k).map { Array($0.prefix(64) + $0.suffix(64)) } })
                        }
                        if value != [0] { failures.withLock { $0.append("read \(String(describing: value))") } }
                        if let big, big != ends { failures.withLock { $0.append("the first big value differs") } }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                        return
                    }
                }
            }
        }
        for (index, value) in zip(UInt64(1)..., values) {
            try env.write { txn in try txn.put(db, key(index), value) }
        }
        stop.withLock { $0 = true }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(failures.current, [])
        XCTAssertGreaterThanOrEqual(env.mapSize, 8 << 20)
        XCTAssertEqual(try env.stat(db).entries, 41)
    }
}
