import CredLedger
import CredLedgerCore
@testable import CredLedgerTools
import Foundation
import XCTest

/// Review finding 11 (second half): `key rotate` said only what happened to the old secret, not that the tokens
/// obtained with it end with it — with `--grace 0` they are all revoked at once, so every user of a confidential
/// PKCE client must authorize it again. The output now says so (text and `--json` `old_tokens`).
final class Issue11RotateOutputTests: XCTestCase {
    func testRotateSaysWhatHappensToTheTokensObtainedWithTheOldSecret() throws {
        let cli = try CLI("i11-rotate-out")
        defer { cli.remove() }
        issue11SetUpCLICompany(cli)
        XCTAssertEqual(cli.run("project", "member", "acme", "bridge", World.bob, "--role", "editor", "--as", World.alice).code, 0)
        func create(_ type: String, _ extra: [String] = []) -> [String: Any] {
            let r = cli.run(["--json", "key", "create", "acme", "--name", "K \(type)", "--type", type, "--scope", "read", "--as", World.alice] + extra)
            XCTAssertEqual(r.code, 0, r.all)
            return r.object
        }
        let key = create("static"), oauth = create("oauth"), pkce = create("pkce", ["--redirect-uri", World.redirect])
        func id(_ o: [String: Any]) -> String { o["id"] as? String ?? "" }

        // A user's tokens from the PKCE client, obtained with its first secret.
        let pkceID = pkce["client_id"] as? String ?? "", pkceSecret = pkce["client_secret"] as? String ?? ""
        let code = cli.run("--json", "oauth", "authorize", "acme", "--client-id", pkceID, "--user", World.bob, "--redirect-uri", World.redirect,
                           "--code-challenge", PKCEPair.challenge, "--code-challenge-method", "S256").object["code"] as? String ?? ""
        let pair = cli.run("--json", "oauth", "token", "--grant", "authorization_code", "--client-id", pkceID, "--client-secret", pkceSecret,
                           "--code", code, "--code-verifier", PKCEPair.verifier, "--redirect-uri", World.redirect)
        XCTAssertEqual(pair.code, 0, pair.all)
        let access = pair.object["access_token"] as? String ?? ""

        // With a grace: the tokens end when it does.
        let graceText = cli.run("key", "rotate", "acme", id(oauth), "--grace", "24h", "--as", World.alice)
        XCTAssertEqual(graceText.code, 0, graceText.all)
        XCTAssertTrue(graceText.out.contains("The old secret keeps working for 24h") && graceText.out.contains("tokens obtained with it")
                      && graceText.out.contains("end when the grace does"), graceText.out)
        let graceJSON = cli.run("--json", "key", "rotate", "acme", id(pkce), "--grace", "1h", "--as", World.alice)
        XCTAssertEqual(graceJSON.object["old_tokens"] as? String, "end_with_grace", graceJSON.out)
        let newSecret = graceJSON.object["client_secret"] as? String ?? ""
        let stillActive = cli.run("--json", "token", "introspect", "--token", access, "--client-id", pkceID, "--client-secret", newSecret)
        XCTAssertEqual(stillActive.object["active"] as? Bool, true, stillActive.all)

        // Grace 0: every token was revoked; for a confidential PKCE client every user must authorize again.
        let now = cli.run("key", "rotate", "acme", id(pkce), "--grace", "0", "--as", World.alice)
        XCTAssertEqual(now.code, 0, now.all)
        XCTAssertTrue(now.out.contains("The old secret stopped working") && now.out.contains("every token obtained with it was revoked")
                      && now.out.contains("every user of this client must authorize it again"), now.out)
        let rotatedSecret = now.out.split(separator: "\n").first { $0.hasPrefix("Client secret:") }.map { String($0.split(separator: " ").last ?? "") } ?? ""
        let inactive = cli.run("--json", "token", "introspect", "--token", access, "--client-id", pkceID, "--client-secret", rotatedSecret)
        XCTAssertEqual(inactive.object["active"] as? Bool, false, "what the message says: \(inactive.all)")
        let oauthNow = cli.run("--json", "key", "rotate", "acme", id(oauth), "--grace", "0", "--as", World.alice)
        XCTAssertEqual(oauthNow.object["old_tokens"] as? String, "revoked", oauthNow.out)
        let oauthText = cli.run("key", "rotate", "acme", id(oauth), "--grace", "0", "--as", World.alice)
        XCTAssertTrue(oauthText.out.contains("every token obtained with it was revoked") && oauthText.out.contains("request new tokens"), oauthText.out)
        XCTAssertFalse(oauthText.out.contains("authorize"), "an API user has no users to re-authorize: \(oauthText.out)")

        // A static key has no tokens: nothing is said about them.
        let staticText = cli.run("key", "rotate", "acme", id(key), "--grace", "0", "--as", World.alice)
        XCTAssertTrue(staticText.out.contains("The old secret stopped working.") && !staticText.out.contains("token"), staticText.out)
        XCTAssertNil(cli.run("--json", "key", "rotate", "acme", id(key), "--grace", "0", "--as", World.alice).object["old_tokens"])
    }
}
