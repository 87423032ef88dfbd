import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 3: the command-line contract through `CommandLineTool.run` with captured output:
/// exit codes 0/1/2/3, printed error codes, `--json` shapes, confirmation of deletes, secrets shown once.
final class CLITests: XCTestCase {
    private var cli: CLI!
    private let alice = World.alice

    override func setUpWithError() throws {
        cli = try CLI("cli")
    }

    override func tearDown() {
        cli?.remove()
        cli = nil
    }

    /// acme with the API module on, projects bridge and tunnel, member bob.
    private func setUpCompany() {
        XCTAssertEqual(cli.run("company", "create", "acme", "--admin", alice, "--name", "Acme Corp", "--mail-domain", "acme.example").code, 0)
        XCTAssertEqual(cli.run("company", "enable-api", "acme", "--as", alice).code, 0)
        XCTAssertEqual(cli.run("project", "create", "acme", "bridge", "--as", alice).code, 0)
        XCTAssertEqual(cli.run("project", "create", "acme", "tunnel", "--as", alice).code, 0)
        XCTAssertEqual(cli.run("member", "set", "acme", World.bob, "--role", "member", "--as", alice).code, 0)
    }

    private func createKey(_ type: String, _ scope: String, name: String? = nil, extra: [String] = []) -> [String: Any] {
        // Names are unique per company (issue 11): the default one names the type and scope.
        let r = cli.run(["--json", "key", "create", "acme", "--name", name ?? "Key \(type) \(scope)", "--type", type, "--scope", scope, "--as", alice] + extra)
        XCTAssertEqual(r.code, 0, r.all)
        return r.object
    }

    /// Runs a command that must fail with `exit` and print `code`, and checks the log did not move.
    private func assertFails(_ exit: Int32, printing code: String?, _ args: [String], file: StaticString = #filePath, line: UInt = #line) {
        let before = try? cli.head()
        let r = cli.run(args)
        XCTAssertEqual(r.code, exit, "\(args.joined(separator: " ")): \(r.all)", file: file, line: line)
        if let code { XCTAssertTrue(r.all.contains(code), "expected '\(code)' in: \(r.all)", file: file, line: line) }
        if let before { XCTAssertEqual(try? cli.head(), before, "a failed command changed the log", file: file, line: line) }
    }

    // MARK: exit codes

    func testRefusalsExitOneAndPrintTheCode() throws {
        XCTAssertEqual(cli.run("company", "create", "acme", "--admin", alice).code, 0)
        // Module not enabled yet.
        assertFails(1, printing: "api_module_disabled", ["key", "create", "acme", "--name", "K", "--type", "static", "--scope", "read", "--as", alice])
        // Strangers and members are not admins.
        assertFails(1, printing: "not_company_admin", ["company", "enable-api", "acme", "--as", World.mallory])
        XCTAssertEqual(cli.run("company", "enable-api", "acme", "--as", alice).code, 0)
        XCTAssertEqual(cli.run("member", "set", "acme", World.bob, "--role", "member", "--as", alice).code, 0)
        assertFails(1, printing: "not_company_admin", ["key", "create", "acme", "--name", "K", "--type", "static", "--scope", "read", "--as", World.bob])
        assertFails(1, printing: "not_company_admin", ["key", "list", "acme", "--as", World.bob])
        assertFails(1, printing: "last_admin", ["member", "set", "acme", alice, "--role", "member", "--as", alice])
        // JSON mode: the code is the "error" field.
        let r = cli.run("--json", "key", "list", "acme", "--as", World.bob)
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.object["error"] as? String, "not_company_admin")
        XCTAssertFalse((r.object["message"] as? String ?? "").isEmpty)
    }

    func testAuthCheckExitCodes() throws {
        setUpCompany()
        let key = createKey("static", "read")
        let id = key["id"] as! String, secret = key["secret"] as! String
        XCTAssertEqual(cli.run("access", "grant", "acme", id, "bridge", "--role", "viewer", "--as", alice).code, 0)
        let allowed = cli.run("auth", "check", "acme", "--header", "Apikey \(secret)", "--project", "bridge", "--op", "read")
        XCTAssertEqual(allowed.code, 0, allowed.all)
        XCTAssertTrue(allowed.out.hasPrefix("allowed"), allowed.out)
        let write = cli.run("auth", "check", "acme", "--header", "Apikey \(secret)", "--project", "bridge", "--op", "write")
        XCTAssertEqual(write.code, 1)
        XCTAssertTrue(write.out.contains("read_only_scope"), write.out)
        let other = cli.run("--json", "auth", "check", "acme", "--header", "Apikey \(secret)", "--project", "tunnel", "--op", "read")
        XCTAssertEqual(other.code, 1)
        XCTAssertEqual(other.object["result"] as? String, "project_access_missing")
        XCTAssertEqual(other.object["allowed"] as? Bool, false)
        XCTAssertEqual(other.object["credential"] as? String, id)
        assertFails(2, printing: "--op", ["auth", "check", "acme", "--header", "Apikey \(secret)", "--project", "bridge", "--op", "delete"])
        // Every answer above was recorded.
        let list = cli.run("--json", "key", "list", "acme", "--as", alice).json as? [[String: Any]] ?? []
        XCTAssertEqual(list.first?["used"] as? Int, 1)
        XCTAssertEqual(list.first?["denied"] as? Int, 2)
    }

    func testBadUsageExitsTwo() throws {
        setUpCompany()
        let key = createKey("static", "read")
        let id = key["id"] as! String
        let create = ["key", "create", "acme", "--name", "K", "--type", "static", "--scope", "read", "--as", alice]
        assertFails(2, printing: "unknown option --bogus", create + ["--bogus", "1"])
        assertFails(2, printing: "unknown option --verbose", ["key", "list", "acme", "--as", alice, "--verbose"])
        assertFails(2, printing: "--type", ["key", "create", "acme", "--name", "K", "--type", "apikey", "--scope", "read", "--as", alice])
        assertFails(2, printing: "--scope", ["key", "create", "acme", "--name", "K", "--type", "static", "--scope", "admin", "--as", alice])
        assertFails(2, printing: "--scope", ["key", "create", "acme", "--name", "K", "--type", "static", "--scope", "READ ONLY", "--as", alice])
        assertFails(2, printing: "--role", ["access", "grant", "acme", id, "bridge", "--role", "owner", "--as", alice])
        assertFails(2, printing: "--role", ["member", "set", "acme", World.bob, "--role", "superuser", "--as", alice])
        assertFails(2, printing: "missing <company>", ["key", "list", "--as", alice])
        assertFails(2, printing: "missing <id>", ["key", "show", "acme", "--as", alice])
        assertFails(2, printing: "missing --name", ["key", "create", "acme", "--type", "static", "--scope", "read", "--as", alice])
        assertFails(2, printing: "missing --as", ["key", "list", "acme"])
        assertFails(2, printing: "unexpected argument", ["key", "list", "acme", "extra", "--as", alice])
        assertFails(2, printing: "--name needs a value", ["key", "create", "acme", "--type", "static", "--scope", "read", "--as", alice, "--name"])
        assertFails(2, printing: "unknown command", ["frobnicate"])
        assertFails(2, printing: "unknown command", ["key", "frobnicate"])
        assertFails(2, printing: "invalid_name", ["key", "create", "acme", "--name", String(repeating: "x", count: 101), "--type", "static", "--scope", "read", "--as", alice])
        assertFails(2, printing: "invalid_name", ["key", "create", "acme", "--name", "", "--type", "static", "--scope", "read", "--as", alice])
        assertFails(2, printing: "invalid_redirect_uri", ["key", "create", "acme", "--name", "P", "--type", "pkce", "--scope", "read", "--as", alice])
        assertFails(2, printing: "invalid_redirect_uri", ["key", "create", "acme", "--name", "P", "--type", "pkce", "--scope", "read", "--redirect-uri", "http://evil.example/cb", "--as", alice])
        assertFails(2, printing: "invalid_project", ["project", "create", "acme", "Bad_Slug", "--as", alice])
        assertFails(2, printing: "unknown_company", ["key", "list", "nope", "--as", alice])
        assertFails(2, printing: "unknown_credential", ["key", "show", "acme", "cred_nope", "--as", alice])
        assertFails(2, printing: "unknown_project", ["access", "grant", "acme", id, "nowhere", "--role", "viewer", "--as", alice])
        assertFails(2, printing: "company_exists", ["company", "create", "acme", "--admin", alice])
        assertFails(2, printing: "--grace", ["key", "rotate", "acme", id, "--grace", "soon", "--as", alice])
        // JSON mode reports usage errors as an object too.
        let r = cli.run("--json", "key", "create", "acme", "--name", "K", "--type", "nope", "--scope", "read", "--as", alice)
        XCTAssertEqual(r.code, 2)
        XCTAssertEqual(r.object["error"] as? String, "usage")
        // Help is not an error; no command at all is.
        XCTAssertEqual(cli.run("--help").code, 0)
        XCTAssertEqual(cli.run([]).code, 2)
    }

    func testVerifyExitsZeroOnAGoodLedgerAndThreeOnATamperedOne() throws {
        setUpCompany()
        XCTAssertEqual(cli.run("project", "create", "acme", "marked", "--name", "TamperMarkerQ7", "--as", alice).code, 0)
        _ = createKey("static", "global")
        let good = cli.run("verify")
        XCTAssertEqual(good.code, 0, good.all)
        XCTAssertTrue(good.out.contains("chain: ok"), good.out)
        let json = cli.run("--json", "verify")
        XCTAssertEqual(json.code, 0)
        XCTAssertEqual(json.object["ok"] as? Bool, true)
        XCTAssertEqual(json.object["events"] as? Int, Int(try cli.head().seq))

        // Change one character of a project name everywhere it is stored: the event no longer matches its hash.
        let projectSeq = try XCTUnwrap(cli.run("--json", "log").out.split(separator: "\n").compactMap { line -> Int? in
            let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (o?["payload"] as? [String: Any])?["name"] as? String == "TamperMarkerQ7" ? o?["seq"] as? Int : nil
        }.first)
        let file = cli.db + "/data.mdb"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let marker = Data("TamperMarkerQ7".utf8)
        var found = 0
        var searchStart = bytes.startIndex
        while let range = bytes.range(of: marker, in: searchStart..<bytes.endIndex) {
            bytes[range.upperBound - 1] = UInt8(ascii: "8")
            found += 1
            searchStart = range.upperBound
        }
        XCTAssertGreaterThan(found, 0)
        try bytes.write(to: URL(fileURLWithPath: file))
        let bad = cli.run("verify")
        XCTAssertEqual(bad.code, 3, bad.all)
        XCTAssertTrue(bad.out.contains("BROKEN at event \(projectSeq)"), bad.out)
        let badJSON = cli.run("--json", "verify")
        XCTAssertEqual(badJSON.code, 3)
        XCTAssertEqual(badJSON.object["first_bad_seq"] as? Int, projectSeq)
    }

    // MARK: JSON shapes

    func testKeyCreateJSONShapes() throws {
        setUpCompany()
        let s = createKey("static", "read", name: "Nightly sync")
        XCTAssertEqual(Set(s.keys), ["id", "name", "type", "scope", "service_user", "secret"])
        XCTAssertEqual(s["type"] as? String, "static")
        XCTAssertEqual(s["scope"] as? String, "read")
        XCTAssertEqual(s["name"] as? String, "Nightly sync")
        XCTAssertTrue((s["id"] as? String ?? "").hasPrefix("cred_"))
        let secret = s["secret"] as? String ?? ""
        XCTAssertTrue(secret.hasPrefix("cxk_"))
        XCTAssertEqual(secret.utf8.count, SecretFormat.length)
        XCTAssertNil(SecretFormat.validate(secret, expecting: [.apiKey]).problem)
        XCTAssertTrue((s["service_user"] as? String ?? "").hasSuffix("@acme.example"))

        let o = createKey("oauth", "read-write")
        XCTAssertEqual(Set(o.keys), ["id", "name", "type", "scope", "service_user", "client_id", "client_secret"])
        XCTAssertEqual(o["type"] as? String, "oauth")
        XCTAssertEqual(o["scope"] as? String, "read-write")
        XCTAssertTrue((o["client_id"] as? String ?? "").hasPrefix("cxc_"))
        XCTAssertNil(SecretFormat.validate(o["client_secret"] as? String ?? "", expecting: [.clientSecret]).problem)

        let p = createKey("pkce", "global", extra: ["--redirect-uri", "https://claude.ai/cb,http://localhost:9/cb"])
        XCTAssertEqual(Set(p.keys), ["id", "name", "type", "scope", "client_id", "client_secret"])
        XCTAssertEqual(p["scope"] as? String, "global")

        let q = createKey("pkce-public", "read", extra: ["--redirect-uri", "https://claude.ai/cb"])
        XCTAssertEqual(Set(q.keys), ["id", "name", "type", "scope", "client_id"])
        XCTAssertEqual(q["type"] as? String, "pkce-public")

        // People see the secret once, with the warning.
        let human = cli.run("key", "create", "acme", "--name", "Human", "--type", "static", "--scope", "global", "--as", alice)
        XCTAssertEqual(human.code, 0)
        XCTAssertTrue(human.out.contains("API key:       cxk_"), human.out)
        XCTAssertTrue(human.out.contains("shown only once"), human.out)
        XCTAssertTrue(human.out.contains("GLOBAL"), human.out)
    }

    func testKeyListJSONAndSecretsAreNeverShownAgain() throws {
        setUpCompany()
        let s = createKey("static", "read", name: "Static one")
        let o = createKey("oauth", "global", name: "OAuth one")
        let p = createKey("pkce", "read-write", name: "PKCE one", extra: ["--redirect-uri", World.redirect])
        let id = s["id"] as! String, secret = s["secret"] as! String
        XCTAssertEqual(cli.run("access", "grant", "acme", id, "bridge", "--role", "viewer", "--as", alice).code, 0)
        cli.clock.advance(seconds: 90)
        XCTAssertEqual(cli.run("auth", "check", "acme", "--header", "Apikey \(secret)", "--project", "bridge", "--op", "read").code, 0)
        let rotated = cli.run("--json", "key", "rotate", "acme", o["id"] as! String, "--grace", "1h", "--as", alice)
        XCTAssertEqual(rotated.code, 0, rotated.all)
        let newSecret = rotated.object["client_secret"] as? String ?? ""
        XCTAssertNil(SecretFormat.validate(newSecret, expecting: [.clientSecret]).problem)
        XCTAssertEqual(rotated.object["client_id"] as? String, o["client_id"] as? String)

        let list = cli.run("--json", "key", "list", "acme", "--as", alice)
        XCTAssertEqual(list.code, 0)
        let rows = try XCTUnwrap(list.json as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["id"] as? String }, [id, o["id"] as? String, p["id"] as? String])
        for row in rows {
            for field in ["id", "name", "scope", "type", "last_used", "used"] { XCTAssertNotNil(row[field], "missing \(field)") }
        }
        XCTAssertEqual(rows[0]["name"] as? String, "Static one")
        XCTAssertEqual(rows[0]["scope"] as? String, "read")
        XCTAssertEqual(rows[0]["scope_label"] as? String, "READ ONLY")
        XCTAssertEqual(rows[0]["type"] as? String, "static")
        XCTAssertEqual(rows[0]["used"] as? Int, 1)
        XCTAssertEqual(rows[0]["last_used"] as? String, TimeFormat.rfc3339(cli.clock.now()))
        XCTAssertEqual(rows[0]["key_prefix"] as? String, String(secret.prefix(10)))
        XCTAssertTrue(rows[1]["last_used"] is NSNull)
        XCTAssertEqual(rows[1]["used"] as? Int, 0)
        XCTAssertEqual(rows[1]["scope_label"] as? String, "GLOBAL")
        XCTAssertEqual(rows[2]["type"] as? String, "pkce")
        XCTAssertEqual(rows[2]["client_id"] as? String, p["client_id"] as? String)

        // Nothing that lists, shows or logs may print a secret (nor its body without the prefix).
        let secrets = [secret, o["client_secret"] as! String, p["client_secret"] as! String, newSecret]
        var outputs: [CLIResult] = [
            cli.run("key", "list", "acme", "--as", alice), list, cli.run("key", "list", "acme", "--all", "--as", alice),
            cli.run("log", "--limit", "1000"), cli.run("--json", "log", "--limit", "1000"), cli.run("verify"),
        ]
        for credential in [id, o["id"] as! String, p["id"] as! String] {
            outputs.append(cli.run("key", "show", "acme", credential, "--as", alice))
            outputs.append(cli.run("--json", "key", "show", "acme", credential, "--as", alice))
        }
        for r in outputs {
            XCTAssertEqual(r.code, 0, r.all)
            for s in secrets {
                XCTAssertFalse(r.all.contains(s.secretBody), "a secret was printed again: \(r.all.prefix(200))")
                XCTAssertFalse(r.all.contains(s.secretRandomPart), "a secret's random part was printed again")
            }
        }
        let show = cli.run("--json", "key", "show", "acme", id, "--as", alice).object
        XCTAssertEqual(show["id"] as? String, id)
        XCTAssertEqual(show["used"] as? Int, 1)
        XCTAssertEqual((show["projects"] as? [[String: String]])?.first?["project"], "bridge")
    }

    func testLogJSONIsOneChainedObjectPerLine() throws {
        setUpCompany()
        _ = createKey("static", "global")
        let r = cli.run("--json", "log")
        XCTAssertEqual(r.code, 0)
        let lines = r.out.split(separator: "\n").map(String.init)
        let head = try cli.head()
        XCTAssertEqual(lines.count, Int(head.seq))
        var previous = String(repeating: "0", count: 64)
        for (i, line) in lines.enumerated() {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
            XCTAssertEqual(o["seq"] as? Int, i + 1)
            XCTAssertEqual(o["prev_hash"] as? String, previous)
            let hash = try XCTUnwrap(o["hash"] as? String)
            XCTAssertEqual(hash.count, 64)
            XCTAssertNotNil(o["type"] as? String)
            XCTAssertNotNil(o["time"] as? String)
            previous = hash
        }
        XCTAssertEqual(previous, head.hash.hex)
        // A window starts its chain at the event before it.
        let window = cli.run("--json", "log", "--from", "3", "--limit", "2").out.split(separator: "\n")
        XCTAssertEqual(window.count, 2)
        let third = try JSONSerialization.jsonObject(with: Data(window[0].utf8)) as? [String: Any]
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        XCTAssertEqual(third?["seq"] as? Int, 3)
        XCTAssertEqual(third?["prev_hash"] as? String, second?["hash"] as? String)
        // Types, in order, for the set-up above.
        XCTAssertEqual(lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["type"] as? String },
                       ["company_registered", "member_role_set", "api_module_enabled", "project_created", "project_created",
                        "member_role_set", "credential_created"])
    }

    func testKeyDeleteNeedsConfirmation() throws {
        setUpCompany()
        let key = createKey("static", "global")
        let id = key["id"] as! String, secret = key["secret"] as! String
        withStdinFromDevNull {
            assertFails(2, printing: "confirmation_required", ["key", "delete", "acme", id, "--as", alice])
            assertFails(2, printing: "confirmation_required", ["--json", "key", "delete", "acme", id, "--as", alice])
        }
        XCTAssertEqual(cli.run("auth", "check", "acme", "--header", "Apikey \(secret)", "--project", "bridge", "--op", "write").code, 0)
        // Deleting needs an admin even with --yes.
        assertFails(1, printing: "not_company_admin", ["key", "delete", "acme", id, "--yes", "--as", World.bob])
        let deleted = cli.run("--json", "key", "delete", "acme", id, "--yes", "--as", alice)
        XCTAssertEqual(deleted.code, 0, deleted.all)
        XCTAssertEqual(deleted.object["deleted"] as? Bool, true)
        let after = cli.run("auth", "check", "acme", "--header", "Apikey \(secret)", "--project", "bridge", "--op", "read")
        XCTAssertEqual(after.code, 1)
        XCTAssertTrue(after.out.contains("revoked"), after.out)
        assertFails(1, printing: "credential_deleted", ["key", "delete", "acme", id, "--yes", "--as", alice])
        // Gone from the table, still in --all.
        XCTAssertEqual((cli.run("--json", "key", "list", "acme", "--as", alice).json as? [Any])?.count, 0)
        let all = cli.run("--json", "key", "list", "acme", "--all", "--as", alice).json as? [[String: Any]]
        XCTAssertEqual(all?.first?["deleted"] as? Bool, true)
    }

    func testServiceUserDomainDefaultsToCxplanner() throws {
        XCTAssertEqual(cli.run("company", "create", "plain", "--admin", "p@plain.example").code, 0)
        XCTAssertEqual(cli.run("company", "enable-api", "plain", "--as", "p@plain.example").code, 0)
        let r = cli.run("--json", "key", "create", "plain", "--name", "K", "--type", "oauth", "--scope", "read", "--as", "p@plain.example")
        let user = r.object["service_user"] as? String ?? ""
        XCTAssertTrue(user.hasPrefix("apiservice+") && user.hasSuffix("@cxplanner.com"), user)
        let human = cli.run("key", "create", "plain", "--name", "K2", "--type", "static", "--scope", "read", "--as", "p@plain.example")
        XCTAssertTrue(human.out.contains("API user:      apiservice+"), human.out)
        XCTAssertTrue(human.out.contains("access grant"), "non-global keys get the next step: \(human.out)")
    }
}
