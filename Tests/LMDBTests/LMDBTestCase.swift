import Dispatch
import Foundation
import LMDB
// TemporaryDirectory and Locked come from the shared test support, visible to every file of this target.
@_exported import TestSupport
import XCTest

/// Shared fixtures: every test gets its own temporary directory, removed at tear-down.
class LMDBTestCase: XCTestCase {
    /// A new temporary directory, removed when the test ends.
    func makeDirectory(_ label: String = "lmdb") throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(label)
        addTeardownBlock { directory.remove() }
        return directory
    }

    /// An environment with `configuration` in a new temporary directory, closed at tear-down.
    /// A configuration whose idle readers keep their snapshot until a commit (no timed release within a test), for
    /// tests that count held snapshots.
    static var holdingSnapshots: Environment.Configuration {
        var configuration = Environment.Configuration()
        configuration.heldSnapshotMillis = 3_600_000
        return configuration
    }

    func makeEnvironment(_ configuration: Environment.Configuration = .init(), name: String = "env") throws -> (Environment, TemporaryDirectory) {
        let directory = try makeDirectory()
        let path = configuration.flags.contains(.noSubdir) ? directory.appending("\(name).mdb") : directory.appending(name)
        let environment = try Environment(path: path, configuration: configuration)
        addTeardownBlock { [weak environment] in environment?.close() }
        return (environment, directory)
    }

    /// Runs `body` on a new dedicated thread (not the GCD pool, whose width on a 2-core machine
    /// must not decide whether blocking test threads get to run), entering `group` until it ends.
    /// Runs `body` on a new thread and waits for it, failing the test if it throws: for a step that must not run on a
    /// thread already inside a transaction of the same environment.
    func onAnotherThread(_ body: @escaping @Sendable () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        let group = DispatchGroup()
        let failure = Locked<String?>(nil)
        startThread(group) {
            do { try body() } catch { failure.withLock { $0 = "\(error)" } }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success, file: file, line: line)
        XCTAssertNil(failure.current, file: file, line: line)
    }

    func startThread(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        let thread = Thread {
            body()
            group.leave()
        }
        thread.start()
    }

    /// Starts `count` threads that each read one value per snapshot (`read`: the value, or what is wrong with the
    /// snapshot) until `writerDone`, then once more, and record in `failures` a value that goes back on its thread, a
    /// bad snapshot, an error, or a last value other than `final`. Each signals `ready` after its first read and adds
    /// its reads to `reads`.
    func startMonotonicReaders(
        _ group: DispatchGroup, count: Int, env: Environment, ready: DispatchSemaphore, writerDone: Locked<Bool>,
        failures: Locked<[String]>, reads: Locked<Int>, final: UInt64,
        read: @escaping @Sendable (borrowing Transaction) throws -> SnapshotValue
    ) {
        for reader in 0..<count {
            startThread(group) {
                var last: UInt64 = 0
                var announced = false
                var count = 0
                defer { reads.withLock { $0 += count } }
                while true {
                    let finished = writerDone.current
                    let outcome: SnapshotValue
                    do {
                        outcome = try env.read { txn in try read(txn) }
                    } catch {
                        failures.withLock { $0.append("reader \(reader): \(error)") }
                        return
                    }
                    count += 1
                    if !announced {
                        announced = true
                        ready.signal()
                    }
                    let value: UInt64
                    switch outcome {
                    case .value(let v): value = v
                    case .bad(let problem):
                        failures.withLock { $0.append("reader \(reader): \(problem)") }
                        return
                    }
                    if value < last {
                        failures.withLock { $0.append("reader \(reader): went back from \(last) to \(value)") }
                        return
                    }
                    last = value
                    if finished { break }
                }
                if last != final { failures.withLock { $0.append("reader \(reader): final value \(last)") } }
            }
        }
    }

    /// Asserts that `body` throws an ``LMDBError`` equal to `expected`, and returns it.
    @discardableResult
    func assertLMDBError<R>(
        _ expected: LMDBError, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> R
    ) -> LMDBError? {
        do {
            _ = try body()
            XCTFail("expected \(expected), nothing thrown", file: file, line: line)
            return nil
        } catch let error as LMDBError {
            XCTAssertEqual(error, expected, "got \(error)", file: file, line: line)
            return error
        } catch {
            XCTFail("expected \(expected), got \(error)", file: file, line: line)
            return nil
        }
    }
}

/// What a reader of `startMonotonicReaders` found in one snapshot.
enum SnapshotValue {
    case value(UInt64)
    /// What is wrong with the snapshot.
    case bad(String)
}
