extension Ed25519 {
    /// Why bytes are not an acceptable seed or public key.
    public struct KeyError: Error, Equatable, Sendable, CustomStringConvertible {
        /// What is wrong with the bytes.
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

        /// What is wrong with the bytes.
        public let reason: Reason
        /// The length that was given (for `.wrongLength`).
        public let length: Int

        /// An error for `reason`; `length` is the byte count given (meaningful for `.wrongLength`).
        public init(_ reason: Reason, length: Int = 32) {
            self.reason = reason
            self.length = length
        }

        /// One line naming the problem (never the key bytes).
        public var description: String {
            switch reason {
            case .wrongLength: return "Ed25519 key: expected 32 bytes, got \(length)"
            case .nonCanonicalEncoding: return "Ed25519 public key: non-canonical point encoding"
            case .notOnCurve: return "Ed25519 public key: not a point of the curve"
            case .smallOrder: return "Ed25519 public key: a point of small order (refused)"
            }
        }
    }
}
