import XCTest

import CredLedgerCrypto

final class Base62Tests: XCTestCase {
    func testAlphabet() {
        XCTAssertEqual(String(decoding: Base62.alphabet, as: UTF8.self),
                       "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        for byte in UInt8.min...UInt8.max {
            XCTAssertEqual(Base62.isValid(byte), Base62.alphabet.contains(byte), "byte \(byte)")
        }
    }

    func testKnownEncodings() {
        XCTAssertEqual(Base62.encode(0, width: 6), "000000")
        XCTAssertEqual(Base62.encode(61, width: 6), "00000z")
        XCTAssertEqual(Base62.encode(62, width: 6), "000010")
        XCTAssertEqual(Base62.encode(UInt32.max, width: 6), "4gfFC3")
        XCTAssertEqual(Base62.encode(35, width: 1), "Z")
        XCTAssertEqual(Base62.encode(0, width: 0), "0", "zero still needs one digit")
        XCTAssertEqual(Base62.encode(UInt32.max, width: 8), "004gfFC3")
        XCTAssertEqual(Base62.encode(62, width: 1), "10", "never truncated")
    }

    func testDecoding() {
        XCTAssertEqual(Base62.decodeUInt32("4gfFC3"), UInt32.max)
        XCTAssertEqual(Base62.decodeUInt32("0000004gfFC3"), UInt32.max)
        XCTAssertEqual(Base62.decodeUInt32("z"), 61)
        XCTAssertEqual(Base62.decodeUInt32("10"), 62)
        XCTAssertNil(Base62.decodeUInt32("4gfFC4"), "UInt32.max + 1 overflows")
        XCTAssertNil(Base62.decodeUInt32("zzzzzz"))
        XCTAssertNil(Base62.decodeUInt32("1000000"))
        XCTAssertNil(Base62.decodeUInt32(""))
        XCTAssertNil(Base62.decodeUInt32("12-4"))
        XCTAssertNil(Base62.decodeUInt32("é"))
        let text = "xx00001Zyy"
        let slice = text.dropFirst(2).dropLast(2)
        XCTAssertEqual(Base62.decodeUInt32(slice), 62 + 35, "works on a Substring inside a larger string")
    }

    func testRoundTrips() {
        let random = SeededRandom(seed: 62)
        var values: [UInt32] = [0, 1, 61, 62, 3843, 3844, 238_327, 238_328, UInt32.max - 1, UInt32.max]
        for _ in 0..<2000 { values.append(UInt32(truncatingIfNeeded: random.next())) }
        for value in values {
            let text = Base62.encode(value, width: 6)
            XCTAssertEqual(text.utf8.count, 6)
            XCTAssertTrue(text.utf8.allSatisfy(Base62.isValid))
            XCTAssertEqual(Base62.decodeUInt32(text[...]), value, text)
        }
    }
}
