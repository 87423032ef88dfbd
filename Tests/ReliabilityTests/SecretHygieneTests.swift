import CredLedger
import CredLedgerCore
@testable import CredLedgerLab
@testable import CredLedgerTools
import Foundation
import XCTest

/// No plaintext secret in the LMDB files, exports, logs or messages; constant-time comparison of secrets;
/// PKCE S256 only; exact redirect-URI match (SPEC §7).
///
/// Everything goes through the CLI (in process, output captured): credentials of every type, every OAuth flow,
/// rotation, uses, listings, the log, verify, rebuild, exports, delete. Only the commands whose job is to show a
/// secret once (key create, key rotate, token endpoints, oauth authorize) may print one; every other message and
/// every file written must contain none of them — nor their 42-character bodies without the prefix.
final class SecretHygieneTests: ReliabilityTestCase {
    /// The CLI session: every output, and which ones were one-time secret prints.
    private final class Session {
        let db: String
        let test: SecretHygieneTests
        var secrets: [String] = []
        var outputs: [(command: String, text: String, oneTime: Bool)] = []

        init(db: String, test: SecretHygieneTests) {
            self.db = db
            self.test = test
        }

        /// Runs a command; `oneTime` marks the commands allowed to print a secret.
        @discardableResult
        func run(_ arguments: [String], oneTime: Bool = false, expect: Int32? = 0, file: StaticString = #filePath, line: UInt = #line) -> CapturedCLI.Result {
            var options = Ledger.Options()
            options.durability = .ackBeforeSync
            let r = test.cli(arguments, db: db, options: options)
            if let expect { XCTAssertEqual(r.code, expect, "\(arguments.prefix(3)): \(r.all.prefix(400))", file: file, line: line) }
            outputs.append((arguments.prefix(3).joined(separator: " "), r.all, oneTime))
            return r
        }

        /// Runs a one-time command with --json and keeps the secrets it printed.
        @discardableResult
        func issue(_ arguments: [String], keys: [String], file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
            let r = run(arguments + ["--json"], oneTime: true, file: file, line: line)
            let object = test.lastJSON(r.stdout) ?? [:]
            for key in keys {
                if let value = object[key] as? String { secrets.append(value) } else { XCTFail("\(arguments.prefix(3)) printed no \(key): \(r.all.prefix(300))", file: file, line: line) }
            }
            return object
        }
    }

    func testNoPlaintextSecretInFilesExportsOrMessages() throws {
        let directory = try makeDirectory("secrets")
        let db = directory + "/ledger"
        let s = Session(db: db, test: self)
        let admin = "alice@acme.example", bob = "bob@acme.example"
        let redirect = "https://app.example/cb", loopback = "http://localhost:9000/cb"
        s.run(["company", "create", "acme", "--admin", admin, "--mail-domain", "acme.example"])
        s.run(["company", "enable-api", "acme", "--as", admin])
        s.run(["member", "set", "acme", bob, "--role", "member", "--as", admin])
        s.run(["project", "create", "acme", "bridge", "--as", admin])
        s.run(["project", "create", "acme", "tunnel", "--as", admin])
        s.run(["project", "member", "acme", "bridge", bob, "--role", "editor", "--as", admin])

        let staticKey = s.issue(["key", "create", "acme", "--name", "Sync", "--type", "static", "--scope", "read", "--as", admin], keys: ["secret"])
        let globalKey = s.issue(["key", "create", "acme", "--name", "Global", "--type", "static", "--scope", "global", "--as", admin], keys: ["secret"])
        let oauth = s.issue(["key", "create", "acme", "--name", "ERP", "--type", "oauth", "--scope", "read-write", "--as", admin], keys: ["client_secret"])
        let pkce = s.issue(["key", "create", "acme", "--name", "MCP", "--type", "pkce", "--scope", "read-write", "--redirect-uri", redirect, "--as", admin],
                           keys: ["client_secret"])
        let publicClient = s.issue(["key", "create", "acme", "--name", "App", "--type", "pkce-public", "--scope", "read", "--redirect-uri", loopback, "--as", admin],
                                   keys: [])
        // The same creates in human form print the secret once too (kept, and allowed only there).
        let human = s.run(["key", "create", "acme", "--name", "Human", "--type", "static", "--scope", "read", "--as", admin], oneTime: true)
        if let key = human.stdout.split(separator: " ").map(String.init).first(where: { $0.hasPrefix("cxk_") })?.trimmingCharacters(in: .whitespacesAndNewlines) {
            s.secrets.append(key)
        } else {
            XCTFail("key create printed no key: \(human.stdout)")
        }
        let key = staticKey["secret"] as? String ?? "", global = globalKey["secret"] as? String ?? ""
        let oauthID = oauth["id"] as? String ?? "", oauthClient = oauth["client_id"] as? String ?? "", oauthSecret = oauth["client_secret"] as? String ?? ""
        let pkceClient = pkce["client_id"] as? String ?? "", pkceSecret = pkce["client_secret"] as? String ?? ""
        let publicID = publicClient["client_id"] as? String ?? ""

        s.run(["access", "grant", "acme", staticKey["id"] as? String ?? "", "bridge", "--role", "viewer", "--as", admin])
        s.run(["access", "grant", "acme", oauthID, "bridge", "--role", "editor", "--as", admin])
        // Uses: allowed, denied, malformed, typo'd, wrong scheme, unknown company.
        s.run(["auth", "check", "acme", "--header", "Apikey \(key)", "--project", "bridge", "--op", "read"])
        s.run(["auth", "check", "acme", "--header", "Apikey \(key)", "--project", "bridge", "--op", "write"], expect: ExitCode.refused)
        s.run(["auth", "check", "acme", "--header", "Apikey \(global)", "--project", "tunnel", "--op", "write", "--json"])
        var typo = Array(key.utf8)
        typo[10] = typo[10] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
        let typoKey = String(decoding: typo, as: UTF8.self)
        s.run(["auth", "check", "acme", "--header", "Apikey \(typoKey)", "--project", "bridge", "--op", "read"], expect: ExitCode.refused)
        s.run(["auth", "check", "acme", "--header", "Bearer \(key)", "--project", "bridge", "--op", "read"], expect: ExitCode.refused)
        s.run(["auth", "check", "nope", "--header", "Apikey \(key)", "--project", "bridge", "--op", "read"], expect: ExitCode.refused)

        // client_credentials, then a wrong secret.
        let cc = s.issue(["token", "client-credentials", "--client-id", oauthClient, "--client-secret", oauthSecret], keys: ["access_token"])
        s.run(["auth", "check", "acme", "--header", "Bearer \(cc["access_token"] as? String ?? "")", "--project", "bridge", "--op", "write"])
        s.run(["token", "client-credentials", "--client-id", oauthClient, "--client-secret", pkceSecret], expect: ExitCode.refused)
        s.run(["oauth", "token", "--grant", "client_credentials", "--client-id", oauthClient, "--client-secret", oauthSecret], oneTime: true)

        // Authorization code + PKCE (confidential), refresh, replayed refresh, introspection, revocation.
        let verifier = String(repeating: "a1-", count: 15)
        let challenge = PKCE.challenge(for: verifier)
        let plain = s.run(["oauth", "authorize", "acme", "--client-id", pkceClient, "--user", bob, "--redirect-uri", redirect,
                           "--code-challenge", verifier, "--code-challenge-method", "plain"], expect: ExitCode.refused)
        XCTAssertTrue(plain.all.contains("unsupported_challenge_method") || plain.all.contains("invalid_request"), plain.all)
        let grant = s.issue(["oauth", "authorize", "acme", "--client-id", pkceClient, "--user", bob, "--redirect-uri", redirect,
                             "--code-challenge", challenge, "--code-challenge-method", "S256", "--state", "st8"], keys: ["code"])
        let code = grant["code"] as? String ?? ""
        s.run(["oauth", "token", "--grant", "authorization_code", "--client-id", pkceClient, "--client-secret", pkceSecret, "--code", code,
               "--code-verifier", String(repeating: "b", count: 50), "--redirect-uri", redirect], expect: ExitCode.refused)
        let pair = s.issue(["oauth", "token", "--grant", "authorization_code", "--client-id", pkceClient, "--client-secret", pkceSecret,
                            "--code", code, "--code-verifier", verifier, "--redirect-uri", redirect], keys: ["access_token", "refresh_token"])
        let refresh = pair["refresh_token"] as? String ?? "", access = pair["access_token"] as? String ?? ""
        s.run(["auth", "check", "acme", "--header", "Bearer \(access)", "--project", "bridge", "--op", "write"], expect: nil)
        s.run(["token", "introspect", "--token", access, "--client-id", pkceClient, "--client-secret", pkceSecret])
        s.run(["token", "introspect", "--token", access, "--client-id", pkceClient, "--client-secret", pkceSecret, "--json"])
        let next = s.issue(["oauth", "token", "--grant", "refresh_token", "--client-id", pkceClient, "--client-secret", pkceSecret,
                            "--refresh-token", refresh], keys: ["access_token", "refresh_token"])
        s.run(["oauth", "token", "--grant", "refresh_token", "--client-id", pkceClient, "--client-secret", pkceSecret,
               "--refresh-token", refresh], expect: ExitCode.refused)  // reuse revokes the family
        s.run(["token", "revoke", "--token", next["refresh_token"] as? String ?? "", "--client-id", pkceClient, "--client-secret", pkceSecret])
        s.run(["oauth", "token", "--grant", "authorization_code", "--client-id", pkceClient, "--client-secret", pkceSecret,
               "--code", code, "--code-verifier", verifier, "--redirect-uri", redirect], expect: ExitCode.refused)  // replayed code

        // Public client: code + PKCE, no secret; human output of authorize and token.
        let publicGrant = s.run(["oauth", "authorize", "acme", "--client-id", publicID, "--user", bob, "--redirect-uri", loopback,
                                 "--code-challenge", challenge, "--code-challenge-method", "S256"], oneTime: true)
        if let publicCode = publicGrant.stdout.components(separatedBy: "code=").dropFirst().first?.prefix(SecretFormat.length) {
            s.secrets.append(String(publicCode))
            let tokens = s.run(["oauth", "token", "--grant", "authorization_code", "--client-id", publicID, "--code", String(publicCode),
                                "--code-verifier", verifier, "--redirect-uri", loopback], oneTime: true)
            for word in tokens.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }) where word.hasPrefix("cxa_") || word.hasPrefix("cxr_") {
                s.secrets.append(String(word))
            }
        } else {
            XCTFail("authorize printed no code: \(publicGrant.all)")
        }

        // Rotation (static without grace, OAuth with grace), then the old and new secrets in use.
        let rotated = s.issue(["key", "rotate", "acme", staticKey["id"] as? String ?? "", "--grace", "0", "--as", admin], keys: ["secret"])
        s.issue(["key", "rotate", "acme", oauthID, "--grace", "1h", "--as", admin], keys: ["client_secret"])
        s.run(["auth", "check", "acme", "--header", "Apikey \(key)", "--project", "bridge", "--op", "read"], expect: ExitCode.refused)
        s.run(["auth", "check", "acme", "--header", "Apikey \(rotated["secret"] as? String ?? "")", "--project", "bridge", "--op", "read"])

        // Everything that reads.
        for arguments in [["key", "list", "acme", "--as", admin], ["key", "list", "acme", "--as", admin, "--json", "--all"],
                          ["key", "show", "acme", oauthID, "--as", admin], ["log", "--limit", "1000"], ["log", "--json", "--limit", "1000"],
                          ["verify"], ["verify", "--json"], ["rebuild"], ["--help"]] {
            s.run(arguments)
        }
        s.run(["key", "delete", "acme", oauthID, "--yes", "--as", admin])
        // Exports, if this build has them.
        var exportDirectories: [String] = []
        if CommandLineTool.commands.contains(where: { $0.path.first == "export" }) {
            for (i, arguments) in [["export", "--all", "--format", "jsonl"], ["export", "acme", "--format", "csv"]].enumerated() {
                let out = directory + "/export-\(i)"
                s.run(arguments + ["--out", out])
                exportDirectories.append(out)
            }
        }
        // A compacted backup is a file the product writes too.
        do {
            let ledger = try Ledger(path: db, options: readOnlyOptions())
            defer { ledger.close() }
            try ledger.maintenance.backup(to: directory + "/backup")
        }

        // Whatever the one-time commands printed in human form counts as issued too.
        let pattern = try NSRegularExpression(pattern: "cx[kscaro]_[0-9A-Za-z]{\(SecretFormat.length - SecretFormat.prefixLength)}")
        for output in s.outputs where output.oneTime {
            for match in pattern.matches(in: output.text, range: NSRange(output.text.startIndex..., in: output.text)) {
                s.secrets.append((output.text as NSString).substring(with: match.range))
            }
        }
        let secrets = Set(s.secrets.filter { !$0.isEmpty })
        XCTAssertGreaterThanOrEqual(secrets.count, 14, "the session should have issued every kind of secret")
        for kind in SecretKind.allCases {
            XCTAssertTrue(secrets.contains { $0.hasPrefix(kind.prefix) }, "no \(kind) was issued")
        }
        let needles = secrets.flatMap { [$0, String($0.dropFirst(SecretFormat.prefixLength))] } + [typoKey]
        // Messages.
        for output in s.outputs where !output.oneTime {
            for needle in needles where output.text.contains(needle) {
                XCTFail("`\(output.command)` printed a secret (\(needle.prefix(8))…)")
            }
        }
        // Files: the ledger, the backup, the exports.
        var scanned = 0
        for root in [db, directory + "/backup"] + exportDirectories {
            guard let files = FileManager.default.enumerator(atPath: root) else { continue }
            for case let name as String in files {
                let path = root + "/" + name
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                scanned += 1
                for needle in needles where data.range(of: Data(needle.utf8)) != nil {
                    XCTFail("\(path) contains a plaintext secret (\(needle.prefix(8))…)")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(scanned, 4 + exportDirectories.count * 2)
        if exportDirectories.isEmpty { print("note: this build has no export command; exports were not scanned") }
    }

    /// A secret pasted into the wrong place of a command line must not be echoed back in the error message.
    func testSecretPastedInTheWrongPlaceIsNotEchoed() throws {
        let db = try makeDirectory("echo") + "/ledger"
        let secret = try SecretFormat.generate(.apiKey, using: SeededRandom(seed: Self.seed))
        let body = String(secret.dropFirst(SecretFormat.prefixLength))
        let cases: [[String]] = [
            ["auth", "check", "acme", secret, "--project", "bridge", "--op", "read"],                    // as a stray positional
            ["auth", "check", "acme", "--header", "Apikey x", "--project", "bridge", "--op", secret],    // as another option's value
            ["key", "create", "acme", "--name", "n", "--type", secret, "--scope", "read", "--as", "a@acme.example"],
            ["key", "rotate", "acme", "cred_x", "--grace", secret, "--as", "a@acme.example"],
            [secret],                                                                                    // as a command
            ["token", "introspect", "--token", secret, "--extra"],
        ]
        for arguments in cases {
            let r = cli(arguments, db: db)
            XCTAssertNotEqual(r.code, 0)
            XCTAssertFalse(r.all.contains(body), "echoed a secret: credledger \(arguments.joined(separator: " ").replacingOccurrences(of: secret, with: "<secret>")) → \(r.all.replacingOccurrences(of: secret, with: "<SECRET>"))")
        }
    }

    /// constantTimeEquals: right answers for equal, unequal (first, middle, last byte), different lengths, empty,
    /// and digests.
    func testConstantTimeEqualsBehaves() {
        let a: [UInt8] = Array("cxk_0123456789abcdefghijklmnopqrstuvwxyzABCDEF".utf8)
        XCTAssertTrue(constantTimeEquals(a, a))
        XCTAssertTrue(constantTimeEquals([UInt8](), []))
        for i in [0, a.count / 2, a.count - 1] {
            var b = a
            b[i] ^= 1
            XCTAssertFalse(constantTimeEquals(a, b), "differs at \(i)")
        }
        XCTAssertFalse(constantTimeEquals(a, Array(a.dropLast())))
        XCTAssertFalse(constantTimeEquals(a, a + [0]))
        let d1 = SHA256.hash("one"), d2 = SHA256.hash("two")
        XCTAssertTrue(constantTimeEquals(d1, SHA256.hash("one")))
        XCTAssertFalse(constantTimeEquals(d1, d2))
        for i in 0..<32 {
            var bytes = d1.bytes
            bytes[i] ^= 0x80
            XCTAssertFalse(constantTimeEquals(d1, SHA256Digest(bytes: bytes)!), "digest differs at \(i)")
        }
        a.withUnsafeBytes { x in
            var c = a
            c[5] ^= 4
            c.withUnsafeBytes { y in XCTAssertFalse(constantTimeEquals(x, y)) }
            a.withUnsafeBytes { y in XCTAssertTrue(constantTimeEquals(x, y)) }
        }
    }

    /// Code review as a test: no secret, token, code, verifier or hash is compared with `==` in the sources; the
    /// places that compare secret-derived bytes use constantTimeEquals. Secrets themselves are never compared:
    /// they are looked up by their SHA-256 (docs/RELIABILITY.md lists the call sites).
    func testSecretComparisonsAreConstantTime() throws {
        let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources")
        guard let files = FileManager.default.enumerator(atPath: sources.path) else { throw XCTSkip("sources not found at \(sources.path)") }
        let suspicious = try NSRegularExpression(pattern:
            #"(?i)\b\w*(secret|token|verifier|challenge|password)\w*\s*(==|!=)\s*[\w.]+|[\w.]+\s*(==|!=)\s*\w*(secret|token|verifier|challenge|password)\w*\b"#)
        var findings: [String] = []
        var constantTimeCalls = 0
        var scanned = 0
        for case let name as String in files where name.hasSuffix(".swift") {
            scanned += 1
            let text = try String(contentsOf: sources.appendingPathComponent(name), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = String(line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                if code.contains("constantTimeEquals(") && !code.contains("func constantTimeEquals") { constantTimeCalls += 1 }
                let range = NSRange(code.startIndex..., in: code)
                for match in suspicious.matches(in: code, range: range) {
                    let found = (code as NSString).substring(with: match.range)
                    // Comparisons of non-secret values that merely have such words in their names.
                    let harmless = ["codeChallengeMethod", "redirectURI", ".problem", "nil", "rawValue", ".count", "Count", "Length",
                                    "codeVersion", "hasSecret", ".kind", "tokenType", ".status", ".type", "Kind", "secretBytes.isEmpty"]
                    if harmless.contains(where: { found.contains($0) }) { continue }
                    findings.append("Sources/\(name):\(number + 1): \(found)")
                }
            }
        }
        XCTAssertEqual(findings, [], "secret-derived values compared with ==/!= (use constantTimeEquals or a hash lookup)")
        XCTAssertGreaterThan(scanned, 30, "too few sources scanned")
        XCTAssertGreaterThanOrEqual(constantTimeCalls, 2, "the chain check and the PKCE check use constantTimeEquals")
    }

    /// PKCE is S256 only and the redirect URI must match exactly (no prefix, case, slash or query variations).
    func testPKCEIsS256OnlyAndRedirectURIsMatchExactly() throws {
        let path = try makeDirectory("pkce") + "/ledger"
        let ledger = try Ledger(path: path, options: testOptions())
        defer { ledger.close() }
        let s = try StressScenario.populate(ledger)
        let client = try ledger.administration.createCredential(s.company, NewCredential(name: "strict", type: .pkcePublic, scope: .read,
                                                                          redirectURIs: ["https://app.example/cb"]), as: s.admin)
        let verifier = String(repeating: "z", count: 43)
        func authorize(_ uri: String, method: String = "S256", challenge: String? = nil) -> DenialReason? {
            do {
                _ = try ledger.oauth.approveClient(company: s.company, clientID: client.clientID!, user: s.member, redirectURI: uri,
                                         codeChallenge: challenge ?? PKCE.challenge(for: verifier), codeChallengeMethod: method, state: nil)
                return nil
            } catch let error as OAuthError {
                return error.reason
            } catch {
                XCTFail("\(error)")
                return nil
            }
        }
        XCTAssertNil(authorize("https://app.example/cb"))
        for uri in ["https://app.example/cb/", "https://APP.example/cb", "https://app.example/cb?x=1", "https://app.example/c",
                    "https://app.example/cb#f", "http://app.example/cb", "https://app.example/cb ", "https://app.example:443/cb"] {
            XCTAssertEqual(authorize(uri), .redirectURIMismatch, uri)
        }
        for method in ["plain", "s256", "S512", ""] {
            XCTAssertEqual(authorize("https://app.example/cb", method: method, challenge: verifier), .unsupportedChallengeMethod, method)
        }
    }
}
