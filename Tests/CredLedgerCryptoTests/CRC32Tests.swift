import XCTest

import CredLedgerCrypto
import TestSupport

final class CRC32Tests: XCTestCase {
    func testCheckValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([]), 0)
        XCTAssertEqual(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
    }

    func testMatchesPythonZlib() throws {
        let random = SeededRandom(seed: 0xC8C3_2000)
        let inputs = (0...70).map { random.bytes($0) } + [random.bytes(1000), random.bytes(4099), random.bytes(65537)]
        let script = """
            import sys, zlib
            for line in sys.stdin.read().split("\\n")[:-1]:
                print(zlib.crc32(bytes.fromhex(line)))
            """
        let python = try ExternalOracle.python(script, lines: inputs.map(\.hex))
        XCTAssertEqual(python.count, inputs.count)
        guard python.count == inputs.count else { return }
        for (index, input) in inputs.enumerated() {
            XCTAssertEqual(String(CRC32.checksum(input)), python[index], "length \(input.count)")
        }
    }

    func testContinuingEqualsWhole() {
        let data = SeededRandom(seed: 5).bytes(257)
        let whole = CRC32.checksum(data)
        data.withUnsafeBytes { raw in
            for split in 0...data.count {
                let first = CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<split]))
                let both = CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[split...]), continuing: first)
                XCTAssertEqual(both, whole, "split \(split)")
            }
            // Unaligned start exercises the unaligned 8-byte loads.
            let tail = Array(data[3...])
            XCTAssertEqual(CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[3...])), CRC32.checksum(tail))
        }
    }
}
