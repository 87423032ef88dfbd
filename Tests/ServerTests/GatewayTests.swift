import CredLedger
import CredLedgerCore
import CredLedgerServer
import CredLedgerTools
import Foundation
import TestSupport
import XCTest

/// Issue 13, forward authentication and `/v1/check` through curl: every status and header, each decision recorded
/// before the answer, and the abuse cases (missing and conflicting headers, hostile paths, oversized headers,
/// revoked keys, a removed user's token, a disabled module, the wrong company).
final class GatewayTests: XCTestCase {
    private var world: GatewayWorld!
    private var server: LedgerServer!
    private var log = LogLines()

    override func tearDown() {
        server?.shutdown()
        server?.wait()
        world?.test.remove()
        super.tearDown()
    }

    private func start(_ label: String, routes: [String] = []) throws {
        world = try GatewayWorld(label)
        var settings = ServerSettings()
        settings.port = 0
        settings.routeTemplates = routes
        server = try LedgerServer(ledger: world.test.ledger, settings: settings, log: log.sink)
        try server.start()
    }

    private func forward(_ authorization: String?, method: String = "GET", path: String = "/auth/forward", _ extra: [(String, String)] = [],
                         company: String? = "acme", project: String? = "bridge") throws -> CurlResponse {
        var headers = extra
        if let authorization { headers.append(("Authorization", authorization)) }
        if let company { headers.append(("X-Company", company)) }
        if let project { headers.append(("X-Project", project)) }
        return try Curl.request(server.url + path, method: method, headers: headers)
    }

    func testAllowAnswersWithCredentialUserScopeAndRecordsTheUse() throws {
        try start("gw-allow")
        let before = try world.uses().count
        let r = try forward(world.readKey)
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("X-Credential-Id"), world.readID)
        XCTAssertEqual(r.header("X-Acting-User"), world.readServiceUser)
        XCTAssertEqual(r.header("X-Scope"), "read")
        XCTAssertEqual(r.header("Cache-Control"), "no-store")
        // The use is in the log as soon as the answer is out (durable before the answer).
        let uses = try world.uses()
        XCTAssertEqual(uses.count, before + 1)
        XCTAssertNil(uses.last?.denial)
        XCTAssertEqual(uses.last?.operation, .read)

        let global = try forward(world.globalKey, [("X-Forwarded-Method", "DELETE")], project: "tunnel")
        XCTAssertEqual(global.status, 200)
        XCTAssertEqual(global.header("X-Scope"), "global")
        let token = try forward(world.bobToken, [("X-Original-Method", "PUT")])
        XCTAssertEqual(token.status, 200)
        XCTAssertEqual(token.header("X-Acting-User"), World.bob, "a PKCE token acts as its approving user")
        XCTAssertEqual(token.header("X-Scope"), "read-write")
        // POST on /auth/forward itself and HEAD (GET's handler) decide too.
        XCTAssertEqual(try forward(world.writeKey, method: "POST", [("X-Forwarded-Method", "PATCH")]).status, 200)
        XCTAssertEqual(try forward(world.readKey, method: "HEAD").status, 200)
        XCTAssertEqual(try world.uses().count, before + 5)
    }

    func testOperationComesFromTheForwardedMethod() throws {
        try start("gw-method")
        for (headers, expected) in [([("X-Forwarded-Method", "GET")], 200), ([("X-Forwarded-Method", "OPTIONS")], 200),
                                    ([("X-Original-Method", "HEAD")], 200), ([("X-Forwarded-Method", "POST")], 403),
                                    ([("X-Original-Method", "DELETE")], 403), ([("X-Forwarded-Method", "get")], 403),
                                    ([("X-Forwarded-Method", "PROPFIND")], 403), ([], 200)] {
            let r = try forward(world.readKey, headers)
            XCTAssertEqual(r.status, expected, "\(headers)")
        }
        // Without a forwarded method the request's own method counts (Envoy keeps it).
        XCTAssertEqual(try forward(world.readKey, method: "POST").status, 403)
        let denied = try forward(world.readKey, [("X-Forwarded-Method", "POST")])
        XCTAssertEqual(denied.json["error"] as? String, "insufficient_scope")
        XCTAssertEqual(denied.json["reason"] as? String, "read_only_scope")
        XCTAssertEqual(denied.json["message"] as? String, DenialReason.readOnlyScope.fix)
        XCTAssertEqual(denied.header("Content-Type"), "application/json")
        XCTAssertNil(denied.header("X-Credential-Id"), "a denial names no credential to the upstream")
        XCTAssertEqual(try world.uses().last?.denial, .readOnlyScope)
        // A client adding the alias the proxy does not overwrite cannot turn a write into a read.
        let conflict = try forward(world.readKey, [("X-Forwarded-Method", "GET"), ("X-Original-Method", "POST")])
        XCTAssertEqual(conflict.status, 400)
        XCTAssertEqual(conflict.json["reason"] as? String, "conflicting_headers")
        XCTAssertEqual(try forward(world.readKey, [("X-Forwarded-Method", "GET"), ("X-Forwarded-Method", "GET")]).status, 400)
        XCTAssertEqual(try forward(world.readKey, [("X-Forwarded-Method", "G(E)T")]).json["reason"] as? String, "bad_forwarded_method")
    }

    func testCredentialFailuresAre401WithChallenges() throws {
        try start("gw-401")
        let metadata = "\(server.context.issuer)/.well-known/oauth-protected-resource"
        // No credential: both challenges, no error code (RFC 6750 §3.1), resource_metadata (RFC 9728 §5.1).
        let missing = try forward(nil)
        XCTAssertEqual(missing.status, 401)
        XCTAssertEqual(missing.values("WWW-Authenticate"), [#"Bearer realm="credledger", resource_metadata="\#(metadata)""#, #"Apikey realm="credledger""#])
        XCTAssertEqual(missing.json["reason"] as? String, "malformed_header")
        // A bad bearer token: invalid_token.
        let badToken = try forward("Bearer cxa_nope")
        XCTAssertEqual(badToken.status, 401)
        XCTAssertEqual(badToken.values("WWW-Authenticate"),
                       [#"Bearer realm="credledger", error="invalid_token", error_description="malformed_header", resource_metadata="\#(metadata)""#])
        // Unknown and revoked keys: the Apikey challenge.
        let unknown = try forward(world.unknownKey)
        XCTAssertEqual(unknown.status, 401)
        XCTAssertEqual(unknown.json["reason"] as? String, "unknown_credential")
        XCTAssertEqual(unknown.values("WWW-Authenticate"), [#"Apikey realm="credledger""#])
        try world.test.ledger.administration.deleteCredential("acme", credential: world.readID, as: World.alice)
        let revoked = try forward(world.readKey)
        XCTAssertEqual(revoked.status, 401)
        XCTAssertEqual(revoked.json["reason"] as? String, "revoked")
        XCTAssertEqual(revoked.json["error"] as? String, "invalid_token")
        // A removed user's token ends with the removal.
        XCTAssertEqual(try forward(world.bobToken).status, 200)
        try world.test.ledger.administration.setMemberRole("acme", email: World.bob, role: .removed, as: World.alice)
        let removed = try forward(world.bobToken)
        XCTAssertEqual(removed.status, 401)
        XCTAssertEqual(removed.json["reason"] as? String, "token_revoked")
        XCTAssertTrue(removed.header("WWW-Authenticate")?.hasPrefix(#"Bearer realm="credledger", error="invalid_token""#) ?? false)
        // An unsupported scheme and two Authorization fields.
        XCTAssertEqual(try forward("Basic dXNlcjpwYXNz").json["reason"] as? String, "unsupported_scheme")
        let two = try forward(world.writeKey, [("Authorization", world.writeKey)])
        XCTAssertEqual(two.status, 401, "two Authorization fields are no credential")
        // An Authorization value past the ledger's 256 bytes (but inside the head limit): malformed, 401.
        XCTAssertEqual(try forward("Apikey " + String(repeating: "a", count: 4000)).json["reason"] as? String, "malformed_header")
        // Every one was decided and recorded.
        XCTAssertEqual(try world.uses().suffix(9).compactMap(\.denial).count, 8)
    }

    func testNotAllowedHereIs403WithTheLedgersReason() throws {
        try start("gw-403")
        let cases: [(String, String, String, String)] = [
            (world.readKey, "acme", "tunnel", "project_access_missing"),
            (world.betaKey, "acme", "bridge", "other_company"),
            (world.readKey, "beta", "pb", "other_company"),
            (world.readKey, "acme", "nowhere", "unknown_project"),
            (world.readKey, "nocompany", "bridge", "unknown_company"),
        ]
        for (key, company, project, reason) in cases {
            let r = try forward(key, company: company, project: project)
            XCTAssertEqual(r.status, 403, "\(company)/\(project)")
            XCTAssertEqual(r.json["reason"] as? String, reason)
            XCTAssertEqual(r.json["error"] as? String, "insufficient_scope")
            XCTAssertEqual(r.values("WWW-Authenticate"), [], "an API key gets no Bearer challenge")
        }
        let token = try forward(world.bobToken, project: "tunnel")
        XCTAssertEqual(token.status, 403)
        XCTAssertEqual(token.header("WWW-Authenticate"), #"Bearer realm="credledger", error="insufficient_scope", error_description="user_not_member""#)
        // The module switched off denies every credential.
        _ = try world.test.ledger.administration.setAPIModule("acme", enabled: false, as: World.alice)
        let disabled = try forward(world.globalKey)
        XCTAssertEqual(disabled.status, 403)
        XCTAssertEqual(disabled.json["reason"] as? String, "api_module_disabled")
    }

    func testGatewayRequestsWithoutATargetAre400AndRecordNothing() throws {
        try start("gw-400")
        let before = try world.uses().count
        for (company, project) in [(nil, "bridge"), ("acme", nil), (nil, nil), ("", "bridge")] as [(String?, String?)] {
            let r = try forward(world.readKey, company: company, project: project)
            XCTAssertEqual(r.status, 400)
            XCTAssertEqual(r.json["error"] as? String, "invalid_request")
            XCTAssertEqual(r.json["reason"] as? String, "missing_target")
        }
        XCTAssertEqual(try forward(world.readKey, [("X-Company", "beta")]).json["reason"] as? String, "repeated_header")
        // Other methods than GET/POST on /auth/forward itself: 405 with Allow.
        let put = try forward(world.readKey, method: "PUT")
        XCTAssertEqual(put.status, 405)
        XCTAssertEqual(put.header("Allow"), "GET, HEAD, POST")
        // A head past 16 KiB is refused by the server (431) before any decision.
        XCTAssertEqual(try forward(world.readKey, [("X-Padding", String(repeating: "p", count: 17_000))]).status, 431)
        XCTAssertEqual(try world.uses().count, before, "a request that cannot be decided records nothing")
    }

    func testRouteTemplatesTakeTheTargetFromTheForwardedURI() throws {
        try start("gw-routes", routes: ["/companies/{company}/projects/{project}/", "/v2/{project}/of/{company}"])
        func viaURI(_ uri: String, header: String = "X-Forwarded-Uri", key: String? = nil, _ extra: [(String, String)] = []) throws -> CurlResponse {
            try forward(key ?? world.readKey, [(header, uri)] + extra, company: nil, project: nil)
        }
        XCTAssertEqual(try viaURI("/companies/acme/projects/bridge/items/7?x=1").status, 200)
        XCTAssertEqual(try viaURI("/companies/acme/projects/bridge", header: "X-Original-URI").status, 200)
        XCTAssertEqual(try viaURI("/v2/bridge/of/acme/deep/path").status, 200)
        XCTAssertEqual(try viaURI("/companies/%61cme/projects/bridge/").status, 200, "a segment is decoded once")
        XCTAssertEqual(try viaURI("http://upstream.example/companies/acme/projects/bridge/x").status, 200, "absolute-form")
        XCTAssertEqual(try viaURI("/companies/acme/projects/tunnel/x").json["reason"] as? String, "project_access_missing")
        XCTAssertEqual(try viaURI("/companies/beta/projects/pb/x").json["reason"] as? String, "other_company")
        let before = try world.uses().count
        // Hostile paths: each could name another path to some upstream than the one decided on.
        for hostile in ["/companies/beta/projects/pb/../../../companies/acme/projects/bridge", "/companies/acme/projects/bridge/../../tunnel",
                        "/companies/acme%2Fprojects%2Fbridge/projects/tunnel", "/companies/acme/projects/%2e%2e/bridge",
                        "/companies/acme/projects/.%2E/x", "/companies/beta/..;/acme/projects/bridge", "/companies/acme;x=1/projects/bridge",
                        "/companies//acme/projects/bridge", "/companies/acme/projects/bridge%252F..", "/companies/acme\\projects/bridge",
                        "/companies/acme%5Cx/projects/bridge", "/companies/acme%00/projects/bridge", "/companies/acme/projects/bri%zzdge",
                        "/companies/acme/projects/%C0%AE", "companies/acme/projects/bridge", "/companies/./acme/projects/bridge"] {
            let r = try viaURI(hostile)
            XCTAssertEqual(r.status, 400, hostile)
            XCTAssertEqual(r.json["reason"] as? String, "bad_forwarded_uri", hostile)
        }
        // No template fits and no headers: 400; headers that disagree with the path: 400.
        XCTAssertEqual(try viaURI("/elsewhere/acme/bridge").json["reason"] as? String, "missing_target")
        XCTAssertEqual(try viaURI("/companies/acme/projects/bridge", [("X-Company", "beta")]).json["reason"] as? String, "conflicting_target")
        XCTAssertEqual(try viaURI("/companies/acme/projects/bridge", [("X-Original-URI", "/companies/acme/projects/tunnel")]).json["reason"] as? String,
                       "conflicting_headers")
        XCTAssertEqual(try world.uses().count, before, "refused requests record nothing")
        // Headers that agree with the path are fine; without a forwarded URI the headers alone decide.
        XCTAssertEqual(try viaURI("/companies/acme/projects/bridge", [("X-Company", "acme"), ("X-Project", "bridge")]).status, 200)
        XCTAssertEqual(try forward(world.readKey).status, 200)
    }

    func testEnvoyPrefixRoutingKeepsTheMethodAndAppendsThePath() throws {
        try start("gw-envoy", routes: ["/companies/{company}/projects/{project}"])
        let read = try Curl.request(server.url + "/auth/forward/companies/acme/projects/bridge/items?q=1", headers: [("Authorization", world.readKey)])
        XCTAssertEqual(read.status, 200)
        XCTAssertEqual(read.header("X-Scope"), "read")
        let write = try Curl.request(server.url + "/auth/forward/companies/acme/projects/bridge/items", method: "DELETE",
                                     headers: [("Authorization", world.readKey)])
        XCTAssertEqual(write.status, 403)
        XCTAssertEqual(try Curl.request(server.url + "/auth/forward/companies/acme/projects/bridge", method: "PATCH",
                                        headers: [("Authorization", world.writeKey)]).status, 200)
        // The original path "/" with headers naming the target.
        XCTAssertEqual(try Curl.request(server.url + "/auth/forward/", method: "PUT",
                                        headers: [("Authorization", world.writeKey), ("X-Company", "acme"), ("X-Project", "bridge")]).status, 200)
        XCTAssertEqual(try Curl.request(server.url + "/auth/forward/companies/acme;/projects/bridge",
                                        headers: [("Authorization", world.readKey)]).json["reason"] as? String, "bad_forwarded_uri")
        // The server itself refuses dot segments and encoded slashes in the request target.
        XCTAssertEqual(try Curl.request(server.url + "/auth/forward/companies/beta/../acme/projects/bridge",
                                        headers: [("Authorization", world.readKey)]).status, 400)
    }

    /// Review F8: on Envoy's prefix route the request's own method and the path after the prefix are what Envoy copied
    /// from the client request; a forwarded method or URI header naming something else is refused, not believed.
    func testEnvoyPrefixRouteRefusesMethodAndURIHeadersThatDisagreeWithTheRequest() throws {
        try start("gw-envoy-conflict", routes: ["/companies/{company}/projects/{project}"])
        func envoy(_ method: String, _ path: String, _ extra: [(String, String)] = []) throws -> CurlResponse {
            try Curl.request(server.url + "/auth/forward" + path, method: method, headers: [("Authorization", world.readKey)] + extra)
        }
        let bridgeURI = "/companies/acme/projects/bridge/x"
        let before = try world.uses().count
        for (method, path, headers) in [
            ("POST", bridgeURI, [("X-Forwarded-Method", "GET")]),  // a write with a read-only key
            ("DELETE", bridgeURI, [("X-Original-Method", "GET")]),
            ("GET", bridgeURI, [("X-Forwarded-Method", "get")]),  // methods are case-sensitive
            ("DELETE", "/companies/acme/projects/tunnel/x", [("X-Original-Method", "GET"), ("X-Forwarded-Uri", bridgeURI)]),
            ("GET", "/companies/acme/projects/tunnel/x", [("X-Forwarded-Uri", bridgeURI)]),  // decided on another project
            ("GET", "/companies/acme/projects/tunnel/x", [("X-Original-URI", "http://upstream.example" + bridgeURI)]),
            ("GET", "/admin/everything", [("X-Forwarded-Uri", bridgeURI)]),
            ("GET", "/", [("X-Original-URI", bridgeURI)]),
        ] as [(String, String, [(String, String)])] {
            let r = try envoy(method, path, headers)
            XCTAssertEqual(r.status, 400, "\(method) \(path) \(headers)")
            XCTAssertEqual(r.json["error"] as? String, "invalid_request", "\(method) \(path) \(headers)")
            XCTAssertEqual(r.json["reason"] as? String, "conflicting_headers", "\(method) \(path) \(headers)")
        }
        XCTAssertEqual(try envoy("GET", bridgeURI, [("X-Forwarded-Uri", bridgeURI + "/../../tunnel/x")]).json["reason"] as? String,
                       "bad_forwarded_uri")
        XCTAssertEqual(try world.uses().count, before, "refused requests record nothing")
        // Without the headers, or with headers that agree (same segments; the query is ignored), the request decides.
        XCTAssertEqual(try envoy("POST", bridgeURI).json["reason"] as? String, "read_only_scope")
        XCTAssertEqual(try envoy("DELETE", bridgeURI, [("X-Original-Method", "DELETE")]).json["reason"] as? String, "read_only_scope")
        XCTAssertEqual(try envoy("GET", "/companies/acme/projects/tunnel/x").json["reason"] as? String, "project_access_missing")
        XCTAssertEqual(try envoy("GET", bridgeURI, [("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", bridgeURI + "/?q=1")]).status, 200)
        XCTAssertEqual(try world.uses().count, before + 4)
        // The nginx/Traefik route is unchanged: there the headers ARE the original request (the subrequest is a GET).
        XCTAssertEqual(try Curl.request(server.url + "/auth/forward", method: "POST",
                                        headers: [("Authorization", world.readKey), ("X-Forwarded-Method", "GET"),
                                                  ("X-Forwarded-Uri", bridgeURI)]).status, 200)
    }

    /// Review F7: a repeated member of the `/v1/check` body is refused (Foundation would take the first, the caller's
    /// parser most likely the last), also when spelled with an escape; nothing is recorded.
    func testV1CheckRefusesARepeatedMember() throws {
        try start("gw-check-repeated")
        let key = world.readKey
        func check(_ body: String) throws -> CurlResponse {
            try Curl.request(server.url + "/v1/check", method: "POST", headers: [("Content-Type", "application/json")], data: body)
        }
        let before = try world.uses().count
        for (n, body) in [#"{"company":"acme","project":"bridge","operation":"read","header":"\#(key)","company":"evil"}"#,
                     #"{"company":"evil","project":"bridge","operation":"read","header":"\#(key)","company":"acme"}"#,
                     #"{"company":"acme","project":"bridge","operation":"write","header":"\#(key)","operation":"read"}"#,
                     #"{"company":"acme","project":"bridge","operation":"read","header":"\#(key)","comp\u0061ny":"beta"}"#,
                     #"{"company":"acme","project":"bridge","operation":"read","header":"Apikey nope","header":"\#(key)"}"#].enumerated() {
            let r = try check(body)  // failure messages name the case, not the body: it holds a key
            XCTAssertEqual(r.status, 400, "case \(n)")
            XCTAssertEqual(r.json["error"] as? String, "invalid_request", "case \(n)")
            XCTAssertTrue((r.json["message"] as? String ?? "").contains("more than once"), "case \(n)")
        }
        XCTAssertEqual(try world.uses().count, before, "refused requests record nothing")
        // A member name inside a string value or a nested object is no repeat.
        let nested = try check(#"{"company":"acme","project":"bridge","operation":"read","header":"\#(key)","note":"\"company\":\"evil\"","x":{"company":1}}"#)
        XCTAssertEqual(nested.status, 200)
        XCTAssertEqual(nested.json["allowed"] as? Bool, true)
        XCTAssertEqual(try world.uses().count, before + 1)
    }

    func testV1CheckAnswersTheDecisionAsJSON() throws {
        try start("gw-check")
        let url = server.url + "/v1/check"
        let json = [("Content-Type", "application/json")]
        func body(_ op: String, header: String?) -> String {
            var object: [String: String] = ["company": "acme", "project": "bridge", "operation": op]
            if let header { object["header"] = header }
            return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        let before = try world.uses().count
        let allowed = try Curl.request(url, method: "POST", headers: json, data: body("read", header: world.readKey))
        XCTAssertEqual(allowed.status, 200)
        XCTAssertEqual(allowed.header("Cache-Control"), "no-store")
        XCTAssertEqual(allowed.json["allowed"] as? Bool, true)
        XCTAssertEqual(allowed.json["credential"] as? String, world.readID)
        XCTAssertEqual(allowed.json["scope"] as? String, "read")
        XCTAssertEqual(allowed.json["principal"] as? String, world.readServiceUser)
        let denied = try Curl.request(url, method: "POST", headers: json + [("Authorization", world.readKey)], data: body("write", header: nil))
        XCTAssertEqual(denied.status, 200, "a denial is an answer")
        XCTAssertEqual(denied.json["allowed"] as? Bool, false)
        XCTAssertEqual(denied.json["result"] as? String, "read_only_scope")
        XCTAssertEqual(denied.json["fix"] as? String, DenialReason.readOnlyScope.fix)
        XCTAssertEqual(try world.uses().count, before + 2)
        // Requests that cannot be decided: nothing recorded.
        XCTAssertEqual(try Curl.request(url, method: "POST", headers: json + [("Authorization", world.readKey)],
                                        data: body("read", header: world.readKey)).status, 400, "credential given twice")
        XCTAssertEqual(try Curl.request(url, method: "POST", headers: json, data: body("delete", header: world.readKey)).status, 400)
        XCTAssertEqual(try Curl.request(url, method: "POST", headers: json, data: "{\"company\":\"acme\"}").status, 400)
        XCTAssertEqual(try Curl.request(url, method: "POST", headers: json, data: "not json").status, 400)
        XCTAssertEqual(try Curl.request(url, method: "POST", headers: [("Content-Type", "text/plain")], data: body("read", header: world.readKey)).status, 415)
        XCTAssertEqual(try Curl.request(url, method: "GET").status, 405)
        XCTAssertEqual(try world.uses().count, before + 2)
    }

    func testTheAuthorizationHeaderNeverReachesTheLog() throws {
        try start("gw-log", routes: ["/companies/{company}/projects/{project}/"])
        _ = try forward(world.readKey)
        _ = try forward(world.writeKey, [("X-Forwarded-Method", "POST")])
        _ = try forward(world.bobToken, [("X-Forwarded-Uri", "/companies/acme/projects/bridge/x")], company: nil, project: nil)
        _ = try Curl.request(server.url + "/v1/check", method: "POST", headers: [("Content-Type", "application/json")],
                             data: #"{"company":"acme","project":"bridge","operation":"read","header":"\#(world.globalKey)"}"#)
        let lines = log.all
        XCTAssertGreaterThanOrEqual(lines.count, 4)
        for secret in [world.readKey, world.writeKey, world.bobToken, world.globalKey].map({ String($0.split(separator: " ")[1]) }) {
            XCTAssertFalse(lines.contains { $0.contains(secret) || $0.contains(secret.prefix(12)) }, "a secret reached the log")
        }
    }

    func testHostileRouteTemplatesAreRefusedAtStart() throws {
        for bad in ["companies/{company}/{project}", "/{company}", "/{project}/x", "/{company}/{company}/{project}", "/a/{evil}/{company}/{project}",
                    "/{company}/../{project}", "/{company}//{project}", "/{company}/%2F/{project}", "/{company};x/{project}", "/{company}/{project}\\x",
                    "/", "", "/{company}/{ project}/{project}"] {
            XCTAssertThrowsError(try RouteTemplate(bad), bad)
        }
        XCTAssertNoThrow(try RouteTemplate("/companies/{company}/projects/{project}/"))
        let dir = try TemporaryDirectory("gw-templates")
        defer { dir.remove() }
        let refused = runCLI(db: dir.appending("db"), ["serve", "--listen", "127.0.0.1:0", "--route", "/ok/{company}/{project},/x/{company}"],
                             options: Ledger.Options())
        XCTAssertEqual(refused.code, 2)
        XCTAssertTrue(refused.err.contains("--route '/x/{company}': needs exactly one {company} and one {project}"), refused.err)
        var settings = ServerSettings()
        settings.port = 0
        settings.routeTemplates = ["/{company}"]
        let test = try TestLedger("gw-templates-server")
        defer { test.remove() }
        XCTAssertThrowsError(try LedgerServer(ledger: test.ledger, settings: settings))
    }
}
