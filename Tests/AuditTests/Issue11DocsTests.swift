@testable import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 11, item 19: the docs an outside implementer read are exact — the README's worked example counts the
/// events it makes, and docs/EXPORT.md's payload table names every key an export writes, per event type, with
/// the values the verifier expects for role 0, number 0 and `redirect_uris`.
final class Issue11DocsTests: XCTestCase {
    private var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    private func document(_ name: String) throws -> String {
        try String(contentsOfFile: repositoryRoot + "/" + name, encoding: .utf8)
    }

    func testTheReadmeWorkedExampleCountsTheEventsItMakes() throws {
        let t = try TestLedger("i11-readme")
        defer { t.remove() }
        t.close()
        let alice = "alice@acme.example"
        // The README's commands, in its order.
        XCTAssertEqual(runCLI(t, ["company", "create", "acme", "--admin", alice, "--mail-domain", "acme.example"]).code, 0)
        let refused = runCLI(t, ["key", "create", "acme", "--name", "Nightly sync", "--type", "static", "--scope", "read", "--as", alice])
        XCTAssertTrue(refused.err.contains("api_module_disabled"), refused.all)
        XCTAssertEqual(runCLI(t, ["company", "enable-api", "acme", "--as", alice]).code, 0)
        XCTAssertEqual(runCLI(t, ["project", "create", "acme", "bridge", "--as", alice]).code, 0)
        let created = runCLI(t, ["--json", "key", "create", "acme", "--name", "Nightly sync", "--type", "static", "--scope", "read", "--as", alice])
        let id = try XCTUnwrap(created.object["id"] as? String, created.all)
        let secret = try XCTUnwrap(created.object["secret"] as? String, created.all)
        XCTAssertEqual(runCLI(t, ["access", "grant", "acme", id, "bridge", "--role", "viewer", "--as", alice]).code, 0)
        XCTAssertEqual(runCLI(t, ["auth", "check", "acme", "--header", "Apikey " + secret, "--project", "bridge", "--op", "read"]).code, 0)
        XCTAssertEqual(runCLI(t, ["auth", "check", "acme", "--header", "Apikey " + secret, "--project", "bridge", "--op", "write"]).code, 1)
        XCTAssertEqual(runCLI(t, ["key", "list", "acme", "--as", alice]).code, 0)
        let verified = runCLI(t, ["--json", "verify"])
        let events = try XCTUnwrap(verified.object["events"] as? Int, verified.all)
        XCTAssertEqual(events, 8)

        let readme = try document("README.md")
        XCTAssertTrue(readme.contains("chain: ok — \(events) events"), "README's worked example must say \(events) events")
        for line in ["API module enabled for acme", "project bridge created in acme", "access granted: "] {
            XCTAssertTrue(readme.contains(line), "README's example omits the output \(line)")
        }
    }

    /// Every event type has a row in docs/EXPORT.md's payload table and every (type, key) an export of a varied
    /// history writes appears in that type's row; no value is null; roles and `redirect_uris` have the documented form.
    func testTheExportDocsNameEveryPayloadKeyPerType() throws {
        let t = try TestLedger("i11-docs", seed: 19)
        defer { t.remove() }
        let history = try RandomHistory(t, seed: 19)
        try history.run(steps: 200)
        // The cases a random history may miss: a use at another company, a user's role set to none.
        let key = history.keys.first { $0.issued.type == .staticKey && $0.company == World.acme }!.issued
        try t.use("Apikey " + key.secret!, "pb", .read, company: World.beta)
        try t.ledger.administration.setUserProjectRole(World.acme, project: "bridge", email: World.bob, role: nil, as: World.alice)
        let dir = t.directory.path + "/docs-export"
        _ = try t.ledger.audit.export(ExportRequest(company: nil, format: .jsonl, directory: dir))

        // The table: "| `type` | keys |" rows of the events.jsonl section.
        let doc = try document("docs/EXPORT.md")
        var rows: [String: String] = [:]
        for line in doc.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            for name in cells[1].split(separator: ",") {
                let type = name.trimmingCharacters(in: CharacterSet(charactersIn: " `"))
                if EventType(name: type) != nil { rows[type] = cells[2] }
            }
        }
        XCTAssertEqual(Set(rows.keys), Set(EventType.allCases.map(\.name)), "every event type has a row")

        var seen: [String: Set<String>] = [:]
        var lines = 0
        for text in try String(contentsOfFile: dir + "/events.jsonl", encoding: .utf8).split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            let type = object["type"] as! String
            let payload = object["payload"] as! [String: Any]
            lines += 1
            for (name, value) in payload {
                seen[type, default: []].insert(name)
                let row = try XCTUnwrap(rows[type], type)
                XCTAssertTrue(row.range(of: "\\b\(name)\\b", options: .regularExpression) != nil, "\(type).\(name) is not documented")
                XCTAssertFalse(value is NSNull, "\(type).\(name) is null")
            }
            if type == "user_project_role_set" {
                XCTAssertTrue(["viewer", "editor", "project-admin", "none"].contains(payload["role"] as! String))
            }
            if type == "member_role_set" {
                XCTAssertTrue(["removed", "member", "admin"].contains(payload["role"] as! String))
            }
            if let uris = payload["redirect_uris"] as? String {
                XCTAssertFalse(uris.split(separator: " ").isEmpty)
                XCTAssertTrue(uris.split(separator: " ").allSatisfy { $0.hasPrefix("https://") || $0.hasPrefix("http://") })
            }
        }
        XCTAssertGreaterThan(lines, 200)
        // The keys the history produced cover the conditional ones the docs list for uses and user roles.
        XCTAssertTrue(seen["credential_used"]?.contains("target_company") == true)
        XCTAssertTrue(doc.contains("prints as the empty string `\"\"`, never `null`"))
        let verifier = try runVerifier(dir)
        XCTAssertEqual(verifier.code, 0, verifier.output)
    }
}
