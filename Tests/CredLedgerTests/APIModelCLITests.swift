import CredLedger
import CredLedgerAPI
import CredLedgerCore
@testable import CredLedgerTools
import Foundation
import XCTest

/// Issue 12, one API model: the `--json` output of every product command decodes (strictly: every "always" key
/// present, every value of its type) into its `CredLedgerAPI` type, and re-encoding that value gives back the
/// printed bytes, so the CLI prints exactly the contract of docs/API.md and nothing beside it; and the bytes are
/// those the dictionary printer it replaced would give (same key order, same number forms).
final class APIModelCLITests: XCTestCase {
    private var cli: CLI!
    private let alice = World.alice

    override func setUpWithError() throws {
        cli = try CLI("api-model")
    }

    override func tearDown() {
        cli?.remove()
        cli = nil
    }

    /// Runs `--json <args>`, expects `exit`, decodes its one output line as `T` and checks it re-encodes to the
    /// same bytes.
    @discardableResult
    private func apiRun<T: Codable & Equatable>(_ type: T.Type, _ args: [String], exit: Int32 = 0,
                                                file: StaticString = #filePath, line: UInt = #line) throws -> T {
        let r = cli.run(["--json"] + args)
        XCTAssertEqual(r.code, exit, "\(args.joined(separator: " ")): \(r.all)", file: file, line: line)
        XCTAssertTrue(r.out.hasSuffix("\n") && r.out.filter { $0 == "\n" }.count == 1, "one JSON line: \(r.out)", file: file, line: line)
        let text = String(r.out.dropLast())
        let value = try API.decode(T.self, from: Data(text.utf8))
        XCTAssertEqual(try API.encodeText(value), text, "\(args.joined(separator: " ")) printed more or other than \(T.self)", file: file, line: line)
        // Key order and number forms as before: the untyped printer (JSONSerialization, sorted keys) of the same
        // values prints the same bytes.
        let untyped = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        XCTAssertEqual(Output.jsonString(untyped), text, "\(args.joined(separator: " ")): key order or number form changed", file: file, line: line)
        return value
    }

    func testEveryCommandsJSONOutputIsItsAPIType() throws {
        // Administration.
        let company = try apiRun(API.Company.self, ["company", "create", "acme", "--admin", alice, "--name", "Acme Corp", "--mail-domain", "acme.example"])
        XCTAssertEqual(company, API.Company(company: "acme", name: "Acme Corp", mailDomain: "acme.example", apiEnabled: false))
        XCTAssertEqual(try apiRun(API.APIModuleResult.self, ["company", "enable-api", "acme", "--as", alice]).changed, true)
        XCTAssertEqual(try apiRun(API.APIModuleResult.self, ["company", "enable-api", "acme", "--as", alice]).changed, false)
        XCTAssertNil(try apiRun(API.ProjectResult.self, ["project", "create", "acme", "bridge", "--as", alice]).archived)
        try apiRun(API.ProjectResult.self, ["project", "create", "acme", "old", "--as", alice])
        XCTAssertEqual(try apiRun(API.ProjectResult.self, ["project", "archive", "acme", "old", "--as", alice]).archived, true)
        XCTAssertEqual(try apiRun(API.MemberRoleResult.self, ["member", "set", "acme", World.bob, "--role", "member", "--as", alice]).result, "granted")
        XCTAssertEqual(try apiRun(API.ProjectRoleResult.self, ["project", "member", "acme", "bridge", World.bob, "--role", "editor", "--as", alice]).role, "editor")

        // Credentials.
        let key = try apiRun(API.IssuedCredential.self, ["key", "create", "acme", "--name", "CI", "--type", "static", "--scope", "read-write", "--as", alice])
        let secret = try XCTUnwrap(key.secret)
        XCTAssertNotNil(key.serviceUser)
        let pkce = try apiRun(API.IssuedCredential.self, ["key", "create", "acme", "--name", "App", "--type", "pkce", "--scope", "global",
                                                          "--redirect-uri", World.redirect, "--as", alice])
        let (pkceID, pkceSecret) = (try XCTUnwrap(pkce.clientID), try XCTUnwrap(pkce.clientSecret))
        let service = try apiRun(API.IssuedCredential.self, ["key", "create", "acme", "--name", "Svc", "--type", "oauth", "--scope", "read",
                                                             "--expires-in", "30d", "--as", alice])
        XCTAssertEqual(try apiRun(API.AccessResult.self, ["access", "grant", "acme", key.id, "bridge", "--role", "editor", "--as", alice]).result, "granted")
        XCTAssertEqual(try apiRun(API.AccessResult.self, ["access", "grant", "acme", service.id, "bridge", "--role", "viewer", "--as", alice]).result, "granted")
        XCTAssertEqual(try apiRun(API.AccessResult.self, ["access", "revoke", "acme", service.id, "bridge", "--as", alice]).role, nil)
        try apiRun(API.AccessResult.self, ["access", "grant", "acme", service.id, "bridge", "--role", "viewer", "--as", alice])

        // The access decision, allowed and denied.
        XCTAssertEqual(try apiRun(API.AccessDecision.self, ["auth", "check", "acme", "--header", "Apikey \(secret)", "--project", "bridge", "--op", "write"]).result, "allowed")
        let denied = try apiRun(API.AccessDecision.self, ["auth", "check", "acme", "--header", "Apikey nope", "--project", "bridge", "--op", "read"], exit: 1)
        XCTAssertFalse(denied.allowed)
        XCTAssertNotNil(denied.fix)

        // OAuth: client credentials, consent, code exchange, refresh, a refused reuse, introspection, revocation.
        let serviceToken = try apiRun(API.TokenResponse.self, ["token", "client-credentials", "--client-id", try XCTUnwrap(service.clientID),
                                                               "--client-secret", try XCTUnwrap(service.clientSecret)])
        XCTAssertNil(serviceToken.refreshToken)
        let consent = try apiRun(API.ConsentResult.self, ["oauth", "authorize", "acme", "--client-id", pkceID, "--user", World.bob,
                                                          "--redirect-uri", World.redirect, "--code-challenge", PKCEPair.challenge,
                                                          "--code-challenge-method", "S256", "--state", "s1"])
        XCTAssertEqual(consent.state, "s1")
        let exchange = ["oauth", "token", "--grant", "authorization_code", "--client-id", pkceID, "--client-secret", pkceSecret,
                        "--code", consent.code, "--code-verifier", PKCEPair.verifier, "--redirect-uri", World.redirect]
        let tokens = try apiRun(API.TokenResponse.self, exchange)
        let refreshed = try apiRun(API.TokenResponse.self, ["oauth", "token", "--grant", "refresh_token", "--client-id", pkceID,
                                                            "--client-secret", pkceSecret, "--refresh-token", try XCTUnwrap(tokens.refreshToken)])
        let introspected = try apiRun(API.Introspection.self, ["token", "introspect", "--token", refreshed.accessToken, "--client-id", pkceID,
                                                               "--client-secret", pkceSecret])
        XCTAssertEqual(introspected.details?.username, World.bob)
        XCTAssertFalse(try apiRun(API.Introspection.self, ["token", "introspect", "--token", "nope", "--client-id", pkceID,
                                                           "--client-secret", pkceSecret]).active)
        XCTAssertEqual(try apiRun(API.RevocationResult.self, ["token", "revoke", "--token", refreshed.accessToken, "--client-id", pkceID,
                                                             "--client-secret", pkceSecret]).result, "revoked")
        // A replayed code is refused (and revokes what it issued): the RFC 6749 §5.2 error body.
        let reused = try apiRun(API.OAuthErrorBody.self, exchange, exit: 1)
        XCTAssertEqual(reused.error, "invalid_grant")

        // The API keys page, rotation and deletion.
        let rotated = try apiRun(API.IssuedCredential.self, ["key", "rotate", "acme", pkce.id, "--grace", "1h", "--as", alice])
        XCTAssertEqual(rotated.oldTokens, "end_with_grace")
        XCTAssertNil(try apiRun(API.IssuedCredential.self, ["key", "rotate", "acme", key.id, "--grace", "0", "--as", alice]).oldTokens)
        XCTAssertEqual(try apiRun(API.DeleteCredentialResult.self, ["key", "delete", "acme", service.id, "--yes", "--as", alice]).id, service.id)
        let live = try apiRun([API.Credential].self, ["key", "list", "acme", "--as", alice])
        XCTAssertEqual(Set(live.map(\.id)), [key.id, pkce.id])
        let all = try apiRun([API.Credential].self, ["key", "list", "acme", "--all", "--as", alice])
        XCTAssertEqual(all.first { $0.id == service.id }?.status, "deleted")
        XCTAssertNotNil(all.first { $0.id == service.id }?.deletedAt)
        try apiRun([API.Credential].self, ["key", "list", "acme", "--seq", "3", "--as", alice])
        XCTAssertEqual(try apiRun(API.Credential.self, ["key", "show", "acme", key.id, "--as", alice]).projects, [API.ProjectGrant(project: "bridge", role: "editor")])

        // As-of views and audit queries.
        XCTAssertNil(try apiRun(API.UsageReport.self, ["usage", "acme"]).asOf)
        XCTAssertEqual(try apiRun(API.UsageReport.self, ["usage", "acme", "--seq", "3"]).asOf?.seq, 3)
        XCTAssertEqual(try apiRun(API.MembershipsReport.self, ["memberships", "acme"]).members.count, 2)
        XCTAssertEqual(try apiRun(API.MembershipsReport.self, ["memberships", "acme", "--seq", "0"]).asOf, API.AsOf(seq: 0, time: nil))
        XCTAssertFalse(try apiRun(API.AccessReport.self, ["audit", "access", "acme", "bridge"]).principals.isEmpty)
        XCTAssertEqual(try apiRun(API.AccessReport.self, ["audit", "access", "acme", "bridge", "--op", "write"]).operation, "write")
        let page = try apiRun(API.AuditEventsPage.self, ["audit", "events", "--company", "acme", "--order", "oldest", "--limit", "3"])
        XCTAssertEqual(page.next, API.PageCursor(after: page.events.last?.seq))
        XCTAssertEqual(page.events.first?.seq, 1)
        XCTAssertEqual(page.events.first?.prevHash, String(repeating: "0", count: 64))
        XCTAssertNil(try apiRun(API.AuditEventsPage.self, ["audit", "events", "--credential", key.id, "--limit", "1000"]).next)
        try apiRun(API.AccessReview.self, ["audit", "review", "acme"])

        // Integrity and export.
        XCTAssertTrue(try apiRun(API.VerifyReport.self, ["verify"]).ok)
        XCTAssertTrue(try apiRun(API.VerifyReport.self, ["verify", "--chain-only"]).projections.isEmpty)
        XCTAssertTrue(try apiRun(API.ReplayReport.self, ["replay", "--threads", "1"]).ok)
        XCTAssertNotNil(try apiRun(API.ReplayReport.self, ["replay", "--chain-only"]).projectionsNote)
        let export = try apiRun(API.ExportResult.self, ["export", "acme", "--out", cli.directory.appending("export")])
        XCTAssertEqual(export.headSeq, export.toSeq)
        let empty = try apiRun(API.ExportResult.self, ["export", "--all", "--out", cli.directory.appending("empty"), "--until", "2000-01-01T00:00:00Z"])
        XCTAssertNil(empty.headHash)
        XCTAssertNil(try apiRun(API.RebuildReport.self, ["rebuild"]).accepted)

        // Errors: a refusal, a usage error.
        XCTAssertEqual(try apiRun(API.ErrorBody.self, ["key", "list", "acme", "--as", World.mallory], exit: 1).error, "not_company_admin")
        XCTAssertEqual(try apiRun(API.ErrorBody.self, ["key", "list", "acme", "--as", alice, "--bogus"], exit: 2).error, "usage")

        // `log --json`: each line (its own key order, docs/EXPORT.md) is an event of the model, linked to the one before.
        let log = cli.run("--json", "log", "--limit", "1000")
        XCTAssertEqual(log.code, 0, log.all)
        let events = try log.out.split(separator: "\n").map { try API.decode(API.Event.self, from: Data($0.utf8)) }
        XCTAssertEqual(events.map(\.seq), Array(1...UInt64(events.count)))
        for (before, after) in zip(events, events.dropFirst()) { XCTAssertEqual(after.prevHash, before.hash) }

        // Every event of the log, of every type made above, maps to the object the dictionary printer made
        // (`EventFields.json`, which `audit events` printed before).
        let allEvents = try apiRun(API.AuditEventsPage.self, ["audit", "events", "--order", "oldest", "--limit", "100000"])
        var o = cli.options
        o.readOnly = true
        let ledger = try Ledger(path: cli.db, options: o)
        defer { ledger.close() }
        let fields = try EventFields(audit: ledger.audit)
        var query = AuditQuery()
        (query.limit, query.newestFirst) = (100_000, false)
        let stored = try ledger.audit.auditEvents(query)
        XCTAssertEqual(stored.events.count, allEvents.events.count)
        for (stored, previous) in zip(stored.events, stored.previousHashes) {
            let typed = try JSONSerialization.jsonObject(with: try API.encode(API.Event(stored, previousHash: previous, fields: fields))) as? NSDictionary
            let untyped = try JSONSerialization.jsonObject(with: try JSONSerialization.data(withJSONObject: fields.json(stored, previousHash: previous))) as? NSDictionary
            XCTAssertEqual(typed, untyped, "event \(stored.event.seq) (\(stored.event.type.name))")
        }
        XCTAssertGreaterThanOrEqual(Set(stored.events.map { $0.event.type }).count, 15, "the scenario makes most event types")
    }

    /// The one `Output.json` path escapes what `DisplaySafety` calls unsafe, as before: a bidi override and DEL print
    /// as `\u202e` and `\u007f`, and the line still decodes to the value.
    func testUnsafeCharactersAreEscapedInTypedOutput() throws {
        let body = API.ErrorBody(error: "invalid_name", message: "pay\u{202E}lpt\u{7F}")
        let text = Output.jsonString(body)
        XCTAssertFalse(text.unicodeScalars.contains { DisplaySafety.isUnsafe($0) }, text)
        XCTAssertTrue(text.contains("\\u202e") && text.contains("\\u007f"), text)
        XCTAssertEqual(try API.decode(API.ErrorBody.self, from: Data(text.utf8)), body)
    }
}
