@testable import CredLedger
@testable import CredLedgerCore
import CredLedgerCrypto
import Foundation
import XCTest

/// A random stream that repeats (a cloned VM's generator state, a reused seed) never makes the ledger reuse an
/// identifier, secret, token or code it already holds, nor a secret's random body under another kind: the request is
/// refused with nothing written (`BatchContext.drawChecked`).
final class RepeatedRandomTests: XCTestCase {
    /// SplitMix64 whose position can be saved and restored: `rewind()` replays everything drawn since `mark()`.
    final class RewindingRandom: RandomBytesGenerator, @unchecked Sendable {
        private let lock = NSLock()
        private var state: UInt64
        private var marked: UInt64
        /// When set, every byte drawn is this one (a generator that is stuck).
        var stuck: UInt8?

        init(seed: UInt64) { (state, marked) = (seed, seed) }

        func mark() { lock.withLock { marked = state } }
        func rewind() { lock.withLock { state = marked } }

        func fill(_ buffer: UnsafeMutableRawBufferPointer) {
            lock.withLock {
                for i in 0..<buffer.count {
                    if let stuck {
                        buffer[i] = stuck
                        continue
                    }
                    state &+= 0x9E37_79B9_7F4A_7C15
                    var z = state
                    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                    buffer[i] = UInt8(truncatingIfNeeded: z ^ (z >> 31))
                }
            }
        }
    }

    /// Runs `body`, which must be refused as `random_repeats` with nothing written.
    private func refused(_ t: TestLedger, _ what: String, line: UInt = #line, _ body: () throws -> Void) {
        let head = t.head
        XCTAssertThrowsError(try body(), what, line: line) { error in
            XCTAssertEqual((error as? LedgerError)?.code, "random_repeats", "\(what): \(error)", line: line)
            XCTAssertEqual((error as? LedgerError)?.kind, .integrity, what, line: line)
        }
        XCTAssertEqual(t.head, head, "\(what): nothing written", line: line)
    }

    func testARepeatedStreamIsRefusedInsteadOfOverwritingACredentialATokenOrACode() throws {
        let random = RewindingRandom(seed: 42)
        let t = try TestLedger("repeated-random", configure: { $0.random = random })
        defer { t.remove() }
        try t.makeWorld()
        let app = try t.create(.pkce, .readWrite, name: "app")
        _ = try t.ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.bob, role: .editor, as: World.alice)

        // The same draws again: a second credential would get the first one's id (and secret, client id).
        random.mark()
        let first = try t.create(.oauth, .readWrite, name: "first")
        random.rewind()
        refused(t, "a credential with a taken id") { _ = try t.create(.oauth, .readWrite, name: "second") }
        XCTAssertEqual(try t.row(first.id).name, "first", "the first credential's id still names it")

        // A client secret's body must not come back as an API key: the rotation of a static key is refused.
        let key = try t.create(.staticKey, .read, name: "key")
        random.mark()
        let rotated = try t.ledger.administration.rotateSecret(World.acme, credential: first.id, grace: 0, as: World.alice)
        random.rewind()
        refused(t, "an API key with a client secret's body") {
            _ = try t.ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 0, as: World.alice)
        }
        XCTAssertEqual(try t.ledger.access.authorize(header: "Apikey " + key.secret!, company: World.acme, project: World.bridge,
                                                     operation: .read).credentialID, key.id, "the key keeps its secret")

        // An access token again, then a code with an access token's body.
        random.mark()
        let token = try t.ledger.oauth.clientCredentialsToken(clientID: first.clientID!, clientSecret: rotated.clientSecret!)
        random.rewind()
        refused(t, "an access token already issued") {
            _ = try t.ledger.oauth.clientCredentialsToken(clientID: first.clientID!, clientSecret: rotated.clientSecret!)
        }
        random.rewind()
        refused(t, "a code with an access token's body") {
            _ = try t.ledger.oauth.approveClient(company: World.acme, clientID: app.clientID!, user: World.bob, redirectURI: World.redirect,
                                                 codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "s")
        }
        XCTAssertEqual(try t.ledger.oauth.introspect(token.accessToken, clientID: first.clientID!, clientSecret: rotated.clientSecret).credentialID,
                       first.id, "the token is still the first client's")

        // A code again.
        random.mark()
        _ = try t.ledger.oauth.approveClient(company: World.acme, clientID: app.clientID!, user: World.bob, redirectURI: World.redirect,
                                             codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "s")
        random.rewind()
        refused(t, "a code already issued") {
            _ = try t.ledger.oauth.approveClient(company: World.acme, clientID: app.clientID!, user: World.bob, redirectURI: World.redirect,
                                                 codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "s")
        }

        // A code exchange draws an access and then a refresh token (48 random bytes each): past the access token's
        // bytes, the next secret drawn has the refresh token's body, and an API key with it is refused.
        let grant = try t.ledger.oauth.approveClient(company: World.acme, clientID: app.clientID!, user: World.bob, redirectURI: World.redirect,
                                                     codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "s")
        random.mark()
        let pair = try t.ledger.oauth.exchangeCode(clientID: app.clientID!, clientSecret: app.clientSecret, code: grant.code,
                                                   codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
        random.rewind()
        _ = random.bytes(48)
        refused(t, "an API key with a refresh token's body") {
            _ = try t.ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 0, as: World.alice)
        }
        XCTAssertNoThrow(try t.ledger.oauth.refresh(clientID: app.clientID!, clientSecret: app.clientSecret, refreshToken: try XCTUnwrap(pair.refreshToken)),
                         "the refresh token still works")

        // With the stream moving on, everything works again.
        let later = try t.create(.oauth, .readWrite, name: "later")
        XCTAssertNotEqual(later.id, first.id)
        XCTAssertNoThrow(try t.ledger.oauth.clientCredentialsToken(clientID: later.clientID!, clientSecret: later.clientSecret!))
    }

    func testAStuckGeneratorIsRefusedAndNothingIsWritten() throws {
        let random = RewindingRandom(seed: 7)
        let t = try TestLedger("stuck-random", configure: { $0.random = random })
        defer { t.remove() }
        try t.makeWorld()
        random.stuck = 0x5A
        let first = try t.create(.staticKey, .read, name: "first")
        refused(t, "a second credential") { _ = try t.create(.staticKey, .read, name: "second") }
        refused(t, "a rotation") { _ = try t.ledger.administration.rotateSecret(World.acme, credential: first.id, grace: 0, as: World.alice) }
        XCTAssertEqual(try t.ledger.access.authorize(header: "Apikey " + first.secret!, company: World.acme, project: World.bridge,
                                                     operation: .read).credentialID, first.id, "the first key is untouched")
    }

    /// A generator stuck above the rejection sampling's limit (0xFF) used to hang the writer thread, and with it every
    /// request: now the request is refused (`random_stuck`), nothing is written, and the ledger works on once the
    /// generator does.
    func testAGeneratorStuckAboveTheSamplingLimitIsRefusedAndTheLedgerGoesOn() throws {
        let random = RewindingRandom(seed: 11)
        let t = try TestLedger("stuck-high-random", configure: { $0.random = random })
        defer { t.remove() }
        try t.makeWorld()
        let first = try t.create(.oauth, .read, name: "first")
        random.stuck = 0xFF
        for (what, body) in [
            ("a key", { _ = try t.create(.staticKey, .read, name: "second") }),
            ("a PKCE client (ids only)", { _ = try t.create(.pkce, .read, name: "third") }),
            ("a rotation", { _ = try t.ledger.administration.rotateSecret(World.acme, credential: first.id, grace: 0, as: World.alice) }),
            ("a token", { _ = try t.ledger.oauth.clientCredentialsToken(clientID: first.clientID!, clientSecret: first.clientSecret!) }),
        ] as [(String, () throws -> Void)] {
            let head = t.head
            XCTAssertThrowsError(try body(), what) { error in
                XCTAssertEqual((error as? LedgerError)?.code, "random_stuck", "\(what): \(error)")
            }
            XCTAssertEqual(t.head, head, "\(what): nothing written")
        }
        random.stuck = nil
        let later = try t.create(.staticKey, .read, name: "second")
        XCTAssertEqual(try t.ledger.access.authorize(header: "Apikey " + later.secret!, company: World.acme, project: World.bridge,
                                                     operation: .read).credentialID, later.id)
    }

    /// `SecretFormat.withKind`: the same body under another prefix, with a valid checksum.
    func testTheSameBodyUnderEveryKind() throws {
        let random = SeededRandom(seed: 3)
        for kind in SecretKind.allCases {
            let secret = try SecretFormat.generate(kind, using: random)
            XCTAssertEqual(SecretFormat.withKind(secret, kind), secret)
            for other in SecretKind.allCases {
                let moved = SecretFormat.withKind(secret, other)
                XCTAssertTrue(moved.hasPrefix(other.prefix))
                XCTAssertEqual(moved.dropFirst(4).prefix(36), secret.dropFirst(4).prefix(36))
                let check = Array(moved.utf8).withUnsafeBytes { SecretFormat.validate($0, expecting: other) }
                XCTAssertEqual(check.kind, other)
                XCTAssertNil(check.problem, moved)
            }
        }
    }
}
