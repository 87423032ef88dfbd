extension Ed25519 {
    /// A signing key: the 32-byte seed and what RFC 8032 §5.1.5 derives from it.
    public struct PrivateKey: Sendable {
        /// The seed (RFC 8032's "private key").
        public let seed: [UInt8]
        /// The public key of this seed.
        public let publicKey: PublicKey
        /// The clamped secret scalar a (first half of SHA-512(seed)).
        private let scalar: [UInt8]
        /// The nonce prefix (second half of SHA-512(seed)).
        private let prefix: [UInt8]

        /// The key of a 32-byte seed; other lengths throw `KeyError` (`.wrongLength`).
        public init(seed: [UInt8]) throws {
            guard seed.count == Ed25519.seedCount else { throw KeyError(.wrongLength, length: seed.count) }
            let h = SHA512.hash(seed)
            var a = Array(h[0..<32])
            a[0] &= 0xF8   // clear bits 0–2: a multiple of the cofactor 8
            a[31] &= 0x7F  // clear bit 255
            a[31] |= 0x40  // set bit 254
            self.seed = seed
            self.scalar = a
            self.prefix = Array(h[32..<64])
            let encoded = EdwardsPoint.baseMultiple(a).encoded
            // [a]B with a a multiple of 8 below 2^255 is never of small order and always decodes.
            guard case .success(let point) = EdwardsPoint.decode(encoded) else {
                preconditionFailure("Ed25519: [a]B failed to decode")
            }
            self.publicKey = PublicKey(bytes: encoded, point: point)
        }

        /// A fresh key from 32 bytes of `random` (use `SystemRandomNumberGenerator` outside tests).
        public static func generate(using random: inout some RandomNumberGenerator) -> PrivateKey {
            var seed = [UInt8](repeating: 0, count: Ed25519.seedCount)
            for word in 0..<4 {
                let value = random.next()
                for byte in 0..<8 { seed[word * 8 + byte] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(byte))) }
            }
            // The length is right by construction.
            guard let key = try? PrivateKey(seed: seed) else { preconditionFailure("Ed25519: 32-byte seed refused") }
            return key
        }

        /// A fresh key from 32 bytes of the project's injectable randomness (`SystemRandom` outside tests).
        public static func generate(using random: some RandomBytesGenerator) -> PrivateKey {
            guard let key = try? PrivateKey(seed: random.bytes(Ed25519.seedCount)) else {
                preconditionFailure("Ed25519: 32-byte seed refused")
            }
            return key
        }

        /// The 64-byte signature R ‖ S of `message` (RFC 8032 §5.1.6; deterministic). Constant time in the key
        /// and the nonce: only the message length shows.
        public func signature(for message: some Collection<UInt8>) -> [UInt8] {
            var nonceHash = SHA512.Hasher()
            nonceHash.update(prefix)
            nonceHash.update(message)
            let r = Scalar.reduce(nonceHash.finalize())
            let encodedR = EdwardsPoint.baseMultiple(r).encoded
            let k = Ed25519.challenge(encodedR, publicKey.rawRepresentation, message)
            let s = Scalar.multiplyAdd(k, scalar, r)
            return encodedR + s
        }
    }
}

extension Ed25519.PrivateKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Names the public key only: the seed never reaches a log through `print` or string interpolation.
    public var description: String { "Ed25519.PrivateKey(public: \(publicKeyHex))" }
    /// The same as `description`.
    public var debugDescription: String { description }
    /// A mirror without the secret fields (`dump` and the debugger show only the public key).
    public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKey], displayStyle: .struct) }

    private var publicKeyHex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in publicKey.rawRepresentation {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
