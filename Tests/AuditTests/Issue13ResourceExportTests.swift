import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 13: events bound to an RFC 8707 resource (schema 2 of `consent_given` / `token_issued`) export with a
/// `resource` field, and the independent verifier (Tools/verify_export.py) decodes them from the record bytes.
final class Issue13ResourceExportTests: XCTestCase {
    func testResourceEventsExportAndVerify() throws {
        let t = try TestLedger("resource-export", seed: 1314)
        defer { t.remove() }
        try t.makeWorld()
        let pkce = try t.create(.pkce, .readWrite, name: "bound app")
        let grant = try t.ledger.oauth.approveClient(company: World.acme, clientID: pkce.clientID!, user: World.bob, redirectURI: World.redirect,
                                                     codeChallenge: PKCE.challenge(for: PKCEPair.verifier), codeChallengeMethod: "S256",
                                                     state: nil, resource: "https://api.example/mcp")
        _ = try t.ledger.oauth.exchangeCode(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, code: grant.code,
                                            codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
        let oauth = try t.create(.oauth, .read, name: "bound service")
        _ = try t.ledger.oauth.clientCredentialsToken(clientID: oauth.clientID!, clientSecret: oauth.clientSecret!, resource: "urn:example:api")
        _ = try? t.ledger.oauth.clientCredentialsToken(clientID: oauth.clientID!, clientSecret: oauth.clientSecret!, resource: "no uri")
        _ = try t.pkceTokens(pkce, user: World.bob)   // an unbound family next to the bound ones

        let dir = t.directory.path + "/all"
        _ = try t.ledger.audit.export(ExportRequest(company: nil, format: .jsonl, directory: dir, since: nil, until: nil))
        // The verifier decodes each payload from the record bytes and compares the line with it: without the schema-2
        // rule it would find bytes left over and a `resource` field it did not expect.
        let result = try runVerifier(dir)
        XCTAssertEqual(result.code, 0, result.output)
        let lines = try String(contentsOfFile: dir + "/events.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("\"resource\":\"https:\\/\\/api.example\\/mcp\"") || $0.contains("\"resource\":\"https://api.example/mcp\"") }.count, 2,
                       "the consent and the tokens issued from it")
        XCTAssertEqual(lines.filter { $0.contains("\"resource\":\"urn:example:api\"") }.count, 1)
        XCTAssertEqual(lines.filter { $0.contains("\"invalid_target\"") }.count, 1, "the refused resource is recorded")

    }
}
