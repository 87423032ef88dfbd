@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
@testable import CredLedgerTools
import Foundation
import XCTest

/// Issue 11 item 9: names refuse control, bidi and invisible characters (`invalid_name`; emails answer
/// `invalid_email`); everything the CLI prints — messages, tables, JSON — escapes such characters, whatever
/// stored them; and a company's live credentials have distinct names (`duplicate_name`).
final class Issue11NameSafetyTests: XCTestCase {
    /// One of each kind the issue names, and the other invisibles we refuse.
    static let dangerous: [Unicode.Scalar] = [
        "\u{00}", "\u{07}", "\u{09}", "\u{0A}", "\u{0D}", "\u{1B}", "\u{7F}", "\u{80}", "\u{85}", "\u{9B}", "\u{9F}",  // C0, DEL, C1
        "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}",      // bidi
        "\u{200E}", "\u{200F}", "\u{061C}",                                                                               // LRM, RLM, ALM
        "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}",                                                       // zero-width
        "\u{00AD}", "\u{180E}", "\u{2028}", "\u{2029}", "\u{3164}", "\u{115F}", "\u{E0041}", "\u{E0100}", "\u{F8FF}", "\u{E000}",
    ]

    func testDisplaySafetyClassifiesCharacters() {
        for scalar in Self.dangerous {
            XCTAssertTrue(DisplaySafety.isUnsafe(scalar), "U+\(String(scalar.value, radix: 16)) must be unsafe")
        }
        for text in ["Nightly sync", "Zoë’s key", "日本語のキー", "Ключ", "مفتاح", "🔑 key", "❤️ heart", "a\u{301}", "non\u{A0}breaking"] {
            XCTAssertFalse(DisplaySafety.containsUnsafe(text), "refused ordinary text: \(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
        XCTAssertEqual(DisplaySafety.escaped("a\u{1B}[31mb\u{202E}c"), "a\\u{1B}[31mb\\u{202E}c")
        XCTAssertEqual(DisplaySafety.escaped("line\nnext"), "line\\u{0A}next")
        XCTAssertEqual(DisplaySafety.escaped("line\nnext", keepingNewlines: true), "line\nnext")
    }

    func testNamesAndEmailsRefuseUnsafeCharacters() throws {
        let t = try TestLedger("i11-names", seed: 151)
        defer { t.remove() }
        let ledger = t.ledger!
        try t.makeWorld()
        for scalar in Self.dangerous {
            let name = "Deploy\(Character(scalar))key"
            assertRefused("invalid_name", kind: .badInput, t) { _ = try t.create(.staticKey, .read, name: name) }
            assertRefused("invalid_name", kind: .badInput, t) { try ledger.administration.createProject(World.acme, project: "px", name: name, as: World.alice) }
            assertRefused("invalid_name", kind: .badInput, t) { try ledger.administration.registerCompany("gamma", admin: "g@gamma.example", name: name) }
            let email = "bo\(Character(scalar))b@acme.example"
            assertRefused("invalid_email", kind: .badInput, t) { try ledger.administration.setMemberRole(World.acme, email: email, role: .member, as: World.alice) }
            assertRefused("invalid_email", kind: .badInput, t) { try ledger.administration.registerCompany("gamma", admin: email) }
        }
        // Variation selectors only right after a visible character (emoji presentation), never as hidden runs.
        for hidden in ["Key\u{FE0F}\u{FE0E}\u{FE0F}", "\u{FE0F}Key", "Key \u{FE0F}"] {
            assertRefused("invalid_name", t) { _ = try t.create(.staticKey, .read, name: hidden) }
        }
        // Ordinary international names are fine.
        _ = try t.create(.staticKey, .read, name: "Zoë’s 日本 key 🔑")
        _ = try t.create(.staticKey, .read, name: "Loved ❤️ key 1️⃣")
    }

    func testDuplicateCredentialNamesAreRefusedWithinACompany() throws {
        let t = try TestLedger("i11-dup", seed: 152)
        defer { t.remove() }
        let ledger = t.ledger!
        try t.makeWorld()
        let first = try t.create(.staticKey, .read, name: "Deploy key")
        for twin in ["Deploy key", "deploy KEY", "  Deploy   key ", "Deploy\u{A0}key", "DEPLOY\tKEY".replacingOccurrences(of: "\t", with: " ")] {
            assertRefused("duplicate_name", kind: .badInput, t) { _ = try t.create(.staticKey, .read, name: twin) }
            assertRefused("duplicate_name", kind: .badInput, t) {
                _ = try ledger.administration.createCredential(World.acme, NewCredential(name: twin, type: .pkce, scope: .read, redirectURIs: [World.redirect]),
                                                as: World.alice)
            }
        }
        // Canonically equivalent spellings are the same name.
        _ = try t.create(.staticKey, .read, name: "Caf\u{E9}")
        assertRefused("duplicate_name", t) { _ = try t.create(.staticKey, .read, name: "Cafe\u{301}") }
        // Compatibility look-alikes too (NFKC): fullwidth digits and letters, ligatures.
        _ = try t.create(.staticKey, .read, name: "k1 file")
        for twin in ["k\u{FF11} file", "\u{FF2B}1 \u{FB01}le"] {
            assertRefused("duplicate_name", t) { _ = try t.create(.staticKey, .read, name: twin) }
        }
        // Other names, and the same name in another company, are fine.
        _ = try t.create(.staticKey, .read, name: "Deploy key 2")
        _ = try t.create(.staticKey, .read, name: "Deploy key", company: World.beta, as: World.bea)
        // A deleted credential's name may be reused (the live table stays unambiguous; ids tell history apart).
        try ledger.administration.deleteCredential(World.acme, credential: first.id, as: World.alice)
        let second = try t.create(.oauth, .read, name: "deploy key")
        XCTAssertNotEqual(second.id, first.id)
        assertRefused("duplicate_name", t) { _ = try t.create(.staticKey, .read, name: "Deploy key") }

        // `credential_names` is a projection: a rebuild gives the same bytes, and a reopen keeps the rule.
        let live = try liveDigests(ledger)
        try ledger.maintenance.rebuildProjections()
        XCTAssertEqual(try liveDigests(ledger), live)
        XCTAssertEqual(try ledger.audit.withState { try $0.liveCredentialNames(company: 1).map(\.name) }.sorted(),
                       ["Caf\u{E9}", "Deploy key 2", "deploy key", "k1 file"])
        try t.reopen()
        assertRefused("duplicate_name", t) { _ = try t.create(.staticKey, .read, name: "DEPLOY KEY") }
    }

    func testTheCLIEscapesUnsafeCharactersInMessagesTablesAndJSON() throws {
        let cli = try CLI("i11-escape")
        defer { cli.remove() }
        issue11SetUpCLICompany(cli)
        let esc = "\u{1B}]0;pwned\u{07}\u{1B}[2J"
        // Error messages that echo an argument (unknown id, bad option value, unknown option).
        let attempts: [[String]] = [
            ["key", "show", "acme", "cred_\(esc)", "--as", World.alice],
            ["key", "create", "acme", "--name", "K", "--type", "static", "--scope", "read\(esc)", "--as", World.alice],
            ["key", "list", "acme", "--as", World.alice, "--bogus\(esc)"],
            ["member", "set", "acme", "x\(esc)@acme.example", "--role", "member", "--as", World.alice],
            ["key", "show", "acme", "cred_\u{202E}evil\nerror: fake", "--as", World.alice],
        ]
        for args in attempts {
            for json in [false, true] {
                let r = cli.run((json ? ["--json"] : []) + args)
                XCTAssertNotEqual(r.code, 0)
                XCTAssertFalse(r.all.unicodeScalars.contains { DisplaySafety.isUnsafe($0) && $0 != "\n" }, "raw control output: \(r.all.debugDescription)")
                XCTAssertFalse(r.all.contains("\nerror: fake"), "an argument injected a line: \(r.all)")
                if !json { XCTAssertTrue(r.err.contains("\\u{1B}") || r.err.contains("\\u{202E}") || r.err.contains("unknown option"), r.err) }
            }
        }

        // A name stored by an older version (no checks then) prints escaped in the table, `key show` and JSON.
        let created = cli.run("--json", "key", "create", "acme", "--name", "Plain", "--type", "static", "--scope", "read", "--as", World.alice)
        let id = try XCTUnwrap(created.object["id"] as? String)
        let evil = "Evil\u{202E}yek\u{1B}[31m\u{9B}2J"
        var options = cli.options
        options.readOnly = false
        do {
            let ledger = try Ledger(path: cli.db, options: options)
            defer { ledger.close() }
            let number = try XCTUnwrap(try ledger.audit.withState { try $0.counter(.credential) })
            try issue11Append(ledger, company: 1, actor: .user(1), .credentialCreated(CredentialCreated(
                credential: number + 1, type: .staticKey, scope: .read, publicID: "cred_OldVersion00001", name: evil, serviceUser: "apiservice+old000000001@acme.example",
                displayPrefix: "cxk_000000", clientID: "", secretHash: nil, expiresAt: 0, redirectURIs: [])))
        }
        for args in [["key", "list", "acme", "--as", World.alice], ["key", "show", "acme", "cred_OldVersion00001", "--as", World.alice],
                     ["--json", "key", "list", "acme", "--as", World.alice], ["--json", "key", "show", "acme", "cred_OldVersion00001", "--as", World.alice],
                     ["log", "--limit", "100"]] {
            let r = cli.run(args)
            XCTAssertEqual(r.code, 0, r.all)
            XCTAssertFalse(r.all.unicodeScalars.contains { DisplaySafety.isUnsafe($0) && $0 != "\n" }, "\(args): \(r.all.debugDescription)")
        }
        let table = cli.run("key", "list", "acme", "--as", World.alice)
        XCTAssertTrue(table.out.contains("Evil\\u{202E}yek\\u{1B}[31m\\u{9B}2J"), table.out)
        // JSON stays exact for machines: the escapes decode to the stored name.
        let json = cli.run("--json", "key", "show", "acme", "cred_OldVersion00001", "--as", World.alice)
        XCTAssertEqual(json.object["name"] as? String, evil)
        XCTAssertTrue(json.out.contains("\\u202e"), json.out)
        XCTAssertNotNil(id)
    }
}

extension Issue11NameSafetyTests {
    /// The ASCII fast path of `Validation.nameKey` gives exactly what the general rule gives.
    func testNameKeyFastPathAgreesWithTheGeneralRule() {
        let samples = ["Deploy key", "  Deploy   KEY  ", "a\tb\r\nc", "ABC-xyz_09", "", "   ", "x", "Mixed Case\u{0B}\u{0C}End", "\r\n"]
        for s in samples {
            XCTAssertEqual(Validation.nameKey(s), s.split(whereSeparator: \.isWhitespace).joined(separator: " ").lowercased(), s.debugDescription)
        }
        XCTAssertEqual(Validation.nameKey("  Ключ  КЛЮЧ "), "ключ ключ")
    }
}
