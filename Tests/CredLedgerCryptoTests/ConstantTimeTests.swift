import XCTest

import CredLedgerCrypto

final class ConstantTimeTests: XCTestCase {
    /// Every length to 40 (the eight-byte words and the tail), equal and with each single byte changed.
    func testEveryPositionOfEveryLength() {
        for length in 0...40 {
            let a = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let equal = a.withUnsafeBytes { x in a.withUnsafeBytes { y in constantTimeEquals(x, y) } }
            XCTAssertTrue(equal, "length \(length)")
            for position in 0..<length {
                var b = a
                b[position] ^= 0x01 << UInt8(position % 8)
                let same = a.withUnsafeBytes { x in b.withUnsafeBytes { y in constantTimeEquals(x, y) } }
                XCTAssertFalse(same, "length \(length), byte \(position)")
            }
        }
    }

    func testTruthTable() {
        let cases: [(a: [UInt8], b: [UInt8], equal: Bool)] = [
            ([], [], true),
            ([1], [1], true),
            ([1, 2, 3], [1, 2, 3], true),
            ([1, 2, 3], [0, 2, 3], false),
            ([1, 2, 3], [1, 9, 3], false),
            ([1, 2, 3], [1, 2, 4], false),
            ([1, 2, 3], [1, 2], false),
            ([1, 2], [1, 2, 3], false),
            ([], [0], false),
            ([0x80], [0x00], false),
        ]
        for testCase in cases {
            XCTAssertEqual(constantTimeEquals(testCase.a, testCase.b), testCase.equal, "\(testCase.a) vs \(testCase.b)")
            let raw = testCase.a.withUnsafeBytes { a in testCase.b.withUnsafeBytes { b in constantTimeEquals(a, b) } }
            XCTAssertEqual(raw, testCase.equal)
        }
    }

    func testDigests() {
        let digest = SHA256.hash("x")
        XCTAssertTrue(constantTimeEquals(digest, SHA256.hash("x")))
        XCTAssertFalse(constantTimeEquals(digest, SHA256.hash("y")))
        for index in 0..<32 {
            var bytes = digest.bytes
            bytes[index] ^= 0x01
            XCTAssertFalse(constantTimeEquals(digest, SHA256Digest(bytes: bytes)!), "byte \(index)")
        }
    }
}
