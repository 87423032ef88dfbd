import CredLedger
import CredLedgerCore
import Foundation
import TestSupport
import XCTest

/// Python's authlib (PyPI, installed into a venv under .build when missing) as a real OAuth client against the
/// server: client_credentials (Basic and post), authorization code + PKCE through the consent form (it GETs the
/// page with the proxy's identity header, reads the hidden fields and the CSRF token, POSTs approve, follows the 303
/// to a loopback capture server), refresh rotation and reuse, introspection, revocation, a public client.
final class AuthlibClientTests: XCTestCase {
    func testAuthlibRunsEveryGrantAgainstTheServer() throws {
        let python = try AuthlibClientTests.python()
        let f = try OAuthHTTPTests.makeFixture("oauth-authlib")
        defer { f.server.remove() }
        let config: [String: String] = [
            "base": f.url, "user": World.bob,
            "oauth_id": f.oauth.clientID!, "oauth_secret": f.oauth.clientSecret!,
            "pkce_id": f.pkce.clientID!, "pkce_secret": f.pkce.clientSecret!,
            "public_id": f.publicClient.clientID!,
        ]
        let output = try AuthlibClientTests.run(python, script: AuthlibClientTests.script,
                                                input: String(decoding: try JSONEncoder().encode(config), as: UTF8.self))
        let line = try XCTUnwrap(output.split(separator: "\n").last.map(String.init), output)
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], output)
        XCTAssertEqual(result["issuer"] as? String, f.server.context.issuer)
        for method in ["client_secret_basic", "client_secret_post"] {
            let cc = result["cc_" + method] as? [String: Any]
            XCTAssertEqual(cc?["token_type"] as? String, "Bearer", method)
            XCTAssertEqual(cc?["scope"] as? String, "read", method)
            XCTAssertEqual(result["cc_intro_" + method] as? Bool, true, method)
        }
        XCTAssertEqual(result["code_state_ok"] as? Bool, true)
        XCTAssertEqual(result["code_iss"] as? String, f.server.context.issuer)
        XCTAssertEqual(result["code_scope"] as? String, "read-write")
        XCTAssertEqual(result["refresh_rotated"] as? Bool, true)
        let reuse = result["refresh_reuse"] as? [Any]
        XCTAssertEqual(reuse?[0] as? Int, 400)
        XCTAssertEqual(reuse?[1] as? String, "invalid_grant")
        XCTAssertEqual(reuse?[2] as? String, "refresh_token_reused")
        XCTAssertEqual(result["intro_active"] as? Bool, false, "the reuse ended the whole family")
        XCTAssertEqual(result["bound_aud"] as? String, "https://api.example.com/mcp", "the resource of the authorization request binds the tokens")
        let revoke = result["revoke"] as? [Any]
        XCTAssertEqual(revoke?[0] as? Bool, true)
        XCTAssertEqual(revoke?[1] as? Int, 200)
        XCTAssertEqual(revoke?[2] as? String, "no-store")
        XCTAssertEqual(revoke?[3] as? Bool, false, "revoking the refresh token ends its access token")
        XCTAssertEqual(result["public_scope"] as? String, "global")
        XCTAssertEqual(result["public_refresh"] as? Bool, true)
        XCTAssertEqual(result["public_revoke"] as? Int, 200)
        for secret in f.secrets {
            XCTAssertFalse(f.server.logLines.current.contains { $0.contains(secret) })
        }
    }

    /// A python with authlib and requests: the system one when it has them, else a venv under .build (created and
    /// filled from PyPI on a fresh machine).
    static func python() throws -> String {
        let check = "import authlib, requests"
        if (try? ExternalOracle.status(["python3", "-c", check]))?.code == 0 { return "python3" }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let venv = root.appendingPathComponent(".build/oauth-client-venv").path
        let python = venv + "/bin/python"
        if (try? ExternalOracle.status([python, "-c", check]))?.code == 0 { return python }
        let create = try ExternalOracle.status(["python3", "-m", "venv", venv])
        guard create.code == 0 else { throw TestClientFailure(description: "python3 -m venv failed: \(create.output)") }
        let install = try ExternalOracle.status([python, "-m", "pip", "install", "--quiet", "authlib", "requests"])
        guard install.code == 0 else { throw TestClientFailure(description: "pip install authlib requests failed: \(install.output)") }
        return python
    }

    /// Runs `python -c script` with `input` on stdin; its stdout, or a failure with everything it printed.
    static func run(_ python: String, script: String, input: String) throws -> String {
        let inputURL = FileManager.default.temporaryDirectory.appendingPathComponent("credledger-authlib-\(UUID().uuidString).json")
        try input.write(to: inputURL, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: inputURL) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", script]
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = try FileHandle(forReadingFrom: inputURL)
        try process.run()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestClientFailure(description: "authlib client exited \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let script = #"""
import json, sys, threading, html.parser, urllib.parse
from http.server import HTTPServer, BaseHTTPRequestHandler
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.common.security import generate_token

cfg = json.loads(sys.stdin.read())
base = cfg["base"]
token_url = base + "/oauth/token"
out = {}

class Capture(BaseHTTPRequestHandler):
    captured = []
    def do_GET(self):
        Capture.captured.append(self.path)
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass

capture = HTTPServer(("127.0.0.1", 0), Capture)
threading.Thread(target=capture.serve_forever, daemon=True).start()
redirect_uri = "http://127.0.0.1:%d/cb" % capture.server_address[1]

class Form(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.fields = {}; self.action = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form": self.action = a.get("action")
        if tag == "input" and a.get("type") == "hidden": self.fields[a["name"]] = a.get("value", "")

meta = requests.get(base + "/.well-known/oauth-authorization-server").json()
out["issuer"] = meta["issuer"]

# client_credentials, Basic and post.
for method in ["client_secret_basic", "client_secret_post"]:
    s = OAuth2Session(cfg["oauth_id"], cfg["oauth_secret"], token_endpoint_auth_method=method)
    t = s.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    out["cc_" + method] = {"token_type": t["token_type"], "scope": t.get("scope"), "has_access": bool(t.get("access_token"))}
    intro = s.introspect_token(meta["introspection_endpoint"], token=t["access_token"]).json()
    out["cc_intro_" + method] = intro.get("active")

def code_flow(client_id, secret, auth_method, user):
    s = OAuth2Session(client_id, secret, redirect_uri=redirect_uri, code_challenge_method="S256",
                      token_endpoint_auth_method=auth_method)
    verifier = generate_token(64)
    uri, state = s.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                            resource="https://api.example.com/mcp")
    browser = requests.Session()
    browser.headers["X-Forwarded-Email"] = user
    page = browser.get(uri)
    assert page.status_code == 200, page.text
    form = Form(); form.feed(page.text)
    fields = dict(form.fields); fields["decision"] = "approve"
    before = len(Capture.captured)
    done = browser.post(urllib.parse.urljoin(base, form.action), data=fields, headers={"Origin": meta["issuer"]})
    assert done.status_code == 200 and done.history and done.history[0].status_code == 303, (done.status_code, done.text)
    path = Capture.captured[before]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
    token = s.fetch_token(meta["token_endpoint"], authorization_response="http://127.0.0.1" + path, code_verifier=verifier)
    return s, token, query, state

# Confidential PKCE client (Basic), then refresh rotation, introspection, revocation.
s, token, query, state = code_flow(cfg["pkce_id"], cfg["pkce_secret"], "client_secret_basic", cfg["user"])
out["code_state_ok"] = query.get("state") == state
out["code_iss"] = query.get("iss")
out["code_scope"] = token.get("scope")
first_refresh = token["refresh_token"]
new = s.refresh_token(meta["token_endpoint"], refresh_token=first_refresh)
out["refresh_rotated"] = new["refresh_token"] != first_refresh and new["access_token"] != token["access_token"]
reuse = requests.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "refresh_token": first_refresh},
                      auth=(cfg["pkce_id"], cfg["pkce_secret"]))
out["refresh_reuse"] = [reuse.status_code, reuse.json().get("error"), reuse.json().get("reason")]
intro = s.introspect_token(meta["introspection_endpoint"], token=new["access_token"]).json()
out["intro_active"] = intro.get("active"); out["intro_user"] = intro.get("username")
# The reuse ended the family: the rotated token is dead too. A fresh flow for revocation.
s2, token2, _, _ = code_flow(cfg["pkce_id"], cfg["pkce_secret"], "client_secret_post", cfg["user"])
intro2 = s2.introspect_token(meta["introspection_endpoint"], token=token2["access_token"]).json()
before = intro2.get("active")
# RFC 8707: the authorization URL named a resource; the tokens are bound to it (RFC 7662 `aud`).
out["bound_aud"] = intro2.get("aud")
r = s2.revoke_token(meta["revocation_endpoint"], token=token2["refresh_token"], token_type_hint="refresh_token")
after = s2.introspect_token(meta["introspection_endpoint"], token=token2["access_token"]).json().get("active")
out["revoke"] = [before, r.status_code, r.headers.get("Cache-Control"), after]

# Public PKCE client: no secret at all.
s3, token3, query3, state3 = code_flow(cfg["public_id"], None, "none", cfg["user"])
out["public_scope"] = token3.get("scope"); out["public_refresh"] = bool(token3.get("refresh_token"))
r3 = s3.revoke_token(meta["revocation_endpoint"], token=token3["access_token"])
out["public_revoke"] = r3.status_code
print(json.dumps(out, sort_keys=True))
capture.shutdown()
"""#
}
