@testable import CredLedger
import CredLedgerCore
import XCTest

/// Issue 15, the decision's CPU: the hot path hashes the header's secret in place (`AuthorizationHeader.presentedSecret`)
/// instead of building its `String`, and checks row strings for ASCII eight bytes at a time (`RowView.isASCII`). Each
/// must answer exactly what the reference answers, on hostile input too.
final class DecisionHotPathTests: XCTestCase {
    /// Headers around a valid key and a valid token: well-formed ones in every scheme spelling, every truncation, a
    /// byte changed at every position, whitespace and non-ASCII variants, the wrong kind for the scheme.
    private func hostileHeaders() throws -> [String] {
        let key = try SecretFormat.generate(.apiKey, using: SeededRandom(seed: 15))
        let token = try SecretFormat.generate(.accessToken, using: SeededRandom(seed: 16))
        var headers = try ["", " ", "Apikey", "Apikey ", "Bearer", key, "Basic " + key, "Apikey\t" + key, "Apikey " + key + " " + key,
                       "Apikey " + key + "\r\nX: 1", "Apikey " + key + "\u{0}", "Ápikey " + key, "Apikey " + key + "é",
                       "Bearer " + key, "Apikey " + token, "Apikey " + SecretFormat.generate(.clientSecret, using: SeededRandom(seed: 1)),
                       String(repeating: " ", count: 300) + "Apikey " + key, "Apikey " + String(repeating: "A", count: 300)]
        for (scheme, secret) in [("Apikey", key), ("apikey", key), ("APIKEY", key), ("Bearer", token), ("bEaReR", token)] {
            headers.append(scheme + " " + secret)
            headers.append("   " + scheme + "    " + secret + "  ")
        }
        for base in ["Apikey " + key, "Bearer " + token] {
            let bytes = Array(base.utf8)
            for n in 0...bytes.count { headers.append(String(decoding: bytes.prefix(n), as: UTF8.self)) }
            for i in bytes.indices {
                for replacement: UInt8 in [0x20, 0x41, 0x5F, 0x7A, 0x7F] where replacement != bytes[i] {
                    var changed = bytes
                    changed[i] = replacement
                    headers.append(String(decoding: changed, as: UTF8.self))
                }
            }
        }
        return headers
    }

    func testTheSecretHashedInPlaceIsTheReferenceParseOnEveryHeader() throws {
        var accepted = (apiKey: 0, bearer: 0), refused = 0
        for header in try hostileHeaders() {
            let inPlace = AuthorizationHeader.presentedSecret(header)
            let reference = AuthorizationHeader.parse(header)
            XCTAssertEqual(inPlace, reference.map(PresentedSecret.init), "header \(header.debugDescription)")
            switch reference {
            case .success(.apiKey(let key)):
                accepted.apiKey += 1
                XCTAssertEqual(try inPlace.get(), PresentedSecret(scheme: .apiKey, hash: SHA256.hash(Array(key.utf8))))
            case .success(.bearer(let token)):
                accepted.bearer += 1
                XCTAssertEqual(try inPlace.get(), PresentedSecret(scheme: .bearer, hash: SHA256.hash(Array(token.utf8))))
            case .failure:
                refused += 1
            }
        }
        // The list holds both kinds of accepted header and many refused ones: the comparison covers each branch.
        XCTAssertGreaterThanOrEqual(accepted.apiKey, 6)
        XCTAssertGreaterThanOrEqual(accepted.bearer, 4)
        XCTAssertGreaterThan(refused, 400)
    }

    func testSameSecretUnderTheOtherSchemeIsAnotherPresentation() throws {
        // The hash alone does not decide: an API key presented as `Bearer` is refused, and the scheme is kept apart.
        let key = try SecretFormat.generate(.apiKey, using: SeededRandom(seed: 15))
        XCTAssertEqual(AuthorizationHeader.presentedSecret("Bearer " + key), .failure(.malformedHeader))
        XCTAssertNotEqual(PresentedSecret(scheme: .apiKey, hash: SHA256.hash(Array(key.utf8))),
                          PresentedSecret(scheme: .bearer, hash: SHA256.hash(Array(key.utf8))))
    }

    func testWordWiseASCIICheckFindsAHighByteAtEveryPositionOfEveryLength() {
        for length in 0...40 {
            let plain = [UInt8](repeating: 0x7F, count: length)
            XCTAssertTrue(plain.withUnsafeBytes { RowView.isASCII($0) }, "length \(length)")
            for position in 0..<length {
                for high: UInt8 in [0x80, 0xC3, 0xFF] {
                    var bytes = plain
                    bytes[position] = high
                    XCTAssertFalse(bytes.withUnsafeBytes { RowView.isASCII($0) }, "length \(length), 0x80 bit at \(position)")
                }
            }
        }
        // Unaligned views (a string inside a row starts anywhere) agree with a byte-by-byte check.
        let random = SeededRandom(seed: 42)
        let row = random.bytes(4_096).map { $0 < 8 ? $0 | 0x80 : $0 & 0x7F }
        row.withUnsafeBytes { all in
            for _ in 0..<2_000 {
                let start = Int(random.next() % 4_000), count = Int(random.next() % 96)
                let view = UnsafeRawBufferPointer(rebasing: all[start..<min(all.count, start + count)])
                XCTAssertEqual(RowView.isASCII(view), view.allSatisfy { $0 < 0x80 }, "bytes \(start)..<\(start + count)")
            }
        }
    }

    /// The header scan's word-wise checks (printable ASCII, a space in the secret) agree with the byte-by-byte ones for
    /// every byte value at every position of every length 0–24 (three words and every tail), with the other range's
    /// border next to it, and on unaligned random views.
    func testWordWiseHeaderChecksAgreeWithByteChecksAtEveryPositionOfEveryLength() {
        func printable(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }
        XCTAssertTrue(AuthorizationHeader.isPrintableASCII(UnsafeRawBufferPointer(start: nil, count: 0)))
        XCTAssertFalse(AuthorizationHeader.containsSpace(UnsafeRawBufferPointer(start: nil, count: 0)))
        for length in 1...24 {
            for base: UInt8 in [0x20, 0x7E] {
                let plain = [UInt8](repeating: base, count: length)
                for position in 0..<length {
                    for value in 0...255 {
                        var bytes = plain
                        bytes[position] = UInt8(value)
                        // A neighbour at the other border too, so a carry or borrow between bytes would show.
                        if position + 1 < length { bytes[position + 1] = value < 0x20 ? 0x7E : 0x20 }
                        bytes.withUnsafeBytes { raw in
                            XCTAssertEqual(AuthorizationHeader.isPrintableASCII(raw), printable(bytes), "\(bytes)")
                            XCTAssertEqual(AuthorizationHeader.containsSpace(raw), bytes.contains(0x20), "\(bytes)")
                        }
                    }
                }
            }
        }
        let random = SeededRandom(seed: 7)
        // Mostly printable, with spaces, control and high bytes among them.
        let noise = random.bytes(4_096).map { $0 < 8 ? $0 : $0 < 16 ? 0x20 : $0 > 250 ? $0 : 0x21 + $0 % 0x5E }
        noise.withUnsafeBytes { all in
            for _ in 0..<4_000 {
                let start = Int(random.next() % 4_000), count = Int(random.next() % 96)
                let view = UnsafeRawBufferPointer(rebasing: all[start..<min(all.count, start + count)])
                XCTAssertEqual(AuthorizationHeader.isPrintableASCII(view), printable(Array(view)), "bytes \(start)..<\(start + count)")
                XCTAssertEqual(AuthorizationHeader.containsSpace(view), view.contains(0x20), "bytes \(start)..<\(start + count)")
            }
        }
    }
}
