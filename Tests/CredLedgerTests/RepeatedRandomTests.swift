@testable import CredLedger
@testable import CredLedgerCore
import CredLedgerCrypto
import Foundation
import XCTest

/// A random stream that repeats (a cloned VM's generator state, a reused seed) never makes the ledger reuse an
/// identifier, secret, token or code it already holds: the value is drawn again, and a stream that only repeats is
/// refused with nothing written (`BatchContext.drawFresh`).
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

    func testARepeatedStreamDrawsAgainInsteadOfOverwritingACredentialOrAToken() throws {
        let random = RewindingRandom(seed: 42)
        let t = try TestLedger("repeated-random", configure: { $0.random = random })
        defer { t.remove() }
        try t.makeWorld()

        // The same draws twice: the second credential would get the first one's id, client id and secret.
        random.mark()
        let first = try t.create(.oauth, .readWrite, name: "first")
        random.rewind()
        let second = try t.create(.oauth, .readWrite, name: "second")
        XCTAssertNotEqual(first.id, second.id)
        XCTAssertNotEqual(first.clientID, second.clientID)
        XCTAssertNotEqual(first.clientSecret, second.clientSecret)
        XCTAssertEqual(try t.row(first.id).name, "first", "the first credential's id still names it")
        XCTAssertEqual(try t.row(second.id).name, "second")

        // Each client's secret still authenticates that client, and its tokens are its own.
        random.mark()
        let firstToken = try t.ledger.oauth.clientCredentialsToken(clientID: first.clientID!, clientSecret: first.clientSecret!)
        random.rewind()
        let secondToken = try t.ledger.oauth.clientCredentialsToken(clientID: second.clientID!, clientSecret: second.clientSecret!)
        XCTAssertNotEqual(firstToken.accessToken, secondToken.accessToken)
        let firstSeen = try t.ledger.oauth.introspect(firstToken.accessToken, clientID: first.clientID!, clientSecret: first.clientSecret)
        XCTAssertTrue(firstSeen.active)
        XCTAssertEqual(firstSeen.credentialID, first.id, "the first token was not overwritten by the second")
        XCTAssertEqual(try t.ledger.oauth.introspect(secondToken.accessToken, clientID: second.clientID!, clientSecret: second.clientSecret).credentialID,
                       second.id)

        // A rotation that would draw an existing secret draws again: the other credential's secret keeps working.
        let key = try t.create(.staticKey, .read, name: "key")
        random.mark()
        let rotated = try t.ledger.administration.rotateSecret(World.acme, credential: first.id, grace: 0, as: World.alice)
        random.rewind()
        let rotatedKey = try t.ledger.administration.rotateSecret(World.acme, credential: key.id, grace: 0, as: World.alice)
        XCTAssertNotEqual(rotated.clientSecret, rotatedKey.secret)
        XCTAssertNoThrow(try t.ledger.oauth.clientCredentialsToken(clientID: first.clientID!, clientSecret: rotated.clientSecret!))
        XCTAssertEqual(try t.ledger.access.authorize(header: "Apikey " + rotatedKey.secret!, company: World.acme, project: World.bridge,
                                                     operation: .read).credentialID, key.id)
    }

    func testAStuckGeneratorIsRefusedAndNothingIsWritten() throws {
        let random = RewindingRandom(seed: 7)
        let t = try TestLedger("stuck-random", configure: { $0.random = random })
        defer { t.remove() }
        try t.makeWorld()
        random.stuck = 0x5A
        let first = try t.create(.staticKey, .read, name: "first")
        let head = t.head
        XCTAssertThrowsError(try t.create(.staticKey, .read, name: "second")) { error in
            XCTAssertEqual((error as? LedgerError)?.code, "random_repeats", "\(error)")
            XCTAssertEqual((error as? LedgerError)?.kind, .integrity)
        }
        XCTAssertEqual(t.head, head, "nothing was written")
        XCTAssertThrowsError(try t.ledger.administration.rotateSecret(World.acme, credential: first.id, grace: 0, as: World.alice))
        XCTAssertEqual(t.head, head)
        XCTAssertEqual(try t.ledger.access.authorize(header: "Apikey " + first.secret!, company: World.acme, project: World.bridge,
                                                     operation: .read).credentialID, first.id, "the first key is untouched")
    }
}
