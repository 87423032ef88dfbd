@testable import CredLedger
import CredLedgerCore
import XCTest

/// The sink's field writers against their definitions (docs/EXPORT.md): lowercase hex, and a CSV field quoted in
/// place with its quotes doubled — with and without quotes inside, at any position in the buffer.
final class ExportSinkTests: XCTestCase {
    private func naiveHex(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes.map { String(format: "%02x", $0) }.joined().utf8)
    }

    func testHexMatchesTheDefinitionForEveryByte() {
        var sink = ExportSink(inMemory: "hex", capacity: 1024)
        let all = (0...255).map { UInt8($0) }
        all.withUnsafeBytes { sink.hex($0) }
        [UInt8]().withUnsafeBytes { sink.hex($0) }   // nothing for no bytes
        let digest = SHA256.hash([1, 2, 3])
        sink.hex(digest)
        XCTAssertEqual(sink.takeBytes(), naiveHex(all) + naiveHex(digest.bytes))
    }

    func testCSVQuotingInPlace() {
        let random = SeededRandom(seed: 21)
        let alphabet = Array("ab\",{}:x\"".utf8)
        for round in 0..<300 {
            let prefix = (0..<Int(random.next() % 20)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            // Some fields without a quote (the move-right path), some with many, some empty.
            let length = round % 10 == 0 ? 0 : Int(random.next() % 600)
            let field = (0..<length).map { _ in round % 3 == 0 ? UInt8(ascii: "q") : alphabet[Int(random.next() % UInt64(alphabet.count))] }
            var sink = ExportSink(inMemory: "csv", capacity: 16)
            sink.append(prefix)
            let mark = sink.mark
            sink.append(field)
            sink.csvQuoteTail(from: mark)
            sink.byte(0x2C)
            var expected = prefix + [0x22]
            for c in field {
                if c == 0x22 { expected.append(0x22) }
                expected.append(c)
            }
            expected += [0x22, 0x2C]
            XCTAssertEqual(sink.takeBytes(), expected, "round \(round)")
        }
    }

    /// `csvJSONString` against its definition: the JSON string (`jsonString`) with every quote doubled, for plain
    /// strings and for hostile ones (quotes, backslashes, control bytes, non-ASCII), anywhere in the buffer.
    func testCSVJSONStringIsTheJSONStringWithQuotesDoubled() {
        let random = SeededRandom(seed: 33)
        let pieces = ["a", "acme-bridge", "\"", "\\", "\n", "\u{1}", "é", "🔑", ",", "\"\"", "x\ty", ""]
        for round in 0..<400 {
            let s = (0..<Int(random.next() % 8)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            let prefix = Array("row \(round),".utf8)
            var json = ExportSink(inMemory: "json", capacity: 16)
            json.jsonString(s)
            var expected = prefix
            for c in json.takeBytes() {
                if c == 0x22 { expected.append(0x22) }
                expected.append(c)
            }
            var sink = ExportSink(inMemory: "csv", capacity: 16)
            sink.append(prefix)
            sink.csvJSONString(s)
            XCTAssertEqual(sink.takeBytes(), expected, "\(s.debugDescription)")
        }
    }
}
