/// Ed25519 signatures, RFC 8032 §5.1 (pure Ed25519: no context, no prehash). Verification is the strict,
/// cofactorless rule of docs/PROOFS.md ("Ed25519 and SHA-512").
public enum Ed25519 {
    /// Bytes in a seed.
    public static let seedCount = 32
    /// Bytes in an encoded public key.
    public static let publicKeyCount = 32
    /// Bytes in a signature (R ‖ S).
    public static let signatureCount = 64

    /// k = SHA-512(R ‖ A ‖ M) mod L (RFC 8032 §5.1.6 step 4, §5.1.7 step 2).
    static func challenge(_ encodedR: [UInt8], _ publicKey: [UInt8], _ message: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA512.Hasher()
        hasher.update(encodedR)
        hasher.update(publicKey)
        hasher.update(message)
        return Scalar.reduce(hasher.finalize())
    }
}

