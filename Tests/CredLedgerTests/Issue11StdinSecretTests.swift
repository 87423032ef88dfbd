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

    /// A confidential PKCE client: its id and secret.
    private func createPKCEClient() -> (id: String, secret: String) {
        let pkce = create("pkce", extra: ["--redirect-uri", World.redirect])
        return (pkce["client_id"] as? String ?? "", pkce["client_secret"] as? String ?? "")
    }

    /// An authorization code bob approved for `clientID`.
    private func approvedCode(_ clientID: String) -> String {
        let r = cli.run("--json", "oauth", "authorize", "acme", "--client-id", clientID, "--user", World.bob, "--redirect-uri", World.redirect,
                        "--code-challenge", PKCEPair.challenge, "--code-challenge-method", "S256")
        XCTAssertEqual(r.code, 0, r.all)
        return r.object["code"] as? String ?? ""
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
        let (pkceID, pkceSecret) = createPKCEClient()
        func code() -> String { approvedCode(pkceID) }
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

    /// Review finding 7: only one option could be `-`, so a confidential client's code exchange left two of its three
    /// secrets (and introspection its client secret) in argv. Now several secret options may be `-`: each reads one
    /// line, in the order the options appear on the command line (whatever order the command asks for them).
    func testSeveralSecretOptionsReadOneLineEachInCommandLineOrder() throws {
        let (pkceID, pkceSecret) = createPKCEClient()
        func code() -> String { approvedCode(pkceID) }
        let exchange = ["--json", "oauth", "token", "--grant", "authorization_code", "--client-id", pkceID, "--redirect-uri", World.redirect]
        // All three secrets on standard input, in two different command-line orders.
        let c1 = code()
        let inOrder = StdinSecretFeed("\(pkceSecret)\n\(c1)\n\(PKCEPair.verifier)\n")
        let r1 = cli.run(exchange + ["--client-secret", "-", "--code", "-", "--code-verifier", "-"], stdin: inOrder)
        XCTAssertEqual(r1.code, 0, r1.all)
        XCTAssertEqual(inOrder.reads, 3, "one line per option")
        let c2 = code()
        let reordered = StdinSecretFeed("\(PKCEPair.verifier)\n\(c2)\r\n\(pkceSecret)\n")
        let r2 = cli.run(exchange + ["--code-verifier=-", "--code", "-", "--client-secret", "-"], stdin: reordered)
        XCTAssertEqual(r2.code, 0, r2.all)
        XCTAssertEqual(reordered.reads, 3)
        let access = r2.object["access_token"] as? String ?? "", refresh = r2.object["refresh_token"] as? String ?? ""

        // Introspection and revocation: the token and the client secret both on standard input.
        let seen = cli.run(["--json", "token", "introspect", "--client-secret", "-", "--token", "-", "--client-id", pkceID],
                           stdin: StdinSecretFeed("\(pkceSecret)\n\(access)\n"))
        XCTAssertEqual(seen.object["active"] as? Bool, true, seen.all)
        // The lines go by command-line order: swapped lines are a wrong secret (refused, nothing echoed).
        let swapped = cli.run(["token", "revoke", "--token", "-", "--client-id", pkceID, "--client-secret", "-"],
                              stdin: StdinSecretFeed("\(pkceSecret)\n\(refresh)\n"))
        XCTAssertEqual(swapped.code, 1, swapped.all)
        XCTAssertFalse(swapped.all.contains(String(pkceSecret.dropFirst(4))) || swapped.all.contains(String(refresh.dropFirst(4))), swapped.all)
        let revoked = cli.run(["token", "revoke", "--token", "-", "--client-id", pkceID, "--client-secret", "-"],
                              stdin: StdinSecretFeed("\(refresh)\n\(pkceSecret)\n"))
        XCTAssertEqual(revoked.code, 0, revoked.all)
        XCTAssertEqual(revoked.out, "revoked\n")
    }

    /// A missing or empty line is a usage error (exit 2) naming the option whose line it is, and nothing is written;
    /// a command line that is wrong reads nothing.
    func testAMissingOrEmptyLineNamesItsOptionAndWritesNothing() throws {
        let oauth = create("oauth")
        let oauthID = oauth["client_id"] as? String ?? "", oauthSecret = oauth["client_secret"] as? String ?? ""
        let access = cli.run("--json", "token", "client-credentials", "--client-id", oauthID, "--client-secret", oauthSecret)
            .object["access_token"] as? String ?? ""

        let revoke = ["token", "revoke", "--token", "-", "--client-id", oauthID, "--client-secret", "-"]
        for (input, option) in [(access + "\n", "--client-secret"), (access + "\n\n", "--client-secret"), (access + "\n\r\n", "--client-secret"),
                                ("\n" + oauthSecret + "\n", "--token"), ("", "--token")] {
            let head = try cli.head()
            let r = cli.run(revoke, stdin: StdinSecretFeed(input))
            XCTAssertEqual(r.code, 2, "\(input.debugDescription): \(r.all)")
            XCTAssertTrue(r.err.contains(option + " -") && r.err.contains("standard input") && r.err.contains("empty"), r.all)
            XCTAssertEqual(try cli.head(), head)
            let other = option == "--token" ? "--client-secret -" : "--token -"
            XCTAssertFalse(r.err.contains(other), "names the wrong option: \(r.err)")
        }
        let unknownOption = StdinSecretFeed("a\nb\n")
        let bad = cli.run(["token", "revoke", "--token", "-", "--client-id", oauthID, "--client-secret", "-", "--bogus"], stdin: unknownOption)
        XCTAssertEqual(bad.code, 2, bad.all)
        XCTAssertEqual(unknownOption.reads, 0, "nothing is read when the command line is wrong")
        let json = cli.run(["--json", "token", "introspect", "--token", "-", "--client-id", oauthID, "--client-secret", "-"],
                           stdin: StdinSecretFeed(access + "\n"))
        XCTAssertEqual(json.code, 2, json.all)
        XCTAssertEqual(json.object["error"] as? String, "usage")

        for empty in ["", "\n", "\r\n"] {
            let head = try cli.head()
            let feed = StdinSecretFeed(empty)
            let e = cli.run(["auth", "check", "acme", "--header", "-", "--project", "bridge", "--op", "read"], stdin: feed)
            XCTAssertEqual(e.code, 2, "\(empty.debugDescription): \(e.all)")
            XCTAssertTrue(e.err.contains("--header -") && e.err.contains("standard input") && e.err.contains("empty"), e.all)
            XCTAssertEqual(try cli.head(), head, "an empty standard input recorded a use")
            let i = cli.run(["token", "introspect", "--token", access, "--client-id", oauthID, "--client-secret", "-"], stdin: StdinSecretFeed(empty))
            XCTAssertEqual(i.code, 2, i.all)
            XCTAssertEqual(try cli.head(), head)
        }
    }

    /// The one implementation: `Invocation.secret` reads each `-` option's line once (asking again gives the same
    /// value), lines in command-line order whatever order they are asked for, strips LF and CRLF only, and leaves
    /// any other value alone. Only the spec's secret options read standard input; another option's `-` is a value.
    func testInvocationSecretReadsOneLineOncePerOptionInCommandLineOrder() throws {
        let spec = CommandSpec("x", options: ["name", "token", "header", "code"], secrets: ["token", "header", "code"], summary: "") { _, _ in 0 }
        XCTAssertTrue(spec.usage.contains("[--token <secret|->]") && spec.usage.contains("[--name <value>]"), spec.usage)
        let feed = StdinSecretFeed(" Apikey x \r\ncode line\nunread\n")
        var invocation = try spec.parse(["--name", "-", "--header", "-", "--code=-"])
        var askedFor: [String] = []
        invocation.standardInput = StandardInput(readLine: { option in askedFor.append(option); return feed.readLine() })
        XCTAssertEqual(try invocation.secret("code"), "code line", "the second option on the command line gets the second line")
        XCTAssertEqual(feed.reads, 2)
        XCTAssertEqual(try invocation.secret("header"), " Apikey x ", "spaces are part of the value")
        XCTAssertEqual(try invocation.requiredSecret("header"), " Apikey x ")
        XCTAssertEqual(try invocation.secret("code"), "code line")
        XCTAssertEqual(feed.reads, 2, "each line is read once")
        XCTAssertEqual(askedFor, ["header", "code"], "each line is asked for by its option (a terminal prompts with its name)")
        XCTAssertEqual(invocation.option("name"), "-", "not a secret option: `-` is its value")
        XCTAssertNil(try invocation.secret("token"))
        XCTAssertThrowsError(try invocation.requiredSecret("token"))
        // Without a reader (an Invocation not made by `CommandLineTool.run`), `-` finds standard input empty.
        let unplugged = try spec.parse(["--token", "-"])
        XCTAssertThrowsError(try unplugged.secret("token")) { XCTAssertTrue("\($0)".contains("--token - ") && "\($0)".contains("empty"), "\($0)") }
        // Every command declares its secret options (an undeclared one would not show `<secret|->` in its usage).
        for spec in CommandLineTool.commands {
            XCTAssertTrue(Set(spec.secrets).isSubset(of: spec.options), "\(spec.path)")
            for name in ["header", "client-secret", "code", "code-verifier", "refresh-token", "token"] where spec.options.contains(name) {
                XCTAssertTrue(spec.secrets.contains(name), "\(spec.path) --\(name) is not declared secret")
            }
        }
        // On a terminal each option is prompted for by name.
        XCTAssertEqual(StandardInput.prompt(for: "client-secret"), "--client-secret (not echoed): ")
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
