@testable import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation
import XCTest

/// Issue 12: one mapping from API request values to the engine (`APIService`), shared by the CLI (blocking) and the
/// HTTP server to come (async, JSON bodies). Both forms give the same answers and write the same log; request values
/// the engine cannot take are `invalid_request` and write nothing.
final class Issue12APIServiceTests: XCTestCase {
    private enum Mode: CaseIterable { case blocking, async }

    /// The response of `request` in `mode`, as its JSON text.
    private func answer<R: APIRequest>(_ service: APIService, _ mode: Mode, _ request: R) async throws -> String where R.Response: Encodable {
        switch mode {
        case .blocking: try API.encodeText(try service.respondBlocking(to: request))
        case .async: try API.encodeText(try await service.respond(to: request))
        }
    }

    /// A session of every kind of request — admin, credentials, the access check, the OAuth endpoints, audit reads,
    /// rebuild — on two ledgers with the same seed and clock, one answered blocking and one async: the same responses
    /// (secrets included, since the random streams are the same), and logs equal event by event.
    func testBlockingAndAsyncAnswersAreTheSame() async throws {
        var transcripts: [[String]] = []
        var logs: [[StoredEvent]] = []
        for mode in Mode.allCases {
            let t = try TestLedger("i12-api-\(mode)", seed: 1212)
            defer { t.remove() }
            let service = APIService(t.ledger)
            let alice = World.alice
            var out: [String] = []
            out.append(try await answer(service, mode, API.CreateCompanyRequest(company: World.acme, admin: alice, name: "Acme", mailDomain: "acme.example")))
            out.append(try await answer(service, mode, API.SetAPIModuleRequest(company: World.acme, apiEnabled: true, actor: alice)))
            out.append(try await answer(service, mode, API.SetMemberRoleRequest(company: World.acme, email: World.bob, role: "member", actor: alice)))
            out.append(try await answer(service, mode, API.CreateProjectRequest(company: World.acme, project: World.bridge, actor: alice)))
            // A request as the server gets it: a JSON body.
            let body = try API.decode(API.CreateProjectRequest.self, from: Data(#"{"as":"alice@acme.example","company":"acme","project":"tunnel"}"#.utf8))
            out.append(try await answer(service, mode, body))
            out.append(try await answer(service, mode, API.SetProjectRoleRequest(company: World.acme, project: World.bridge, email: World.bob, role: "editor", actor: alice)))
            let keyText = try await answer(service, mode, API.CreateCredentialRequest(company: World.acme, name: "ci", type: "static", scope: "read-write",
                                                                                     expiresIn: "90d", actor: alice))
            out.append(keyText)
            let key = try API.decode(API.IssuedCredential.self, from: Data(keyText.utf8))
            out.append(try await answer(service, mode, API.GrantAccessOperation(API.AccessRequest(company: World.acme, id: key.id, project: World.bridge,
                                                                                                     role: "editor", actor: alice))))
            out.append(try await answer(service, mode, API.AccessCheckRequest(company: World.acme, project: World.bridge, operation: "write",
                                                                              header: "Apikey " + (key.secret ?? ""))))
            out.append(try await answer(service, mode, API.AccessCheckRequest(company: World.acme, project: World.tunnel, operation: "read",
                                                                              header: "Apikey " + (key.secret ?? ""))))
            let clientText = try await answer(service, mode, API.CreateCredentialRequest(company: World.acme, name: "svc", type: "oauth", scope: "global", actor: alice))
            let client = try API.decode(API.IssuedCredential.self, from: Data(clientText.utf8))
            let tokenText = try await answer(service, mode, API.TokenRequest(grantType: "client_credentials", clientID: client.clientID ?? "",
                                                                             clientSecret: client.clientSecret))
            out.append(tokenText)
            let token = try API.decode(API.TokenResponse.self, from: Data(tokenText.utf8))
            let query = API.TokenQueryRequest(token: token.accessToken, clientID: client.clientID ?? "", clientSecret: client.clientSecret)
            out.append(try await answer(service, mode, API.IntrospectOperation(query)))
            out.append(try await answer(service, mode, API.RevokeOperation(query)))
            out.append(try await answer(service, mode, API.RotateSecretRequest(company: World.acme, id: client.id, grace: "0", actor: alice)))
            // A wrong client secret is the grant's own OAuth error (recorded), in both forms.
            do {
                _ = try await answer(service, mode, API.TokenRequest(grantType: "client_credentials", clientID: client.clientID ?? "", clientSecret: client.clientSecret))
                XCTFail("\(mode): a superseded secret got a token")
            } catch let error as OAuthError {
                out.append(try API.encodeText(API.OAuthErrorBody(error)))
            }
            // Reads, live and as of a point.
            out.append(try await answer(service, mode, API.UsageRequest(company: World.acme)))
            out.append(try await answer(service, mode, API.UsageRequest(company: World.acme, seq: 9)))
            out.append(try await answer(service, mode, API.MembershipsRequest(company: World.acme, at: TimeFormat.rfc3339(t.head.timestamp))))
            out.append(try await answer(service, mode, API.WhoCouldActRequest(company: World.acme, project: World.bridge, operation: "write")))
            out.append(try await answer(service, mode, API.AccessReviewRequest(company: World.acme, staleDays: 30)))
            out.append(try await answer(service, mode, API.CredentialListRequest(company: World.acme, actor: alice, all: true)))
            out.append(try await answer(service, mode, API.CredentialDetailRequest(company: World.acme, id: key.id, actor: alice)))
            out.append(try await answer(service, mode, API.AuditEventsQuery(company: World.acme, types: ["credential_used"], order: "oldest")))
            // Later state changes, then a rebuild.
            out.append(try await answer(service, mode, API.RevokeAccessOperation(API.AccessRequest(company: World.acme, id: key.id, project: World.bridge, actor: alice))))
            out.append(try await answer(service, mode, API.DeleteCredentialRequest(company: World.acme, id: key.id, actor: alice)))
            out.append(try await answer(service, mode, API.ArchiveProjectRequest(company: World.acme, project: World.tunnel, actor: alice)))
            out.append(try await answer(service, mode, API.RebuildRequest()))
            let verified = try API.decode(API.VerifyReport.self, from: Data(try await answer(service, mode, API.VerifyRequest()).utf8))
            XCTAssertTrue(verified.ok, "\(mode)")
            transcripts.append(out)
            logs.append(try await t.ledger.audit.events())
        }
        XCTAssertEqual(transcripts[0].count, transcripts[1].count)
        for (a, b) in zip(transcripts[0], transcripts[1]) { XCTAssertEqual(a, b) }
        XCTAssertGreaterThan(logs[0].count, 15)
        XCTAssertEqual(logs[0], logs[1], "the two forms wrote different logs")
        // The answers mean something: the decision allowed the write, the token was active and then revoked.
        XCTAssertTrue(transcripts[0][8].contains(#""allowed":true"#), transcripts[0][8])
        XCTAssertTrue(transcripts[0][9].contains(#""allowed":false"#), transcripts[0][9])
        XCTAssertTrue(transcripts[0][11].contains(#""active":true"#), transcripts[0][11])
        XCTAssertEqual(transcripts[0][12], #"{"result":"revoked"}"#)
    }

    /// Hostile or malformed request values — names the engine does not know, malformed times and durations, a grant
    /// without its code, `at` with `seq` — are `invalid_request` in both forms, and nothing is written.
    func testRequestsTheEngineCannotTakeAreInvalidAndWriteNothing() async throws {
        let t = try TestLedger("i12-api-invalid", seed: 13)
        defer { t.remove() }
        try t.makeWorld()
        let service = APIService(t.ledger)
        let alice = World.alice
        let cases: [(String, (Mode) async throws -> Void)] = [
            ("member role", { m in _ = try await self.answer(service, m, API.SetMemberRoleRequest(company: World.acme, email: World.bob, role: "owner", actor: alice)) }),
            ("project role", { m in _ = try await self.answer(service, m, API.SetProjectRoleRequest(company: World.acme, project: World.bridge, email: World.bob, role: "god", actor: alice)) }),
            ("credential type", { m in _ = try await self.answer(service, m, API.CreateCredentialRequest(company: World.acme, name: "x", type: "certificate", scope: "read", actor: alice)) }),
            ("credential scope", { m in _ = try await self.answer(service, m, API.CreateCredentialRequest(company: World.acme, name: "x", type: "static", scope: "all", actor: alice)) }),
            ("expiry", { m in _ = try await self.answer(service, m, API.CreateCredentialRequest(company: World.acme, name: "x", type: "static", scope: "read", expiresIn: "-5d", actor: alice)) }),
            ("grace", { m in _ = try await self.answer(service, m, API.RotateSecretRequest(company: World.acme, id: "cred_x", grace: "later", actor: alice)) }),
            ("grant role", { m in _ = try await self.answer(service, m, API.GrantAccessOperation(API.AccessRequest(company: World.acme, id: "cred_x", project: World.bridge, actor: alice))) }),
            ("operation", { m in _ = try await self.answer(service, m, API.AccessCheckRequest(company: World.acme, project: World.bridge, operation: "delete", header: "Apikey x")) }),
            ("grant type", { m in _ = try await self.answer(service, m, API.TokenRequest(grantType: "password", clientID: "c")) }),
            ("code missing", { m in _ = try await self.answer(service, m, API.TokenRequest(grantType: "authorization_code", clientID: "c", codeVerifier: "v", redirectURI: World.redirect)) }),
            ("as-of time", { m in _ = try await self.answer(service, m, API.UsageRequest(company: World.acme, at: "yesterday")) }),
            ("at and seq", { m in _ = try await self.answer(service, m, API.MembershipsRequest(company: World.acme, at: "2026-01-01T00:00:00Z", seq: 3)) }),
            ("event type", { m in _ = try await self.answer(service, m, API.AuditEventsQuery(types: ["credential_used", "nope"])) }),
            ("order", { m in _ = try await self.answer(service, m, API.AuditEventsQuery(order: "sideways")) }),
            ("limit", { m in _ = try await self.answer(service, m, API.AuditEventsQuery(limit: 0)) }),
            ("export format", { m in _ = try await self.answer(service, m, API.ExportRequest(format: "xml", out: t.directory.appending("x"))) }),
            ("replay threads", { m in _ = try await self.answer(service, m, API.ReplayRequest(threads: 0)) }),
            ("review window", { m in _ = try await self.answer(service, m, API.AccessReviewRequest(company: World.acme, staleDays: 0)) }),
        ]
        let head = t.head
        for (name, run) in cases {
            for mode in Mode.allCases {
                do {
                    try await run(mode)
                    XCTFail("\(name) (\(mode)) was answered")
                } catch let error as LedgerError {
                    XCTAssertEqual(error.code, "invalid_request", "\(name) (\(mode)): \(error)")
                    XCTAssertEqual(error.kind, .badInput, name)
                } catch {
                    XCTFail("\(name) (\(mode)): \(error)")
                }
            }
        }
        XCTAssertEqual(t.head, head, "a refused request wrote something")
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.directory.appending("x")), "a refused export created its directory")
    }
}
