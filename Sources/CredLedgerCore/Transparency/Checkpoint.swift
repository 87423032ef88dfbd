/// A C2SP tlog-checkpoint body (https://c2sp.org/tlog-checkpoint; docs/PROOFS.md §4): the log's origin, its tree size
/// and root hash, one per line. credledger writes no extension lines and reads none.
public struct Checkpoint: Equatable, Sendable {
    /// The log's identity; also the signing key's name.
    public var origin: String
    public var size: UInt64
    public var root: SHA256Digest

    public init(origin: String, size: UInt64, root: SHA256Digest) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    public var head: TreeHead { TreeHead(size: size, root: root) }

    /// `<origin>\n<size>\n<base64 root>\n`: the signed text.
    public var text: String { "\(origin)\n\(size)\n\(Base64.encode(root.bytes))\n" }

    /// Parses the text of a note strictly: exactly three lines; the origin a valid key name; the size decimal
    /// without sign, leading zero (except `0`) or overflow; the root the canonical base64 of 32 bytes.
    public init(text: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.last == "" else { throw CheckpointError("a checkpoint's text ends in a newline") }
        lines.removeLast()
        guard lines.count == 3 else { throw CheckpointError("a checkpoint has exactly three lines (origin, size, root), not \(lines.count)") }
        let origin = String(lines[0]), sizeText = lines[1], rootText = lines[2]
        guard NoteFormat.isValidName(origin) else { throw CheckpointError("the origin line is not a valid log name") }
        guard let size = Self.parseSize(sizeText) else { throw CheckpointError("the size line '\(sizeText)' is not a decimal number without sign or leading zero") }
        guard let raw = Base64.decode(rootText), let root = SHA256Digest(bytes: raw) else {
            throw CheckpointError("the root line is not the base64 of 32 bytes")
        }
        self.init(origin: origin, size: size, root: root)
    }

    /// A decimal u64: digits only, no leading zero but for "0".
    public static func parseSize(_ text: some StringProtocol) -> UInt64? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.count <= 20, digits.allSatisfy({ (0x30...0x39).contains($0) }),
              digits.count == 1 || digits[0] != 0x30 else { return nil }
        return UInt64(String(text))
    }
}

/// A checkpoint body that is not in the format.
public struct CheckpointError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
