import Foundation
import XCTest

@testable import CredLedgerCrypto
import TestSupport

/// Malformed keys and signatures from a seeded generator: nothing crashes, nothing forged verifies, and whatever
/// is accepted as a key is a canonical encoding of a point of large order.
final class Ed25519FuzzTests: XCTestCase {
    private let random = SeededRandom(seed: 0x4655_5a5a_4544)

    func testRandomPublicKeysAreCanonicalOrRefused() throws {
        let witness = try Ed25519.PrivateKey(seed: random.bytes(32))
        let message = Array("fuzz".utf8)
        let signature = witness.signature(for: message)
        var accepted = 0
        var reasons: [Ed25519.KeyError.Reason: Int] = [:]
        for trial in 0..<1500 {
            var bytes = random.bytes(32)
            // Every third trial with a y ≥ p (the top 250 bits all ones), which random bytes almost never give.
            if trial % 3 == 0 {
                for i in 1..<31 { bytes[i] = 0xFF }
                bytes[31] = bytes[31] | 0x7F
                bytes[0] |= 0xED
            }
            do {
                let key = try Ed25519.PublicKey(rawRepresentation: bytes)
                accepted += 1
                XCTAssertEqual(key.rawRepresentation, bytes)
                guard case .success(let point) = EdwardsPoint.decode(bytes) else { XCTFail("accepted but not decodable"); continue }
                XCTAssertEqual(point.encoded, bytes, "accepted keys are canonical encodings")
                XCTAssertFalse(point.hasSmallOrder)
                XCTAssertFalse(key.isValidSignature(signature, for: message), "a random key verifies another key's signature")
            } catch let error as Ed25519.KeyError {
                reasons[error.reason, default: 0] += 1
            }
        }
        // Roughly half of all y lie on the curve; the forced y ≥ p trials are all refused as non-canonical.
        XCTAssertGreaterThan(accepted, 300, "\(reasons)")
        XCTAssertGreaterThan(reasons[.notOnCurve] ?? 0, 300, "\(reasons)")
        XCTAssertGreaterThanOrEqual(reasons[.nonCanonicalEncoding] ?? 0, 500, "\(reasons)")
    }

    func testRandomAndMutatedSignaturesAreRejected() throws {
        let key = try Ed25519.PrivateKey(seed: random.bytes(32))
        let other = try Ed25519.PrivateKey(seed: random.bytes(32))
        let message = random.bytes(100)
        let signature = key.signature(for: message)
        XCTAssertTrue(key.publicKey.isValidSignature(signature, for: message))

        var candidates: [(String, [UInt8])] = []
        for _ in 0..<300 { candidates.append(("random 64 bytes", random.bytes(64))) }
        for _ in 0..<150 {
            // S forced below 2^252 < L, so decoding R and the whole equation run.
            var bytes = random.bytes(64)
            bytes[63] &= 0x0F
            candidates.append(("random R, canonical S", bytes))
        }
        for _ in 0..<100 {
            var bytes = signature
            for _ in 0..<(1 + Int(random.next() % 4)) { bytes[Int(random.next() % 64)] = UInt8(truncatingIfNeeded: random.next()) }
            if bytes != signature { candidates.append(("bytes replaced", bytes)) }
        }
        let otherSignature = other.signature(for: message)
        candidates.append(("other key's signature", otherSignature))
        candidates.append(("R of another signature", Array(otherSignature[0..<32] + signature[32..<64])))
        candidates.append(("S of another signature", Array(signature[0..<32] + otherSignature[32..<64])))
        candidates.append(("R and S swapped", Array(signature[32..<64] + signature[0..<32])))
        candidates.append(("all zero", [UInt8](repeating: 0, count: 64)))
        candidates.append(("all ones", [UInt8](repeating: 0xFF, count: 64)))
        candidates.append(("identity R, zero S", [1] + [UInt8](repeating: 0, count: 63)))
        for length in [0, 1, 31, 32, 33, 63, 65, 96, 128] {
            candidates.append(("\(length) bytes", Array((signature + signature).prefix(length))))
        }
        for (label, candidate) in candidates {
            XCTAssertFalse(key.publicKey.isValidSignature(candidate, for: message), "\(label): \(candidate.hex)")
        }
        // The right signature for another message, or the empty one.
        XCTAssertFalse(key.publicKey.isValidSignature(signature, for: []))
        XCTAssertFalse(key.publicKey.isValidSignature(signature, for: message.dropLast()))
    }

    func testRandomSeedsSignAndVerify() throws {
        // Any 32 bytes are a seed; each key verifies its own signatures and no other key's.
        var previous: Ed25519.PrivateKey?
        for index in 0..<12 {
            let seed = index == 0 ? [UInt8](repeating: 0, count: 32) : index == 1 ? [UInt8](repeating: 0xFF, count: 32) : random.bytes(32)
            let key = try Ed25519.PrivateKey(seed: seed)
            let message = random.bytes(Int(random.next() % 200))
            let signature = key.signature(for: message)
            XCTAssertEqual(signature.count, 64)
            XCTAssertTrue(try Ed25519.PublicKey(rawRepresentation: key.publicKey.rawRepresentation).isValidSignature(signature, for: message))
            if let previous {
                XCTAssertFalse(previous.publicKey.isValidSignature(signature, for: message))
            }
            previous = key
        }
    }
}
