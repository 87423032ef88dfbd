import XCTest

import CredLedgerCrypto
import TestSupport

final class HMACSHA256Tests: XCTestCase {
    func testRFC4231TestCases() {
        let longKey = [UInt8](repeating: 0xaa, count: 131)
        let cases: [(name: String, key: [UInt8], data: [UInt8], mac: String)] = [
            ("1", [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            ("2", Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ("3", [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            ("4", Array(1...25), [UInt8](repeating: 0xcd, count: 50),
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            // RFC 4231 publishes only the first 128 bits for case 5.
            ("5", [UInt8](repeating: 0x0c, count: 20), Array("Test With Truncation".utf8),
             "a3b6167473100ee06e0c796c2955552b"),
            ("6", longKey, Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            ("7", longKey,
             Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ]
        for testCase in cases {
            let mac = HMACSHA256.authenticationCode(key: testCase.key, message: testCase.data).hex
            XCTAssertEqual(String(mac.prefix(testCase.mac.count)), testCase.mac, "RFC 4231 case \(testCase.name)")
        }
    }

    func testMatchesPythonHMAC() throws {
        let random = SeededRandom(seed: 0x484D_4143)
        let keyLengths = [0, 1, 20, 31, 32, 63, 64, 65, 100, 131, 200]
        let messageLengths = [0, 1, 55, 64, 65, 200, 1000]
        var pairs: [(key: [UInt8], message: [UInt8])] = []
        for keyLength in keyLengths {
            for messageLength in messageLengths {
                pairs.append((random.bytes(keyLength), random.bytes(messageLength)))
            }
        }
        let script = """
            import sys, hmac, hashlib
            for line in sys.stdin.read().split("\\n")[:-1]:
                k, m = line.split(" ")
                print(hmac.new(bytes.fromhex(k), bytes.fromhex(m), hashlib.sha256).hexdigest())
            """
        // An empty key or message is an empty field; the space still separates the two.
        let lines = pairs.map { pair in "\(pair.key.hex) \(pair.message.hex)" }
        let python = try ExternalOracle.python(script, lines: lines)
        XCTAssertEqual(python.count, pairs.count)
        guard python.count == pairs.count else { return }
        for (index, pair) in pairs.enumerated() {
            let mac = HMACSHA256.authenticationCode(key: pair.key, message: pair.message)
            XCTAssertEqual(mac.hex, python[index], "key \(pair.key.count) B, message \(pair.message.count) B")
        }
    }

    func testKeyChangesTheCode() {
        let message = Array("event".utf8)
        let a = HMACSHA256.authenticationCode(key: [1, 2, 3], message: message)
        let b = HMACSHA256.authenticationCode(key: [1, 2, 4], message: message)
        XCTAssertNotEqual(a, b)
        XCTAssertNotEqual(a, SHA256.hash(message))
    }
}
