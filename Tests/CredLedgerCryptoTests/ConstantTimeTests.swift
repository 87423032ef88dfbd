import XCTest

import CredLedgerCrypto

final class ConstantTimeTests: XCTestCase {
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
