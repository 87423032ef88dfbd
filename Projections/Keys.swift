import CredLedgerCore

/// Key layouts of the projection tables (docs/FORMAT.md); all integers big-endian.
public enum Keys {
    public static func company(_ c: UInt32) -> [UInt8] { c.bigEndianBytes }
    public static func companySlug(_ slug: String) -> [UInt8] { Array(slug.utf8) }
    /// `users`: 'e' + email → user number; 'n' + user number → email.
    public static func userByEmail(_ email: String) -> [UInt8] { [0x65] + Array(email.lowercased().utf8) }
    public static func emailByUser(_ u: UInt32) -> [UInt8] { [emailByUserTag] + u.bigEndianBytes }
    /// The first byte of an `emailByUser` key ('n').
    @inlinable public static var emailByUserTag: UInt8 { 0x6E }
    public static func member(_ c: UInt32, _ u: UInt32) -> [UInt8] { c.bigEndianBytes + u.bigEndianBytes }
    public static func project(_ p: UInt32) -> [UInt8] { p.bigEndianBytes }
    public static func projectSlug(_ c: UInt32, _ slug: String) -> [UInt8] { c.bigEndianBytes + Array(slug.utf8) }
    public static func credential(_ n: UInt32) -> [UInt8] { n.bigEndianBytes }
    public static func credentialID(_ id: String) -> [UInt8] { Array(id.utf8) }
    /// Secrets, tokens and codes are found by the first 16 bytes of their SHA-256.
    public static func hashPrefix(_ d: SHA256Digest) -> [UInt8] { Array(d.bytes.prefix(16)) }
    public static func tokenFamily(_ family: UInt64, _ d: SHA256Digest) -> [UInt8] { family.bigEndianBytes + hashPrefix(d) }
    public static func pair(_ a: UInt32, _ b: UInt32) -> [UInt8] { a.bigEndianBytes + b.bigEndianBytes }
    /// `user_families`: company, user, family; `user_codes`: company, user, code hash prefix.
    public static func userFamily(_ company: UInt32, _ user: UInt32, _ family: UInt64) -> [UInt8] { pair(company, user) + family.bigEndianBytes }
    public static func userCode(_ company: UInt32, _ user: UInt32, _ code: SHA256Digest) -> [UInt8] { pair(company, user) + hashPrefix(code) }
    /// `credential_families`: credential, family.
    public static func credentialFamily(_ credential: UInt32, _ family: UInt64) -> [UInt8] { credential.bigEndianBytes + family.bigEndianBytes }
    public static func daily(_ credential: UInt32, _ day: UInt32, _ project: UInt32) -> [UInt8] {
        credential.bigEndianBytes + day.bigEndianBytes + project.bigEndianBytes
    }

    /// Names of the `counters` rows (last number assigned).
    public enum Counter: UInt8, CaseIterable, Sendable {
        case company = 1, user = 2, project = 3, credential = 4
    }
}
