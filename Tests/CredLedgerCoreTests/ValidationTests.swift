import XCTest

import CredLedgerCore

final class ValidationTests: XCTestCase {
    /// The error code `body` throws, nil when it accepts.
    private func code(_ body: () throws(LedgerError) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            XCTAssertEqual(error.kind, .badInput)
            XCTAssertFalse(error.message.isEmpty)
            return error.code
        }
    }

    func testSlug() {
        for good in ["acme", "a", "0", "a-1", "site-a-2026", "a-", String(repeating: "x", count: 63)] {
            XCTAssertNil(code { () throws(LedgerError) in try Validation.slug(good, field: "company") }, good)
        }
        let bad = ["", String(repeating: "x", count: 64), "Acme", "ACME", "-acme", "ac me", "acmé", "ac_me", "ac.me",
                   "acme\n", "\u{0}", "ａcme", "acme/", "💥"]
        for s in bad {
            XCTAssertEqual(code { () throws(LedgerError) in try Validation.slug(s, field: "company") }, "invalid_company", s)
            XCTAssertEqual(code { () throws(LedgerError) in try Validation.slug(s, field: "project") }, "invalid_project", s)
        }
    }

    func testName() {
        for good in ["Acme AB", "x", "Ünïcödé ✓ 名前", " padded ", String(repeating: "n", count: 100), String(repeating: "🙂", count: 100)] {
            XCTAssertNil(code { () throws(LedgerError) in try Validation.name(good) }, good)
        }
        let bad = ["", " ", "\t \n", String(repeating: "n", count: 101), String(repeating: "🙂", count: 101),
                   "a\u{0}b", "tab\there", "new\nline", "bell\u{7}", "del\u{7F}", "c1\u{85}x", "esc\u{1B}[31m"]
        for s in bad { XCTAssertEqual(code { () throws(LedgerError) in try Validation.name(s) }, "invalid_name", s.debugDescription) }
        XCTAssertEqual(code { () throws(LedgerError) in try Validation.name("", field: "credential_name") }, "invalid_credential_name")
    }

    func testEmail() {
        for good in ["a@b.co", "first.last+tag@example.com", "Admin@Example.COM", "x@mail.sub.example.org",
                     String(repeating: "l", count: 64) + "@" + String(repeating: "d", count: 63) + ".com"] {
            XCTAssertNil(code { () throws(LedgerError) in try Validation.email(good) }, good)
        }
        let tooLong = String(repeating: "l", count: 240) + "@example.com1"   // 253 + … > 254 bytes
        let bad = ["", "a", "@b.co", "a@", "a@b", "a b@c.de", "a@@b.co", "a@b@c.de", "ä@b.co", "a@bä.co", "a@b..co",
                   "a@.b.co", "a@b.co.", "a@b_c.co", "a\n@b.co", "a@b.co\u{0}", tooLong + "x" + tooLong]
        for s in bad { XCTAssertEqual(code { () throws(LedgerError) in try Validation.email(s) }, "invalid_email", s.debugDescription) }
    }

    func testMailDomain() {
        for good in ["cxplanner.com", "acme.example", "mail.example.co.uk", "x-y.io", "EXAMPLE.COM", "a1.b2"] {
            XCTAssertNil(code { () throws(LedgerError) in try Validation.mailDomain(good) }, good)
        }
        let bad = ["", "com", ".", "a..b", ".a.b", "a.b.", "a_b.com", "ex ample.com", "exämple.com", "a.b/c", "a@b.com",
                   String(repeating: "x", count: 64) + ".com",
                   Array(repeating: String(repeating: "x", count: 63), count: 4).joined(separator: ".") + ".com"]
        for s in bad {
            XCTAssertEqual(code { () throws(LedgerError) in try Validation.mailDomain(s) }, "invalid_mail_domain", s)
        }
    }

    func testRedirectURI() {
        for good in ["https://app.example.com/callback", "https://a.b", "https://app.example.com/cb?x=1",
                     "http://localhost/cb", "http://localhost:8080/cb", "http://127.0.0.1:5000/", "http://[::1]:3000/cb",
                     "https://" + String(repeating: "a", count: 2040)] {
            XCTAssertNil(code { () throws(LedgerError) in try Validation.redirectURI(good) }, good)
        }
        let bad = ["", "https://", "http://example.com/cb", "http://app.example.com/localhost", "ftp://example.com/",
                   "HTTPS://example.com/cb", "app.example.com/cb", "https://app.example.com/cb#frag", "https://a b.com/",
                   "https://exämple.com/", "https://example.com/\n", "javascript:alert(1)", "//example.com/cb",
                   "https://" + String(repeating: "a", count: 2041)]
        for s in bad {
            XCTAssertEqual(code { () throws(LedgerError) in try Validation.redirectURI(s) }, "invalid_redirect_uri", s.debugDescription)
        }
    }

    /// `http` is allowed for loopback only: a host that merely starts with "localhost" or "127.0.0.1" is not loopback.
    func testRedirectURIRejectsLookalikeLoopbackHosts() {
        for s in ["http://localhost.attacker.example/cb", "http://localhostattacker.example/", "http://127.0.0.1.attacker.example/cb",
                  "http://localhost@attacker.example/cb", "http://127.0.0.1@attacker.example/",
                  "http://localhost:8080@attacker.example/cb", "http://[::1]@attacker.example/"] {
            XCTAssertEqual(code { () throws(LedgerError) in try Validation.redirectURI(s) }, "invalid_redirect_uri", s)
        }
    }

    func testLedgerErrorMatchesByCode() {
        let error: any Error = LedgerError.invalid("email", "x")
        XCTAssertTrue(LedgerError("invalid_email", "other message") ~= error)
        XCTAssertFalse(LedgerError.notCompanyAdmin ~= error)
        XCTAssertEqual(LedgerError.invalid("slug", "why").kind, .badInput)
        XCTAssertEqual(LedgerError.notCompanyAdmin.kind, .refused)
    }
}
