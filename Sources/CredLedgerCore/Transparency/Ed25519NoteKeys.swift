/// A note signer holding an Ed25519 private key (Go `note.NewSigner` over a `PRIVATE+KEY+…` key).
public struct Ed25519NoteSigner: NoteSigner, Sendable {
    public let name: String
    public let keyID: UInt32
    public let privateKey: Ed25519.PrivateKey

    /// The signer of `privateKey` under `name` (a valid key name: no space, no `+`).
    public init(name: String, privateKey: Ed25519.PrivateKey) throws {
        guard NoteFormat.isValidName(name) else { throw NoteError(.malformed, "invalid key name '\(name)': no spaces or '+'") }
        self.name = name
        self.privateKey = privateKey
        keyID = NoteKeys.keyID(name: name, publicKey: privateKey.publicKey.rawRepresentation)
    }

    /// Parses Go's signer key text; its key ID must be the derived public key's.
    public init(signerKey: String) throws {
        let parsed = try NoteKeys.parseSignerKey(signerKey)
        let key: Ed25519.PrivateKey
        do { key = try Ed25519.PrivateKey(seed: parsed.seed) } catch { throw NoteError(.malformed, "signer key: \(error)") }
        try self.init(name: parsed.name, privateKey: key)
        guard keyID == parsed.keyID else { throw NoteError(.malformed, "signer key: the key ID does not match the name and key") }
    }

    public func sign(_ message: [UInt8]) throws -> [UInt8] { privateKey.signature(for: message) }

    /// `PRIVATE+KEY+name+<id>+base64(0x01 ‖ seed)`: a secret.
    public var signerKey: String {
        NoteKeys.signerKey(name: name, publicKey: privateKey.publicKey.rawRepresentation, seed: privateKey.seed)
    }

    /// `name+<id>+base64(0x01 ‖ public key)`: what verifiers pin.
    public var verifierKey: String { NoteKeys.verifierKey(name: name, publicKey: privateKey.publicKey.rawRepresentation) }

    public var verifier: Ed25519NoteVerifier { Ed25519NoteVerifier(name: name, keyID: keyID, publicKey: privateKey.publicKey) }
}

/// A note verifier holding an Ed25519 public key (Go `note.NewVerifier`).
public struct Ed25519NoteVerifier: NoteVerifier, Sendable {
    public let name: String
    public let keyID: UInt32
    public let publicKey: Ed25519.PublicKey

    init(name: String, keyID: UInt32, publicKey: Ed25519.PublicKey) {
        self.name = name
        self.keyID = keyID
        self.publicKey = publicKey
    }

    /// Parses a verifier key; the key must be a canonical, not small-order point.
    public init(verifierKey: String) throws {
        let parsed = try NoteKeys.parseVerifierKey(verifierKey)
        do {
            publicKey = try Ed25519.PublicKey(rawRepresentation: parsed.publicKey)
        } catch {
            throw NoteError(.malformed, "verifier key: \(error)")
        }
        name = parsed.name
        keyID = parsed.keyID
    }

    public var verifierKey: String { NoteKeys.verifierKey(name: name, publicKey: publicKey.rawRepresentation) }

    public func verify(_ message: [UInt8], signature: [UInt8]) -> Bool {
        publicKey.isValidSignature(signature, for: message)
    }
}

/// A signed checkpoint: the checkpoint, the note that signs it, and the key that verifies it.
public struct SignedCheckpoint: Equatable, Sendable {
    public var checkpoint: Checkpoint
    /// The whole signed note (`<checkpoint text>\n— <name> <signature>\n`).
    public var note: String
    public var verifierKey: String

    public init(checkpoint: Checkpoint, note: String, verifierKey: String) {
        self.checkpoint = checkpoint
        self.note = note
        self.verifierKey = verifierKey
    }

    /// Signs `checkpoint` with `signer`, whose name must be the checkpoint's origin.
    public init(_ checkpoint: Checkpoint, signer: Ed25519NoteSigner) throws {
        guard checkpoint.origin == signer.name else { throw NoteError(.malformed, "the checkpoint's origin must be the key's name") }
        self.init(checkpoint: checkpoint, note: try NoteFormat.sign(text: checkpoint.text, signers: [signer]), verifierKey: signer.verifierKey)
    }

    /// Opens a checkpoint note with the one pinned verifier: the note must be signed by that key, its origin must be
    /// the key's name (the origin and key pin each other), and its text must be a checkpoint.
    public init(note: String, verifier key: Ed25519NoteVerifier) throws {
        let opened = try NoteFormat.open(Array(note.utf8), verifiers: [key])
        let checkpoint = try Checkpoint(text: opened.text)
        guard checkpoint.origin == key.name else {
            throw CheckpointError("the checkpoint's origin '\(checkpoint.origin)' is not the name of the key that signed it (\(key.name))")
        }
        self.init(checkpoint: checkpoint, note: note, verifierKey: key.verifierKey)
    }
}
