/// Kinds of secret the ledger issues; the prefix makes leaked secrets findable by scanners.
public enum SecretKind: UInt8, Sendable, CaseIterable {
    case apiKey = 1
    case clientSecret = 2
    case accessToken = 3
    case refreshToken = 4
    case authorizationCode = 5

    /// The 4-byte prefix, e.g. `cxk_`.
    public var prefix: String {
        switch self {
        case .apiKey: "cxk_"
        case .clientSecret: "cxs_"
        case .accessToken: "cxa_"
        case .refreshToken: "cxr_"
        case .authorizationCode: "cxo_"
        }
    }

    /// The prefix's kind letter (`k s a r o`): a constant, as `validate` compares it on every decision.
    fileprivate var letter: UInt8 {
        switch self {
        case .apiKey: UInt8(ascii: "k")
        case .clientSecret: UInt8(ascii: "s")
        case .accessToken: UInt8(ascii: "a")
        case .refreshToken: UInt8(ascii: "r")
        case .authorizationCode: UInt8(ascii: "o")
        }
    }
}

/// Secret layout: `cx` + kind letter + `_` + 36 random base62 chars (214 bits) + 6 base62 chars of CRC-32
/// over everything before them. A typo fails the checksum without a lookup. See docs/SECRETS.md.
public enum SecretFormat {
    public static let prefixLength = 4
    public static let bodyLength = 36
    public static let checksumLength = 6
    public static let length = prefixLength + bodyLength + checksumLength
    /// Characters of the body shown in the table (36 bits of 214; the rest stays secret).
    public static let displayedBodyLength = 6

    /// A fresh secret of `kind` from `random` (rejection sampling keeps the base62 digits uniform); `random_stuck` when
    /// the generator gives no usable bytes (`RejectionSampling`).
    public static func generate(_ kind: SecretKind, using random: some RandomBytesGenerator) throws(LedgerError) -> String {
        var out = Array(kind.prefix.utf8)
        out.reserveCapacity(length)
        try RejectionSampling.append(bodyLength, of: Base62.alphabet, drawing: 48, from: random, to: &out)
        let crc = out.withUnsafeBytes { CRC32.checksum($0) }
        out.append(contentsOf: Base62.encode(crc, width: checksumLength).utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// `secret` (well-formed, any kind) with `kind`'s prefix and the checksum recomputed: the same random body as
    /// another kind of secret.
    public static func withKind(_ secret: String, _ kind: SecretKind) -> String {
        var out = Array(kind.prefix.utf8)
        out.append(contentsOf: secret.utf8.dropFirst(prefixLength).prefix(bodyLength))
        let crc = out.withUnsafeBytes { CRC32.checksum($0) }
        out.append(contentsOf: Base62.encode(crc, width: checksumLength).utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// Checks prefix, length, alphabet and checksum; nil means well-formed.
    public static func validate(_ bytes: UnsafeRawBufferPointer, expecting kinds: [SecretKind]) -> (kind: SecretKind?, problem: DenialReason?) {
        guard bytes.count == length, bytes[0] == 0x63, bytes[1] == 0x78, bytes[3] == 0x5F else {
            return (nil, .malformedHeader)
        }
        guard let kind = kinds.first(where: { $0.letter == bytes[2] }) else { return (nil, .malformedHeader) }
        return (kind, bodyProblem(bytes))
    }

    /// `validate(_:expecting:)` for one kind (the decision's: no array of kinds per call).
    public static func validate(_ bytes: UnsafeRawBufferPointer, expecting kind: SecretKind) -> (kind: SecretKind?, problem: DenialReason?) {
        guard bytes.count == length, bytes[0] == 0x63, bytes[1] == 0x78, bytes[3] == 0x5F, bytes[2] == kind.letter else {
            return (nil, .malformedHeader)
        }
        return (kind, bodyProblem(bytes))
    }

    /// What is wrong with a well-prefixed secret's body and checksum (`length` bytes), or nil.
    @inline(__always)
    private static func bodyProblem(_ bytes: UnsafeRawBufferPointer) -> DenialReason? {
        guard bodyIsBase62(bytes) else { return .malformedHeader }
        let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(prefixLength + bodyLength)]))
        return checksumMatches(crc, UnsafeRawBufferPointer(rebasing: bytes[(prefixLength + bodyLength)...])) ? nil : .badChecksum
    }

    /// Whether bytes `prefixLength..<length` of a `length`-byte secret are all base62 digits (as `Base62.isValid`), eight
    /// at a time: six words, at 4, 12, 20, 28, 36 and 38 (the last overlaps; a check may read a byte twice).
    @inline(__always)
    static func bodyIsBase62(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == length, let base = bytes.baseAddress else { return false }
        var all: UInt64 = 0x8080_8080_8080_8080
        var offset = prefixLength
        while offset + 8 <= length - 2 {
            all &= base62Bytes(base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        all &= base62Bytes(base.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self))
        return all == 0x8080_8080_8080_8080
    }

    /// The high bit of each byte of `w` that is a base62 digit. Per byte of the low seven bits `x` (no sum below
    /// carries into the next byte): `x + (0x80 - lo)` has its high bit set when x ≥ lo, `x + (0x7F - hi)` when x > hi;
    /// letters are tested once, folded to lowercase (`x | 0x20` is in "a"…"z" only for letters). A byte with its
    /// own high bit set is none.
    @inline(__always)
    static func base62Bytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let x = w & ~highs
        let digit = (x &+ ones &* (0x80 - 0x30)) & ~(x &+ ones &* (0x7F - 0x39))
        let folded = x | ones &* 0x20
        let letter = (folded &+ ones &* (0x80 - 0x61)) & ~(folded &+ ones &* (0x7F - 0x7A))
        return (digit | letter) & ~w & highs
    }

    /// Whether `digits` (`checksumLength` bytes) spell `crc` as `Base62.encode(crc, width: checksumLength)` does —
    /// in place, no string per decision: the digits are read as a base62 number and compared with `crc` (six digits
    /// spell each value below 62^6 > 2^32 exactly once, so equal values are equal spellings). Reading them is one
    /// short dependency chain and no branch per digit; writing `crc` out digit by digit was six dependent divisions
    /// and a mispredicted branch on each random digit's range.
    @inline(__always)
    static func checksumMatches(_ crc: UInt32, _ digits: UnsafeRawBufferPointer) -> Bool {
        guard digits.count == checksumLength else { return false }
        var value: UInt64 = 0
        var valid = true
        for i in 0..<checksumLength {
            let c = digits[i]
            valid = valid && Base62.isValid(c)
            // "0"…"9", "A"…"Z", "a"…"z" → 0…61 (exact for base62 bytes; others fail `valid`).
            value = value &* 62 &+ UInt64(c &- UInt8(ascii: "0") &- (c >= UInt8(ascii: "A") ? 7 : 0) &- (c >= UInt8(ascii: "a") ? 6 : 0))
        }
        return valid && value == UInt64(crc)
    }

    public static func validate(_ secret: String, expecting kinds: [SecretKind]) -> (kind: SecretKind?, problem: DenialReason?) {
        var copy = secret
        return copy.withUTF8 { validate(UnsafeRawBufferPointer($0), expecting: kinds) }
    }

    /// The non-secret part shown in tables, e.g. `cxk_Ab3dEf…`.
    public static func displayPrefix(of secret: String) -> String {
        String(decoding: secret.utf8.prefix(prefixLength + displayedBodyLength), as: UTF8.self)
    }

    /// SHA-256 of the whole secret string: the only thing the ledger keeps.
    public static func hash(_ secret: String) -> SHA256Digest { SHA256.hash(secret) }
}

/// Non-secret random identifiers.
public enum Identifier {
    /// `cred_` + 16 base62 characters.
    public static func credentialID(using random: some RandomBytesGenerator) throws(LedgerError) -> String {
        "cred_" + (try base62(16, random))
    }
    /// OAuth client id: `cxc_` + 24 base62 characters.
    public static func clientID(using random: some RandomBytesGenerator) throws(LedgerError) -> String {
        "cxc_" + (try base62(24, random))
    }
    /// Unique part of `apiservice+<id>@domain`: 12 lowercase alphanumerics.
    public static func serviceUserID(using random: some RandomBytesGenerator) throws(LedgerError) -> String {
        var out: [UInt8] = []
        try RejectionSampling.append(12, of: Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8), drawing: 24, from: random, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func base62(_ count: Int, _ random: some RandomBytesGenerator) throws(LedgerError) -> String {
        var out: [UInt8] = []
        try RejectionSampling.append(count, of: Base62.alphabet, drawing: count + 8, from: random, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// Uniform characters from random bytes: a byte is used only below the largest multiple of the alphabet's size (248
/// for base62), so every character is equally likely. A working generator fills a secret in its first round with
/// near certainty; one that gives no usable bytes (stuck on 0xFF, a broken source an embedder passed) would be waited
/// on forever, on the writer thread, stopping every request: after `maxRounds` rounds it is refused instead.
enum RejectionSampling {
    /// Rounds of `drawing` bytes before the generator is called broken (a working one fails this with probability
    /// below 2^-1000 for every use here).
    static let maxRounds = 64

    /// Appends `count` characters of `alphabet` (≤ 256 of them) to `out`, drawing `drawing` bytes at a time. The draws
    /// are the same as before the bound was added, so a seeded generator still gives the same secrets and ids.
    static func append(_ count: Int, of alphabet: [UInt8], drawing: Int, from random: some RandomBytesGenerator,
                       to out: inout [UInt8]) throws(LedgerError) {
        let limit = 256 - 256 % alphabet.count
        var needed = count
        for _ in 0..<maxRounds {
            for byte in random.bytes(drawing) where Int(byte) < limit && needed > 0 {
                out.append(alphabet[Int(byte) % alphabet.count])
                needed -= 1
            }
            if needed == 0 { return }
        }
        throw LedgerError("random_stuck", "the random generator gave \(maxRounds * drawing) bytes without \(count) usable ones: nothing was written; check the machine's random source",
                          kind: .integrity)
    }
}
