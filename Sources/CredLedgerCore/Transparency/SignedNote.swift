/// A key that signs notes (Go `note.Signer`; docs/PROOFS.md §4): its name, 32-bit key ID, and signature function.
public protocol NoteSigner {
    var name: String { get }
    var keyID: UInt32 { get }
    func sign(_ message: [UInt8]) throws -> [UInt8]
}

/// A key that verifies notes (Go `note.Verifier`).
public protocol NoteVerifier {
    var name: String { get }
    var keyID: UInt32 { get }
    func verify(_ message: [UInt8], signature: [UInt8]) -> Bool
}

/// One signature line of a note: `— <name> <base64(key ID ‖ signature)>`.
public struct NoteSignature: Equatable, Sendable {
    public var name: String
    public var keyID: UInt32
    /// The base64 field as written (key ID and signature).
    public var base64: String
}

/// A note whose signatures were checked (Go `note.Note`).
public struct SignedNote: Equatable, Sendable {
    /// The signed text, ending in a newline.
    public var text: String
    /// Signatures by known keys, each verified.
    public var signatures: [NoteSignature]
    /// Signatures by keys not given (name and key ID unknown): not checked.
    public var unverified: [NoteSignature]
}

/// Why a note was refused: malformed, a known key's signature that fails, or no known key signed it.
public struct NoteError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable { case malformed, invalidSignature, unverified, ambiguousKey }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}

/// The C2SP signed-note format (https://c2sp.org/signed-note), written and read as Go's `golang.org/x/mod/sumdb/note`
/// does: `Sign` and `Open` (docs/PROOFS.md §4).
public enum NoteFormat {
    /// The signature line prefix: an em dash (U+2014, E2 80 94) and a space.
    public static let signaturePrefix = "\u{2014} "
    /// Most signature lines read from one note.
    public static let maxSignatures = 100

    /// A key name: non-empty UTF-8 without spaces (Unicode white space) or `+`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("+") && !name.unicodeScalars.contains { $0.properties.isWhitespace }
    }

    /// The note: `text` (non-empty, ending in a newline, no blank line at its end), a blank line, and one signature
    /// line per signer.
    public static func sign(text: String, signers: [any NoteSigner]) throws -> String {
        let message = Array(text.utf8)
        guard message.last == 0x0A, !text.hasSuffix("\n\n"), isWellFormedText(message) else {
            throw NoteError(.malformed, "a note's text must be UTF-8 without control characters, end in one newline and hold no blank line at its end")
        }
        var note = text + "\n"
        for signer in signers {
            guard isValidName(signer.name) else { throw NoteError(.malformed, "invalid signer name \(signer.name)") }
            let signature = try signer.sign(message)
            note += signaturePrefix + signer.name + " " + Base64.encode(signer.keyID.bigEndianBytes + signature) + "\n"
        }
        return note
    }

    /// UTF-8 with no ASCII control character but the newline.
    static func isWellFormedText(_ bytes: [UInt8]) -> Bool {
        guard String(validating: bytes, as: UTF8.self) != nil else { return false }
        return !bytes.contains { $0 < 0x20 && $0 != 0x0A || $0 == 0x7F }
    }

    /// Reads a note and checks the signatures of the keys given (Go `note.Open`): the text is everything up to the
    /// last blank line; every signature line must be well formed; a signature by a known (name, key ID) that does
    /// not verify rejects the note; unknown ones are returned unverified; at least one must verify.
    public static func open(_ note: [UInt8], verifiers: [any NoteVerifier]) throws -> SignedNote {
        guard isWellFormedText(note) else { throw NoteError(.malformed, "malformed note: not UTF-8, or a control character other than a newline") }
        guard let split = lastBlankLine(note) else { throw NoteError(.malformed, "malformed note: no blank line before the signatures") }
        let text = Array(note[..<(split + 1)])
        var rest = note[(split + 2)...]
        guard let last = rest.last, last == 0x0A else { throw NoteError(.malformed, "malformed note: the signatures must end in a newline") }
        var result = SignedNote(text: String(decoding: text, as: UTF8.self), signatures: [], unverified: [])
        var seen = Set<String>(), seenUnverified = Set<String>()
        var count = 0
        while let newline = rest.firstIndex(of: 0x0A) {
            let line = String(decoding: rest[rest.startIndex..<newline], as: UTF8.self)
            rest = rest[(newline + 1)...]
            guard line.hasPrefix(signaturePrefix) else { throw NoteError(.malformed, "malformed note: a line after the blank line is not a signature") }
            let body = line.dropFirst(signaturePrefix.count)
            guard let space = body.firstIndex(of: " ") else { throw NoteError(.malformed, "malformed note: a signature line has no key name") }
            let name = String(body[..<space]), encoded = String(body[body.index(after: space)...])
            guard isValidName(name), let raw = Base64.decode(encoded), raw.count >= 5 else {
                throw NoteError(.malformed, "malformed note: bad signature line for \(name)")
            }
            count += 1
            guard count <= maxSignatures else { throw NoteError(.malformed, "malformed note: more than \(maxSignatures) signatures") }
            let keyID = UInt32(raw[0]) << 24 | UInt32(raw[1]) << 16 | UInt32(raw[2]) << 8 | UInt32(raw[3])
            let signature = NoteSignature(name: name, keyID: keyID, base64: encoded)
            let matching = verifiers.filter { $0.name == name && $0.keyID == keyID }
            guard let verifier = matching.first else {
                if seenUnverified.insert(line).inserted { result.unverified.append(signature) }
                continue
            }
            guard matching.count == 1 else { throw NoteError(.ambiguousKey, "ambiguous key \(name)+\(hex8(keyID))") }
            guard seen.insert("\(name)+\(keyID)").inserted else { continue }
            guard verifier.verify(text, signature: Array(raw[4...])) else {
                throw NoteError(.invalidSignature, "invalid signature for key \(name)+\(hex8(keyID))")
            }
            result.signatures.append(signature)
        }
        guard !result.signatures.isEmpty else {
            let names = result.unverified.map { "\($0.name)+\(hex8($0.keyID))" }.joined(separator: ", ")
            throw NoteError(.unverified, "the note has no signature by a known key" + (names.isEmpty ? "" : " (signed by \(names))"))
        }
        return result
    }

    /// The index of the first newline of the last "\n\n".
    private static func lastBlankLine(_ bytes: [UInt8]) -> Int? {
        var i = bytes.count - 2
        while i >= 0 {
            if bytes[i] == 0x0A && bytes[i + 1] == 0x0A { return i }
            i -= 1
        }
        return nil
    }

    /// Eight lowercase hex digits.
    public static func hex8(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
