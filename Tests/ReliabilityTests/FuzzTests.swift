import CredLedger
import CredLedgerCore
@testable import CredLedgerLab
@testable import CredLedgerTools
import Foundation
import XCTest

/// Bad input gets a clear error and changes nothing (SPEC §7): seeded fuzzing of every parser of outside input.
/// The short budgets here total ~10^5 inputs; `credledger-bench stress fuzz --inputs 1000000` is the long run.
/// Every target checks properties (see FuzzEngine): a rejected input gets its specific error, an accepted one is
/// exactly what a valid input gives, nothing traps, no single input takes long.
final class FuzzTests: ReliabilityTestCase {
    @discardableResult
    private func fuzz(_ targets: [FuzzEngine.Target], inputs: Int, exportVerifier: String? = nil,
                      file: StaticString = #filePath, line: UInt = #line) throws -> FuzzEngine.Summary {
        var config = FuzzEngine.Config(directory: try makeDirectory("fuzz"))
        config.targets = targets
        config.inputs = Self.budget("CREDLEDGER_FUZZ_INPUTS", inputs)
        config.seed = Self.seed
        config.exportVerifier = exportVerifier
        let summary = FuzzEngine.run(config)
        print(summary.text + " (seed \(config.seed))")
        XCTAssertEqual(summary.failures, [], "seed \(config.seed)", file: file, line: line)
        XCTAssertEqual(summary.skipped, [], file: file, line: line)
        for target in targets {
            XCTAssertGreaterThan(summary.inputs[target.rawValue] ?? 0, 0, target.rawValue, file: file, line: line)
            // No hang: no single input may take a second (they take microseconds; the margin is for a loaded machine).
            XCTAssertLessThan(summary.slowest[target.rawValue] ?? 0, 1.0, target.rawValue, file: file, line: line)
        }
        return summary
    }

    func testEventDecoder() throws {
        let summary = try fuzz([.codec], inputs: 40_000)
        XCTAssertGreaterThanOrEqual(summary.inputs["codec"] ?? 0, 40_000)
    }

    func testAuthorizationHeaderParser() throws {
        try fuzz([.header], inputs: 25_000)
    }

    func testSecretFormatValidator() throws {
        try fuzz([.secret], inputs: 15_000)
    }

    func testBase64URLAndPKCE() throws {
        try fuzz([.base64, .pkce], inputs: 15_000)
    }

    func testCommandLineParser() throws {
        try fuzz([.cliParse], inputs: 25_000)
    }

    /// The whole CLI in process with random argv on a populated ledger (--db always a temp dir): exit codes 0…3,
    /// a message on every failure, never an integrity failure, and the ledger still verifies afterwards.
    func testCommandLineToolOnAPopulatedLedger() throws {
        try fuzz([.cliRun], inputs: 600)
    }

    /// `Tools/verify_export.py` on mutated exports (jsonl and csv).
    func testExportReader() throws {
        let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let verifier = root.appendingPathComponent("Tools/verify_export.py").path
        guard FileManager.default.fileExists(atPath: verifier) else { throw XCTSkip("Tools/verify_export.py does not exist in this tree") }
        guard (try? ChildProcess.run("/usr/bin/env", ["python3", "--version"]))?.status == 0 else { throw XCTSkip("python3 is not installed") }
        let summary = try fuzz([.export], inputs: 300, exportVerifier: verifier)
        XCTAssertEqual(summary.notes["export.missed"], 0)
        XCTAssertEqual(summary.notes["export.crashed"], 0, "the export reader must refuse bad input with FAIL, not a traceback")
    }

    /// Every single-character typo (any position of the random part or checksum, any other base62 character) of a
    /// key is refused as bad_checksum before any lookup — exhaustively for one key of each kind.
    func testEverySingleCharacterTypoIsRefusedWithoutALookup() throws {
        for kind in SecretKind.allCases {
            let secret = Array(try SecretFormat.generate(kind, using: SeededRandom(seed: Self.seed)).utf8)
            var refused = 0
            for position in SecretFormat.prefixLength..<SecretFormat.length {
                for c in FuzzEngine.base62 where c != secret[position] {
                    var typo = secret
                    typo[position] = c
                    let problem = typo.withUnsafeBytes { SecretFormat.validate($0, expecting: [kind]).problem }
                    XCTAssertEqual(problem, .badChecksum, "\(kind) position \(position)")
                    refused += 1
                }
            }
            XCTAssertEqual(refused, (SecretFormat.length - SecretFormat.prefixLength) * 61)
            // And every adjacent transposition of two different characters.
            for position in SecretFormat.prefixLength..<(SecretFormat.length - 1) where secret[position] != secret[position + 1] {
                var typo = secret
                typo.swapAt(position, position + 1)
                XCTAssertEqual(typo.withUnsafeBytes { SecretFormat.validate($0, expecting: [kind]).problem }, .badChecksum)
            }
        }
    }

    /// Oversized and malformed fields through the library: a specific error, and not one event written.
    func testOversizedAndMalformedFieldsChangeNothing() throws {
        let path = try makeDirectory("bad-input") + "/ledger"
        let ledger = try Ledger(path: path, options: testOptions())
        defer { ledger.close() }
        let s = try StressScenario.populate(ledger, company: "acme")
        let head = ledger.head.seq
        let long = String(repeating: "n", count: 101)
        assertLedgerError("invalid_name") { try ledger.administration.createCredential("acme", NewCredential(name: long, type: .staticKey, scope: .read), as: s.admin) }
        assertLedgerError("invalid_name") { try ledger.administration.createCredential("acme", NewCredential(name: "a\u{0}b", type: .staticKey, scope: .read), as: s.admin) }
        assertLedgerError("invalid_name") { try ledger.administration.createCredential("acme", NewCredential(name: "   ", type: .staticKey, scope: .read), as: s.admin) }
        assertLedgerError("invalid_company") { try ledger.administration.registerCompany(String(repeating: "a", count: 64), admin: s.admin) }
        assertLedgerError("invalid_company") { try ledger.administration.registerCompany("Acme!", admin: s.admin) }
        assertLedgerError("invalid_email") { try ledger.administration.registerCompany("fresh", admin: String(repeating: "a", count: 250) + "@x.example") }
        assertLedgerError("invalid_project") { try ledger.administration.createProject("acme", project: "-x", as: s.admin) }
        assertLedgerError("invalid_redirect_uri") {
            try ledger.administration.createCredential("acme", NewCredential(name: "p", type: .pkce, scope: .read,
                                                              redirectURIs: ["https://x.example/" + String(repeating: "a", count: 2048)]), as: s.admin)
        }
        assertLedgerError("invalid_redirect_uri") {
            try ledger.administration.createCredential("acme", NewCredential(name: "p", type: .pkce, scope: .read, redirectURIs: Array(repeating: "https://x.example/cb", count: 6)), as: s.admin)
        }
        assertLedgerError("invalid_redirect_uri") {
            try ledger.administration.createCredential("acme", NewCredential(name: "p", type: .pkce, scope: .read, redirectURIs: ["http://evil.example/cb"]), as: s.admin)
        }
        assertLedgerError("unknown_company") { try ledger.administration.createProject("nope", project: "x", as: s.admin) }
        assertLedgerError("unknown_credential") { try ledger.administration.deleteCredential("acme", credential: "cred_nope", as: s.admin) }
        assertLedgerError("not_company_admin") { try ledger.administration.createProject("acme", project: "x", as: s.member) }
        assertLedgerError("invalid_grace") { try ledger.administration.rotateSecret("acme", credential: "cred_x", grace: -1, as: s.admin) }
        XCTAssertEqual(ledger.head.seq, head, "a refused command wrote events")
        // A header over the limit is denied (and, by design, the denial is recorded as a use).
        let decision = try ledger.access.authorize(header: "Apikey " + String(repeating: "k", count: 300), company: "acme", project: "bridge", operation: .read)
        XCTAssertEqual(decision.denial, .malformedHeader)
        let report = try ledger.audit.verify()
        XCTAssertTrue(report.ok)
    }
}
