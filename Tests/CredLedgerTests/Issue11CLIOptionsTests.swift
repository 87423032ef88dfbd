import CredLedger
import CredLedgerCore
@testable import CredLedgerTools
import Foundation
import XCTest

/// Issue 11 item 17: a single-valued option given twice is a usage error naming it (it used to take the last one
/// silently: `--scope read … --scope global` made a GLOBAL key); usage lines show required options without
/// brackets and optional ones in brackets, and the parser enforces exactly what they show.
final class Issue11CLIOptionsTests: XCTestCase {
    func testARepeatedOptionIsAUsageErrorAndWritesNothing() throws {
        let cli = try CLI("i11-repeat")
        defer { cli.remove() }
        issue11SetUpCLICompany(cli)
        let forms: [[String]] = [
            ["key", "create", "acme", "--name", "K", "--type", "static", "--scope", "read", "--as", World.alice, "--scope", "global"],
            ["key", "create", "acme", "--name", "K", "--type", "static", "--scope=read", "--scope=global", "--as", World.alice],
            ["key", "create", "acme", "--name", "K", "--type", "static", "--scope", "read", "--scope=read", "--as", World.alice],
            ["key", "create", "acme", "--name", "K", "--name", "L", "--type", "static", "--scope", "read", "--as", World.alice],
            ["--json", "member", "set", "acme", World.bob, "--role", "member", "--role", "admin", "--as", World.alice],
        ]
        for args in forms {
            let r = issue11AssertCLIFails(cli, 2, printing: "given more than once", args)
            let option = args.contains("--name") && args.filter({ $0 == "--name" }).count == 2 ? "--name"
                : args.contains("--role") ? "--role" : "--scope"
            XCTAssertTrue(r.all.contains(option), "the error must name \(option): \(r.all)")
        }
        let list = cli.run("--json", "key", "list", "acme", "--as", World.alice)
        XCTAssertEqual((list.json as? [Any])?.count, 0, "no credential may have been created: \(list.out)")
        // Repeated flags are harmless (no value to lose).
        XCTAssertEqual(cli.run("key", "list", "acme", "--all", "--all", "--as", World.alice).code, 0)
    }

    func testUsageShowsRequiredOptionsWithoutBracketsAndParseEnforcesThem() throws {
        let cli = try CLI("i11-usage")
        defer { cli.remove() }
        let help = cli.run("key", "create", "--help")
        XCTAssertEqual(help.code, 0)
        XCTAssertTrue(help.out.contains("credledger key create <company> --name <value> --type <value> --scope <value> --as <value> [--redirect-uri <value>] [--expires-in <value>]"), help.out)
        let rotate = cli.run("key", "rotate", "--help")
        XCTAssertTrue(rotate.out.contains("--grace <value> --as <value>") && !rotate.out.contains("[--as"), rotate.out)
        let company = cli.run("company", "create", "--help")
        XCTAssertTrue(company.out.contains("--admin <value> [--name <value>] [--mail-domain <value>]"), company.out)

        // Every spec: required ⊆ options, and leaving any required option out is a usage error naming it.
        for spec in CommandLineTool.commands {
            XCTAssertTrue(Set(spec.required).isSubset(of: spec.options), "\(spec.path): required options must be options")
            for missing in spec.required {
                var words = spec.positionals.map { "x-\($0)" }
                for option in spec.required where option != missing { words += ["--\(option)", "v"] }
                XCTAssertThrowsError(try spec.parse(words), "\(spec.path) without --\(missing)") { error in
                    XCTAssertEqual((error as? UsageError)?.message, "missing --\(missing)")
                }
            }
            if !spec.required.isEmpty { XCTAssertFalse(spec.usage.contains("[--\(spec.required[0]) "), spec.usage) }
        }
        // Through the tool: exit 2 with the usage line, nothing created.
        let r = cli.run("company", "create", "acme")
        XCTAssertEqual(r.code, 2)
        XCTAssertTrue(r.err.contains("missing --admin") && r.err.contains("usage: credledger company create <company> --admin <value>"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cli.db + "/data.mdb"))
    }
}
