import XCTest

import CredLedgerCore
import CredLedgerProjections
import Foundation

final class SecretFormatTests: XCTestCase {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Bitwise CRC-32 (IEEE, reflected 0xEDB88320), written here independently of the table-driven one.
    private func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// Fixed-width 6-digit big-endian base62 over 0-9A-Za-z.
    private func base62(_ value: UInt32) -> [UInt8] {
        var v = value
        var out = [UInt8](repeating: 0, count: 6)
        for i in (0..<6).reversed() {
            out[i] = Self.alphabet[Int(v % 62)]
            v /= 62
        }
        XCTAssertEqual(v, 0)
        return out
    }

    private func validate(_ s: [UInt8], _ kinds: [SecretKind] = SecretKind.allCases) -> (kind: SecretKind?, problem: DenialReason?) {
        s.withUnsafeBytes { SecretFormat.validate($0, expecting: kinds) }
    }

    func testConstants() throws {
        XCTAssertEqual(SecretFormat.length, 46)
        XCTAssertEqual(SecretFormat.bodyLength, 36)
        XCTAssertEqual(SecretFormat.checksumLength, 6)
        XCTAssertEqual(SecretKind.allCases.map(\.prefix), ["cxk_", "cxs_", "cxa_", "cxr_", "cxo_"])
        // 36 base62 digits carry floor(36 · log2 62) = 214 bits.
        XCTAssertEqual(Int((36 * log2(62.0)).rounded(.down)), 214)
    }

    func testGeneratedSecretsHaveTheDocumentedShape() throws {
        let random = SeededRandom(seed: 2026)
        for kind in SecretKind.allCases {
            for _ in 0..<200 {
                let secret = try SecretFormat.generate(kind, using: random)
                let bytes = Array(secret.utf8)
                XCTAssertEqual(bytes.count, 46)
                XCTAssertTrue(secret.hasPrefix(kind.prefix))
                XCTAssertTrue(bytes[4..<40].allSatisfy(Self.alphabet.contains), secret)
                XCTAssertEqual(Array(bytes[40..<46]), base62(crc32(bytes[0..<40])), "checksum of \(secret)")
                let result = SecretFormat.validate(secret, expecting: [kind])
                XCTAssertEqual(result.kind, kind)
                XCTAssertNil(result.problem)
                XCTAssertNil(validate(bytes).problem)
            }
        }
    }

    func testChecksumAgainstPythonZlib() throws {
        let random = SeededRandom(seed: 5)
        let secrets = try (0..<20).map { _ in try SecretFormat.generate(.apiKey, using: random) }
        let script = """
            import sys, zlib
            A = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
            for s in sys.stdin.read().split():
                c = zlib.crc32(s[:40].encode()); d = ''
                for _ in range(6): d = A[c % 62] + d; c //= 62
                print('ok' if d == s[40:] else 'BAD ' + s)
            """
        XCTAssertEqual(try ExternalOracle.python(script, input: secrets.joined(separator: "\n")), Array(repeating: "ok", count: 20))
    }

    func testEverySingleCharacterSubstitutionIsABadChecksum() throws {
        let secret = Array(try SecretFormat.generate(.apiKey, using: SeededRandom(seed: 1)).utf8)
        for position in 4..<46 {
            for c in Self.alphabet where c != secret[position] {
                var typo = secret
                typo[position] = c
                let result = validate(typo)
                XCTAssertEqual(result.problem, .badChecksum, "position \(position) → \(UnicodeScalar(c))")
                XCTAssertEqual(result.kind, .apiKey)
            }
        }
    }

    func testEveryAdjacentTranspositionIsABadChecksum() throws {
        let random = SeededRandom(seed: 3)
        for _ in 0..<20 {
            let secret = Array(try SecretFormat.generate(.clientSecret, using: random).utf8)
            for i in 4..<45 where secret[i] != secret[i + 1] {
                var typo = secret
                typo.swapAt(i, i + 1)
                XCTAssertEqual(validate(typo).problem, .badChecksum, "swap \(i)")
            }
        }
    }

    func testNonAlphabetCharacterIsMalformed() throws {
        let secret = Array(try SecretFormat.generate(.accessToken, using: SeededRandom(seed: 2)).utf8)
        for position in 4..<46 {
            for c: UInt8 in [0x2D, 0x5F, 0x2B, 0x2F, 0x3D, 0x20, 0x00, 0xC3] {
                var bad = secret
                bad[position] = c
                XCTAssertEqual(validate(bad).problem, .malformedHeader)
            }
        }
    }

    /// The word-wise alphabet check: every byte value at every body and checksum position is malformed exactly when it is
    /// outside the alphabet (a base62 byte there is a checksum question), whichever bytes sit beside it; a secret
    /// whose every body byte is one character (each alphabet border, each neighbour of a range) is well-formed or
    /// malformed as that character is.
    func testEveryByteValueAtEveryBodyPositionIsMalformedExactlyOutsideTheAlphabet() throws {
        let secret = Array(try SecretFormat.generate(.accessToken, using: SeededRandom(seed: 21)).utf8)
        for position in 4..<46 {
            for value in 0...255 {
                var changed = secret
                changed[position] = UInt8(value)
                let problem = changed.withUnsafeBytes { SecretFormat.validate($0, expecting: .accessToken) }.problem
                if Self.alphabet.contains(UInt8(value)) {
                    XCTAssertNotEqual(problem, .malformedHeader, "position \(position) → \(value)")
                } else {
                    XCTAssertEqual(problem, .malformedHeader, "position \(position) → \(value)")
                }
            }
        }
        for value in 0...255 {
            let body = [UInt8](repeating: UInt8(value), count: 36)
            let prefix = Array("cxa_".utf8) + body
            let whole = prefix + base62(crc32(prefix))
            let problem = whole.withUnsafeBytes { SecretFormat.validate($0, expecting: .accessToken) }.problem
            XCTAssertEqual(problem == nil, Self.alphabet.contains(UInt8(value)), "every body byte \(value)")
        }
    }

    func testWrongPrefixOrLengthIsMalformed() throws {
        let random = SeededRandom(seed: 9)
        let key = try SecretFormat.generate(.apiKey, using: random)
        let bytes = Array(key.utf8)
        // The prefix must be one of the expected kinds.
        XCTAssertEqual(SecretFormat.validate(key, expecting: [.clientSecret, .accessToken]).problem, .malformedHeader)
        XCTAssertNil(SecretFormat.validate(key, expecting: [.clientSecret, .apiKey]).problem)
        XCTAssertEqual(SecretFormat.validate(key, expecting: []).problem, .malformedHeader)
        for (i, c) in [(0, "C"), (1, "X"), (2, "z"), (3, "-"), (0, "d")] as [(Int, Character)] {
            var bad = bytes
            bad[i] = c.asciiValue!
            XCTAssertEqual(validate(bad).problem, .malformedHeader, "byte \(i) = \(c)")
            XCTAssertNil(validate(bad).kind)
        }
        XCTAssertEqual(validate(Array(bytes.dropLast())).problem, .malformedHeader)
        XCTAssertEqual(validate(bytes + [0x41]).problem, .malformedHeader)
        XCTAssertEqual(validate([]).problem, .malformedHeader)
        XCTAssertEqual(SecretFormat.validate("Apikey " + key, expecting: [.apiKey]).problem, .malformedHeader)
        XCTAssertEqual(SecretFormat.validate(String(key.dropFirst()), expecting: [.apiKey]).problem, .malformedHeader)
        // Each kind is recognised by its own letter only.
        for kind in SecretKind.allCases {
            let s = try SecretFormat.generate(kind, using: random)
            for other in SecretKind.allCases where other != kind {
                XCTAssertEqual(SecretFormat.validate(s, expecting: [other]).problem, .malformedHeader)
            }
        }
    }

    func testSeededGenerationIsDeterministic() throws {
        for kind in SecretKind.allCases {
            let a = try SecretFormat.generate(kind, using: SeededRandom(seed: 77))
            XCTAssertEqual(a, try SecretFormat.generate(kind, using: SeededRandom(seed: 77)))
            XCTAssertNotEqual(a, try SecretFormat.generate(kind, using: SeededRandom(seed: 78)))
        }
        let random = SeededRandom(seed: 77)
        XCTAssertNotEqual(try SecretFormat.generate(.apiKey, using: random), try SecretFormat.generate(.apiKey, using: random))
    }

    /// Rejection sampling: every base62 digit equally likely (plain `byte % 62` would favour 0-7 by 25 %).
    func testBodyDigitsAreUniform() throws {
        let random = SeededRandom(seed: 11)
        var counts = [Int](repeating: 0, count: 128)
        let secrets = 2_000
        for _ in 0..<secrets {
            for c in try SecretFormat.generate(.refreshToken, using: random).utf8.dropFirst(4).prefix(36) { counts[Int(c)] += 1 }
        }
        let expected = Double(secrets * 36) / 62
        for c in Self.alphabet {
            XCTAssertEqual(Double(counts[Int(c)]), expected, accuracy: expected * 0.12, "digit \(UnicodeScalar(c))")
        }
        let firstEight = Self.alphabet.prefix(8).map { counts[Int($0)] }.reduce(0, +)
        let lastEight = Self.alphabet.suffix(8).map { counts[Int($0)] }.reduce(0, +)
        XCTAssertEqual(Double(firstEight) / Double(lastEight), 1, accuracy: 0.08)
    }

    func testDisplayPrefixRevealsOnlyPrefixAndSixCharacters() throws {
        let random = SeededRandom(seed: 4)
        for kind in SecretKind.allCases {
            let secret = try SecretFormat.generate(kind, using: random)
            let shown = SecretFormat.displayPrefix(of: secret)
            XCTAssertEqual(shown.utf8.count, 10)
            XCTAssertEqual(shown, String(secret.prefix(10)))
            XCTAssertTrue(shown.hasPrefix(kind.prefix))
            XCTAssertFalse(shown.contains(String(secret.dropFirst(10).prefix(4))))
        }
    }

    /// displayPrefix is a public function over any String: it must not trap on input that is not a generated secret.
    func testDisplayPrefixOfNonASCIIInputDoesNotTrap() throws {
        XCTAssertTrue(runsWithoutTrapping { _ = SecretFormat.displayPrefix(of: "cxk_abcde€fghij") })
        XCTAssertTrue(runsWithoutTrapping { _ = SecretFormat.displayPrefix(of: "short") })
    }

    func testHashIsSHA256OfTheWholeString() throws {
        let random = SeededRandom(seed: 6)
        let secrets = try (0..<5).map { _ in try SecretFormat.generate(.apiKey, using: random) }
        for s in secrets {
            XCTAssertEqual(SecretFormat.hash(s), SHA256.hash(Array(s.utf8), implementation: .portable))
            XCTAssertNotEqual(SecretFormat.hash(s), SHA256.hash(Array(s.utf8.dropFirst(4)), implementation: .portable))
        }
        let script = "import sys, hashlib\nfor s in sys.stdin.read().split(): print(hashlib.sha256(s.encode()).hexdigest())"
        XCTAssertEqual(try ExternalOracle.python(script, input: secrets.joined(separator: "\n")), secrets.map { SecretFormat.hash($0).hex })
    }

    /// The worked example and the scanner regex of docs/SECRETS.md.
    func testDocumentedExample() throws {
        let secret = "cxk_7U2DojALfoIdbHn4WNoqcNBF4qKA7pzv1NUM1D1S98"
        XCTAssertEqual(try SecretFormat.generate(.apiKey, using: SeededRandom(seed: 1)), secret)
        XCTAssertEqual(CRC32.checksum(Array(secret.utf8.prefix(40))), 0x4213_764E)
        XCTAssertEqual(Base62.encode(0x4213_764E, width: 6), "1D1S98")
        XCTAssertEqual(SecretFormat.hash(secret).hex, "42e8c3ecbf6e96243b241581a65d9d2a8684667e9f616dfc7b003b7ab505f787")
        XCTAssertEqual(Keys.hashPrefix(SecretFormat.hash(secret)).hex, "42e8c3ecbf6e96243b241581a65d9d2a")
        XCTAssertEqual(SecretFormat.displayPrefix(of: secret), "cxk_7U2Doj")
        XCTAssertNil(SecretFormat.validate(secret, expecting: [.apiKey]).problem)

        let regex = try NSRegularExpression(pattern: "(?<![0-9A-Za-z_])cx[ksaro]_[0-9A-Za-z]{42}(?![0-9A-Za-z])")
        let random = SeededRandom(seed: 12)
        var text = "Authorization: Apikey \(secret)\n"
        var planted = [secret]
        for kind in SecretKind.allCases {
            let s = try SecretFormat.generate(kind, using: random)
            planted.append(s)
            text += "token=\(s)&x=1 \"\(s.dropLast())\" cxc_\(s.dropFirst(4)) \(s)A\n"
        }
        let found = regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range, in: text)!]) }
        XCTAssertEqual(found, planted, "exactly the complete secrets, not truncated, longer or client-id lookalikes")
    }

    func testIdentifiers() throws {
        let random = SeededRandom(seed: 8)
        let lower = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        for _ in 0..<100 {
            let cred = try Identifier.credentialID(using: random)
            XCTAssertTrue(cred.hasPrefix("cred_"))
            XCTAssertEqual(cred.utf8.count, 21)
            XCTAssertTrue(cred.utf8.dropFirst(5).allSatisfy(Self.alphabet.contains))
            let client = try Identifier.clientID(using: random)
            XCTAssertTrue(client.hasPrefix("cxc_"))
            XCTAssertEqual(client.utf8.count, 28)
            XCTAssertTrue(client.utf8.dropFirst(4).allSatisfy(Self.alphabet.contains))
            let user = try Identifier.serviceUserID(using: random)
            XCTAssertEqual(user.utf8.count, 12)
            XCTAssertTrue(user.utf8.allSatisfy(lower.contains))
            // A client id is never a valid secret (no checksum, different length).
            XCTAssertEqual(SecretFormat.validate(client, expecting: SecretKind.allCases).problem, .malformedHeader)
        }
        XCTAssertEqual(try Identifier.credentialID(using: SeededRandom(seed: 1)), try Identifier.credentialID(using: SeededRandom(seed: 1)))
    }

    /// Gives `stuckBytes` bytes of `stuckOn` (a broken source), then the seeded stream.
    private final class StuckThenSeeded: RandomBytesGenerator, @unchecked Sendable {
        private let lock = NSLock()
        private var stuckBytes: Int
        private let stuckOn: UInt8
        private let seeded: SeededRandom

        init(stuckBytes: Int, on byte: UInt8 = 0xFF, seed: UInt64 = 1) {
            (self.stuckBytes, stuckOn, seeded) = (stuckBytes, byte, SeededRandom(seed: seed))
        }

        func fill(_ buffer: UnsafeMutableRawBufferPointer) {
            lock.withLock {
                let stuck = min(stuckBytes, buffer.count)
                for i in 0..<stuck { buffer[i] = stuckOn }
                stuckBytes -= stuck
                if stuck < buffer.count { seeded.fill(UnsafeMutableRawBufferPointer(rebasing: buffer[stuck...])) }
            }
        }
    }

    /// A generator that gives only bytes the rejection sampling throws away (≥ 248, stuck on 0xFF) is refused with
    /// `random_stuck` after 64 rounds instead of being waited on forever; one that recovers within them is used.
    func testAGeneratorStuckAboveTheSamplingLimitIsRefusedNotWaitedOn() throws {
        for byte: UInt8 in [0xFF, 248] {
            for kind in SecretKind.allCases {
                XCTAssertThrowsError(try SecretFormat.generate(kind, using: StuckThenSeeded(stuckBytes: .max, on: byte))) { error in
                    XCTAssertEqual((error as? LedgerError)?.code, "random_stuck", "\(kind)")
                    XCTAssertEqual((error as? LedgerError)?.kind, .integrity)
                }
            }
            let stuck = StuckThenSeeded(stuckBytes: .max, on: byte)
            XCTAssertThrowsError(try Identifier.credentialID(using: stuck))
            XCTAssertThrowsError(try Identifier.clientID(using: stuck))
            // 0xFF is above the service user alphabet's limit (252) too; 248 is below it, so that one is usable.
            if byte >= 252 { XCTAssertThrowsError(try Identifier.serviceUserID(using: stuck)) }
        }
        // The bound is 64 rounds: stuck through 63 rounds of a secret's 48-byte draws, then working, gives a secret
        // (the seeded stream's, as if those rounds had not happened); stuck through all 64 does not.
        let recovered = try SecretFormat.generate(.apiKey, using: StuckThenSeeded(stuckBytes: 63 * 48, seed: 5))
        XCTAssertEqual(recovered, try SecretFormat.generate(.apiKey, using: SeededRandom(seed: 5)))
        XCTAssertThrowsError(try SecretFormat.generate(.apiKey, using: StuckThenSeeded(stuckBytes: 64 * 48, seed: 5)))
        let id = try Identifier.credentialID(using: StuckThenSeeded(stuckBytes: 63 * 24, seed: 6))
        XCTAssertEqual(id, try Identifier.credentialID(using: SeededRandom(seed: 6)))
        XCTAssertThrowsError(try Identifier.credentialID(using: StuckThenSeeded(stuckBytes: 64 * 24, seed: 6)))
    }

    /// The bounded sampling draws exactly what the unbounded loop did (the same 48, 24 or count + 8 bytes a round, the
    /// same bytes kept), so every seeded ledger keeps its secrets and ids: compared with that loop, written here.
    func testBoundedSamplingDrawsWhatTheUnboundedLoopDrew() throws {
        func reference(_ count: Int, _ alphabet: [UInt8], round: Int, _ random: SeededRandom) -> String {
            let limit = 256 - 256 % alphabet.count
            var out: [UInt8] = []
            while out.count < count {
                for b in random.bytes(round) where Int(b) < limit && out.count < count { out.append(alphabet[Int(b) % alphabet.count]) }
            }
            return String(decoding: out, as: UTF8.self)
        }
        let lower = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        for seed in UInt64(0)..<300 {
            let (a, b) = (SeededRandom(seed: seed), SeededRandom(seed: seed))
            for kind in SecretKind.allCases {
                let secret = try SecretFormat.generate(kind, using: a)
                XCTAssertEqual(String(secret.dropFirst(4).prefix(36)), reference(36, Self.alphabet, round: 48, b), "seed \(seed)")
            }
            XCTAssertEqual(try Identifier.credentialID(using: a), "cred_" + reference(16, Self.alphabet, round: 24, b))
            XCTAssertEqual(try Identifier.clientID(using: a), "cxc_" + reference(24, Self.alphabet, round: 32, b))
            XCTAssertEqual(try Identifier.serviceUserID(using: a), reference(12, lower, round: 24, b))
        }
    }
}
