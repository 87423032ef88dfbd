import CredLedger
import CredLedgerCore
import CredLedgerHTTP
@testable import CredLedgerServer
import Foundation
import TestSupport
import XCTest

/// Who is signed in (docs/HTTP.md "Identity"): the session key file, dev-login sessions, the trusted-proxy header,
/// CSRF tokens, with curl as the client.
final class IdentityTests: XCTestCase {
    func testSessionKeyFileIsCreatedPrivateAndRefusedWhenWider() throws {
        let test = try TestLedger("identity-key")
        defer { test.remove() }
        let first = try OAuthTestServer("identity-key", test: test)
        first.stop()
        let keyPath = test.path + "/session.key"
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        XCTAssertEqual((attributes[.size] as? NSNumber)?.intValue, 32)
        let key = try Data(contentsOf: URL(fileURLWithPath: keyPath))
        // A second start reads the same key (sessions survive a restart).
        try OAuthTestServer("identity-key", test: test).stop()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: keyPath)), key)

        chmod(keyPath, 0o644)
        XCTAssertThrowsError(try LedgerServer(ledger: test.ledger, settings: ServerSettings())) { error in
            XCTAssertTrue("\(error)".contains("mode 644"), "\(error)")
        }
        chmod(keyPath, 0o600)
        try Data(key.prefix(16)).write(to: URL(fileURLWithPath: keyPath))
        chmod(keyPath, 0o600)
        XCTAssertThrowsError(try LedgerServer(ledger: test.ledger, settings: ServerSettings())) { error in
            XCTAssertTrue("\(error)".contains("16 bytes"), "\(error)")
        }
        // A symbolic link is not followed.
        try FileManager.default.removeItem(atPath: keyPath)
        try FileManager.default.createSymbolicLink(atPath: keyPath, withDestinationPath: test.directory.appending("elsewhere"))
        XCTAssertThrowsError(try LedgerServer(ledger: test.ledger, settings: ServerSettings())) { error in
            XCTAssertTrue("\(error)".hasPrefix("session_key: "), "\(error)")
            XCTAssertTrue("\(error)".contains("symbolic link"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: test.directory.appending("elsewhere")))
        // A FIFO planted there is refused at once (opening it for reading would wait for a writer forever).
        try FileManager.default.removeItem(atPath: keyPath)
        XCTAssertEqual(mkfifo(keyPath, 0o600), 0)
        XCTAssertThrowsError(try LedgerServer(ledger: test.ledger, settings: ServerSettings())) { error in
            XCTAssertTrue("\(error)".contains("not a regular file"), "\(error)")
        }
    }

    func testDevLoginIsAbsentWithoutTheFlag() throws {
        let server = try OAuthTestServer("identity-nodev")
        defer { server.remove() }
        XCTAssertEqual(try CurlClient.run(["\(server.url)/login"]).status, 404)
        XCTAssertEqual(try CurlClient.run(["-d", "email=alice@acme.example", "\(server.url)/login"]).status, 404)
    }

    func testDevLoginSetsASignedSessionCookie() throws {
        let server = try OAuthTestServer("identity-dev") { $0.devLogin = true }
        defer { server.remove() }
        let page = try CurlClient.run(["\(server.url)/login?next=/oauth/authorize%3Fa%3D1"])
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.body.contains("Development login"))
        XCTAssertTrue(page.body.contains("DEVELOPMENT ONLY"))
        XCTAssertTrue(page.body.contains(#"name="next" value="/oauth/authorize?a=1""#), page.body)
        assertPageHeaders(page)

        let login = try CurlClient.run(["-d", "email=Alice@Acme.example&next=%2Foauth%2Fauthorize%3Fa%3D1", "\(server.url)/login"])
        XCTAssertEqual(login.status, 303)
        XCTAssertEqual(login["location"], "/oauth/authorize?a=1")
        let setCookie = try XCTUnwrap(login["set-cookie"])
        XCTAssertTrue(setCookie.contains("HttpOnly"))
        XCTAssertTrue(setCookie.contains("SameSite=Lax"))
        XCTAssertFalse(setCookie.contains("Secure"), "http issuer: no Secure")
        XCTAssertFalse(setCookie.contains("alice"), "the email is encoded, not in clear")
        let cookie = String(setCookie.split(separator: ";")[0])

        let signedIn = try CurlClient.run(["-H", "Cookie: \(cookie)", "\(server.url)/logout"])
        XCTAssertTrue(signedIn.body.contains("Signed in as <strong>alice@acme.example</strong>"), signedIn.body)

        // A changed byte anywhere in the cookie is nobody.
        let value = String(cookie.dropFirst("credledger_session=".count))
        let parts = value.split(separator: ".").map(String.init)
        let otherUser = Base64URL.encode(Array("mallory@acme.example".utf8))
        for forged in [parts[0] + "." + otherUser + "." + parts[2] + "." + parts[3],
                       parts[0] + "." + parts[1] + "." + String(Int64(parts[2])! + 999_999) + "." + parts[3],
                       value.dropLast() + (value.hasSuffix("0") ? "1" : "0")] {
            let response = try CurlClient.run(["-H", "Cookie: credledger_session=\(forged)", "\(server.url)/logout"])
            XCTAssertTrue(response.body.contains("not signed in"), forged)
        }
        // It expires.
        server.clock.advance(seconds: Double(Identity.sessionLifetime) + 1)
        XCTAssertTrue(try CurlClient.run(["-H", "Cookie: \(cookie)", "\(server.url)/logout"]).body.contains("not signed in"))

        // Logout clears it.
        let logout = try CurlClient.run(["-X", "POST", "\(server.url)/logout"])
        XCTAssertEqual(logout.status, 303)
        XCTAssertTrue(logout["set-cookie"]?.contains("Max-Age=0") ?? false)
    }

    /// Review findings F3, F4, F5, F9: logout ends the session on the server; a dev-login cookie is nothing to a server
    /// without --dev-login (on the same ledger); two session cookies sign in no one; key-shaped paths are cut in the
    /// log; unsafe start-up settings are refused.
    func testSessionsEndAndStayInTheirServerAndUnsafeSettingsAreRefused() throws {
        let dev = try OAuthTestServer("identity-review") { $0.devLogin = true }
        defer { dev.remove() }
        let login = try CurlClient.run(["-d", "email=alice@acme.example", "\(dev.url)/login"])
        let cookie = String(try XCTUnwrap(login["set-cookie"]).split(separator: ";")[0])
        XCTAssertTrue(try CurlClient.run(["-H", "Cookie: \(cookie)", "\(dev.url)/logout"]).body.contains("Signed in as"))
        // Another server on the same ledger (same session.key) without --dev-login: the cookie signs in no one.
        dev.stop()
        let production = try OAuthTestServer("identity-review-prod", test: dev.test) {
            $0.identityHeader = "X-Forwarded-Email"
            $0.trustedProxies = [CIDR("127.0.0.1/32")!]
        }
        defer { production.stop() }
        XCTAssertTrue(try CurlClient.run(["-H", "Cookie: \(cookie)", "\(production.url)/logout"]).body.contains("not signed in"))
        production.stop()
        let again = try OAuthTestServer("identity-review-dev2", test: dev.test) { $0.devLogin = true }
        defer { again.stop() }
        XCTAssertTrue(try CurlClient.run(["-H", "Cookie: \(cookie)", "\(again.url)/logout"]).body.contains("Signed in as"))
        // Two session cookies: nobody.
        XCTAssertTrue(try CurlClient.run(["-H", "Cookie: \(cookie); \(cookie)", "\(again.url)/logout"]).body.contains("not signed in"))
        // Logout ends it on the server: the same cookie replayed afterwards signs in no one.
        XCTAssertEqual(try CurlClient.run(["-X", "POST", "-H", "Cookie: \(cookie)", "\(again.url)/logout"]).status, 303)
        XCTAssertTrue(try CurlClient.run(["-H", "Cookie: \(cookie)", "\(again.url)/logout"]).body.contains("not signed in"))
        // A key pasted into a forwarded path is not logged.
        let key = "cxk_" + String(repeating: "A", count: 42)
        _ = try CurlClient.run(["\(again.url)/auth/forward/companies/acme/projects/bridge/\(key)"])
        _ = try CurlClient.run(["\(again.url)/nothing/\(key)"])
        let lines = again.logLines.withLock { $0 }
        XCTAssertFalse(lines.contains { $0.contains(key) }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.contains("/auth/forward/…") }, "\(lines)")

        // Unsafe settings: refused before anything listens.
        for configure: (inout ServerSettings) -> Void in [
            { $0.devLogin = true; $0.host = "0.0.0.0"; $0.issuer = "https://auth.example.com" },
            { $0.identityHeader = "X-Forwarded-Email"; $0.trustedProxies = [CIDR("0.0.0.0/0")!] },
            { $0.host = "0.0.0.0" },
        ] {
            var settings = ServerSettings()
            settings.port = 0
            configure(&settings)
            XCTAssertThrowsError(try LedgerServer(ledger: again.ledger, settings: settings)) {
                XCTAssertEqual(($0 as? LedgerError)?.code, "unsafe_settings")
            }
        }
    }

    func testSecureCookieWithHTTPSIssuerAndLoginAbuse() throws {
        let server = try OAuthTestServer("identity-secure") {
            $0.devLogin = true
            $0.issuer = "https://auth.example.com"
        }
        defer { server.remove() }
        let login = try CurlClient.run(["-d", "email=alice@acme.example", "\(server.url)/login"])
        XCTAssertEqual(login.status, 303)
        XCTAssertTrue(login["set-cookie"]?.contains("; Secure") ?? false)
        XCTAssertEqual(login["location"], "/")
        // Open redirects: anything but a local path goes to "/".
        for next in ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/\r\nX:y", "/a b"] {
            let response = try CurlClient.run(["--data-urlencode", "next=\(next)", "-d", "email=alice@acme.example", "\(server.url)/login"])
            XCTAssertEqual(response["location"], "/", next)
        }
        // Cross-site posts are refused and set nothing.
        for header in ["Sec-Fetch-Site: cross-site", "Origin: https://evil.example", "Origin: null"] {
            let response = try CurlClient.run(["-H", header, "-d", "email=alice@acme.example", "\(server.url)/login"])
            XCTAssertEqual(response.status, 403, header)
            XCTAssertNil(response["set-cookie"], header)
        }
        XCTAssertEqual(try CurlClient.run(["-H", "Origin: https://auth.example.com", "-d", "email=alice@acme.example", "\(server.url)/login"]).status, 303)
        // An opaque origin counts only when the browser vouches for it (what Chromium sends under a no-referrer policy).
        XCTAssertEqual(try CurlClient.run(["-H", "Origin: null", "-H", "Sec-Fetch-Site: same-origin", "-d", "email=alice@acme.example",
                                           "\(server.url)/login"]).status, 303)
        XCTAssertEqual(try CurlClient.run(["-H", "Origin: null", "-H", "Sec-Fetch-Site: same-site", "-d", "email=alice@acme.example",
                                           "\(server.url)/login"]).status, 403)
        // Not an email, a repeated field, a wrong content type: the page again, no cookie.
        for args in [["-d", "email=not-an-email"], ["-d", "email=a@acme.example&email=b@acme.example"],
                     ["-H", "Content-Type: text/plain", "-d", "email=alice@acme.example"]] {
            let response = try CurlClient.run(args + ["\(server.url)/login"])
            XCTAssertEqual(response.status, 400, "\(args)")
            XCTAssertNil(response["set-cookie"])
        }
        // Hostile text is escaped on the page.
        let hostile = try CurlClient.run(["\(server.url)/login?next=/%22%3E%3Cscript%3Ex%3C/script%3E"])
        XCTAssertFalse(hostile.body.contains("<script>"))
    }

    func testIdentityHeaderOnlyFromTrustedProxyExactlyOnce() throws {
        let trusted = try OAuthTestServer("identity-header") {
            $0.identityHeader = "X-Forwarded-Email"
            $0.trustedProxies = [CIDR("127.0.0.1/32")!]
        }
        defer { trusted.remove() }
        let ok = try CurlClient.run(["-H", "X-Forwarded-Email: Bob@Acme.example", "\(trusted.url)/logout"])
        XCTAssertTrue(ok.body.contains("Signed in as <strong>bob@acme.example</strong>"), ok.body)
        let lower = try CurlClient.run(["-H", "x-forwarded-email: bob@acme.example", "\(trusted.url)/logout"])
        XCTAssertTrue(lower.body.contains("bob@acme.example"))
        for headers in [["X_Forwarded_Email: bob@acme.example"],
                        ["X-Forwarded-Email: bob@acme.example", "X-Forwarded-Email: eve@acme.example"],
                        ["X-Forwarded-Email: not an email"]] {
            let response = try CurlClient.run(headers.flatMap { ["-H", $0] } + ["\(trusted.url)/logout"])
            XCTAssertTrue(response.body.contains("not signed in"), "\(headers)")
        }

        let untrusted = try OAuthTestServer("identity-untrusted") {
            $0.identityHeader = "X-Forwarded-Email"
            $0.trustedProxies = [CIDR("10.0.0.0/8")!]
        }
        defer { untrusted.remove() }
        for _ in 0..<3 {
            let response = try CurlClient.run(["-H", "X-Forwarded-Email: bob@acme.example", "-H", "X-Forwarded-For: 10.0.0.1",
                                         "\(untrusted.url)/logout"])
            XCTAssertTrue(response.body.contains("not signed in"))
        }
        let ignored = untrusted.logLines.current.filter { $0.contains("ignored X-Forwarded-Email") }
        XCTAssertEqual(ignored.count, 1, "\(untrusted.logLines.current)")
        XCTAssertFalse(ignored[0].contains("bob@"), "the value is not logged")
    }

    func testCSRFTokensAreBoundToUserPurposeAndTime() throws {
        let server = try OAuthTestServer("identity-csrf")
        defer { server.remove() }
        let context = server.context
        let alice = SignedInUser(email: "alice@acme.example"), bob = SignedInUser(email: "bob@acme.example")
        let token = context.csrfToken(for: alice, purpose: "admin:acme")
        XCTAssertTrue(context.checkCSRF(token, for: alice, purpose: "admin:acme"))
        XCTAssertFalse(context.checkCSRF(token, for: bob, purpose: "admin:acme"))
        XCTAssertFalse(context.checkCSRF(token, for: alice, purpose: "admin:acme2"))
        XCTAssertFalse(context.checkCSRF(nil, for: alice, purpose: "admin:acme"))
        XCTAssertFalse(context.checkCSRF("", for: alice, purpose: "admin:acme"))
        let parts = token.split(separator: ".")
        XCTAssertFalse(context.checkCSRF("\(Int64(parts[0])! + 100000).\(parts[1])", for: alice, purpose: "admin:acme"))
        // A user|purpose split elsewhere is another message.
        let a = context.csrfToken(for: SignedInUser(email: "a@b.example"), purpose: "x|y")
        XCTAssertFalse(context.checkCSRF(a, for: SignedInUser(email: "a@b.example|x"), purpose: "y"))
        server.clock.advance(seconds: Double(Identity.csrfLifetime) + 1)
        XCTAssertFalse(context.checkCSRF(token, for: alice, purpose: "admin:acme"))
    }

    private func assertPageHeaders(_ page: CurlReply, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(page["content-security-policy"],
                       "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'", file: file, line: line)
        XCTAssertEqual(page["x-frame-options"], "DENY", file: file, line: line)
        XCTAssertEqual(page["x-content-type-options"], "nosniff", file: file, line: line)
        XCTAssertEqual(page["referrer-policy"], "same-origin", file: file, line: line)
        XCTAssertEqual(page["cache-control"], "no-store", file: file, line: line)
        XCTAssertEqual(page["pragma"], "no-cache", file: file, line: line)
    }
}
