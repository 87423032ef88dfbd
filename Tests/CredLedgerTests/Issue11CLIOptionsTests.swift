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

    /// Review finding 9: a repeated global `--db` silently took the last one (`--db prod … --db scratch` wrote to
    /// scratch), unlike every command option. Now it is a usage error naming `--db`, in either spelling, and no
    /// ledger is opened or created.
    func testARepeatedDatabaseOptionIsAUsageError() throws {
        let cli = try CLI("i11-repeat-db")
        defer { cli.remove() }
        issue11SetUpCLICompany(cli)
        let other = cli.directory.appending("other")
        // (`CLI.run` puts `--db <its db>` first: each form below gives a second one.)
        let forms: [[String]] = [
            ["--db", other, "company", "create", "beta", "--admin", "bea@beta.example"],
            ["company", "create", "beta", "--admin", "bea@beta.example", "--db=\(other)"],
            ["--db=\(other)", "company", "create", "beta", "--admin", "bea@beta.example"],
            ["--db", cli.db, "key", "list", "acme", "--as", World.alice],
        ]
        for args in forms {
            let r = issue11AssertCLIFails(cli, 2, printing: "--db given more than once", args)
            XCTAssertTrue(r.out.isEmpty, r.out)
            XCTAssertFalse(FileManager.default.fileExists(atPath: other), "a second --db created \(other)")
        }
        let json = cli.run("--json", "--db", other, "key", "list", "acme", "--as", World.alice)
        XCTAssertEqual(json.code, 2, json.all)
        XCTAssertEqual(json.object["error"] as? String, "usage")
        XCTAssertTrue((json.object["message"] as? String ?? "").contains("--db given more than once"), json.all)
        // `--db` without a directory is still its own error; one `--db` works.
        issue11AssertCLIFails(cli, 2, printing: "--db needs a directory", ["key", "list", "acme", "--as", World.alice, "--db"])
        XCTAssertEqual(cli.run("key", "list", "acme", "--as", World.alice).code, 0)
    }
}
