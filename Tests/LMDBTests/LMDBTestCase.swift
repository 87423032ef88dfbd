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
    func makeEnvironment(_ configuration: Environment.Configuration = .init(), name: String = "env") throws -> (Environment, TemporaryDirectory) {
        let directory = try makeDirectory()
        let path = configuration.flags.contains(.noSubdir) ? directory.appending("\(name).mdb") : directory.appending(name)
        let environment = try Environment(path: path, configuration: configuration)
        addTeardownBlock { [weak environment] in environment?.close() }
        return (environment, directory)
    }

    /// Runs `body` on a new dedicated thread (not the GCD pool, whose width on a 2-core machine
    /// must not decide whether blocking test threads get to run), entering `group` until it ends.
    func startThread(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        let thread = Thread {
            body()
            group.leave()
        }
        thread.start()
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
