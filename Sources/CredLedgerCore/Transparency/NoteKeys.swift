/// Ed25519 note keys in Go's `sumdb/note` text forms (docs/PROOFS.md §4): the algorithm byte 0x01, the key ID, the
/// verifier key `name+<8 hex>+base64(0x01 ‖ public key)` and the signer key
/// `PRIVATE+KEY+name+<8 hex>+base64(0x01 ‖ seed)`.
public enum NoteKeys {
    /// The algorithm byte of Ed25519 keys.
    public static let ed25519: UInt8 = 0x01

    /// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[0..<4], big-endian.
    public static func keyID(name: String, publicKey: [UInt8]) -> UInt32 {
        let digest = SHA256.hash(Array(name.utf8) + [0x0A, ed25519] + publicKey).bytes
        return UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
    }

    /// `name+<key ID>+base64(0x01 ‖ public key)`.
    public static func verifierKey(name: String, publicKey: [UInt8]) -> String {
        "\(name)+\(NoteFormat.hex8(keyID(name: name, publicKey: publicKey)))+\(Base64.encode([ed25519] + publicKey))"
    }

    /// `PRIVATE+KEY+name+<key ID>+base64(0x01 ‖ seed)`; the key ID is the public key's.
    public static func signerKey(name: String, publicKey: [UInt8], seed: [UInt8]) -> String {
        "PRIVATE+KEY+\(name)+\(NoteFormat.hex8(keyID(name: name, publicKey: publicKey)))+\(Base64.encode([ed25519] + seed))"
    }

    /// A parsed verifier key: name, key ID (checked against the key) and the 32-byte Ed25519 public key.
    public struct Verifier: Equatable, Sendable {
        public var name: String
        public var keyID: UInt32
        public var publicKey: [UInt8]
    }

    /// Parses `name+<8 hex>+base64(0x01 ‖ key)` (Go `note.NewVerifier`).
    public static func parseVerifierKey(_ text: String) throws -> Verifier {
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, isValidName(parts[0]), let id = parseID(parts[1]), let raw = Base64.decode(parts[2]) else {
            throw NoteError(.malformed, "malformed verifier key: expected name+<8 hex digits>+<base64 key>")
        }
        guard raw.first == ed25519, raw.count == 33 else { throw NoteError(.malformed, "verifier key: not an Ed25519 key (algorithm 0x01, 32 bytes)") }
        let key = Array(raw[1...])
        guard keyID(name: parts[0], publicKey: key) == id else { throw NoteError(.malformed, "verifier key: the key ID does not match the name and key") }
        return Verifier(name: parts[0], keyID: id, publicKey: key)
    }

    /// A parsed signer key: name, key ID (to be checked against the derived public key) and the 32-byte seed.
    public struct Signer: Equatable, Sendable {
        public var name: String
        public var keyID: UInt32
        public var seed: [UInt8]
    }

    /// Parses `PRIVATE+KEY+name+<8 hex>+base64(0x01 ‖ seed)` (Go `note.NewSigner`, before the key ID check, which needs
    /// the public key).
    public static func parseSignerKey(_ text: String) throws -> Signer {
        let parts = text.split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY", isValidName(parts[2]), let id = parseID(parts[3]),
              let raw = Base64.decode(parts[4]) else {
            throw NoteError(.malformed, "malformed signer key: expected PRIVATE+KEY+name+<8 hex digits>+<base64 key>")
        }
        guard raw.first == ed25519, raw.count == 33 else { throw NoteError(.malformed, "signer key: not an Ed25519 seed (algorithm 0x01, 32 bytes)") }
        return Signer(name: parts[2], keyID: id, seed: Array(raw[1...]))
    }

    static func isValidName(_ name: String) -> Bool { NoteFormat.isValidName(name) }

    /// Exactly eight hex digits.
    static func parseID(_ text: String) -> UInt32? {
        guard text.utf8.count == 8, text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || (0x41...0x46).contains($0) }) else { return nil }
        return UInt32(text, radix: 16)
    }
}
