import CredLedgerAPI
import Foundation
import XCTest

/// Issue 12, one API model: every `CredLedgerAPI` type against a hand-made fixture of its exact JSON bytes
/// (keys sorted, compact), in both directions: the value encodes to exactly the fixture, and the fixture decodes
/// to exactly the value. A renamed key, a changed type or a null that became absent fails here.
final class APIModelTests: XCTestCase {
    /// Encodes `value` to exactly `fixture` and decodes `fixture` to exactly `value`.
    private func apiAssertRoundTrip<T: Codable & Equatable>(_ value: T, _ fixture: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(try API.encodeText(value), fixture, "\(T.self) encodes differently", file: file, line: line)
        XCTAssertEqual(try API.decode(T.self, from: Data(fixture.utf8)), value, "\(T.self) decodes differently", file: file, line: line)
    }

    /// Decoding `json` as `T` must fail (a key the contract requires is missing, or has the wrong type).
    private func apiAssertRejects<T: Decodable>(_ type: T.Type, _ json: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try API.decode(T.self, from: Data(json.utf8)), "\(T.self) accepted \(json)", file: file, line: line)
    }

    private let t1 = "2026-01-01T00:00:00.000000Z"
    private let t2 = "2026-02-01T12:30:00.000000Z"
    private let h1 = String(repeating: "ab", count: 32)
    private let h2 = String(repeating: "0f", count: 32)
    private let zeros = String(repeating: "0", count: 64)

    // MARK: errors and shared values

    func testErrorBodyAndAsOf() {
        apiAssertRoundTrip(API.ErrorBody(error: "not_company_admin", message: "bob is not an admin of acme"),
                           #"{"error":"not_company_admin","message":"bob is not an admin of acme"}"#)
        apiAssertRoundTrip(API.AsOf(seq: 12, time: t1), #"{"seq":12,"time":"\#(t1)"}"#)
        // Before the first event: the time is null, never absent.
        apiAssertRoundTrip(API.AsOf(seq: 0, time: nil), #"{"seq":0,"time":null}"#)
        apiAssertRejects(API.AsOf.self, #"{"seq":0}"#)
        apiAssertRoundTrip(API.AsOfQuery(at: t1), #"{"at":"\#(t1)"}"#)
        apiAssertRoundTrip(API.AsOfQuery(seq: 5), #"{"seq":5}"#)
    }

    func testPayloadValuesKeepTheirJSONType() {
        apiAssertRoundTrip([API.PayloadValue.string("7"), .integer(7), .bool(true)], #"["7",7,true]"#)
        // The whole u64 range (a token family is a u64), exactly.
        apiAssertRoundTrip(API.PayloadValue.integer(UInt64.max), "18446744073709551615")
        apiAssertRejects(API.PayloadValue.self, #"-1"#)
        apiAssertRejects(API.PayloadValue.self, #"{"a":1}"#)
        apiAssertRejects(API.PayloadValue.self, #"1.5"#)
    }

    // MARK: administration

    func testAdministrationTypes() {
        apiAssertRoundTrip(API.CreateCompanyRequest(company: "acme", admin: "alice@acme.example", name: "Acme Corp", mailDomain: "acme.example"),
                           #"{"admin":"alice@acme.example","company":"acme","mail_domain":"acme.example","name":"Acme Corp"}"#)
        apiAssertRoundTrip(API.CreateCompanyRequest(company: "acme", admin: "alice@acme.example"),
                           #"{"admin":"alice@acme.example","company":"acme"}"#)
        apiAssertRoundTrip(API.Company(company: "acme", name: "Acme Corp", mailDomain: "acme.example", apiEnabled: false),
                           #"{"api_enabled":false,"company":"acme","mail_domain":"acme.example","name":"Acme Corp"}"#)
        apiAssertRoundTrip(API.SetAPIModuleRequest(company: "acme", apiEnabled: true, actor: "alice@acme.example"),
                           #"{"api_enabled":true,"as":"alice@acme.example","company":"acme"}"#)
        apiAssertRoundTrip(API.APIModuleResult(company: "acme", apiEnabled: true, changed: false),
                           #"{"api_enabled":true,"changed":false,"company":"acme"}"#)
        apiAssertRoundTrip(API.SetMemberRoleRequest(company: "acme", email: "bob@acme.example", role: "member", actor: "alice@acme.example"),
                           #"{"as":"alice@acme.example","company":"acme","email":"bob@acme.example","role":"member"}"#)
        apiAssertRoundTrip(API.MemberRoleResult(company: "acme", email: "bob@acme.example", role: "member", result: "granted"),
                           #"{"company":"acme","email":"bob@acme.example","result":"granted","role":"member"}"#)
        apiAssertRoundTrip(API.CreateProjectRequest(company: "acme", project: "bridge", name: "Bridge build", actor: "alice@acme.example"),
                           #"{"as":"alice@acme.example","company":"acme","name":"Bridge build","project":"bridge"}"#)
        apiAssertRoundTrip(API.ProjectResult(company: "acme", project: "bridge"), #"{"company":"acme","project":"bridge"}"#)
        apiAssertRoundTrip(API.ProjectResult(company: "acme", project: "bridge", archived: true),
                           #"{"archived":true,"company":"acme","project":"bridge"}"#)
        apiAssertRoundTrip(API.ArchiveProjectRequest(company: "acme", project: "bridge", actor: "alice@acme.example"),
                           #"{"as":"alice@acme.example","company":"acme","project":"bridge"}"#)
        apiAssertRoundTrip(API.SetProjectRoleRequest(company: "acme", project: "bridge", email: "bob@acme.example", role: "none", actor: "alice@acme.example"),
                           #"{"as":"alice@acme.example","company":"acme","email":"bob@acme.example","project":"bridge","role":"none"}"#)
        apiAssertRoundTrip(API.ProjectRoleResult(project: "bridge", email: "bob@acme.example", role: "editor", result: "unchanged"),
                           #"{"email":"bob@acme.example","project":"bridge","result":"unchanged","role":"editor"}"#)
        apiAssertRejects(API.Company.self, #"{"company":"acme","name":"Acme Corp","mail_domain":"acme.example","api_enabled":"no"}"#)
    }

    // MARK: credentials

    func testCredentialTypes() {
        apiAssertRoundTrip(API.CreateCredentialRequest(company: "acme", name: "CI", type: "pkce", scope: "read",
                                                       redirectURIs: ["https://client.example/callback"], expiresIn: "90d", actor: "alice@acme.example"),
                           #"{"as":"alice@acme.example","company":"acme","expires_in":"90d","name":"CI","redirect_uris":["https://client.example/callback"],"scope":"read","type":"pkce"}"#)
        apiAssertRoundTrip(API.IssuedCredential(id: "cred_1", name: "CI", type: "static", scope: "read",
                                                serviceUser: "api-ci@acme.example", secret: "cl_live_secret"),
                           #"{"id":"cred_1","name":"CI","scope":"read","secret":"cl_live_secret","service_user":"api-ci@acme.example","type":"static"}"#)
        apiAssertRoundTrip(API.IssuedCredential(id: "cred_2", name: "App", type: "pkce", scope: "global", clientID: "client_2",
                                                clientSecret: "cs_secret", oldTokens: "end_with_grace"),
                           #"{"client_id":"client_2","client_secret":"cs_secret","id":"cred_2","name":"App","old_tokens":"end_with_grace","scope":"global","type":"pkce"}"#)
        // A static key never used, with no expiry: the null keys are there.
        let fresh = API.Credential(id: "cred_1", name: "CI", scope: "read", scopeLabel: "READ", type: "static", lastUsed: nil, used: 0,
                                   denied: 0, createdAt: t1, createdBy: "alice@acme.example", deleted: false, status: "active",
                                   expiresAt: nil, projects: [API.ProjectGrant(project: "bridge", role: "editor")], keyPrefix: "cl_live_ab12",
                                   serviceUser: "api-ci@acme.example")
        apiAssertRoundTrip(fresh, #"{"created_at":"\#(t1)","created_by":"alice@acme.example","deleted":false,"denied":0,"expires_at":null,"id":"cred_1","key_prefix":"cl_live_ab12","last_used":null,"name":"CI","projects":[{"project":"bridge","role":"editor"}],"scope":"read","scope_label":"READ","service_user":"api-ci@acme.example","status":"active","type":"static","used":0}"#)
        let deleted = API.Credential(id: "cred_2", name: "App", scope: "global", scopeLabel: "GLOBAL", type: "pkce", lastUsed: t2, used: 3,
                                     denied: 1, createdAt: t1, createdBy: "alice@acme.example", deleted: true, deletedAt: t2, status: "deleted",
                                     expiresAt: t2, projects: [], clientID: "client_2")
        apiAssertRoundTrip(deleted, #"{"client_id":"client_2","created_at":"\#(t1)","created_by":"alice@acme.example","deleted":true,"deleted_at":"\#(t2)","denied":1,"expires_at":"\#(t2)","id":"cred_2","last_used":"\#(t2)","name":"App","projects":[],"scope":"global","scope_label":"GLOBAL","status":"deleted","type":"pkce","used":3}"#)
        apiAssertRoundTrip([fresh], "[" + (try! API.encodeText(fresh)) + "]")
        // `last_used` is always present: leaving it out breaks the contract.
        apiAssertRejects(API.Credential.self, #"{"created_at":null,"created_by":"a","deleted":false,"denied":0,"expires_at":null,"id":"c","name":"n","projects":[],"scope":"read","scope_label":"READ","status":"active","type":"static","used":0}"#)
        apiAssertRoundTrip(API.RotateSecretRequest(company: "acme", id: "cred_1", grace: "24h", actor: "alice@acme.example"),
                           #"{"as":"alice@acme.example","company":"acme","grace":"24h","id":"cred_1"}"#)
        apiAssertRoundTrip(API.DeleteCredentialRequest(company: "acme", id: "cred_1", actor: "alice@acme.example"),
                           #"{"as":"alice@acme.example","company":"acme","id":"cred_1"}"#)
        apiAssertRoundTrip(API.DeleteCredentialResult(id: "cred_1"), #"{"deleted":true,"id":"cred_1"}"#)
        apiAssertRoundTrip(API.AccessRequest(company: "acme", id: "cred_1", project: "bridge", role: "viewer", actor: "alice@acme.example"),
                           #"{"as":"alice@acme.example","company":"acme","id":"cred_1","project":"bridge","role":"viewer"}"#)
        apiAssertRoundTrip(API.AccessResult(id: "cred_1", project: "bridge", role: "viewer", result: "granted"),
                           #"{"id":"cred_1","project":"bridge","result":"granted","role":"viewer"}"#)
        apiAssertRoundTrip(API.AccessResult(id: "cred_1", project: "bridge", result: "revoked"),
                           #"{"id":"cred_1","project":"bridge","result":"revoked"}"#)
    }

    // MARK: authentication and OAuth

    func testAccessDecision() {
        apiAssertRoundTrip(API.AccessCheckRequest(company: "acme", project: "bridge", operation: "write", header: "Bearer x"),
                           #"{"company":"acme","header":"Bearer x","operation":"write","project":"bridge"}"#)
        apiAssertRoundTrip(API.AccessDecision(allowed: true, result: "allowed", capability: "write", credential: "cred_1", principal: "api-ci@acme.example"),
                           #"{"allowed":true,"capability":"write","credential":"cred_1","principal":"api-ci@acme.example","result":"allowed"}"#)
        apiAssertRoundTrip(API.AccessDecision(allowed: false, result: "malformed_header", capability: "none", fix: "Send Authorization: Bearer <key>"),
                           #"{"allowed":false,"capability":"none","fix":"Send Authorization: Bearer <key>","result":"malformed_header"}"#)
    }

    func testTokenEndpointBodies() {
        apiAssertRoundTrip(API.TokenRequest(grantType: "authorization_code", clientID: "client_2", clientSecret: "cs", code: "code_1",
                                            codeVerifier: "verifier", redirectURI: "https://client.example/callback"),
                           #"{"client_id":"client_2","client_secret":"cs","code":"code_1","code_verifier":"verifier","grant_type":"authorization_code","redirect_uri":"https://client.example/callback"}"#)
        apiAssertRoundTrip(API.TokenRequest(grantType: "refresh_token", clientID: "client_2", refreshToken: "rt"),
                           #"{"client_id":"client_2","grant_type":"refresh_token","refresh_token":"rt"}"#)
        apiAssertRoundTrip(API.TokenResponse(accessToken: "at_1", expiresIn: 3600, refreshToken: "rt_1", scope: "read"),
                           #"{"access_token":"at_1","expires_in":3600,"refresh_token":"rt_1","scope":"read","token_type":"Bearer"}"#)
        apiAssertRoundTrip(API.TokenResponse(accessToken: "at_1", expiresIn: 3600, scope: "global"),
                           #"{"access_token":"at_1","expires_in":3600,"scope":"global","token_type":"Bearer"}"#)
        apiAssertRoundTrip(API.OAuthErrorBody(error: "invalid_grant", errorDescription: "Request a new authorization code.", reason: "code_reused"),
                           #"{"error":"invalid_grant","error_description":"Request a new authorization code.","reason":"code_reused"}"#)
        apiAssertRejects(API.TokenResponse.self, #"{"access_token":"at_1","scope":"read","token_type":"Bearer"}"#)
    }

    func testConsentBodies() {
        apiAssertRoundTrip(API.ConsentRequest(company: "acme", clientID: "client_2", user: "bob@acme.example", redirectURI: "https://client.example/callback",
                                              codeChallenge: "E9Mel", codeChallengeMethod: "S256", state: "xyz"),
                           #"{"client_id":"client_2","code_challenge":"E9Mel","code_challenge_method":"S256","company":"acme","redirect_uri":"https://client.example/callback","state":"xyz","user":"bob@acme.example"}"#)
        apiAssertRoundTrip(API.ConsentResult(code: "code_1", redirectURI: "https://client.example/callback",
                                             location: "https://client.example/callback?code=code_1&state=xyz", state: "xyz"),
                           #"{"code":"code_1","location":"https://client.example/callback?code=code_1&state=xyz","redirect_uri":"https://client.example/callback","state":"xyz"}"#)
        apiAssertRoundTrip(API.ConsentResult(code: "code_1", redirectURI: "http://127.0.0.1:8765/cb", location: "http://127.0.0.1:8765/cb?code=code_1"),
                           #"{"code":"code_1","location":"http://127.0.0.1:8765/cb?code=code_1","redirect_uri":"http://127.0.0.1:8765/cb"}"#)
    }

    func testIntrospectionAndRevocationBodies() {
        apiAssertRoundTrip(API.TokenQueryRequest(token: "at_1", tokenTypeHint: "access_token", clientID: "client_2", clientSecret: "cs"),
                           #"{"client_id":"client_2","client_secret":"cs","token":"at_1","token_type_hint":"access_token"}"#)
        // RFC 7662 §2.2: an inactive token answers `active` alone.
        apiAssertRoundTrip(API.Introspection(details: nil), #"{"active":false}"#)
        let active = API.Introspection(details: .init(clientID: "client_2", credential: "cred_2", username: "bob@acme.example", scope: "read",
                                                      tokenType: "access_token", exp: 1_767_229_200, iat: 1_767_225_600))
        apiAssertRoundTrip(active, #"{"active":true,"client_id":"client_2","credential":"cred_2","exp":1767229200,"iat":1767225600,"scope":"read","token_type":"access_token","username":"bob@acme.example"}"#)
        apiAssertRoundTrip(API.Introspection(details: .init(clientID: nil, credential: nil, username: nil, scope: nil, tokenType: nil, exp: 0, iat: 0)),
                           #"{"active":true,"client_id":null,"credential":null,"exp":0,"iat":0,"scope":null,"token_type":null,"username":null}"#)
        XCTAssertTrue(active.active)
        // An active answer without its keys is not the contract.
        apiAssertRejects(API.Introspection.self, #"{"active":true}"#)
        apiAssertRejects(API.Introspection.self, #"{"active":true,"client_id":"c","credential":"x","exp":1,"scope":"read","token_type":"access_token","username":"u"}"#)
        apiAssertRoundTrip(API.RevocationResult(result: "already_inactive"), #"{"result":"already_inactive"}"#)
    }

    // MARK: integrity reports

    func testVerifyReplayRebuildReports() {
        let check = API.ProjectionCheck(name: "registry", ok: true, lastSeq: 9, live: h1, rebuilt: h1)
        let checkJSON = #"{"last_seq":9,"live":"\#(h1)","name":"registry","ok":true,"rebuilt":"\#(h1)"}"#
        apiAssertRoundTrip(check, checkJSON)
        let cut = API.CheckpointDisagreement(logHead: 7, checkpoints: 9, tailMissing: true, firstSeq: 8, lastSeq: 9,
                                             message: "events 8…9 missing at the tail: checkpoints at 9, log head at 7")
        let cutJSON = #"{"checkpoints":9,"first_seq":8,"last_seq":9,"log_head":7,"message":"events 8…9 missing at the tail: checkpoints at 9, log head at 7","tail_missing":true}"#
        apiAssertRoundTrip(cut, cutJSON)
        apiAssertRoundTrip(API.VerifyReport(ok: true, events: 9, headHash: h1, seconds: 0.5, projections: [check]),
                           #"{"events":9,"head_hash":"\#(h1)","ok":true,"projections":[\#(checkJSON)],"seconds":0.5}"#)
        apiAssertRoundTrip(API.VerifyReport(ok: false, events: 7, headHash: h2, seconds: 0.25, projections: [], firstBadSeq: 8,
                                            reason: "event 8 is missing", checkpoints: cut),
                           #"{"checkpoints":\#(cutJSON),"events":7,"first_bad_seq":8,"head_hash":"\#(h2)","ok":false,"projections":[],"reason":"event 8 is missing","seconds":0.25}"#)
        apiAssertRoundTrip(API.ReplayReport(ok: true, from: 1, headSeq: 9, headHash: h1, eventsVerified: 9, eventsProjected: 9, threads: 2,
                                            verifySeconds: 0.5, verifyEventsPerSecond: 18, rebuildSeconds: 0.25, seconds: 0.75,
                                            eventsPerSecond: 12, projections: [check]),
                           #"{"events_per_second":12,"events_projected":9,"events_verified":9,"from":1,"head_hash":"\#(h1)","head_seq":9,"ok":true,"projections":[\#(checkJSON)],"rebuild_seconds":0.25,"seconds":0.75,"threads":2,"verify_events_per_second":18,"verify_seconds":0.5}"#)
        apiAssertRoundTrip(API.ReplayReport(ok: false, from: 1, headSeq: 9, headHash: h1, eventsVerified: 4, eventsProjected: 0, threads: 1,
                                            verifySeconds: 0.5, verifyEventsPerSecond: 8, rebuildSeconds: 0, seconds: 0.5, eventsPerSecond: 8,
                                            projections: [], firstBadSeq: 5, reason: "hash mismatch", lastGoodSeq: 4,
                                            projectionsNote: "not compared: the chain is broken"),
                           #"{"events_per_second":8,"events_projected":0,"events_verified":4,"first_bad_seq":5,"from":1,"head_hash":"\#(h1)","head_seq":9,"last_good_seq":4,"ok":false,"projections":[],"projections_note":"not compared: the chain is broken","reason":"hash mismatch","rebuild_seconds":0,"seconds":0.5,"threads":1,"verify_events_per_second":8,"verify_seconds":0.5}"#)
        apiAssertRoundTrip(API.RebuildReport(events: 9, digests: ["registry": h1, "usage": h2]),
                           #"{"digests":{"registry":"\#(h1)","usage":"\#(h2)"},"events":9}"#)
        apiAssertRoundTrip(API.RebuildReport(events: 7, digests: [:], accepted: cut), #"{"accepted":\#(cutJSON),"digests":{},"events":7}"#)
    }

    // MARK: the log and audit

    func testEventsAndAuditPages() {
        let event = API.Event(seq: 2, time: t1, type: "credential_used", company: "acme", actor: "cred_1",
                              payload: ["credential": .string("cred_1"), "outcome": .string("allowed"), "whole_family": .bool(false), "log_head": .integer(7)],
                              prevHash: h2, hash: h1)
        let eventJSON = #"{"actor":"cred_1","company":"acme","hash":"\#(h1)","payload":{"credential":"cred_1","log_head":7,"outcome":"allowed","whole_family":false},"prev_hash":"\#(h2)","seq":2,"time":"\#(t1)","type":"credential_used"}"#
        apiAssertRoundTrip(event, eventJSON)
        // `log --json` writes its keys in the export's order (docs/EXPORT.md): the same event decodes from it.
        let logLine = #"{"seq":2,"time":"\#(t1)","type":"credential_used","company":"acme","actor":"cred_1","payload":{"credential":"cred_1","outcome":"allowed","whole_family":false,"log_head":7},"prev_hash":"\#(h2)","hash":"\#(h1)"}"#
        XCTAssertEqual(try API.decode(API.Event.self, from: Data(logLine.utf8)), event)
        let first = API.Event(seq: 1, time: t1, type: "company_registered", company: "acme", actor: "system", payload: [:], prevHash: zeros, hash: h2)
        let firstJSON = #"{"actor":"system","company":"acme","hash":"\#(h2)","payload":{},"prev_hash":"\#(zeros)","seq":1,"time":"\#(t1)","type":"company_registered"}"#
        apiAssertRoundTrip(first, firstJSON)
        // The chain link is part of every event: one without it is not the contract.
        apiAssertRejects(API.Event.self, #"{"actor":"system","company":"acme","hash":"\#(h2)","payload":{},"seq":1,"time":"\#(t1)","type":"company_registered"}"#)
        apiAssertRoundTrip(API.AuditEventsPage(events: [event, first], next: API.PageCursor(before: 1), plan: "credential posting list", examined: 2),
                           #"{"events":[\#(eventJSON),\#(firstJSON)],"examined":2,"next":{"before":1},"plan":"credential posting list"}"#)
        apiAssertRoundTrip(API.AuditEventsPage(events: [], next: nil, plan: "log seq range", examined: 0),
                           #"{"events":[],"examined":0,"next":null,"plan":"log seq range"}"#)
        apiAssertRoundTrip(API.PageCursor(after: 30), #"{"after":30}"#)
        apiAssertRoundTrip(API.AuditEventsQuery(company: "acme", types: ["credential_used", "token_issued"], since: t1, outcome: "denied", limit: 10,
                                                order: "oldest", after: 4),
                           #"{"after":4,"company":"acme","limit":10,"order":"oldest","outcome":"denied","since":"\#(t1)","types":["credential_used","token_issued"]}"#)
        apiAssertRoundTrip(API.AuditEventsQuery(), #"{}"#)
    }

    func testAccessAuditAndReview() {
        let path = API.AccessPath(principal: "bob@acme.example", kind: "user", credential: "cred_2", credentialName: "App", type: "pkce",
                                  scope: "read", role: nil, via: "PKCE grant approved by the user", capability: "read", since: t1,
                                  grant: "refresh token", grantUntil: t2)
        let pathJSON = #"{"capability":"read","credential":"cred_2","credential_name":"App","grant":"refresh token","grant_until":"\#(t2)","kind":"user","principal":"bob@acme.example","role":null,"scope":"read","since":"\#(t1)","type":"pkce","via":"PKCE grant approved by the user"}"#
        apiAssertRoundTrip(path, pathJSON)
        apiAssertRoundTrip(API.AccessReport(company: "acme", project: "bridge", operation: nil, asOf: API.AsOf(seq: 9, time: t2), notes: ["a note"],
                                            principals: [path]),
                           #"{"as_of":{"seq":9,"time":"\#(t2)"},"company":"acme","notes":["a note"],"operation":null,"principals":[\#(pathJSON)],"project":"bridge"}"#)
        apiAssertRoundTrip(API.AccessReport(company: "acme", project: "bridge", operation: "write", asOf: API.AsOf(seq: 0, time: nil), notes: [],
                                            principals: []),
                           #"{"as_of":{"seq":0,"time":null},"company":"acme","notes":[],"operation":"write","principals":[],"project":"bridge"}"#)
        apiAssertRejects(API.AccessReport.self, #"{"as_of":{"seq":0,"time":null},"company":"acme","notes":[],"principals":[],"project":"bridge"}"#)
        let finding = API.ReviewFinding(finding: "never_used", id: "cred_1", name: "CI", type: "static", scope: "read",
                                        detail: "created 2026-01-01, never used", recommendation: "delete it")
        apiAssertRoundTrip(API.AccessReview(company: "acme", staleDays: 90, findings: [finding]),
                           #"{"company":"acme","findings":[{"detail":"created 2026-01-01, never used","finding":"never_used","id":"cred_1","name":"CI","recommendation":"delete it","scope":"read","type":"static"}],"stale_days":90}"#)
    }

    func testUsageAndMemberships() {
        let row = API.UsageRow(id: "cred_1", name: "CI", used: 3, denied: 1, lastUsed: t2, firstUsed: t1, lastDenied: nil, deleted: false)
        let rowJSON = #"{"deleted":false,"denied":1,"first_used":"\#(t1)","id":"cred_1","last_denied":null,"last_used":"\#(t2)","name":"CI","used":3}"#
        apiAssertRoundTrip(row, rowJSON)
        apiAssertRoundTrip(API.UsageReport(company: "acme", credentials: [row]), #"{"company":"acme","credentials":[\#(rowJSON)]}"#)
        apiAssertRoundTrip(API.UsageReport(company: "acme", credentials: [], asOf: API.AsOf(seq: 3, time: t1)),
                           #"{"as_of":{"seq":3,"time":"\#(t1)"},"company":"acme","credentials":[]}"#)
        let members = API.MembershipsReport(
            company: "acme", members: [API.Member(email: "alice@acme.example", role: "admin", since: t1)],
            serviceAccess: [API.ServiceAccess(id: "cred_1", name: "CI", serviceUser: "api-ci@acme.example", project: "bridge", role: "editor", since: t2)],
            userRoles: [API.UserProjectRole(email: "bob@acme.example", project: "bridge", role: "viewer", since: t2)])
        apiAssertRoundTrip(members, #"{"company":"acme","members":[{"email":"alice@acme.example","role":"admin","since":"\#(t1)"}],"service_access":[{"id":"cred_1","name":"CI","project":"bridge","role":"editor","service_user":"api-ci@acme.example","since":"\#(t2)"}],"user_roles":[{"email":"bob@acme.example","project":"bridge","role":"viewer","since":"\#(t2)"}]}"#)
        apiAssertRoundTrip(API.MembershipsReport(company: "acme", members: [], serviceAccess: [], userRoles: [], asOf: API.AsOf(seq: 1, time: t1)),
                           #"{"as_of":{"seq":1,"time":"\#(t1)"},"company":"acme","members":[],"service_access":[],"user_roles":[]}"#)
    }

    func testExportBodies() {
        apiAssertRoundTrip(API.ExportRequest(company: "acme", format: "csv", out: "/tmp/x", since: t1, until: t2),
                           #"{"company":"acme","format":"csv","out":"/tmp/x","since":"\#(t1)","until":"\#(t2)"}"#)
        apiAssertRoundTrip(API.ExportRequest(out: "/tmp/x"), #"{"out":"/tmp/x"}"#)
        let file = API.ExportedFile(name: "events.jsonl", sha256: h1, bytes: 1024, lines: 9)
        let fileJSON = #"{"bytes":1024,"lines":9,"name":"events.jsonl","sha256":"\#(h1)"}"#
        apiAssertRoundTrip(API.ExportResult(directory: "/tmp/x", events: 9, fromSeq: 1, toSeq: 9, headSeq: 9, headHash: h2, seconds: 0.5,
                                            eventsPerSecond: 18, files: [file]),
                           #"{"directory":"/tmp/x","events":9,"events_per_second":18,"files":[\#(fileJSON)],"from_seq":1,"head_hash":"\#(h2)","head_seq":9,"seconds":0.5,"to_seq":9}"#)
        // An empty range: no head, both keys null.
        apiAssertRoundTrip(API.ExportResult(directory: "/tmp/x", events: 0, fromSeq: 10, toSeq: 9, headSeq: nil, headHash: nil, seconds: 0.25,
                                            eventsPerSecond: 0, files: []),
                           #"{"directory":"/tmp/x","events":0,"events_per_second":0,"files":[],"from_seq":10,"head_hash":null,"head_seq":null,"seconds":0.25,"to_seq":9}"#)
    }
}
