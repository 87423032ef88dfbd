import CredLedgerCore
import CredLedgerCrypto

/// A parsed `Authorization` header value: `Apikey <key>` or `Bearer <token>`.
public enum AuthorizationHeader: Sendable, Equatable {
    case apiKey(String)
    case bearer(String)

    /// Longest header value accepted (a secret is 46 bytes; this leaves room for whitespace).
    public static let maxLength = 256

    /// Parses without touching storage: scheme (case-insensitive), one secret, prefix and checksum.
    /// A failure is the specific reason to deny with.
    public static func parse(_ value: String) -> Result<AuthorizationHeader, DenialReason> {
        scan(value) { scheme, secret in
            let text = String(decoding: secret, as: UTF8.self)
            return scheme == .apiKey ? .apiKey(text) : .bearer(text)
        }
    }

    /// What the decision needs of the header — the scheme and the secret's SHA-256 — hashed from the header's bytes in
    /// place: the hot path builds no `String` of the secret (nothing of it outlives this call but the hash). Accepts
    /// and refuses exactly what `parse` does.
    static func presentedSecret(_ value: String) -> Result<PresentedSecret, DenialReason> {
        scan(value) { scheme, secret in PresentedSecret(scheme: scheme, hash: SHA256.hash(secret)) }
    }

    /// The parse shared by `parse` and `presentedSecret`: checks the header's bytes and hands `make` the scheme and the
    /// secret's bytes (valid only during the call).
    @inline(__always)
    private static func scan<T>(_ value: String, _ make: (PresentedSecret.Scheme, UnsafeRawBufferPointer) -> T)
        -> Result<T, DenialReason> {
        // A native string's bytes are read where they are: no copy of the `String` (whose retain and release, on a
        // header string other threads hold too, is an atomic on a shared cache line). Others are made native first.
        if let result = value.utf8.withContiguousStorageIfAvailable({ scanBytes($0, make) }) { return result }
        var copy = value
        return copy.withUTF8 { scanBytes($0, make) }
    }

    /// `scan` over the header's UTF-8 bytes.
    @inline(__always)
    private static func scanBytes<T>(_ raw: UnsafeBufferPointer<UInt8>, _ make: (PresentedSecret.Scheme, UnsafeRawBufferPointer) -> T)
        -> Result<T, DenialReason> {
        guard !raw.isEmpty, raw.count <= maxLength else { return .failure(.malformedHeader) }
        guard isPrintableASCII(UnsafeRawBufferPointer(raw)) else { return .failure(.malformedHeader) }
        var start = 0, end = raw.count
        while start < end, raw[start] == 0x20 { start += 1 }
        while end > start, raw[end - 1] == 0x20 { end -= 1 }
        var space = start
        while space < end, raw[space] != 0x20 { space += 1 }
        // No space: empty, a scheme without a secret, or a secret without a scheme — all one reason, since a lone
        // word cannot be told apart as scheme or secret.
        guard space < end else { return .failure(.malformedHeader) }
        let scheme = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(raw)[start..<space])
        var secretStart = space
        while secretStart < end, raw[secretStart] == 0x20 { secretStart += 1 }
        let secretBytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(raw)[secretStart..<end])
        guard !secretBytes.isEmpty, !containsSpace(secretBytes) else { return .failure(.malformedHeader) }
        // The scheme compared in place, ASCII case-insensitively (only printable ASCII gets here), against the one kind
        // each scheme takes: no string or array is built (or shared) per decision.
        let kind: SecretKind
        let found: PresentedSecret.Scheme
        if schemeIs(scheme, "apikey") {
            (kind, found) = (.apiKey, .apiKey)
        } else if schemeIs(scheme, "bearer") {
            (kind, found) = (.accessToken, .bearer)
        } else {
            return .failure(.unsupportedScheme)
        }
        let check = SecretFormat.validate(secretBytes, expecting: kind)
        if let problem = check.problem { return .failure(problem) }
        return .success(make(found, secretBytes))
    }

    /// Whether every byte is printable ASCII (0x20…0x7E): eight bytes per step (a header is about 53), the tail byte by
    /// byte. Per word, a byte below 0x20 sets its high bit in `(w - 0x20…) & ~w` and a byte above 0x7E in
    /// `(w + 0x01…) | w`; a borrow or carry crossing into the next byte comes only from a byte that was already found.
    @inline(__always)
    static func isPrintableASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var found: UInt64 = 0
        var i = 0
        while i + 8 <= bytes.count {
            let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            found |= ((w &- ones &* 0x20) & ~w) | (w &+ ones) | w
            i += 8
        }
        var ok = found & highs == 0
        while i < bytes.count {
            let b = base.load(fromByteOffset: i, as: UInt8.self)
            ok = ok && b >= 0x20 && b < 0x7F
            i += 1
        }
        return ok
    }

    /// Whether `bytes` hold a space (0x20): eight bytes per step (a byte equal to 0x20 is a zero byte of `w ^ 0x20…`,
    /// which sets its high bit in `(v - 0x01…) & ~v`), the tail byte by byte.
    @inline(__always)
    static func containsSpace(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let ones: UInt64 = 0x0101_0101_0101_0101
        var found: UInt64 = 0
        var i = 0
        while i + 8 <= bytes.count {
            let v = base.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ (ones &* 0x20)
            found |= (v &- ones) & ~v
            i += 8
        }
        var space = found & 0x8080_8080_8080_8080 != 0
        while i < bytes.count {
            space = space || base.load(fromByteOffset: i, as: UInt8.self) == 0x20
            i += 1
        }
        return space
    }

    /// Whether `bytes` spell `lowercase` (ASCII lowercase letters) in any letter case.
    @inline(__always)
    private static func schemeIs(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for i in 0..<bytes.count {
            var b = bytes[i]
            if b >= 0x41 && b <= 0x5A { b |= 0x20 }
            if b != expected[i] { return false }
        }
        return true
    }
}

/// What a well-formed header presents to the access rules: its scheme and the SHA-256 of its secret — the only form
/// in which the secret is looked up (the `secrets` and `tokens` tables key it by that hash). Never the secret itself.
struct PresentedSecret: Equatable {
    enum Scheme: Equatable {
        case apiKey
        case bearer
    }

    let scheme: Scheme
    let hash: SHA256Digest

    init(scheme: Scheme, hash: SHA256Digest) {
        self.scheme = scheme
        self.hash = hash
    }

    /// The reference form: from a header parsed into strings, hashing the secret `String` (`SecretFormat.hash`).
    init(_ header: AuthorizationHeader) {
        switch header {
        case .apiKey(let key): self.init(scheme: .apiKey, hash: SecretFormat.hash(key))
        case .bearer(let token): self.init(scheme: .bearer, hash: SecretFormat.hash(token))
        }
    }
}
