extension Ed25519 {
    /// A verifying key: a strictly decoded point that is not of small order.
    public struct PublicKey: Sendable, Equatable {
        /// The 32-byte encoding (RFC 8032 §5.1.2).
        public let rawRepresentation: [UInt8]
        /// The decoded point A, negated once here for verification's [S]B + [k](−A).
        private let negatedPoint: EdwardsPoint

        /// A key already decoded and checked (the public key of a private key).
        init(bytes: [UInt8], point: EdwardsPoint) {
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

        /// Same encoding, same key (a decoded key has exactly one encoding).
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
}
