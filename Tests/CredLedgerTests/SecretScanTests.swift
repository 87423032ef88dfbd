import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 3: no plaintext secret, token or code — nor its body without the prefix — in any file of the ledger
/// directory (or of a backup), after every credential type, rotation, OAuth flows, uses, a rebuild and a verify.
final class SecretScanTests: XCTestCase {
    func testNoPlaintextSecretInTheLedgerFiles() throws {
        let t = try TestLedger("scan", seed: 31)
        defer { t.remove() }
        let ledger = t.ledger!
        try t.makeWorld()
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)

        var secrets: [String] = []
        var issued: [IssuedCredential] = []
        for type in CredentialType.allCases {
            for scope in Scope.allCases {
                let c = try t.create(type, scope)
                issued.append(c)
                secrets += [c.secret, c.clientSecret].compactMap { $0 }
                if type.hasServiceUser && scope != .global {
                    try ledger.administration.grantAccess(World.acme, credential: c.id, project: World.bridge, role: .editor, as: World.alice)
                }
            }
        }
        // Rotate every credential that has a secret, keeping the old one in grace.
        for (i, c) in issued.enumerated() where c.type.hasSecret {
            let r = try ledger.administration.rotateSecret(World.acme, credential: c.id, grace: 3_600_000_000, as: World.alice)
            secrets += [r.secret, r.clientSecret].compactMap { $0 }
            issued[i].clientSecret = r.clientSecret ?? issued[i].clientSecret
            issued[i].secret = r.secret ?? issued[i].secret
        }
        // OAuth flows: client_credentials, authorization codes, refreshes, a replay, revocations.
        for c in issued {
            switch c.type {
            case .staticKey:
                for op in CredLedgerCore.Operation.allCases { try t.check("Apikey " + c.secret!, World.bridge, op) }
            case .oauth:
                let token = try ledger.oauth.clientCredentialsToken(clientID: c.clientID!, clientSecret: c.clientSecret!)
                secrets.append(token.accessToken)
                try t.check("Bearer " + token.accessToken, World.bridge, .write)
                try ledger.oauth.revokeToken(token.accessToken, clientID: c.clientID!, clientSecret: c.clientSecret)
            case .pkce, .pkcePublic:
                let grant = try ledger.oauth.approveClient(company: World.acme, clientID: c.clientID!, user: World.bob, redirectURI: World.redirect,
                                                 codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "opaque-state")
                let tokens = try ledger.oauth.exchangeCode(clientID: c.clientID!, clientSecret: c.clientSecret, code: grant.code,
                                                     codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
                let renewed = try ledger.oauth.refresh(clientID: c.clientID!, clientSecret: c.clientSecret, refreshToken: tokens.refreshToken!)
                secrets += [grant.code, tokens.accessToken, tokens.refreshToken!, renewed.accessToken, renewed.refreshToken!]
                try t.check("Bearer " + renewed.accessToken, World.bridge, .read)
                // Denied attempts carry secrets too: a replayed code, a reused refresh token, a wrong verifier.
                _ = try? ledger.oauth.exchangeCode(clientID: c.clientID!, clientSecret: c.clientSecret, code: grant.code,
                                             codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
                _ = try? ledger.oauth.refresh(clientID: c.clientID!, clientSecret: c.clientSecret, refreshToken: tokens.refreshToken!)
                let second = try ledger.oauth.approveClient(company: World.acme, clientID: c.clientID!, user: World.alice, redirectURI: World.redirect,
                                                  codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: nil)
                secrets.append(second.code)
                _ = try? ledger.oauth.exchangeCode(clientID: c.clientID!, clientSecret: c.clientSecret, code: second.code,
                                             codeVerifier: PKCEPair.otherVerifier, redirectURI: World.redirect)
            }
        }
        // A mistyped key (one character off) must not be stored either.
        let typo = String(issued[0].secret!.prefix(30)) + (issued[0].secret!.dropFirst(30).first == "a" ? "b" : "a") + issued[0].secret!.dropFirst(31)
        assertDenied(try t.check("Apikey " + typo, World.bridge, .read), .badChecksum)
        secrets.append(typo)
        // Let PKCE verifiers count as secrets as well: only their S256 hash may be stored.
        secrets += [PKCEPair.verifier, PKCEPair.otherVerifier]
        // One credential deleted, projections rebuilt and verified, a compacted backup taken.
        try ledger.administration.deleteCredential(World.acme, credential: issued[1].id, as: World.alice)
        try ledger.maintenance.rebuildProjections()
        XCTAssertTrue(try ledger.audit.verify().ok)
        try ledger.maintenance.backup(to: t.directory.appending("backup"))
        let clientID = try XCTUnwrap(issued.first { $0.clientID != nil }?.clientID)
        t.close()

        XCTAssertGreaterThan(secrets.count, 40)
        XCTAssertEqual(Set(secrets).count, secrets.count)
        var needles: [(String, Data)] = []
        for s in secrets {
            needles.append((s, Data(s.utf8)))
            if s.hasPrefix("cx") {
                needles.append((s + " (body)", Data(s.secretBody.utf8)))
                needles.append((s + " (random part)", Data(s.secretRandomPart.utf8)))
            }
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: t.directory.path).filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: t.directory.appending(path), isDirectory: &isDirectory) && !isDirectory.boolValue
        }
        XCTAssertEqual(Set(files.map { ($0 as NSString).lastPathComponent }), ["data.mdb", "lock.mdb"])
        XCTAssertTrue(files.contains("ledger/data.mdb") && files.contains("ledger/lock.mdb") && files.contains("backup/data.mdb"), "\(files)")
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: t.directory.appending(file)))
            for (label, needle) in needles {
                XCTAssertNil(bytes.range(of: needle), "\(file) contains \(label.prefix(12))…")
            }
            if file.hasSuffix("data.mdb") {
                // The scan reads real content: non-secret identifiers are there.
                XCTAssertNotNil(bytes.range(of: Data("Acme Corp".utf8)), file)
                XCTAssertNotNil(bytes.range(of: Data(clientID.utf8)), file)
                XCTAssertNotNil(bytes.range(of: Data(issued[0].displayPrefix.utf8)), file)
            }
        }
    }

    /// SPEC §7: no plaintext secret in error messages. The likeliest way one gets there: an admin pastes the key
    /// itself where its id goes ("delete this key"). The refusal must not print it back (terminals, CI logs).
    func testASecretPastedAsACredentialIDIsNotEchoed() throws {
        let t = try TestLedger("echo", seed: 5)
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .read)
        let client = try t.create(.oauth, .read)
        let ledger = t.ledger!
        for secret in [key.secret!, client.clientSecret!] {
            let calls: [() throws -> Void] = [
                { try ledger.administration.deleteCredential(World.acme, credential: secret, as: World.alice) },
                { _ = try ledger.administration.rotateSecret(World.acme, credential: secret, grace: 0, as: World.alice) },
                { _ = try ledger.audit.credentialDetail(World.acme, credential: secret, as: World.alice) },
                { try ledger.administration.grantAccess(World.acme, credential: secret, project: World.bridge, role: .viewer, as: World.alice) },
                { try ledger.administration.revokeAccess(World.acme, credential: secret, project: World.bridge, as: World.alice) },
            ]
            for call in calls {
                assertRefused("unknown_credential", kind: .badInput, t) {
                    do {
                        try call()
                    } catch let error as LedgerError {
                        XCTAssertFalse(error.description.contains(secret.secretRandomPart), "the error message repeats the secret: \(error.code)")
                        throw error
                    }
                }
            }
        }
        t.close()
        // The same through the CLI.
        let cli = try CLI("echo-cli")
        defer { cli.remove() }
        XCTAssertEqual(cli.run("company", "create", "acme", "--admin", World.alice).code, 0)
        XCTAssertEqual(cli.run("company", "enable-api", "acme", "--as", World.alice).code, 0)
        let created = cli.run("--json", "key", "create", "acme", "--name", "K", "--type", "static", "--scope", "global", "--as", World.alice)
        let secret = try XCTUnwrap(created.object["secret"] as? String)
        for args in [["key", "delete", "acme", secret, "--yes", "--as", World.alice], ["key", "show", "acme", secret, "--as", World.alice],
                     ["--json", "key", "rotate", "acme", secret, "--grace", "0", "--as", World.alice]] {
            let r = cli.run(args)
            XCTAssertEqual(r.code, 2)
            XCTAssertTrue(r.all.contains("unknown_credential"), r.all)
            XCTAssertFalse(r.all.contains(secret.secretRandomPart), "printed the secret back: \(r.all)")
        }
    }
}
