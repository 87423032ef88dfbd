/// Ed25519 signatures, RFC 8032 §5.1 (pure Ed25519: no context, no prehash). Verification is the strict,
/// cofactorless rule of docs/PROOFS.md ("Ed25519 and SHA-512").
public enum Ed25519 {
    /// Byte lengths of seeds, public keys and signatures.
    public static let seedCount = 32
    public static let publicKeyCount = 32
    public static let signatureCount = 64

    /// Why bytes are not an acceptable seed or public key.
    public struct KeyError: Error, Equatable, Sendable, CustomStringConvertible {
        public enum Reason: String, Sendable {
            /// Not 32 bytes.
            case wrongLength
            /// y ≥ p, or x = 0 with the sign bit set: a second spelling of a point (RFC 8032 §5.1.3).
            case nonCanonicalEncoding
            /// No point of the curve has this y.
            case notOnCurve
            /// One of the 8 points of small order ([8]A = O): such a key "verifies" forged signatures.
            case smallOrder
        }

        public let reason: Reason
        /// The length that was given (for `.wrongLength`).
        public let length: Int

        public init(_ reason: Reason, length: Int = 32) {
            self.reason = reason
            self.length = length
        }

        public var description: String {
            switch reason {
            case .wrongLength: return "Ed25519 key: expected 32 bytes, got \(length)"
            case .nonCanonicalEncoding: return "Ed25519 public key: non-canonical point encoding"
            case .notOnCurve: return "Ed25519 public key: not a point of the curve"
            case .smallOrder: return "Ed25519 public key: a point of small order (refused)"
            }
        }
    }

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

    /// A verifying key: a strictly decoded point that is not of small order.
    public struct PublicKey: Sendable, Equatable {
        /// The 32-byte encoding (RFC 8032 §5.1.2).
        public let rawRepresentation: [UInt8]
        /// The decoded point A, negated once here for verification's [S]B + [k](−A).
        private let negatedPoint: EdwardsPoint

        fileprivate init(bytes: [UInt8], point: EdwardsPoint) {
            rawRepresentation = bytes
            negatedPoint = point.negated
        }

        /// The key encoded by 32 bytes; throws `KeyError` for another length, a non-canonical encoding (y ≥ p,
        /// x = 0 with the sign bit), a y off the curve, or a point of small order.
        public init(rawRepresentation: [UInt8]) throws {
            guard rawRepresentation.count == Ed25519.publicKeyCount else {
                throw KeyError(.wrongLength, length: rawRepresentation.count)
            }
            switch EdwardsPoint.decode(rawRepresentation) {
            case .failure(.nonCanonical): throw KeyError(.nonCanonicalEncoding)
            case .failure(.notOnCurve): throw KeyError(.notOnCurve)
            case .success(let point):
                guard !point.hasSmallOrder else { throw KeyError(.smallOrder) }
                self.init(bytes: rawRepresentation, point: point)
            }
        }

        public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool {
            lhs.rawRepresentation == rhs.rawRepresentation
        }

        /// true only when `signature` is 64 bytes R ‖ S with S < L, R a canonical point encoding, and
        /// [S]B − [k]A encodes to exactly R, k = SHA-512(R ‖ A ‖ message) mod L (cofactorless, docs/PROOFS.md).
        public func isValidSignature(_ signature: some Collection<UInt8>, for message: some Collection<UInt8>) -> Bool {
            let signature = Array(signature)
            guard signature.count == Ed25519.signatureCount else { return false }
            let encodedR = Array(signature[0..<32])
            let s = Array(signature[32..<64])
            guard Scalar.isCanonical(s) else { return false }
            guard case .success = EdwardsPoint.decode(encodedR) else { return false }
            let k = Ed25519.challenge(encodedR, rawRepresentation, message)
            let check = EdwardsPoint.combination(s: s, base: .base, k: k, point: negatedPoint)
            return check.encoded == encodedR
        }
    }

    /// k = SHA-512(R ‖ A ‖ M) mod L (RFC 8032 §5.1.6 step 4, §5.1.7 step 2).
    private static func challenge(_ encodedR: [UInt8], _ publicKey: [UInt8], _ message: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA512.Hasher()
        hasher.update(encodedR)
        hasher.update(publicKey)
        hasher.update(message)
        return Scalar.reduce(hasher.finalize())
    }
}

extension Ed25519.PrivateKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Names the public key only: the seed never reaches a log through `print` or string interpolation.
    public var description: String { "Ed25519.PrivateKey(public: \(publicKeyHex))" }
    public var debugDescription: String { description }
    /// A mirror without the secret fields (`dump` and the debugger show only the public key).
    public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKey], displayStyle: .struct) }

    private var publicKeyHex: String {
        publicKey.rawRepresentation.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
