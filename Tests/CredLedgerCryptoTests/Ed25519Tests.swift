import Foundation
import XCTest

@testable import CredLedgerCrypto
import TestSupport

final class Ed25519Tests: XCTestCase {
    struct Vector {
        let name: String
        let seed: String
        let publicKey: String
        let message: String
        let signature: String
    }

    /// RFC 8032 §7.1, every Ed25519 vector (TEST 1, 2, 3, 1024 and SHA(abc)).
    static let rfc8032: [Vector] = [
        Vector(
            name: "TEST 1",
            seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            message: "",
            signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ),
        Vector(
            name: "TEST 2",
            seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            message: "72",
            signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        ),
        Vector(
            name: "TEST 3",
            seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            message: "af82",
            signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"
        ),
        Vector(
            name: "TEST 1024",
            seed: "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
            publicKey: "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
            message: """
                08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1
                e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d
                658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a
                7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e
                06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10
                3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1
                85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d
                502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270
                88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b
                eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba
                b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b
                e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7
                51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d
                cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df
                f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7
                984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4
                88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09
                43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f
                b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161
                0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d
                b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca
                c60c905c15fc910840b94c00a0b9d0
                """,
            signature: "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"
        ),
        Vector(
            name: "TEST SHA(abc)",
            seed: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
            publicKey: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
            message: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            signature: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"
        ),
    ]

    // MARK: RFC 8032

    func testRFC8032Vectors() throws {
        XCTAssertEqual(hexBytes(Self.rfc8032[3].message).count, 1023, "TEST 1024's message is 1023 bytes")
        XCTAssertEqual(hexBytes(Self.rfc8032[4].message), SHA512.hash(Array("abc".utf8)), "TEST SHA(abc) signs SHA-512(\"abc\")")
        for vector in Self.rfc8032 {
            let key = try Ed25519.PrivateKey(seed: hexBytes(vector.seed))
            let message = hexBytes(vector.message)
            XCTAssertEqual(key.seed.hex, vector.seed, vector.name)
            XCTAssertEqual(key.publicKey.rawRepresentation.hex, vector.publicKey, "\(vector.name): public key")
            let signature = key.signature(for: message)
            XCTAssertEqual(signature.hex, vector.signature, "\(vector.name): signature")

            let publicKey = try Ed25519.PublicKey(rawRepresentation: hexBytes(vector.publicKey))
            XCTAssertEqual(publicKey, key.publicKey, vector.name)
            XCTAssertTrue(publicKey.isValidSignature(hexBytes(vector.signature), for: message), "\(vector.name): verifies")
            // Any Collection: an ArraySlice signature and a non-contiguous message give the same answers.
            let padded = [0xAA] + hexBytes(vector.signature) + [0xBB]
            XCTAssertTrue(publicKey.isValidSignature(padded[1..<65], for: message.lazy.map { $0 }), vector.name)
            XCTAssertEqual(key.signature(for: message.lazy.map { $0 }).hex, vector.signature, vector.name)

            // The wrong message, the wrong key, a truncated or extended signature: all refused.
            XCTAssertFalse(publicKey.isValidSignature(hexBytes(vector.signature), for: message + [0]), vector.name)
            let other = try Ed25519.PublicKey(rawRepresentation: hexBytes(Self.rfc8032[(Self.rfc8032.firstIndex { $0.name == vector.name }! + 1) % 5].publicKey))
            XCTAssertFalse(other.isValidSignature(hexBytes(vector.signature), for: message), vector.name)
            XCTAssertFalse(publicKey.isValidSignature(hexBytes(vector.signature).dropLast(), for: message), vector.name)
            XCTAssertFalse(publicKey.isValidSignature(hexBytes(vector.signature) + [0], for: message), vector.name)
        }
    }

    // MARK: API behaviour

    func testLengthsAreChecked() throws {
        for count in [0, 1, 31, 33, 64] {
            XCTAssertThrowsError(try Ed25519.PrivateKey(seed: [UInt8](repeating: 1, count: count))) { error in
                XCTAssertEqual(error as? Ed25519.KeyError, Ed25519.KeyError(.wrongLength, length: count))
                XCTAssertEqual("\(error)", "Ed25519 key: expected 32 bytes, got \(count)")
            }
            XCTAssertThrowsError(try Ed25519.PublicKey(rawRepresentation: [UInt8](repeating: 1, count: count))) { error in
                XCTAssertEqual((error as? Ed25519.KeyError)?.reason, .wrongLength)
            }
        }
        let key = try Ed25519.PrivateKey(seed: hexBytes(Self.rfc8032[0].seed))
        let signature = key.signature(for: [1, 2, 3])
        for count in [0, 32, 63, 65, 128] {
            let resized = Array((signature + signature + signature).prefix(count))
            XCTAssertFalse(key.publicKey.isValidSignature(resized, for: [1, 2, 3]), "\(count)-byte signature")
        }
        XCTAssertTrue(key.publicKey.isValidSignature(signature, for: [1, 2, 3]))
    }

    func testGenerateTakesTheSeedFromTheGenerator() throws {
        // RandomBytesGenerator: the seed is exactly the generator's next 32 bytes.
        let bytesKey = Ed25519.PrivateKey.generate(using: SeededRandom(seed: 7))
        XCTAssertEqual(bytesKey.seed, SeededRandom(seed: 7).bytes(32))
        XCTAssertEqual(bytesKey.publicKey, try Ed25519.PrivateKey(seed: bytesKey.seed).publicKey)

        // RandomNumberGenerator: four little-endian words.
        var generator = SplitMix64(seed: 11)
        let key = Ed25519.PrivateKey.generate(using: &generator)
        var replay = SplitMix64(seed: 11)
        var expected: [UInt8] = []
        for _ in 0..<4 { withUnsafeBytes(of: replay.next().littleEndian) { expected += $0 } }
        XCTAssertEqual(key.seed, expected)

        var system = SystemRandomNumberGenerator()
        let first = Ed25519.PrivateKey.generate(using: &system), second = Ed25519.PrivateKey.generate(using: SystemRandom())
        XCTAssertNotEqual(first.seed, second.seed)
        XCTAssertNotEqual(first.publicKey, second.publicKey)
        XCTAssertTrue(first.publicKey.isValidSignature(first.signature(for: [9]), for: [9]))
    }

    func testDescriptionsNeverShowTheSeed() throws {
        let key = try Ed25519.PrivateKey(seed: hexBytes(Self.rfc8032[0].seed))
        var dumped = ""
        dump(key, to: &dumped)
        let seedFragments = [key.seed.hex, "\(key.seed)", key.seed.prefix(8).map { "\($0)" }.joined(separator: ", ")]
        for text in ["\(key)", String(describing: key), String(reflecting: key), dumped] {
            XCTAssertTrue(text.contains(Self.rfc8032[0].publicKey), text)
            for fragment in seedFragments { XCTAssertFalse(text.contains(fragment), "seed shown in: \(text)") }
        }
    }

    // MARK: hostile input

    func testEveryBitFlipIsRejected() throws {
        let key = try Ed25519.PrivateKey(seed: hexBytes(Self.rfc8032[2].seed))
        let message = Array("checkpoint 17".utf8)
        let signature = key.signature(for: message)
        XCTAssertTrue(key.publicKey.isValidSignature(signature, for: message))
        for bit in 0..<(64 * 8) {
            var flipped = signature
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            XCTAssertFalse(key.publicKey.isValidSignature(flipped, for: message), "signature bit \(bit)")
        }
        for bit in 0..<(message.count * 8) {
            var flipped = message
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            XCTAssertFalse(key.publicKey.isValidSignature(signature, for: flipped), "message bit \(bit)")
        }
        var refusedKeys = 0
        for bit in 0..<(32 * 8) {
            var flipped = key.publicKey.rawRepresentation
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            if let other = try? Ed25519.PublicKey(rawRepresentation: flipped) {
                XCTAssertFalse(other.isValidSignature(signature, for: message), "public key bit \(bit)")
            } else {
                refusedKeys += 1
            }
        }
        // About half of all y have no x: some flipped keys must have been refused at decoding.
        XCTAssertGreaterThan(refusedKeys, 0)
    }

    /// docs/PROOFS.md's edge cases, built by pure-Python curve math: S + L, S = L, y ≥ p in A and in R, x = 0
    /// with the sign bit, the 8 small-order points, R plus a torsion point (cofactored-only), a mixed-order key.
    func testGeneratedEdgeCases() throws {
        let lines = try ExternalOracle.python(Ed25519EdgeCaseScript.source, input: "")
        XCTAssertGreaterThan(lines.count, 120)
        var counts: [String: Int] = [:]
        for line in lines {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 6 else { XCTFail("bad line \(line)"); continue }
            let (kind, label, publicKey, message, signature, expected) = (fields[0], fields[1], fields[2], fields[3], fields[4], fields[5])
            counts[kind + ":" + expected, default: 0] += 1
            switch kind {
            case "key":
                let status: String
                do {
                    _ = try Ed25519.PublicKey(rawRepresentation: hexBytes(publicKey))
                    status = "ok"
                } catch let error as Ed25519.KeyError {
                    status = error.reason.rawValue
                }
                XCTAssertEqual(status, expected, label)
            case "sig":
                guard let key = try? Ed25519.PublicKey(rawRepresentation: hexBytes(publicKey)) else {
                    XCTFail("\(label): the case's key must be acceptable"); continue
                }
                let valid = key.isValidSignature(hexBytes(signature), for: hexBytes(message))
                XCTAssertEqual(valid ? "1" : "0", expected, label)
            default:
                XCTFail("unknown kind in \(line)")
            }
        }
        // The script must have produced accepting controls as well as rejections of each kind.
        XCTAssertGreaterThanOrEqual(counts["sig:1"] ?? 0, 4, "\(counts)")
        XCTAssertGreaterThanOrEqual(counts["sig:0"] ?? 0, 50, "\(counts)")
        XCTAssertEqual(counts["key:smallOrder"].map { $0 >= 9 }, true, "\(counts)")
        XCTAssertEqual(counts["key:nonCanonicalEncoding"].map { $0 >= 40 }, true, "\(counts)")
        XCTAssertEqual(counts["key:notOnCurve"].map { $0 >= 3 }, true, "\(counts)")
        XCTAssertEqual(counts["key:ok"].map { $0 >= 2 }, true, "\(counts)")
    }

    // MARK: the `cryptography` oracle

    /// Random keys and messages both ways against PyPI `cryptography` (OpenSSL): the same public keys and
    /// signature bytes (Ed25519 is deterministic), and each side verifies the other's signatures.
    func testCryptographyOracleBothWays() throws {
        let interpreter: String
        do {
            interpreter = try ExternalOracle.pythonInterpreter(importing: "cryptography", package: "cryptography")
        } catch {
            throw XCTSkip("oracle skipped: \(error)")
        }
        let script = """
            import sys, os
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
            from cryptography.hazmat.primitives import serialization as s
            from cryptography.exceptions import InvalidSignature
            def raw_public(key): return key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
            def verifies(pk, sig, msg):
                try:
                    Ed25519PublicKey.from_public_bytes(pk).verify(sig, msg); return 1
                except InvalidSignature:
                    return 0
            for line in sys.stdin.read().split("\\n")[:-1]:
                kind, a, b, c, d = line.split(":")
                if kind == "swift":
                    seed, msg, pk, sig = (bytes.fromhex(x) for x in (a, b, c, d))
                    key = Ed25519PrivateKey.from_private_bytes(seed)
                    print(raw_public(key).hex(), key.sign(msg).hex(), verifies(pk, sig, msg), verifies(pk, sig, msg + b"x"))
                else:
                    msg = bytes.fromhex(b)
                    key = Ed25519PrivateKey.generate()
                    seed = key.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
                    print(seed.hex(), raw_public(key).hex(), msg.hex(), key.sign(msg).hex())
            """
        let random = SeededRandom(seed: 0x4564_3235_3531_39)
        let count = 40
        var swiftKeys: [Ed25519.PrivateKey] = []
        var swiftMessages: [[UInt8]] = []
        var swiftSignatures: [[UInt8]] = []
        var lines: [String] = []
        for index in 0..<count {
            let key = Ed25519.PrivateKey.generate(using: random)
            let message = random.bytes(index == 0 ? 0 : index == 1 ? 1023 : Int(random.next() % 300))
            let signature = key.signature(for: message)
            swiftKeys.append(key)
            swiftMessages.append(message)
            swiftSignatures.append(signature)
            lines.append("swift:\(key.seed.hex):\(message.hex):\(key.publicKey.rawRepresentation.hex):\(signature.hex)")
        }
        for index in 0..<count {
            lines.append("python::\(random.bytes(index == 0 ? 0 : Int(random.next() % 300)).hex)::")
        }
        let output = try ExternalOracle.python(script, lines: lines, interpreter: interpreter)
        XCTAssertEqual(output.count, 2 * count)
        guard output.count == 2 * count else { return }

        for index in 0..<count {
            let fields = output[index].split(separator: " ").map(String.init)
            XCTAssertEqual(fields[0], swiftKeys[index].publicKey.rawRepresentation.hex, "public key \(index)")
            XCTAssertEqual(fields[1], swiftSignatures[index].hex, "signature bytes \(index)")
            XCTAssertEqual(fields[2], "1", "cryptography verifies our signature \(index)")
            XCTAssertEqual(fields[3], "0", "cryptography refuses it for another message \(index)")
            XCTAssertTrue(swiftKeys[index].publicKey.isValidSignature(hexBytes(fields[1]), for: swiftMessages[index]))
        }
        for line in output[count...] {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            let (seed, publicKeyHex, message, signature) = (hexBytes(fields[0]), fields[1], hexBytes(fields[2]), hexBytes(fields[3]))
            let publicKey = try Ed25519.PublicKey(rawRepresentation: hexBytes(publicKeyHex))
            XCTAssertTrue(publicKey.isValidSignature(signature, for: message), "we verify cryptography's signature")
            XCTAssertFalse(publicKey.isValidSignature(signature, for: message + [0]), "…and only for its message")
            let key = try Ed25519.PrivateKey(seed: seed)
            XCTAssertEqual(key.publicKey.rawRepresentation.hex, publicKeyHex, "same public key from cryptography's seed")
            XCTAssertEqual(key.signature(for: message), signature, "same signature bytes as cryptography")
        }
    }

    // MARK: internals against Python integers

    /// The scalar reduction (64 bytes mod L) and S = k·a + r mod L against Python's big integers.
    func testScalarArithmeticMatchesPythonIntegers() throws {
        let order = Scalar.orderBytes
        func int512(_ value: [UInt8]) -> [UInt8] { value + [UInt8](repeating: 0, count: 64 - value.count) }
        var reduceInputs: [[UInt8]] = [
            [UInt8](repeating: 0, count: 64),
            int512([1]),
            int512(subtractOne(order)),
            int512(order),
            int512(addOne(order)),
            [UInt8](repeating: 0xFF, count: 64),
            [UInt8](repeating: 0xFF, count: 32) + [UInt8](repeating: 0, count: 32),
            [UInt8](repeating: 0, count: 63) + [0x80],
        ]
        let random = SeededRandom(seed: 0x5343_414c_4152)
        for _ in 0..<200 { reduceInputs.append(random.bytes(64)) }
        var muladdInputs: [[[UInt8]]] = [
            [subtractOne(order), subtractOne(order), subtractOne(order)],
            [[UInt8](repeating: 0xFF, count: 32), [UInt8](repeating: 0xFF, count: 32), [UInt8](repeating: 0xFF, count: 32)],
            [[UInt8](repeating: 0, count: 32), [UInt8](repeating: 0xFF, count: 32), order],
        ]
        for _ in 0..<100 { muladdInputs.append([random.bytes(32), random.bytes(32), random.bytes(32)]) }

        let script = """
            import sys
            L = 2**252 + 27742317777372353535851937790883648493
            for line in sys.stdin.read().split("\\n")[:-1]:
                parts = [int.from_bytes(bytes.fromhex(x), "little") for x in line.split(":")]
                value = parts[0] % L if len(parts) == 1 else (parts[0] * parts[1] + parts[2]) % L
                print(value.to_bytes(32, "little").hex())
            """
        let lines = reduceInputs.map(\.hex) + muladdInputs.map { $0.map(\.hex).joined(separator: ":") }
        let python = try ExternalOracle.python(script, lines: lines)
        XCTAssertEqual(python.count, lines.count)
        guard python.count == lines.count else { return }
        for (index, input) in reduceInputs.enumerated() {
            XCTAssertEqual(Scalar.reduce(input).hex, python[index], "reduce \(input.hex)")
        }
        for (index, input) in muladdInputs.enumerated() {
            XCTAssertEqual(Scalar.multiplyAdd(input[0], input[1], input[2]).hex, python[reduceInputs.count + index], "muladd \(index)")
        }
        XCTAssertFalse(Scalar.isCanonical(order))
        XCTAssertFalse(Scalar.isCanonical(addOne(order)))
        XCTAssertFalse(Scalar.isCanonical([UInt8](repeating: 0xFF, count: 32)))
        XCTAssertTrue(Scalar.isCanonical(subtractOne(order)))
        XCTAssertTrue(Scalar.isCanonical([UInt8](repeating: 0, count: 32)))
    }

    /// Field encoding at the edges (p − 1, p, p + 1, 2^255 − 1, bit 255 set) and random arithmetic — +, −, ·, ²,
    /// inverse, square root of a ratio — against Python's integers mod p.
    func testFieldArithmeticMatchesPythonIntegers() throws {
        let p = hexBytes("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
        var inputs: [[UInt8]] = [
            subtractOne(p), p, addOne(p), addOne(addOne(p)),
            [UInt8](repeating: 0xFF, count: 31) + [0x7F],  // 2^255 − 1
            [UInt8](repeating: 0xFF, count: 32),           // bit 255 set: ignored
            [UInt8](repeating: 0, count: 32),
            [1] + [UInt8](repeating: 0, count: 31),
        ]
        let random = SeededRandom(seed: 0x4649_454c_44)
        for _ in 0..<60 { inputs.append(random.bytes(32)) }
        let script = """
            import sys
            p = 2**255 - 19
            d = -121665 * pow(121666, p - 2, p) % p
            def enc(v): return (v % p).to_bytes(32, "little").hex()
            def sqrt_ratio(u, v):
                if v % p == 0: return "square" if u % p == 0 else "none"  # v·x² = u needs u = 0
                x2 = u * pow(v, p - 2, p) % p
                x = pow(x2, (p + 3) // 8, p)
                if (x * x - x2) % p: x = x * pow(2, (p - 1) // 4, p) % p
                return "none" if (x * x - x2) % p else "square"
            values = [int.from_bytes(bytes.fromhex(l), "little") & (2**255 - 1) for l in sys.stdin.read().split("\\n")[:-1]]
            for i, a in enumerate(values):
                b = values[(i + 1) % len(values)]
                print(enc(a), enc(a + b), enc(a - b), enc(a * b), enc(a * a), enc(pow(a, p - 2, p)), sqrt_ratio(a, b))
            print(enc(d), enc(2 * d), enc(pow(2, (p - 1) // 4, p)))
            """
        let python = try ExternalOracle.python(script, lines: inputs.map(\.hex))
        XCTAssertEqual(python.count, inputs.count + 1)
        guard python.count == inputs.count + 1 else { return }
        XCTAssertEqual(FieldElement(bytes: subtractOne(p)).bytes, subtractOne(p), "p − 1 stays")
        XCTAssertEqual(FieldElement(bytes: p).bytes, [UInt8](repeating: 0, count: 32), "p encodes as 0")
        XCTAssertEqual(FieldElement(bytes: addOne(p)).bytes, [1] + [UInt8](repeating: 0, count: 31), "p + 1 encodes as 1")
        XCTAssertEqual(FieldElement(bytes: inputs[4]).bytes, [18] + [UInt8](repeating: 0, count: 31), "2^255 − 1 encodes as 18")

        for (index, input) in inputs.enumerated() {
            let expected = python[index].split(separator: " ").map(String.init)
            let a = FieldElement(bytes: input), b = FieldElement(bytes: inputs[(index + 1) % inputs.count])
            XCTAssertEqual(a.bytes.hex, expected[0], "encode \(input.hex)")
            XCTAssertEqual((a + b).bytes.hex, expected[1], "a + b at \(index)")
            XCTAssertEqual((a - b).bytes.hex, expected[2], "a − b at \(index)")
            XCTAssertEqual((a * b).bytes.hex, expected[3], "a · b at \(index)")
            XCTAssertEqual(a.squared().bytes.hex, expected[4], "a² at \(index)")
            XCTAssertEqual(a.inverted().bytes.hex, expected[5], "1/a at \(index)")
            let root = FieldElement.squareRootOfRatio(a, b)
            XCTAssertEqual(root == nil ? "none" : "square", expected[6], "√(a/b) exists at \(index)")
            if let root, !b.isZero {
                XCTAssertTrue((root.squared() * b).equals(a), "√(a/b)² · b = a at \(index)")
            }
            // Loose limbs stay within bounds along long chains of operations.
            var chained = a
            for _ in 0..<10 { chained = ((chained * b + a) - b).squared() * a - chained }
            // The reference re-encodes after every operation, so its limbs never leave [0, 2^51).
            func canonical(_ x: FieldElement) -> FieldElement { FieldElement(bytes: x.bytes) }
            var reference = a
            for _ in 0..<10 {
                let step = canonical(canonical(canonical(reference * b) + a) - b)
                reference = canonical(canonical(canonical(step.squared()) * a) - reference)
            }
            XCTAssertEqual(chained.bytes, reference.bytes, "chain at \(index)")
        }
        let constants = python[inputs.count].split(separator: " ").map(String.init)
        XCTAssertEqual(FieldElement.d.bytes.hex, constants[0], "d")
        XCTAssertEqual(FieldElement.d2.bytes.hex, constants[1], "2d")
        XCTAssertEqual(FieldElement.sqrtMinusOne.bytes.hex, constants[2], "√−1")
    }

    /// The base point is RFC 8032's B, has order L, and the constant-time [s]B agrees with the variable-time
    /// double-and-add used by verification.
    func testBasePointAndScalarMultiplications() throws {
        let base = EdwardsPoint.base
        XCTAssertEqual(
            (base.x * base.z.inverted()).bytes.hex,
            "1ad5258f602d56c9b2a7259560c72c695cdcd6fd31e2a4c0fe536ecdd3366921"  // 15112221349535400772501151409588531511454012693041857206046113283949847762202
        )
        XCTAssertEqual(base.encoded.hex, "5866666666666666666666666666666666666666666666666666666666666666")
        XCTAssertTrue(EdwardsPoint.baseMultiple(Scalar.orderBytes).isIdentity, "[L]B = O")
        XCTAssertFalse(EdwardsPoint.baseMultiple(subtractOne(Scalar.orderBytes)).isIdentity)
        XCTAssertEqual(EdwardsPoint.baseMultiple(subtractOne(Scalar.orderBytes)).encoded, base.negated.encoded, "[L − 1]B = −B")

        let zero = [UInt8](repeating: 0, count: 32)
        let random = SeededRandom(seed: 0x4241_5345)
        for index in 0..<12 {
            let scalar = index == 0 ? zero : index == 1 ? [UInt8](repeating: 0xFF, count: 32) : random.bytes(32)
            let constantTime = EdwardsPoint.baseMultiple(scalar).encoded
            let variableTime = EdwardsPoint.combination(s: scalar, base: base, k: zero, point: .identity).encoded
            XCTAssertEqual(constantTime, variableTime, "scalar \(scalar.hex)")
            // [s]B + [t]B = [s + t mod L]B through the joint path.
            let t = random.bytes(32)
            let joint = EdwardsPoint.combination(s: scalar, base: base, k: t, point: base).encoded
            let one = [1] + [UInt8](repeating: 0, count: 31)
            let sum = Scalar.multiplyAdd(t, one, Scalar.reduce(scalar + zero))
            XCTAssertEqual(joint, EdwardsPoint.baseMultiple(sum).encoded, "joint \(index)")
        }
    }

    // MARK: helpers

    private func addOne(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        for i in 0..<out.count {
            out[i] &+= 1
            if out[i] != 0 { break }
        }
        return out
    }

    private func subtractOne(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        for i in 0..<out.count {
            out[i] &-= 1
            if out[i] != 0xFF { break }
        }
        return out
    }
}
