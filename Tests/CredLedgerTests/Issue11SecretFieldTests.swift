import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 11 item 7: text that carries something shaped like one of our secrets is never stored (the log cannot be
/// purged): every stored field refuses it with `secret_in_field` (exit 2), nothing is written, and the LMDB file
/// never holds it. The matcher is `SecretShape`, shared with message redaction.
final class Issue11SecretFieldTests: XCTestCase {
    /// A real, well-formed key (checksum valid) from a seeded generator.
    private var key = ""

    override func setUpWithError() throws {
        key = try SecretFormat.generate(.apiKey, using: SeededRandom(seed: 9))
    }

    func testTheMatcherCatchesKeysHowEverTheyAreWrittenAndLeavesOrdinaryTextAlone() {
        let body = String(key.dropFirst(4))
        let encodedAll = key.utf8.map { "%" + String($0, radix: 16, uppercase: true) }.joined()
        let caught = [
            key, "prod \(key)", "abc\(key)def", "key=\(key)", "\(key.prefix(16))",          // whole, embedded, glued, truncated to 12
            "cxk%5F\(body)", "cxk%5f\(body)", encodedAll, "cxk%255F\(body)",                 // percent-encoded, once and twice
            "https://app.example/cb?next=%2Fcb%3Ftoken%3D\(key)",                            // inside an encoded query
            "cxs_\(body)", "cxa_\(body)", "cxr_\(body)", "cxo_\(body)",
        ]
        for text in caught { XCTAssertTrue(SecretShape.occurs(in: text), "missed: \(text)") }
        let ordinary = [
            "Nightly sync", "cxk_7U2Doj", "replaces cxk_7U2Doj (rotated)", "\(key.prefix(15))",  // display prefix; 11 body chars
            "cxc_\(body)",                                                                         // a client id is not a secret
            "docx_backup_2024", "CXC_\(body)", "cx_k\(body)", "cxk-\(body)", "ERP → SAP", "Zoë’s key 🔑",
        ]
        for text in ordinary { XCTAssertFalse(SecretShape.occurs(in: text), "refused ordinary text: \(text)") }
        XCTAssertEqual(SecretShape.minimumRun, 12)
        // Redaction uses the same matcher, and also cuts what only shows once decoded.
        XCTAssertFalse(Redaction.scrub("no key '\(key)'").contains(body))
        XCTAssertFalse(Redaction.scrub("no key 'cxk%5F\(body)'").contains(body))
        XCTAssertEqual(Redaction.scrub("Nightly sync cxk_7U2Doj"), "Nightly sync cxk_7U2Doj")
    }

    func testEveryStoredFieldRefusesSecretShapedText() throws {
        let t = try TestLedger("i11-secret-field", seed: 141)
        defer { t.remove() }
        let ledger = t.ledger!
        try t.makeWorld()
        let live = try t.create(.staticKey, .global, name: "Live")
        let liveKey = try XCTUnwrap(live.secret)
        let body = String(liveKey.dropFirst(4))
        let pasted = ["My key \(liveKey)", "cxk%5F\(body)", String(liveKey.prefix(20))]
        for text in pasted {
            assertRefused("secret_in_field", kind: .badInput, t) { _ = try t.create(.staticKey, .read, name: text) }
            assertRefused("secret_in_field", kind: .badInput, t) { try ledger.administration.createProject(World.acme, project: "p1", name: text, as: World.alice) }
            assertRefused("secret_in_field", kind: .badInput, t) { try ledger.administration.registerCompany("gamma", admin: "g@gamma.example", name: text) }
        }
        let uris = ["https://client.example/cb?key=\(liveKey)", "https://client.example/cb?key=cxk%5F\(body)",
                    "https://client.example/\(liveKey)/cb", "http://127.0.0.1:9000/cb?next=%2Fx%3Fk%3D\(liveKey)"]
        for uri in uris {
            assertRefused("secret_in_field", kind: .badInput, t) {
                _ = try ledger.administration.createCredential(World.acme, NewCredential(name: "App", type: .pkce, scope: .read, redirectURIs: [World.redirect, uri]),
                                                as: World.alice)
            }
        }
        // (Emails are stored lower-cased, so a capitalised prefix is caught as well.)
        let emails = ["\(liveKey)@acme.example", "ops+\(liveKey)@acme.example", "CXK_\(body)@acme.example"]
        for email in emails {
            assertRefused("secret_in_field", kind: .badInput, t) { try ledger.administration.setMemberRole(World.acme, email: email, role: .member, as: World.alice) }
            assertRefused("secret_in_field", kind: .badInput, t) { try ledger.administration.registerCompany("gamma", admin: email) }
        }
        assertRefused("secret_in_field", kind: .badInput, t) {
            try ledger.administration.registerCompany("gamma", admin: "g@gamma.example", mailDomain: "\(liveKey.lowercased().prefix(4))\(body).example")
        }
        // The refusal never repeats the secret.
        do {
            _ = try t.create(.staticKey, .read, name: "My key \(liveKey)")
        } catch let error as LedgerError {
            XCTAssertFalse(error.description.contains(body.prefix(12)), error.description)
        }
        // Ordinary text that mentions a display prefix is fine.
        _ = try t.create(.staticKey, .read, name: "Replaces \(live.displayPrefix)")

        // Nothing of the key is in the files.
        try ledger.maintenance.backup(to: t.directory.appending("backup"))
        t.close()
        let files = try issue11FileContents(under: t.directory.path)
        XCTAssertTrue(files.contains { $0.path == "ledger/data.mdb" })
        for (path, bytes) in files {
            XCTAssertNil(bytes.range(of: Data(body.prefix(12).utf8)), "\(path) holds part of the key")
            XCTAssertNil(bytes.range(of: Data("cxk%5F".utf8)), "\(path) holds the encoded key")
        }
        XCTAssertNotNil(files.first { $0.path == "ledger/data.mdb" }?.bytes.range(of: Data("Replaces".utf8)), "the scan reads real content")
    }

    func testTheCLIRefusesWithExitTwoAndDoesNotEchoTheSecret() throws {
        let cli = try CLI("i11-secret-cli")
        defer { cli.remove() }
        issue11SetUpCLICompany(cli)
        let body = String(key.dropFirst(4))
        let cases: [[String]] = [
            ["key", "create", "acme", "--name", "Key \(key)", "--type", "static", "--scope", "read", "--as", World.alice],
            ["key", "create", "acme", "--name", "App", "--type", "pkce", "--scope", "read", "--redirect-uri", "https://a.example/cb?t=cxk%5F\(body)", "--as", World.alice],
            ["project", "create", "acme", "p2", "--name", key, "--as", World.alice],
            ["member", "set", "acme", "\(key)@acme.example", "--role", "member", "--as", World.alice],
            ["company", "create", "gamma", "--admin", "g@gamma.example", "--name", "x\(key)"],
        ]
        for args in cases {
            for json in [false, true] {
                let r = issue11AssertCLIFails(cli, 2, printing: "secret_in_field", (json ? ["--json"] : []) + args)
                XCTAssertFalse(r.all.contains(body.prefix(12)), "echoed the secret: \(r.all)")
            }
        }
        // Listing and the log show none of it.
        let log = cli.run("log", "--limit", "1000")
        XCTAssertFalse(log.all.contains(body.prefix(12)))
    }

    /// Review finding 8: the prefix was matched in lower case only, so `CXK_<live body>` (a key whose prefix was
    /// capitalised by a form, a spreadsheet or a person) was accepted, stored for good and printed unredacted. The
    /// prefix now matches in any case (the body is case-sensitive base62: it is the secret).
    func testTheSecretPrefixMatchesInAnyCase() throws {
        let t = try TestLedger("i11-secret-case", seed: 142)
        defer { t.remove() }
        try t.makeWorld()
        let liveKey = try XCTUnwrap(try t.create(.staticKey, .global, name: "Live").secret)
        let body = String(liveKey.dropFirst(4))
        let spellings = ["CXK_", "Cxk_", "cXk_", "cxK_", "CXS_", "cXa_", "CxR_", "cxO_"]
        for prefix in spellings {
            XCTAssertTrue(SecretShape.occurs(in: "\(prefix)\(body)"), prefix)
            XCTAssertTrue(SecretShape.occurs(in: "prod\(prefix.dropLast())%5f\(body)"), prefix)
            XCTAssertFalse(Redaction.scrub("no key '\(prefix)\(body)'").contains(body), prefix)
        }
        for text in ["CXC_\(body)", "CX_K\(body)", "CXK-\(body)", "CXK_7U2Doj", "Docx_Backup_2024"] {
            XCTAssertFalse(SecretShape.occurs(in: text), text)
        }
        let head = t.head
        for name in ["CXK_\(body)", "My key Cxk_\(body)", "cXK%5F\(body)"] {
            assertRefused("secret_in_field", kind: .badInput, t) { _ = try t.create(.staticKey, .read, name: name) }
            assertRefused("secret_in_field", kind: .badInput, t) { try t.ledger.administration.createProject(World.acme, project: "p1", name: name, as: World.alice) }
        }
        XCTAssertEqual(t.head, head, "a refused name wrote something")
        t.close()
        let files = try issue11FileContents(under: t.directory.path)
        for (path, bytes) in files { XCTAssertNil(bytes.range(of: Data(body.utf8)), "the key body is in \(path)") }
    }
}
