import CredLedger
import CredLedgerCore
@testable import CredLedgerTools
import Foundation
import XCTest

/// Standard input for one CLI run: hands out one line (with its newline) per read, and counts the reads.
final class StdinSecretFeed: @unchecked Sendable {
    private var remaining: Substring
    private(set) var reads = 0

    init(_ text: String) { remaining = Substring(text) }

    func readLine() -> String? {
        reads += 1
        guard !remaining.isEmpty else { return nil }
        let bytes = remaining.utf8
        let end = bytes.firstIndex(of: 10).map { bytes.index(after: $0) } ?? bytes.endIndex
        let line = String(decoding: bytes[..<end], as: UTF8.self)
        remaining = Substring(String(decoding: bytes[end...], as: UTF8.self))
        return line
    }
}

extension CLI {
    /// Runs `credledger` with `feed` as its standard input.
    @discardableResult
    func run(_ arguments: [String], stdin feed: StdinSecretFeed) -> CLIResult { run(arguments, standardInput: feed.readLine) }
}

/// Issue 11, item 8: every option that takes a secret accepts `-`, meaning "read it from standard input" (one line,
/// newline and a CR before it stripped), so secrets stay out of argv (the process list, shell history). Before, `-`
/// was taken literally (`--header -` was a malformed header).
final class Issue11StdinSecretTests: XCTestCase {
    private var cli: CLI!
    private let alice = World.alice
    private var created = 0

    override func setUpWithError() throws {
        cli = try CLI("i11-stdin")
        issue11SetUpCLICompany(cli)
        XCTAssertEqual(cli.run("project", "member", "acme", "bridge", World.bob, "--role", "editor", "--as", alice).code, 0)
    }

    override func tearDown() {
        cli?.remove()
        cli = nil
    }

    private func create(_ type: String, extra: [String] = []) -> [String: Any] {
        created += 1
        let r = cli.run(["--json", "key", "create", "acme", "--name", "\(type) \(created)", "--type", type,
                         "--scope", "global", "--as", alice] + extra)
        XCTAssertEqual(r.code, 0, r.all)
        return r.object
    }

    func testHeaderFromStandardInput() throws {
        let key = create("static")["secret"] as? String ?? ""
        for input in ["Apikey \(key)\n", "Apikey \(key)\r\n", "Apikey \(key)", "Apikey \(key)\nsecond line ignored\n"] {
            let feed = StdinSecretFeed(input)
            let r = cli.run(["auth", "check", "acme", "--header", "-", "--project", "bridge", "--op", "read"], stdin: feed)
            XCTAssertEqual(r.code, 0, "\(input.debugDescription): \(r.all)")
            XCTAssertTrue(r.out.hasPrefix("allowed"), r.out)
            XCTAssertEqual(feed.reads, 1, "one line is read")
        }
        // `--header=-` is the same option value.
        XCTAssertEqual(cli.run(["auth", "check", "acme", "--header=-", "--project", "bridge", "--op", "read"], stdin: StdinSecretFeed("Apikey \(key)\n")).code, 0)
        // A key stays usable the old way too.
        XCTAssertEqual(cli.run("auth", "check", "acme", "--header", "Apikey \(key)", "--project", "bridge", "--op", "read").code, 0)
    }

    func testEveryOAuthSecretOptionReadsStandardInput() throws {
        let oauth = create("oauth")
        let oauthID = oauth["client_id"] as? String ?? "", oauthSecret = oauth["client_secret"] as? String ?? ""
        // --client-secret - (client_credentials, both spellings).
        let cc = cli.run(["--json", "token", "client-credentials", "--client-id", oauthID, "--client-secret", "-"], stdin: StdinSecretFeed(oauthSecret + "\n"))
        XCTAssertEqual(cc.code, 0, cc.all)
        let access = cc.object["access_token"] as? String ?? ""
        XCTAssertTrue(access.hasPrefix("cxa_"))
        XCTAssertEqual(cli.run(["--json", "oauth", "token", "--grant", "client_credentials", "--client-id", oauthID, "--client-secret", "-"],
                               stdin: StdinSecretFeed(oauthSecret + "\n")).code, 0)
        // --token - for introspection, and --client-secret - for it.
        let seen = cli.run(["--json", "token", "introspect", "--token", "-", "--client-id", oauthID, "--client-secret", oauthSecret],
                           stdin: StdinSecretFeed(access + "\n"))
        XCTAssertEqual(seen.object["active"] as? Bool, true, seen.all)
        let seen2 = cli.run(["--json", "token", "introspect", "--token", access, "--client-id", oauthID, "--client-secret", "-"],
                            stdin: StdinSecretFeed(oauthSecret + "\r\n"))
        XCTAssertEqual(seen2.object["active"] as? Bool, true, seen2.all)

        // The authorization code flow: --code -, --code-verifier -, --refresh-token -, --client-secret - at the token endpoint.
        let pkce = create("pkce", extra: ["--redirect-uri", World.redirect])
        let pkceID = pkce["client_id"] as? String ?? "", pkceSecret = pkce["client_secret"] as? String ?? ""
        func code() -> String {
            let r = cli.run("--json", "oauth", "authorize", "acme", "--client-id", pkceID, "--user", World.bob, "--redirect-uri", World.redirect,
                            "--code-challenge", PKCEPair.challenge, "--code-challenge-method", "S256")
            XCTAssertEqual(r.code, 0, r.all)
            return r.object["code"] as? String ?? ""
        }
        let exchange = ["--json", "oauth", "token", "--grant", "authorization_code", "--client-id", pkceID, "--redirect-uri", World.redirect]
        let byCode = cli.run(exchange + ["--client-secret", pkceSecret, "--code", "-", "--code-verifier", PKCEPair.verifier],
                             stdin: StdinSecretFeed(code() + "\n"))
        XCTAssertEqual(byCode.code, 0, byCode.all)
        let byVerifier = cli.run(exchange + ["--client-secret", pkceSecret, "--code", code(), "--code-verifier", "-"],
                                 stdin: StdinSecretFeed(PKCEPair.verifier + "\n"))
        XCTAssertEqual(byVerifier.code, 0, byVerifier.all)
        let bySecret = cli.run(exchange + ["--client-secret", "-", "--code", code(), "--code-verifier", PKCEPair.verifier],
                               stdin: StdinSecretFeed(pkceSecret + "\n"))
        XCTAssertEqual(bySecret.code, 0, bySecret.all)
        let refreshToken = bySecret.object["refresh_token"] as? String ?? ""
        let refreshed = cli.run(["--json", "oauth", "token", "--grant", "refresh_token", "--client-id", pkceID, "--client-secret", pkceSecret,
                                 "--refresh-token", "-"], stdin: StdinSecretFeed(refreshToken + "\n"))
        XCTAssertEqual(refreshed.code, 0, refreshed.all)
        let newRefresh = refreshed.object["refresh_token"] as? String ?? ""

        // --token - for revocation.
        let revoked = cli.run(["token", "revoke", "--token", "-", "--client-id", pkceID, "--client-secret", pkceSecret],
                              stdin: StdinSecretFeed(newRefresh + "\n"))
        XCTAssertEqual(revoked.code, 0, revoked.all)
        XCTAssertEqual(revoked.out, "revoked\n")
    }

    /// Two options asking for standard input, or an empty one, are usage errors (exit 2) and nothing is written or read.
    func testOnlyOneOptionMayReadStandardInputAndItMustNotBeEmpty() throws {
        let oauth = create("oauth")
        let oauthID = oauth["client_id"] as? String ?? "", oauthSecret = oauth["client_secret"] as? String ?? ""
        let access = cli.run("--json", "token", "client-credentials", "--client-id", oauthID, "--client-secret", oauthSecret)
            .object["access_token"] as? String ?? ""

        var head = try cli.head()
        let two = StdinSecretFeed(oauthSecret + "\n" + access + "\n")
        let r = cli.run(["token", "revoke", "--token", "-", "--client-id", oauthID, "--client-secret", "-"], stdin: two)
        XCTAssertEqual(r.code, 2, r.all)
        XCTAssertTrue(r.err.contains("only one option can read standard input"), r.all)
        XCTAssertTrue(r.err.contains("--client-secret") && r.err.contains("--token"), r.all)
        XCTAssertEqual(two.reads, 0, "nothing is read when the command line is wrong")
        XCTAssertEqual(try cli.head(), head)
        let jsonTwo = cli.run(["--json", "oauth", "token", "--grant", "authorization_code", "--client-id", oauthID, "--code", "-",
                               "--code-verifier", "-", "--redirect-uri", World.redirect], stdin: StdinSecretFeed("a\nb\n"))
        XCTAssertEqual(jsonTwo.code, 2, jsonTwo.all)
        XCTAssertEqual(jsonTwo.object["error"] as? String, "usage")

        for empty in ["", "\n", "\r\n"] {
            head = try cli.head()
            let feed = StdinSecretFeed(empty)
            let e = cli.run(["auth", "check", "acme", "--header", "-", "--project", "bridge", "--op", "read"], stdin: feed)
            XCTAssertEqual(e.code, 2, "\(empty.debugDescription): \(e.all)")
            XCTAssertTrue(e.err.contains("standard input") && e.err.contains("empty"), e.all)
            XCTAssertEqual(try cli.head(), head, "an empty standard input recorded a use")
            let i = cli.run(["token", "introspect", "--token", access, "--client-id", oauthID, "--client-secret", "-"], stdin: StdinSecretFeed(empty))
            XCTAssertEqual(i.code, 2, i.all)
            XCTAssertEqual(try cli.head(), head)
        }
    }

    /// The one implementation: `Invocation.secret` reads one line once (asking again gives the same value), strips
    /// LF and CRLF only, and leaves any other value alone.
    func testInvocationSecretReadsOneLineOnce() throws {
        let feed = StdinSecretFeed(" Apikey x \r\nnext\n")
        var invocation = Invocation(positionals: [], options: ["header": "-", "name": "plain"], flags: [])
        invocation.standardInput = StandardInput(readLine: feed.readLine)
        XCTAssertNoThrow(try invocation.checkStandardInputUse())
        XCTAssertEqual(try invocation.secret("header"), " Apikey x ", "spaces are part of the value")
        XCTAssertEqual(try invocation.requiredSecret("header"), " Apikey x ")
        XCTAssertEqual(feed.reads, 1)
        XCTAssertEqual(try invocation.secret("name"), "plain")
        XCTAssertNil(try invocation.secret("token"))
        XCTAssertThrowsError(try invocation.requiredSecret("token"))
        // Without a reader (an Invocation not made by `CommandLineTool.run`), `-` finds standard input empty.
        let unplugged = Invocation(positionals: [], options: ["token": "-"], flags: [])
        XCTAssertThrowsError(try unplugged.secret("token")) { XCTAssertTrue("\($0)".contains("empty"), "\($0)") }
        let two = Invocation(positionals: [], options: ["token": "-", "code": "-"], flags: [])
        XCTAssertThrowsError(try two.checkStandardInputUse()) { XCTAssertTrue("\($0)".contains("--code and --token"), "\($0)") }
    }

    /// A secret read from standard input is never echoed, even when it is wrong.
    func testSecretFromStandardInputIsNotEchoed() throws {
        let key = create("static")["secret"] as? String ?? ""
        let typo = String(key.dropLast()) + (key.hasSuffix("A") ? "B" : "A")
        let r = cli.run(["auth", "check", "acme", "--header", "-", "--project", "bridge", "--op", "read"], stdin: StdinSecretFeed("Apikey \(typo)\n"))
        XCTAssertEqual(r.code, 1, r.all)
        XCTAssertTrue(r.out.contains("bad_checksum"), r.all)
        XCTAssertFalse(r.all.contains(typo.secretBody), r.all)
    }
}
