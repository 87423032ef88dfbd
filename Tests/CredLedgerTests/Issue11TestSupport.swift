import CredLedger
import CredLedgerCore
import Foundation
import XCTest

// Helpers shared by the issue-11 test files of this target (names prefixed `issue11` to stay clear of others).

/// Runs a CLI command that must fail with `exit`, printing `code`, and proves the log did not move.
@discardableResult
func issue11AssertCLIFails(_ cli: CLI, _ exit: Int32, printing code: String, _ args: [String],
                           file: StaticString = #filePath, line: UInt = #line) -> CLIResult {
    let before = try? cli.head()
    let r = cli.run(args)
    XCTAssertEqual(r.code, exit, "\(args.joined(separator: " ")): \(r.all)", file: file, line: line)
    XCTAssertTrue(r.all.contains(code), "expected '\(code)' in: \(r.all)", file: file, line: line)
    if let before { XCTAssertEqual(try? cli.head(), before, "a failed command changed the log", file: file, line: line) }
    return r
}

/// acme (admin alice, mail domain acme.example, API module on, project bridge, member bob) through the CLI.
func issue11SetUpCLICompany(_ cli: CLI, file: StaticString = #filePath, line: UInt = #line) {
    for args in [["company", "create", "acme", "--admin", World.alice, "--name", "Acme Corp", "--mail-domain", "acme.example"],
                 ["company", "enable-api", "acme", "--as", World.alice],
                 ["project", "create", "acme", "bridge", "--as", World.alice],
                 ["member", "set", "acme", World.bob, "--role", "member", "--as", World.alice]] {
        let r = cli.run(args)
        XCTAssertEqual(r.code, 0, "\(args): \(r.all)", file: file, line: line)
    }
}

/// Every file of a directory tree, as bytes, for plaintext scans.
func issue11FileContents(under directory: String) throws -> [(path: String, bytes: Data)] {
    let paths = try FileManager.default.subpathsOfDirectory(atPath: directory)
    return try paths.compactMap { path in
        var isDirectory: ObjCBool = false
        let full = directory + "/" + path
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        return (path, try Data(contentsOf: URL(fileURLWithPath: full)))
    }
}
