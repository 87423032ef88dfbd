import Foundation
import XCTest

import CredLedgerCrypto
import TestSupport

final class SHA512Tests: XCTestCase {
    /// FIPS 180-2 appendix C / NIST CSRC example values.
    private static let knownVectors: [(message: String, digest: String)] = [
        ("", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
        ("abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"
        ),
    ]

    func testKnownVectors() {
        for (message, expected) in Self.knownVectors {
            let digest = SHA512.hash(Array(message.utf8))
            XCTAssertEqual(digest.count, 64)
            XCTAssertEqual(digest.hex, expected, "\"\(message)\"")
            // The generic entry point takes any collection: a String's UTF-8 view is not an Array.
            XCTAssertEqual(SHA512.hash(message.utf8).hex, expected, "utf8 view \"\(message)\"")
        }
    }

    func testOneMillionAInOddChunks() {
        let expected = "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"
        let source = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        for chunkSizes in [[1_000_000], [1, 3, 7, 127, 129, 255, 1009], [128], [111, 112, 113]] {
            var hasher = SHA512.Hasher()
            var fed = 0
            var index = 0
            while fed < source.count {
                let size = Swift.min(chunkSizes[index % chunkSizes.count], source.count - fed)
                hasher.update(source[fed..<(fed + size)])
                fed += size
                index += 1
            }
            XCTAssertEqual(hasher.finalize().hex, expected, "chunks \(chunkSizes)")
        }
    }

    /// Every length 0…300 (every padding case: len mod 128 below, at and above 112, one to three blocks) against
    /// Python's hashlib, through the contiguous and the element-by-element paths.
    func testEveryLengthUpTo300MatchesHashlib() throws {
        let data = SeededRandom(seed: 0x5348_4135_3132).bytes(300)
        let inputs = (0...300).map { Array(data[0..<$0]) }
        let python = try hashlib(inputs)
        for (length, input) in inputs.enumerated() {
            XCTAssertEqual(SHA512.hash(input).hex, python[length], "length \(length)")
            // A lazily mapped collection has no contiguous storage: the copying path.
            XCTAssertEqual(SHA512.hash(input.lazy.map { $0 }).hex, python[length], "non-contiguous, length \(length)")
        }
    }

    /// Random messages fed in random pieces (empty pieces included) give hashlib's digest of the whole.
    func testRandomStreamingSplitsMatchHashlib() throws {
        let random = SeededRandom(seed: 0x5354_5245_414d)
        let messages = (0..<60).map { index in random.bytes(index < 30 ? Int(random.next() % 300) : Int(random.next() % 3000)) }
        let python = try hashlib(messages)
        for (index, message) in messages.enumerated() {
            var hasher = SHA512.Hasher()
            var offset = 0
            var pieces: [Int] = []
            while offset < message.count {
                // Mostly small pieces around the block size, sometimes empty, sometimes several blocks.
                let choice = random.next() % 8
                let size = choice == 0 ? 0 : choice == 1 ? Int(random.next() % 600) : Int(random.next() % 140)
                let end = Swift.min(message.count, offset + size)
                hasher.update(message[offset..<end])
                pieces.append(end - offset)
                offset = end
            }
            XCTAssertEqual(hasher.finalize().hex, python[index], "message \(index) (\(message.count) bytes) in pieces \(pieces)")
        }
    }

    func testFinalizeResetsTheHasher() {
        var hasher = SHA512.Hasher()
        hasher.update(Array("a secret seed that must not leak into the next digest".utf8))
        _ = hasher.finalize()
        hasher.update(Array("abc".utf8))
        XCTAssertEqual(hasher.finalize().hex, Self.knownVectors[1].digest)
        XCTAssertEqual(hasher.finalize().hex, Self.knownVectors[0].digest, "a finalized hasher is empty again")
    }

    private struct ShortOutput: Error {}

    /// hashlib.sha512 of each input, one python3 run.
    private func hashlib(_ inputs: [[UInt8]]) throws -> [String] {
        let script = """
            import sys, hashlib
            for line in sys.stdin.read().split("\\n")[:-1]:
                print(hashlib.sha512(bytes.fromhex(line)).hexdigest())
            """
        // An empty input is an empty line, which the reader keeps (only the final newline is dropped).
        let output = try ExternalOracle.python(script, lines: inputs.map(\.hex))
        XCTAssertEqual(output.count, inputs.count, "python printed one digest per input")
        guard output.count == inputs.count else { throw ShortOutput() }
        return output
    }
}
