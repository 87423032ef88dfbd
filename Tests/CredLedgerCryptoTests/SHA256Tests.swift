import Foundation
import XCTest

import CredLedgerCrypto
import TestSupport

final class SHA256Tests: XCTestCase {
    /// Both implementations; on a CPU without SHA extensions `.accelerated` silently runs the portable code.
    private let implementations: [SHA256.Implementation] = [.accelerated, .portable]

    private static let nistVectors: [(message: String, digest: String)] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ]

    func testImplementationSelection() throws {
        XCTAssertEqual(SHA256(implementation: .portable).implementation, .portable)
        XCTAssertEqual(
            SHA256(implementation: .accelerated).implementation,
            SHA256.isAccelerated ? .accelerated : .portable
        )
        XCTAssertEqual(SHA256().implementation, SHA256.isAccelerated ? .accelerated : .portable)
    }

    func testAccelerationDetectionMatchesCPUFlags() throws {
        #if os(Linux) && arch(x86_64)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            throw XCTSkip("no flags line in /proc/cpuinfo")
        }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let expected = flags.contains("sha_ni") && flags.contains("ssse3") && flags.contains("sse4_1")
        XCTAssertEqual(SHA256.isAccelerated, expected, "CPUID detection disagrees with /proc/cpuinfo")
        #else
        throw XCTSkip("CPU flag cross-check is Linux x86_64 only")
        #endif
    }

    func testNISTVectors() {
        for implementation in implementations {
            for (message, expected) in Self.nistVectors {
                let digest = SHA256.hash(Array(message.utf8), implementation: implementation)
                XCTAssertEqual(digest.hex, expected, "\(implementation) \"\(message)\"")
            }
        }
        for (message, expected) in Self.nistVectors {
            XCTAssertEqual(SHA256.hash(message).hex, expected, "String overload \"\(message)\"")
            XCTAssertEqual(SHA256.hash(Array(message.utf8)).hex, expected, "[UInt8] overload")
        }
    }

    func testOneMillionAInOddChunks() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1009)
        for implementation in implementations {
            for chunkSizes in [[1_000_000], [1, 3, 7, 63, 65, 127, 1009], [64], [13, 999]] {
                var hasher = SHA256(implementation: implementation)
                var fed = 0
                var index = 0
                chunk.withUnsafeBytes { raw in
                    while fed < 1_000_000 {
                        let size = Swift.min(chunkSizes[index % chunkSizes.count], 1_000_000 - fed)
                        var remaining = size
                        // Chunks larger than the source buffer are fed as several updates.
                        while remaining > 0 {
                            let piece = Swift.min(remaining, raw.count)
                            hasher.update(UnsafeRawBufferPointer(rebasing: raw[0..<piece]))
                            remaining -= piece
                        }
                        fed += size
                        index += 1
                    }
                }
                XCTAssertEqual(hasher.finalize().hex, expected, "\(implementation) chunks \(chunkSizes)")
            }
        }
    }

    func testEveryLengthUpTo300MatchesPythonAndSha256sum() throws {
        let data = SeededRandom(seed: 0x5348_4132_3536).bytes(300)
        let inputs = (0...300).map { Array(data[0..<$0]) }
        let script = """
            import sys, hashlib
            for line in sys.stdin.read().split("\\n")[:-1]:
                print(hashlib.sha256(bytes.fromhex(line)).hexdigest())
            """
        let python = try ExternalOracle.python(script, lines: inputs.map(\.hex))
        XCTAssertEqual(python.count, inputs.count, "python printed one digest per input")
        guard python.count == inputs.count else { return }

        for (length, input) in inputs.enumerated() {
            let accelerated = SHA256.hash(input, implementation: .accelerated)
            let portable = SHA256.hash(input, implementation: .portable)
            XCTAssertEqual(portable, accelerated, "portable != accelerated at length \(length)")
            XCTAssertEqual(accelerated.hex, python[length], "accelerated vs hashlib at length \(length)")
            XCTAssertEqual(portable.hex, python[length], "portable vs hashlib at length \(length)")
        }
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 300] {
            XCTAssertEqual(SHA256.hash(inputs[length]).hex, try ExternalOracle.sha256sum(inputs[length]), "sha256sum at \(length)")
        }
    }

    func testEverySplitPointGivesTheSameDigest() {
        let data = SeededRandom(seed: 42).bytes(300)
        for implementation in implementations {
            for length in 0...300 {
                let input = Array(data[0..<length])
                let whole = SHA256.hash(input, implementation: implementation)
                input.withUnsafeBytes { raw in
                    for split in 0...length {
                        var hasher = SHA256(implementation: implementation)
                        hasher.update(UnsafeRawBufferPointer(rebasing: raw[0..<split]))
                        hasher.update(UnsafeRawBufferPointer(rebasing: raw[split..<length]))
                        XCTAssertEqual(hasher.finalize(), whole, "\(implementation) length \(length) split \(split)")
                    }
                    // Byte at a time exercises the partial-buffer path on every call.
                    var bytewise = SHA256(implementation: implementation)
                    for i in 0..<length {
                        bytewise.update(UnsafeRawBufferPointer(rebasing: raw[i..<i + 1]))
                    }
                    XCTAssertEqual(bytewise.finalize(), whole, "\(implementation) bytewise length \(length)")
                }
            }
        }
    }

    func testHasherIsAValueType() {
        var first = SHA256()
        first.update(Array("ab".utf8))
        var copy = first
        copy.update(Array("c".utf8))
        first.update(Array("x".utf8))
        XCTAssertEqual(copy.finalize(), SHA256.hash("abc"))
        XCTAssertEqual(first.finalize(), SHA256.hash("abx"))
    }

    func testLinkEqualsHashOfConcatenation() {
        let random = SeededRandom(seed: 7)
        for implementation in implementations {
            var previous = SHA256Digest.zero
            for length in [0, 1, 31, 32, 33, 63, 64, 65, 160, 192, 1000] {
                let payload = random.bytes(length)
                let linked = payload.withUnsafeBytes { SHA256.link(previous, $0, implementation: implementation) }
                let expected = SHA256.hash(previous.bytes + payload, implementation: .portable)
                XCTAssertEqual(linked, expected, "\(implementation) link length \(length)")
                let viaDefault = payload.withUnsafeBytes { SHA256.link(previous, $0) }
                XCTAssertEqual(viaDefault, expected)
                var streamed = SHA256(implementation: implementation)
                streamed.update(previous)
                streamed.update(payload)
                XCTAssertEqual(streamed.finalize(), expected)
                previous = linked
            }
        }
    }

    func testDigestValueSemantics() {
        let digest = SHA256.hash("abc")
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        XCTAssertEqual(digest.description, hex)
        XCTAssertEqual("\(digest)", hex)
        XCTAssertEqual(SHA256Digest(hex: hex), digest)
        XCTAssertEqual(SHA256Digest(hex: hex.uppercased()), digest)
        XCTAssertEqual(SHA256Digest(bytes: digest.bytes), digest)
        XCTAssertEqual(SHA256Digest(bytes: digest.bytes[...]), digest, "any Collection, e.g. a slice")
        XCTAssertEqual(digest.bytes, hexBytes(hex))
        XCTAssertEqual(digest.withUnsafeBytes { Array($0) }, digest.bytes)

        XCTAssertNil(SHA256Digest(hex: String(hex.dropLast())))
        XCTAssertNil(SHA256Digest(hex: hex + "0"))
        XCTAssertNil(SHA256Digest(hex: String(hex.dropLast()) + "g"))
        XCTAssertNil(SHA256Digest(hex: ""))
        XCTAssertNil(SHA256Digest(bytes: [UInt8](repeating: 1, count: 31)))
        XCTAssertNil(SHA256Digest(bytes: [UInt8](repeating: 1, count: 33)))

        XCTAssertEqual(SHA256Digest.zero.bytes, [UInt8](repeating: 0, count: 32))
        XCTAssertEqual(SHA256Digest.zero.hex, String(repeating: "0", count: 64))
        XCTAssertEqual(MemoryLayout<SHA256Digest>.size, 32, "stored inline")

        var oneBitOff = digest.bytes
        oneBitOff[31] ^= 1
        let other = SHA256Digest(bytes: oneBitOff)!
        XCTAssertNotEqual(other, digest)
        XCTAssertEqual(Set([digest, digest, other]).count, 2)
    }

    /// Reads of the byte view at fixed offsets, widened as callers widen them (`{ Int($0[0]) }`): Swift 6.3.1 -O gave
    /// 0 for offset 0 of the tuple once viewed through `withUnsafeBytes(of: &var)` (the old decision-cache shard).
    /// Debug builds never showed it; `Tools/test-release.sh` runs this in a release build.
    func testByteViewAtFixedOffsetsMatchesTheBytes() {
        for text in ["abc", "credledger", "", "a longer message of more than one block's worth of bytes to hash, twice over"] {
            let digest = SHA256.hash(text)
            let bytes = digest.bytes.map { Int($0) }
            let first = digest.withUnsafeBytes { Int($0[0]) }
            let second = digest.withUnsafeBytes { Int($0[1]) }
            let last = digest.withUnsafeBytes { Int($0[31]) }
            XCTAssertEqual([first, second, last], [bytes[0], bytes[1], bytes[31]], text)
            XCTAssertEqual(byteViewFirst(digest), bytes[0], text)
            XCTAssertEqual(byteViewFirstPair(digest), bytes[0] | bytes[1] << 8, text)
            XCTAssertEqual(digest.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) },
                           bytes[0..<4].reversed().reduce(0) { $0 << 8 | $1 }, text)
        }
    }

    func testRoughThroughputNotAsserted() {
        // Debug builds are far slower than release; this only prints an order of magnitude.
        let input = SeededRandom(seed: 1).bytes(192)
        for implementation in implementations {
            let count = 20_000
            var digest = SHA256Digest.zero
            let start = Date()
            input.withUnsafeBytes { raw in
                for _ in 0..<count { digest = SHA256.link(digest, raw, implementation: implementation) }
            }
            let rate = Double(count) / Date().timeIntervalSince(start)
            print("SHA256 \(implementation): ~\(Int(rate)) links/s of 192 B (this build) \(digest.hex.prefix(8))")
        }
    }
}

/// `SHA256.hash(paddedBlocks:)`: the caller's own padding, compressed in one call, equals the streaming hash.
final class SHA256PaddedBlocksTests: XCTestCase {
    func testPaddedBlocksEqualTheStreamingHashOnBothPaths() {
        var random = SplitMix64(seed: 9)
        for length in [0, 1, 33, 55, 56, 63, 64, 65, 119, 120, 200] {
            let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            var padded = message + [0x80]
            while padded.count % 64 != 56 { padded.append(0) }
            padded += withUnsafeBytes(of: (UInt64(length) * 8).bigEndian) { Array($0) }
            for implementation in [SHA256.Implementation.portable, .accelerated] {
                let digest = padded.withUnsafeBytes { SHA256.hash(paddedBlocks: $0.baseAddress!, count: padded.count / 64, implementation: implementation) }
                XCTAssertEqual(digest, SHA256.hash(message, implementation: .portable), "length \(length) \(implementation)")
            }
        }
    }
}

/// `SHA256.hash(paddedBlocks:_:count:)`: two messages on the two-lane compression (`csha256_ni_compress2`) equal each
/// one-lane hash, the portable code and hashlib, for random contents at every length up to 300 (all padding
/// boundaries) and for pairs whose contents differ in one byte only (a lane mix-up would show).
final class SHA256TwoLaneTests: XCTestCase {
    /// FIPS 180-4 padding, written out independently of the code under test.
    private func padded(_ message: [UInt8]) -> [UInt8] {
        var out = message + [0x80]
        while out.count % 64 != 56 { out.append(0) }
        return out + withUnsafeBytes(of: (UInt64(message.count) * 8).bigEndian) { Array($0) }
    }

    private func twoLane(_ a: [UInt8], _ b: [UInt8], _ implementation: SHA256.Implementation) -> (SHA256Digest, SHA256Digest) {
        let pa = padded(a), pb = padded(b)
        precondition(pa.count == pb.count)
        return pa.withUnsafeBytes { ra in
            pb.withUnsafeBytes { rb in
                SHA256.hash(paddedBlocks: ra.baseAddress!, rb.baseAddress!, count: pa.count / 64, implementation: implementation)
            }
        }
    }

    func testEveryLengthUpTo300MatchesOneLaneAndHashlib() throws {
        var random = SplitMix64(seed: 0x2_1A4E)
        var pairs: [([UInt8], [UInt8])] = []
        for length in 0...300 {
            let a = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            let b = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            pairs.append((a, b))
        }
        let script = """
            import sys, hashlib
            for line in sys.stdin.read().split("\\n")[:-1]:
                print(hashlib.sha256(bytes.fromhex(line)).hexdigest())
            """
        let python = try ExternalOracle.python(script, lines: pairs.flatMap { [$0.0.hex, $0.1.hex] })
        XCTAssertEqual(python.count, 2 * pairs.count, "python printed one digest per input")
        guard python.count == 2 * pairs.count else { return }
        for (length, (a, b)) in pairs.enumerated() {
            for implementation in [SHA256.Implementation.accelerated, .portable] {
                let (da, db) = twoLane(a, b, implementation)
                XCTAssertEqual(da.hex, python[2 * length], "lane a, length \(length), \(implementation)")
                XCTAssertEqual(db.hex, python[2 * length + 1], "lane b, length \(length), \(implementation)")
                XCTAssertEqual(da, SHA256.hash(a, implementation: .accelerated), "lane a vs one lane, length \(length)")
                XCTAssertEqual(db, SHA256.hash(b, implementation: .accelerated), "lane b vs one lane, length \(length)")
            }
        }
        for length in [0, 55, 56, 64, 119, 120, 300] {
            XCTAssertEqual(twoLane(pairs[length].1, pairs[length].0, .accelerated).0.hex,
                           try ExternalOracle.sha256sum(pairs[length].1), "sha256sum at \(length)")
        }
    }

    func testLanesStayApartWhenTheMessagesDifferInOneByte() {
        var random = SplitMix64(seed: 77)
        for length in [1, 33, 65, 127, 200] {
            let a = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            for position in [0, length / 2, length - 1] {
                var b = a
                b[position] ^= 0x01
                let (da, db) = twoLane(a, b, .accelerated)
                XCTAssertEqual(da, SHA256.hash(a), "length \(length), flip at \(position): lane a")
                XCTAssertEqual(db, SHA256.hash(b), "length \(length), flip at \(position): lane b")
                XCTAssertNotEqual(da, db)
                let same = twoLane(a, a, .accelerated)
                XCTAssertEqual(same.0, same.1, "equal messages give equal digests")
            }
        }
    }
}

// Out of line, as a caller in another function sees the view (how the miscompile first showed).
@inline(never) private func byteViewFirst(_ digest: SHA256Digest) -> Int { digest.withUnsafeBytes { Int($0[0]) } }
@inline(never) private func byteViewFirstPair(_ digest: SHA256Digest) -> Int {
    digest.withUnsafeBytes { Int($0.load(fromByteOffset: 0, as: UInt16.self)) }
}
