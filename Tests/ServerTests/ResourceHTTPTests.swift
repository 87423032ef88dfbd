import CredLedger
import CredLedgerCore
import CredLedgerHTTP
@testable import CredLedgerServer
import Foundation
import TestSupport
import XCTest

/// Issue 13, RFC 8707 over HTTP with curl: the `resource` of the authorization request is kept with the code by the
/// consent, binds the tokens, comes back from introspection as `aud`; another resource at the token endpoint is
/// 400 `invalid_target` (recorded), and a refresh cannot change it.
final class ResourceHTTPTests: XCTestCase {
    private let api = "https://api.example/mcp"

    private func authorizeParameters(_ clientID: String, resource: String) -> [(String, String)] {
        OAuthHTTPTests.authorizeParameters(clientID: clientID, state: "rs") + [("resource", resource)]
    }

    private func token(_ f: OAuthHTTPTests.Fixture, _ client: IssuedCredential, _ fields: [(String, String)]) throws -> CurlReply {
        var args = ["-u", "\(client.clientID!):\(client.clientSecret!)"]
        for (name, value) in fields { args += ["--data-urlencode", "\(name)=\(value)"] }
        return try CurlClient.run(args + ["\(f.url)/oauth/token"])
    }

    private func introspect(_ f: OAuthHTTPTests.Fixture, _ client: IssuedCredential, _ value: String) throws -> [String: Any] {
        let r = try CurlClient.run(["-u", "\(client.clientID!):\(client.clientSecret!)", "--data-urlencode", "token=\(value)", "\(f.url)/oauth/introspect"])
        XCTAssertEqual(r.status, 200, r.body)
        XCTAssertEqual(r.json["active"] as? Bool, true, r.body)
        return r.json
    }

    func testTheResourceIsBoundThroughConsentExchangeRefreshAndIntrospection() throws {
        let f = try OAuthHTTPTests.makeFixture("oauth-resource")
        defer { f.server.remove() }
        let pkce = f.pkce, clientID = pkce.clientID!
        let parameters = authorizeParameters(clientID, resource: api)
        let page = try CurlClient.run(["-H", "X-Forwarded-Email: \(World.bob)", "\(f.url)/oauth/authorize?" + OAuthHTTPTests.encode(parameters)])
        XCTAssertEqual(page.status, 200, page.body)
        XCTAssertTrue(page.body.contains(api), "the consent page names the resource")
        let csrf = try XCTUnwrap(OAuthHTTPTests.csrf(in: page.body))
        let approved = try CurlClient.run(["-H", "X-Forwarded-Email: \(World.bob)",
                                           "-d", OAuthHTTPTests.encode(parameters + [("decision", "approve"), ("csrf", csrf)]),
                                           "\(f.url)/oauth/authorize"])
        XCTAssertEqual(approved.status, 303, approved.body)
        let code = try XCTUnwrap(try OAuthHTTPTests.query(approved["location"] ?? "")["code"])

        let exchange: [(String, String)] = [("grant_type", "authorization_code"), ("code", code), ("code_verifier", PKCEPair.verifier),
                                            ("redirect_uri", OAuthHTTPTests.redirect)]
        let wrong = try token(f, pkce, exchange + [("resource", "https://other.example/")])
        XCTAssertEqual(wrong.status, 400, wrong.body)
        XCTAssertEqual(wrong.json["error"] as? String, "invalid_target")
        XCTAssertEqual(wrong.json["reason"] as? String, "invalid_target")
        XCTAssertEqual(wrong["cache-control"], "no-store")

        let tokens = try token(f, pkce, exchange)   // no resource: the code's
        XCTAssertEqual(tokens.status, 200, tokens.body)
        let access = try XCTUnwrap(tokens.json["access_token"] as? String)
        let refresh = try XCTUnwrap(tokens.json["refresh_token"] as? String)
        XCTAssertEqual(try introspect(f, pkce, access)["aud"] as? String, api)
        XCTAssertEqual(try introspect(f, pkce, refresh)["aud"] as? String, api)

        let narrowed = try token(f, pkce, [("grant_type", "refresh_token"), ("refresh_token", refresh), ("resource", "https://other.example/")])
        XCTAssertEqual(narrowed.json["error"] as? String, "invalid_target", narrowed.body)
        let rotated = try token(f, pkce, [("grant_type", "refresh_token"), ("refresh_token", refresh), ("resource", api)])
        XCTAssertEqual(rotated.status, 200, rotated.body)
        XCTAssertEqual(try introspect(f, pkce, try XCTUnwrap(rotated.json["access_token"] as? String))["aud"] as? String, api)

        // client_credentials carries its own; an unbound token has no `aud` key at all.
        let cc = try token(f, f.oauth, [("grant_type", "client_credentials"), ("resource", "urn:example:reports")])
        XCTAssertEqual(cc.status, 200, cc.body)
        XCTAssertEqual(try introspect(f, f.oauth, try XCTUnwrap(cc.json["access_token"] as? String))["aud"] as? String, "urn:example:reports")
        let plain = try token(f, f.oauth, [("grant_type", "client_credentials")])
        XCTAssertNil(try introspect(f, f.oauth, try XCTUnwrap(plain.json["access_token"] as? String))["aud"])

        // The refusals are in the log, as oauth_request_denied invalid_target.
        let denials = try f.server.test.events(after: 0).filter {
            if case .oauthRequestDenied(_, _, _, .invalidTarget) = $0.event.payload { true } else { false }
        }
        XCTAssertEqual(denials.count, 2)
    }
}
