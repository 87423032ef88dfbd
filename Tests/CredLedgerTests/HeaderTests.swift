import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Issue 4: malformed `Authorization` headers are denied with their specific code, never crash, and are recorded.
final class HeaderTests: XCTestCase {
    private var t: TestLedger!
    private var key: IssuedCredential!

    override func setUpWithError() throws {
        t = try TestLedger("headers", seed: 9)
        try t.makeWorld()
        key = try t.create(.staticKey, .global)
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    /// `secret` with the character at `index` replaced by another base62 character.
    private func typo(_ secret: String, at index: Int) -> String {
        var chars = Array(secret)
        chars[index] = chars[index] == "x" ? "y" : "x"
        return String(chars)
    }

    func testMalformedHeadersAreDeniedWithSpecificCodesAndRecorded() throws {
        let secret = key.secret!
        let other = try SecretFormat.generate(.apiKey, using: SeededRandom(seed: 12_345))
        let clientSecret = try SecretFormat.generate(.clientSecret, using: SeededRandom(seed: 1))
        let cases: [(String, String, DenialReason?)] = [
            ("empty", "", .malformedHeader),
            ("only spaces", "     ", .malformedHeader),
            ("no scheme", secret, .malformedHeader),
            ("scheme only", "Apikey", .malformedHeader),
            ("scheme and space", "Apikey ", .malformedHeader),
            ("basic", "Basic dXNlcjpwYXNzd29yZA==", .unsupportedScheme),
            ("basic with a key", "Basic " + secret, .unsupportedScheme),
            ("token scheme", "Token " + secret, .unsupportedScheme),
            ("lowercase scheme", "apikey " + secret, nil),
            ("uppercase scheme", "APIKEY " + secret, nil),
            // Issue 15: the scheme is compared in place, ASCII case-insensitively; its neighbours in the ASCII table
            // ('@' before 'A', '[' after 'Z', '`' before 'a') and near-miss lengths are other schemes.
            ("mixed-case scheme", "aPiKeY " + secret, nil),
            ("scheme one letter short", "Apike " + secret, .unsupportedScheme),
            ("scheme one letter long", "Apikeys " + secret, .unsupportedScheme),
            ("'@' for 'a'", "@pikey " + secret, .unsupportedScheme),
            ("'`' for 'a'", "`pikey " + secret, .unsupportedScheme),
            ("'[' for 'z'-side letter", "Apike[ " + secret, .unsupportedScheme),
            ("digit in the scheme", "Ap1key " + secret, .unsupportedScheme),
            ("extra spaces around", "   Apikey    " + secret + "   ", nil),
            ("two secrets", "Apikey " + secret + " " + secret, .malformedHeader),
            ("tab separator", "Apikey\t" + secret, .malformedHeader),
            ("newline injected", "Apikey " + secret + "\r\nX-Admin: 1", .malformedHeader),
            ("truncated by one", "Apikey " + String(secret.dropLast()), .malformedHeader),
            ("truncated to prefix", "Apikey " + String(secret.prefix(10)), .malformedHeader),
            ("one extra character", "Apikey " + secret + "A", .malformedHeader),
            ("typo in the body", "Apikey " + typo(secret, at: 20), .badChecksum),
            ("typo in the checksum", "Apikey " + typo(secret, at: 43), .badChecksum),
            ("typo in the prefix", "Apikey " + "cxz_" + secret.dropFirst(4), .malformedHeader),
            ("non-base62 character", "Apikey " + secret.prefix(20) + "-" + secret.dropFirst(21), .malformedHeader),
            ("non-ASCII", "Apikey " + secret.prefix(20) + "é" + secret.dropFirst(21), .malformedHeader),
            ("non-ASCII scheme", "Ápikey " + secret, .malformedHeader),
            ("NUL byte", "Apikey " + secret + "\u{0}", .malformedHeader),
            ("10 KB", "Apikey " + String(repeating: "A", count: 10_240), .malformedHeader),
            ("10 KB of spaces then a key", String(repeating: " ", count: 10_240) + "Apikey " + secret, .malformedHeader),
            ("a client secret as an API key", "Apikey " + clientSecret, .malformedHeader),
            ("an API key as a bearer token", "Bearer " + secret, .malformedHeader),
            ("an API key as an upper-case bearer token", "BEARER " + secret, .malformedHeader),
            ("an API key as a mixed-case bearer token", "bEaReR " + secret, .malformedHeader),
            ("well-formed but unknown key", "Apikey " + other, .unknownCredential),
            ("well-formed but unknown token", try "Bearer " + SecretFormat.generate(.accessToken, using: SeededRandom(seed: 3)), .unknownCredential),
        ]
        let row0 = try t.row(key.id)
        let start = t.head.seq
        var attributed = (used: 0, denied: 0)
        for (label, header, want) in cases {
            let decision = try t.check(header, World.bridge, .read)
            XCTAssertEqual(decision.denial?.code ?? "allowed", want?.code ?? "allowed", label)
            XCTAssertEqual(decision.credentialID != nil, want == nil, "\(label): only a parsed, known key names a credential")
            if decision.credentialID == key.id {
                if decision.allowed { attributed.used += 1 } else { attributed.denied += 1 }
            }
            // The pure parser agrees.
            switch AuthorizationHeader.parse(header) {
            case .success: XCTAssertTrue(want == nil || want == .unknownCredential, label)
            case .failure(let reason): XCTAssertEqual(reason, want, label)
            }
        }
        // Each answer is one credential_used event with its reason, in order.
        let events = try t.events(after: start)
        XCTAssertEqual(events.count, cases.count)
        for (event, (label, _, want)) in zip(events, cases) {
            guard case .credentialUsed(let use) = event.event.payload else {
                XCTFail("\(label): not recorded as a use")
                continue
            }
            XCTAssertEqual(use.denial, want, label)
            XCTAssertEqual(use.operation, .read, label)
            XCTAssertEqual(use.credential != 0, want == nil, label)
        }
        let row = try t.row(key.id)
        XCTAssertEqual(row.used - row0.used, UInt64(attributed.used))
        XCTAssertEqual(row.denied - row0.denied, UInt64(attributed.denied))
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }

    func testEveryOneCharacterTypoIsRejectedWithoutALookup() throws {
        let secret = key.secret!
        var checksumFailures = 0
        for i in SecretFormat.prefixLength..<SecretFormat.length {
            let mistyped = typo(secret, at: i)
            guard mistyped != secret else { continue }
            switch AuthorizationHeader.parse("Apikey " + mistyped) {
            case .success: XCTFail("typo at \(i) accepted")
            case .failure(let reason):
                XCTAssertEqual(reason, .badChecksum, "typo at \(i)")
                checksumFailures += 1
            }
        }
        XCTAssertEqual(checksumFailures, SecretFormat.bodyLength + SecretFormat.checksumLength)
        // Swapping two adjacent different characters is caught too.
        var chars = Array(secret)
        let i = (SecretFormat.prefixLength..<(SecretFormat.length - 1)).first { chars[$0] != chars[$0 + 1] }!
        chars.swapAt(i, i + 1)
        XCTAssertEqual(try t.check("Apikey " + String(chars), World.bridge, .read).denial, .badChecksum)
    }

    func testDeniedUsesOfARealKeyAreCountedAgainstIt() throws {
        let scoped = try t.create(.staticKey, .read)
        let header = "Apikey " + scoped.secret!
        for _ in 0..<3 { assertDenied(try t.check(header, World.bridge, .read), .projectAccessMissing) }
        try t.ledger.administration.grantAccess(World.acme, credential: scoped.id, project: World.bridge, role: .viewer, as: World.alice)
        t.clock.advance(seconds: 30)
        for _ in 0..<2 { assertAllowed(try t.check(header, World.bridge, .read)) }
        assertDenied(try t.check(header, World.bridge, .write), .readOnlyScope)
        let row = try t.row(scoped.id)
        XCTAssertEqual(row.used, 2)
        XCTAssertEqual(row.denied, 4)
        XCTAssertEqual(row.lastUsed, t.clock.now())
        let usage = try t.ledger.audit.withState { state -> (UsageRecordView) in
            let record = try state.credential(publicID: scoped.id)!
            let u = try state.usage(credential: record.number)
            return UsageRecordView(used: u.used, denied: u.denied, lastDenied: u.lastDenied, firstUsed: u.firstUsed)
        }
        XCTAssertEqual(usage.used, 2)
        XCTAssertEqual(usage.denied, 4)
        XCTAssertEqual(usage.firstUsed, t.clock.now())
        XCTAssertEqual(usage.lastDenied, t.clock.now())
    }
}

struct UsageRecordView {
    var used: UInt64
    var denied: UInt64
    var lastDenied: Timestamp
    var firstUsed: Timestamp
}
