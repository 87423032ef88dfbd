import CredLedgerAPI
import Foundation
import XCTest

/// Issue 12, one API model: docs/API.md is the contract, so it names every type of the model and every key each
/// type can write. One fully populated value per type (every optional set) is encoded and its keys looked up.
final class APIModelDocsTests: XCTestCase {
    private var apiDocument: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            return try String(contentsOfFile: root.path + "/docs/API.md", encoding: .utf8)
        }
    }

    /// One value of every type, each optional filled, so that every key is written.
    private var apiFullSamples: [any Encodable] {
        let t = "2026-01-01T00:00:00.000000Z", h = String(repeating: "ab", count: 32)
        let check = API.ProjectionCheck(name: "registry", ok: true, lastSeq: 1, live: h, rebuilt: h)
        let cut = API.CheckpointDisagreement(logHead: 1, checkpoints: 2, tailMissing: true, firstSeq: 2, lastSeq: 2, message: "m")
        let event = API.Event(seq: 1, time: t, type: "company_registered", company: "acme", actor: "system", payload: [:], prevHash: h, hash: h)
        let path = API.AccessPath(principal: "p", kind: "user", credential: "c", credentialName: "n", type: "pkce", scope: "read", role: "viewer",
                                  via: "v", capability: "read", since: t, grant: "g", grantUntil: t)
        let usage = API.UsageRow(id: "c", name: "n", used: 1, denied: 1, lastUsed: t, firstUsed: t, lastDenied: t, deleted: false)
        let finding = API.ReviewFinding(finding: "stale", id: "c", name: "n", type: "static", scope: "read", detail: "d", recommendation: "r")
        return [
            API.ErrorBody(error: "e", message: "m"), API.AsOf(seq: 1, time: t), API.AsOfQuery(at: t, seq: 1),
            API.CreateCompanyRequest(company: "c", admin: "a", name: "n", mailDomain: "d"),
            API.Company(company: "c", name: "n", mailDomain: "d", apiEnabled: true),
            API.SetAPIModuleRequest(company: "c", apiEnabled: true, actor: "a"), API.APIModuleResult(company: "c", apiEnabled: true, changed: true),
            API.SetMemberRoleRequest(company: "c", email: "e", role: "member", actor: "a"),
            API.MemberRoleResult(company: "c", email: "e", role: "member", result: "granted"),
            API.CreateProjectRequest(company: "c", project: "p", name: "n", actor: "a"), API.ArchiveProjectRequest(company: "c", project: "p", actor: "a"),
            API.ProjectResult(company: "c", project: "p", archived: true),
            API.SetProjectRoleRequest(company: "c", project: "p", email: "e", role: "viewer", actor: "a"),
            API.ProjectRoleResult(project: "p", email: "e", role: "viewer", result: "granted"),
            API.CreateCredentialRequest(company: "c", name: "n", type: "pkce", scope: "read", redirectURIs: ["u"], expiresIn: "1d", actor: "a"),
            API.IssuedCredential(id: "i", name: "n", type: "oauth", scope: "read", serviceUser: "s", secret: "x", clientID: "c", clientSecret: "y",
                                 oldTokens: "revoked"),
            API.ProjectGrant(project: "p", role: "viewer"),
            API.Credential(id: "i", name: "n", scope: "read", scopeLabel: "READ ONLY", type: "oauth", lastUsed: t, used: 1, denied: 1, createdAt: t,
                           createdBy: "a", deleted: true, deletedAt: t, status: "deleted", expiresAt: t, projects: [], keyPrefix: "k",
                           clientID: "c", serviceUser: "s"),
            API.RotateSecretRequest(company: "c", id: "i", grace: "0", actor: "a"), API.DeleteCredentialRequest(company: "c", id: "i", actor: "a"),
            API.DeleteCredentialResult(id: "i"), API.AccessRequest(company: "c", id: "i", project: "p", role: "viewer", actor: "a"),
            API.AccessResult(id: "i", project: "p", role: "viewer", result: "granted"),
            API.AccessCheckRequest(company: "c", project: "p", operation: "read", header: "h"),
            API.AccessDecision(allowed: false, result: "r", capability: "none", credential: "c", principal: "p", scope: "read", fix: "f"),
            API.TokenRequest(grantType: "g", clientID: "c", clientSecret: "s", code: "x", codeVerifier: "v", redirectURI: "u", refreshToken: "r"),
            API.TokenResponse(accessToken: "a", expiresIn: 1, refreshToken: "r", scope: "read"),
            API.OAuthErrorBody(error: "e", errorDescription: "d", reason: "r"),
            API.ConsentRequest(company: "c", clientID: "i", user: "u", redirectURI: "r", codeChallenge: "x", codeChallengeMethod: "S256", state: "s"),
            API.ConsentResult(code: "x", redirectURI: "r", location: "l", state: "s"),
            API.TokenQueryRequest(token: "t", tokenTypeHint: "access_token", clientID: "c", clientSecret: "s"),
            API.Introspection(details: .init(clientID: "c", credential: "i", username: "u", scope: "read", tokenType: "access_token", exp: 1, iat: 1)),
            API.RevocationResult(result: "revoked"), API.PayloadValue.integer(1), event, check, cut,
            API.VerifyReport(ok: false, events: 1, headHash: h, seconds: 1, projections: [check], firstBadSeq: 1, reason: "r", checkpoints: cut),
            API.ReplayReport(ok: false, from: 1, headSeq: 1, headHash: h, eventsVerified: 1, eventsProjected: 1, threads: 1, verifySeconds: 1,
                             verifyEventsPerSecond: 1, rebuildSeconds: 1, seconds: 1, eventsPerSecond: 1, projections: [check], firstBadSeq: 1,
                             reason: "r", lastGoodSeq: 1, checkpoints: cut, projectionsNote: "n"),
            API.RebuildReport(events: 1, digests: [:], accepted: cut),
            API.AuditEventsQuery(company: "c", credential: "i", project: "p", actor: "a", types: ["t"], since: t, until: t, outcome: "denied",
                                 limit: 1, order: "oldest", before: 1, after: 1),
            API.PageCursor(before: 1, after: 1), API.AuditEventsPage(events: [event], next: API.PageCursor(before: 1), plan: "p", examined: 1),
            path, API.AccessReport(company: "c", project: "p", operation: "read", asOf: API.AsOf(seq: 1, time: t), notes: [], principals: [path]),
            finding, API.AccessReview(company: "c", staleDays: 1, findings: [finding]),
            usage, API.UsageReport(company: "c", credentials: [usage], asOf: API.AsOf(seq: 1, time: t)),
            API.Member(email: "e", role: "admin", since: t),
            API.ServiceAccess(id: "i", name: "n", serviceUser: "s", project: "p", role: "viewer", since: t),
            API.UserProjectRole(email: "e", project: "p", role: "viewer", since: t),
            API.MembershipsReport(company: "c", members: [], serviceAccess: [], userRoles: [], asOf: API.AsOf(seq: 1, time: t)),
            API.ExportRequest(company: "c", format: "csv", out: "o", since: t, until: t),
            API.ExportedFile(name: "n", sha256: h, bytes: 1, lines: 1),
            API.ExportResult(directory: "d", events: 1, fromSeq: 1, toSeq: 1, headSeq: 1, headHash: h, seconds: 1, eventsPerSecond: 1, files: []),
            API.AdminAreaRequest(company: "c", actor: "a"), API.ProjectInfo(project: "p", name: "n", archived: false),
            API.AdminArea(company: API.Company(company: "c", name: "n", mailDomain: "d", apiEnabled: true), projects: [API.ProjectInfo(project: "p", name: "n", archived: false)]),
            API.CredentialUsageRequest(company: "c", id: "i", actor: "a", days: 30),
            API.DailyUsage(day: "2026-01-01", project: "p", allowed: 1, denied: 1), API.DeniedReason(reason: "r", count: 1),
            API.CredentialUsage(id: "i", used: 1, denied: 1, lastUsed: t, fromDay: "2026-01-01", toDay: "2026-01-30",
                                daily: [API.DailyUsage(day: "2026-01-01", project: "p", allowed: 1, denied: 1)],
                                deniedByReason: [API.DeniedReason(reason: "r", count: 1)], deniedSampled: 1),
        ]
    }

    /// The keys of a JSON object (not of `payload` and `digests`, whose keys are data).
    private func apiKeys(of value: Any) -> Set<String> {
        switch value {
        case let object as [String: Any]:
            var keys = Set(object.keys)
            for (k, v) in object where k != "payload" && k != "digests" { keys.formUnion(apiKeys(of: v)) }
            return keys
        case let array as [Any]:
            return array.reduce(into: Set<String>()) { $0.formUnion(apiKeys(of: $1)) }
        default:
            return []
        }
    }

    func testTheContractNamesEveryTypeAndEveryKey() throws {
        let doc = try apiDocument
        for sample in apiFullSamples {
            let name = String(describing: type(of: sample))
            XCTAssertTrue(doc.contains(name), "docs/API.md does not name \(name)")
            let json = try JSONSerialization.jsonObject(with: try API.encode(sample), options: [.fragmentsAllowed])
            for key in apiKeys(of: json) {
                XCTAssertTrue(doc.contains("`\(key)`") || doc.contains("\"\(key)\""), "docs/API.md does not document \(name).\(key)")
            }
        }
    }
}
