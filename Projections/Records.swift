import CredLedgerCore

/// A projection row that cannot be decoded: the projection is corrupt (verify and rebuild fix it).
public struct ProjectionError: Error, CustomStringConvertible {
    public let table: Table
    public let detail: String
    public init(_ table: Table, _ detail: String) {
        self.table = table
        self.detail = detail
    }
    public var description: String { "projection table \(table.rawValue): \(detail)" }
}

/// Row codec shared by all records: fixed fields first, so the hot path can read them in place.
public protocol ProjectionRow {
    static var table: Table { get }
    func encode(into w: inout ByteWriter)
    init?(reader r: inout ByteReader)
}

extension ProjectionRow {
    public var bytes: [UInt8] {
        var w = ByteWriter(capacity: 64)
        encode(into: &w)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> Self {
        let value: Self? = bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            guard let v = Self(reader: &r), r.isAtEnd else { return nil }
            return v
        }
        guard let value else { throw ProjectionError(table, "undecodable row of \(bytes.count) bytes") }
        return value
    }
}

/// `companies`: company number → record.
public struct CompanyRecord: ProjectionRow, Sendable {
    public static let table = Table.companies
    public var number: UInt32
    public var apiEnabled: Bool
    public var registeredAt: Timestamp
    public var slug: String
    public var name: String
    public var mailDomain: String

    /// Byte offsets of the fixed fields, each the previous one plus its size in the order `encode` writes them
    /// (docs/FORMAT.md §6.2; `encode` asserts them).
    public enum Layout {
        @inlinable public static var apiEnabled: Int { 0 }
        @inlinable public static var number: Int { apiEnabled + MemoryLayout<UInt8>.size }
        @inlinable public static var registeredAt: Int { number + MemoryLayout<UInt32>.size }
        /// Where the `stringCount` length-prefixed strings (slug, name, mail domain) begin.
        @inlinable public static var strings: Int { registeredAt + MemoryLayout<Timestamp>.size }
        @inlinable public static var stringCount: Int { 3 }
    }

    public func encode(into w: inout ByteWriter) {
        let start = w.count
        w.write(UInt8(apiEnabled ? 1 : 0)); w.write(number); w.write(registeredAt)
        assert(w.count - start == Layout.strings, "CompanyRecord.Layout differs from its codec")
        w.write(string: slug); w.write(string: name); w.write(string: mailDomain)
    }

    public init?(reader r: inout ByteReader) {
        guard let enabled = r.read(UInt8.self), let number = r.read(UInt32.self), let at = r.read(Int64.self),
              let slug = r.readString(), let name = r.readString(), let domain = r.readString() else { return nil }
        self.init(number: number, apiEnabled: enabled == 1, registeredAt: at, slug: slug, name: name, mailDomain: domain)
    }

    public init(number: UInt32, apiEnabled: Bool, registeredAt: Timestamp, slug: String, name: String, mailDomain: String) {
        self.number = number
        self.apiEnabled = apiEnabled
        self.registeredAt = registeredAt
        self.slug = slug
        self.name = name
        self.mailDomain = mailDomain
    }
}

/// `members`: company + user → role.
public struct MemberRecord: ProjectionRow, Sendable {
    public static let table = Table.members
    public var role: CompanyRole
    public var since: Timestamp

    /// Byte offsets in the order `encode` writes the fields (read in place by the authorization hot path).
    public enum Layout {
        @inlinable public static var role: Int { 0 }
        @inlinable public static var since: Int { role + MemoryLayout<UInt8>.size }
        @inlinable public static var size: Int { since + MemoryLayout<Timestamp>.size }
    }

    public func encode(into w: inout ByteWriter) { w.write(role.rawValue); w.write(since) }
    public init?(reader r: inout ByteReader) {
        guard let raw = r.read(UInt8.self), let role = CompanyRole(rawValue: raw), let since = r.read(Int64.self) else { return nil }
        self.init(role: role, since: since)
    }
    public init(role: CompanyRole, since: Timestamp) {
        self.role = role
        self.since = since
    }
}

/// `projects`: project number → record.
public struct ProjectRecord: ProjectionRow, Sendable {
    public static let table = Table.projects
    public var company: UInt32
    public var archived: Bool
    public var number: UInt32
    public var createdAt: Timestamp
    public var slug: String
    public var name: String

    /// Byte offsets of the fixed fields in the order `encode` writes them (docs/FORMAT.md §6.2; `encode` asserts them).
    public enum Layout {
        @inlinable public static var company: Int { 0 }
        @inlinable public static var archived: Int { company + MemoryLayout<UInt32>.size }
        @inlinable public static var number: Int { archived + MemoryLayout<UInt8>.size }
        @inlinable public static var createdAt: Int { number + MemoryLayout<UInt32>.size }
        /// Where the `stringCount` length-prefixed strings (slug, name) begin.
        @inlinable public static var strings: Int { createdAt + MemoryLayout<Timestamp>.size }
        @inlinable public static var stringCount: Int { 2 }
    }

    public func encode(into w: inout ByteWriter) {
        let start = w.count
        w.write(company); w.write(UInt8(archived ? 1 : 0)); w.write(number); w.write(createdAt)
        assert(w.count - start == Layout.strings, "ProjectRecord.Layout differs from its codec")
        w.write(string: slug); w.write(string: name)
    }
    public init?(reader r: inout ByteReader) {
        guard let company = r.read(UInt32.self), let archived = r.read(UInt8.self), let number = r.read(UInt32.self),
              let at = r.read(Int64.self), let slug = r.readString(), let name = r.readString() else { return nil }
        self.init(company: company, archived: archived == 1, number: number, createdAt: at, slug: slug, name: name)
    }
    public init(company: UInt32, archived: Bool, number: UInt32, createdAt: Timestamp, slug: String, name: String) {
        self.company = company
        self.archived = archived
        self.number = number
        self.createdAt = createdAt
        self.slug = slug
        self.name = name
    }
}

/// The shape both slug rows share: a `u32` number, then a `bool` flag (exactly 0 or 1).
public enum SlugRowLayout {
    @inlinable public static var number: Int { 0 }
    @inlinable public static var flag: Int { number + MemoryLayout<UInt32>.size }
    @inlinable public static var size: Int { flag + MemoryLayout<UInt8>.size }

    static func encode(_ number: UInt32, _ flag: Bool, into w: inout ByteWriter) { w.write(number); w.write(UInt8(flag ? 1 : 0)) }
    static func decode(_ r: inout ByteReader) -> (number: UInt32, flag: Bool)? {
        guard let number = r.read(UInt32.self), let flag = r.read(UInt8.self), flag <= 1 else { return nil }
        return (number, flag == 1)
    }
}

/// `company_slugs`: slug → the company's number and whether its API module is on. The flag repeats
/// `companies[c].api_enabled` so that the authorization hot path resolves a company in one lookup.
public struct CompanySlugEntry: ProjectionRow, Sendable, Equatable {
    public static let table = Table.companySlugs
    public typealias Layout = SlugRowLayout
    public var company: UInt32
    public var apiEnabled: Bool

    public func encode(into w: inout ByteWriter) { Layout.encode(company, apiEnabled, into: &w) }
    public init?(reader r: inout ByteReader) {
        guard let (company, apiEnabled) = Layout.decode(&r) else { return nil }
        self.init(company: company, apiEnabled: apiEnabled)
    }
    public init(company: UInt32, apiEnabled: Bool) {
        self.company = company
        self.apiEnabled = apiEnabled
    }
}

/// `project_slugs`: company + slug → the project's number and whether it is archived. The flag repeats
/// `projects[p].archived` so that the authorization hot path resolves a project in one lookup.
public struct ProjectSlugEntry: ProjectionRow, Sendable, Equatable {
    public static let table = Table.projectSlugs
    public typealias Layout = SlugRowLayout
    public var project: UInt32
    public var archived: Bool

    public func encode(into w: inout ByteWriter) { Layout.encode(project, archived, into: &w) }
    public init?(reader r: inout ByteReader) {
        guard let (project, archived) = Layout.decode(&r) else { return nil }
        self.init(project: project, archived: archived)
    }
    public init(project: UInt32, archived: Bool) {
        self.project = project
        self.archived = archived
    }
}

/// `credentials`: credential number → the row behind the API keys table (never the secret).
public struct CredentialRecord: ProjectionRow, Sendable {
    public static let table = Table.credentials
    public var company: UInt32
    public var type: CredentialType
    public var scope: Scope
    public var deleted: Bool
    public var expiresAt: Timestamp
    public var number: UInt32
    public var createdAt: Timestamp
    public var deletedAt: Timestamp
    public var createdBy: UInt32
    public var rotatedAt: Timestamp
    public var publicID: String
    public var name: String
    public var serviceUser: String
    public var displayPrefix: String
    public var clientID: String
    public var redirectURIs: [String]
    /// Hashes of secrets that may still be valid (current first); lookups go through `secrets`.
    public var secretHashes: [SHA256Digest]

    /// Most secrets valid at once (current + those in a rotation grace period).
    public static let maxLiveSecrets = 16

    /// Byte offsets of the fixed fields in the order `encode` writes them (docs/FORMAT.md §6.2; `encode` asserts them).
    public enum Layout {
        @inlinable public static var company: Int { 0 }
        @inlinable public static var type: Int { company + MemoryLayout<UInt32>.size }
        @inlinable public static var scope: Int { type + MemoryLayout<UInt8>.size }
        @inlinable public static var deleted: Int { scope + MemoryLayout<UInt8>.size }
        @inlinable public static var expiresAt: Int { deleted + MemoryLayout<UInt8>.size }
        @inlinable public static var number: Int { expiresAt + MemoryLayout<Timestamp>.size }
        @inlinable public static var createdAt: Int { number + MemoryLayout<UInt32>.size }
        @inlinable public static var deletedAt: Int { createdAt + MemoryLayout<Timestamp>.size }
        @inlinable public static var createdBy: Int { deletedAt + MemoryLayout<Timestamp>.size }
        @inlinable public static var rotatedAt: Int { createdBy + MemoryLayout<UInt32>.size }
        /// Where the `stringCount` length-prefixed strings (public id, name, service user, display prefix, client id)
        /// begin; then a u8 count of redirect URIs (strings), a u8 count of hashes (`hashSize` bytes each), nothing else.
        @inlinable public static var strings: Int { rotatedAt + MemoryLayout<Timestamp>.size }
        @inlinable public static var stringCount: Int { 5 }
        @inlinable public static var hashSize: Int { MemoryLayout<SHA256Digest>.size }
    }

    public func encode(into w: inout ByteWriter) {
        let start = w.count
        w.write(company); w.write(type.rawValue); w.write(scope.rawValue); w.write(UInt8(deleted ? 1 : 0)); w.write(expiresAt)
        w.write(number); w.write(createdAt); w.write(deletedAt); w.write(createdBy); w.write(rotatedAt)
        assert(w.count - start == Layout.strings, "CredentialRecord.Layout differs from its codec")
        w.write(string: publicID); w.write(string: name); w.write(string: serviceUser); w.write(string: displayPrefix)
        w.write(string: clientID)
        w.write(UInt8(redirectURIs.count))
        for uri in redirectURIs { w.write(string: uri) }
        w.write(UInt8(secretHashes.count))
        for h in secretHashes { h.withUnsafeBytes { w.write(bytes: $0) } }
    }

    public init?(reader r: inout ByteReader) {
        guard let company = r.read(UInt32.self), let t = r.read(UInt8.self), let type = CredentialType(rawValue: t),
              let s = r.read(UInt8.self), let scope = Scope(rawValue: s), let deleted = r.read(UInt8.self),
              let expires = r.read(Int64.self), let number = r.read(UInt32.self), let created = r.read(Int64.self),
              let deletedAt = r.read(Int64.self), let createdBy = r.read(UInt32.self), let rotatedAt = r.read(Int64.self),
              let publicID = r.readString(), let name = r.readString(), let serviceUser = r.readString(),
              let prefix = r.readString(), let clientID = r.readString(), let uriCount = r.read(UInt8.self)
        else { return nil }
        var uris: [String] = []
        for _ in 0..<uriCount {
            guard let u = r.readString() else { return nil }
            uris.append(u)
        }
        guard let hashCount = r.read(UInt8.self) else { return nil }
        var hashes: [SHA256Digest] = []
        for _ in 0..<hashCount {
            guard let raw = r.readBytes(32), let d = SHA256Digest(bytes: raw) else { return nil }
            hashes.append(d)
        }
        self.init(company: company, type: type, scope: scope, deleted: deleted == 1, expiresAt: expires, number: number,
                  createdAt: created, deletedAt: deletedAt, createdBy: createdBy, rotatedAt: rotatedAt, publicID: publicID,
                  name: name, serviceUser: serviceUser, displayPrefix: prefix, clientID: clientID, redirectURIs: uris,
                  secretHashes: hashes)
    }

    public init(company: UInt32, type: CredentialType, scope: Scope, deleted: Bool, expiresAt: Timestamp, number: UInt32,
                createdAt: Timestamp, deletedAt: Timestamp, createdBy: UInt32, rotatedAt: Timestamp, publicID: String,
                name: String, serviceUser: String, displayPrefix: String, clientID: String, redirectURIs: [String],
                secretHashes: [SHA256Digest]) {
        self.company = company
        self.type = type
        self.scope = scope
        self.deleted = deleted
        self.expiresAt = expiresAt
        self.number = number
        self.createdAt = createdAt
        self.deletedAt = deletedAt
        self.createdBy = createdBy
        self.rotatedAt = rotatedAt
        self.publicID = publicID
        self.name = name
        self.serviceUser = serviceUser
        self.displayPrefix = displayPrefix
        self.clientID = clientID
        self.redirectURIs = redirectURIs
        self.secretHashes = secretHashes
    }
}

/// `secrets`: first 16 bytes of SHA-256(secret) → the secret's state, and the facts of its credential an API-key
/// decision needs (company, type, scope, deleted, expiry, public id, service user), repeated from `credentials` so that
/// the decision finds them in this one row. Only `deleted` of those ever changes, and the projector sets it in every
/// row of the credential's secrets.
public struct SecretEntry: ProjectionRow, Sendable, Equatable {
    public static let table = Table.secrets
    public var credential: UInt32
    /// 0 = no end (the current secret); otherwise the end of a rotation grace period.
    public var validUntil: Timestamp
    public var hash: SHA256Digest
    public var company: UInt32
    public var type: CredentialType
    public var scope: Scope
    public var deleted: Bool
    /// 0 = never.
    public var expiresAt: Timestamp
    public var publicID: String
    public var serviceUser: String

    /// Byte offsets in the order `encode` writes the fields (read in place by the authorization hot path).
    public enum Layout {
        @inlinable public static var credential: Int { 0 }
        @inlinable public static var validUntil: Int { credential + MemoryLayout<UInt32>.size }
        @inlinable public static var hash: Int { validUntil + MemoryLayout<Timestamp>.size }
        @inlinable public static var company: Int { hash + MemoryLayout<SHA256Digest>.size }
        @inlinable public static var type: Int { company + MemoryLayout<UInt32>.size }
        @inlinable public static var scope: Int { type + MemoryLayout<UInt8>.size }
        @inlinable public static var deleted: Int { scope + MemoryLayout<UInt8>.size }
        @inlinable public static var expiresAt: Int { deleted + MemoryLayout<UInt8>.size }
        /// Where the two length-prefixed strings (public id, service user) begin; nothing follows them.
        @inlinable public static var strings: Int { expiresAt + MemoryLayout<Timestamp>.size }
    }

    public func encode(into w: inout ByteWriter) {
        let start = w.count
        w.write(credential); w.write(validUntil); hash.withUnsafeBytes { w.write(bytes: $0) }
        w.write(company); w.write(type.rawValue); w.write(scope.rawValue); w.write(UInt8(deleted ? 1 : 0)); w.write(expiresAt)
        assert(w.count - start == Layout.strings, "SecretEntry.Layout differs from its codec")
        w.write(string: publicID); w.write(string: serviceUser)
    }
    public init?(reader r: inout ByteReader) {
        guard let c = r.read(UInt32.self), let v = r.read(Int64.self), let raw = r.readBytes(32), let h = SHA256Digest(bytes: raw),
              let company = r.read(UInt32.self), let t = r.read(UInt8.self), let type = CredentialType(rawValue: t),
              let s = r.read(UInt8.self), let scope = Scope(rawValue: s), let deleted = r.read(UInt8.self), deleted <= 1,
              let expiresAt = r.read(Int64.self), let publicID = r.readString(), let serviceUser = r.readString()
        else { return nil }
        self.init(credential: c, validUntil: v, hash: h, company: company, type: type, scope: scope, deleted: deleted == 1,
                  expiresAt: expiresAt, publicID: publicID, serviceUser: serviceUser)
    }
    public init(credential: UInt32, validUntil: Timestamp, hash: SHA256Digest, company: UInt32, type: CredentialType, scope: Scope,
                deleted: Bool, expiresAt: Timestamp, publicID: String, serviceUser: String) {
        self.credential = credential
        self.validUntil = validUntil
        self.hash = hash
        self.company = company
        self.type = type
        self.scope = scope
        self.deleted = deleted
        self.expiresAt = expiresAt
        self.publicID = publicID
        self.serviceUser = serviceUser
    }
    /// The row of `hash`, a secret of `record`'s credential, with `record`'s facts.
    public init(of record: CredentialRecord, validUntil: Timestamp, hash: SHA256Digest) {
        self.init(credential: record.number, validUntil: validUntil, hash: hash, company: record.company, type: record.type,
                  scope: record.scope, deleted: record.deleted, expiresAt: record.expiresAt, publicID: record.publicID,
                  serviceUser: record.serviceUser)
    }
}

/// `tokens`: first 16 bytes of SHA-256(token) → token state, with its credential's facts and its principal (the
/// authorization hot path decides a Bearer token from this row, its slug rows and the roles alone).
public struct TokenRecord: ProjectionRow, Sendable, Equatable {
    public static let table = Table.tokens
    public enum Kind: UInt8, Sendable { case access = 1, refresh = 2 }
    public enum Status: UInt8, Sendable { case active = 1, spent = 2, revoked = 3 }

    public var kind: Kind
    public var status: Status
    public var credential: UInt32
    public var user: UInt32
    public var family: UInt64
    public var expiresAt: Timestamp
    public var issuedAt: Timestamp
    public var hash: SHA256Digest
    /// When the approval the family acts on was given: the consent time for authorization-code families, the family's
    /// issue time otherwise. A user's role granted after it does not reach the token (docs/FORMAT.md §6.1).
    public var approvedAt: Timestamp
    // The credential's facts, copied from its record (registry code version 5); `credentialDeleted` is the only one
    // that changes, and `credential_deleted` sets it in every token row of the credential.
    public var company: UInt32
    public var type: CredentialType
    public var scope: Scope
    public var credentialDeleted: Bool
    /// The credential's own expiry (0 = never), not the token's.
    public var credentialExpiresAt: Timestamp
    public var publicID: String
    /// Who acts with the token: the credential's service user, or for a user-delegated credential the approving
    /// user's email (neither ever changes).
    public var principal: String

    /// Byte offsets in the order `encode` writes the fields (read in place by the authorization hot path).
    public enum Layout {
        @inlinable public static var kind: Int { 0 }
        @inlinable public static var status: Int { kind + MemoryLayout<UInt8>.size }
        @inlinable public static var credential: Int { status + MemoryLayout<UInt8>.size }
        @inlinable public static var user: Int { credential + MemoryLayout<UInt32>.size }
        @inlinable public static var family: Int { user + MemoryLayout<UInt32>.size }
        @inlinable public static var expiresAt: Int { family + MemoryLayout<UInt64>.size }
        @inlinable public static var issuedAt: Int { expiresAt + MemoryLayout<Timestamp>.size }
        @inlinable public static var hash: Int { issuedAt + MemoryLayout<Timestamp>.size }
        /// After the hash: added with the token approval time (registry code version 2).
        @inlinable public static var approvedAt: Int { hash + MemoryLayout<SHA256Digest>.size }
        /// The credential's facts follow (registry code version 5).
        @inlinable public static var company: Int { approvedAt + MemoryLayout<Timestamp>.size }
        @inlinable public static var type: Int { company + MemoryLayout<UInt32>.size }
        @inlinable public static var scope: Int { type + MemoryLayout<UInt8>.size }
        @inlinable public static var credentialDeleted: Int { scope + MemoryLayout<UInt8>.size }
        @inlinable public static var credentialExpiresAt: Int { credentialDeleted + MemoryLayout<UInt8>.size }
        /// Where the two length-prefixed strings (public id, principal) begin; nothing follows them.
        @inlinable public static var strings: Int { credentialExpiresAt + MemoryLayout<Timestamp>.size }
    }

    public func encode(into w: inout ByteWriter) {
        let start = w.count
        w.write(kind.rawValue); w.write(status.rawValue); w.write(credential); w.write(user); w.write(family)
        w.write(expiresAt); w.write(issuedAt); hash.withUnsafeBytes { w.write(bytes: $0) }; w.write(approvedAt)
        w.write(company); w.write(type.rawValue); w.write(scope.rawValue); w.write(UInt8(credentialDeleted ? 1 : 0))
        w.write(credentialExpiresAt)
        assert(w.count - start == Layout.strings, "TokenRecord.Layout differs from its codec")
        w.write(string: publicID); w.write(string: principal)
    }
    public init?(reader r: inout ByteReader) {
        guard let k = r.read(UInt8.self), let kind = Kind(rawValue: k), let s = r.read(UInt8.self), let status = Status(rawValue: s),
              let c = r.read(UInt32.self), let u = r.read(UInt32.self), let f = r.read(UInt64.self), let e = r.read(Int64.self),
              let i = r.read(Int64.self), let raw = r.readBytes(32), let h = SHA256Digest(bytes: raw), let a = r.read(Int64.self),
              let company = r.read(UInt32.self), let t = r.read(UInt8.self), let type = CredentialType(rawValue: t),
              let sc = r.read(UInt8.self), let scope = Scope(rawValue: sc), let deleted = r.read(UInt8.self), deleted <= 1,
              let credentialExpiresAt = r.read(Int64.self), let publicID = r.readString(), let principal = r.readString()
        else { return nil }
        self.init(kind: kind, status: status, credential: c, user: u, family: f, expiresAt: e, issuedAt: i, hash: h, approvedAt: a,
                  company: company, type: type, scope: scope, credentialDeleted: deleted == 1, credentialExpiresAt: credentialExpiresAt,
                  publicID: publicID, principal: principal)
    }
    public init(kind: Kind, status: Status, credential: UInt32, user: UInt32, family: UInt64, expiresAt: Timestamp, issuedAt: Timestamp,
                hash: SHA256Digest, approvedAt: Timestamp, company: UInt32, type: CredentialType, scope: Scope,
                credentialDeleted: Bool, credentialExpiresAt: Timestamp, publicID: String, principal: String) {
        self.kind = kind
        self.status = status
        self.credential = credential
        self.user = user
        self.family = family
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.hash = hash
        self.approvedAt = approvedAt
        self.company = company
        self.type = type
        self.scope = scope
        self.credentialDeleted = credentialDeleted
        self.credentialExpiresAt = credentialExpiresAt
        self.publicID = publicID
        self.principal = principal
    }
    /// A token of `record`'s credential acting as `principal`, with `record`'s facts.
    public init(kind: Kind, status: Status, of record: CredentialRecord, user: UInt32, principal: String, family: UInt64,
                expiresAt: Timestamp, issuedAt: Timestamp, hash: SHA256Digest, approvedAt: Timestamp) {
        self.init(kind: kind, status: status, credential: record.number, user: user, family: family, expiresAt: expiresAt,
                  issuedAt: issuedAt, hash: hash, approvedAt: approvedAt, company: record.company, type: record.type,
                  scope: record.scope, credentialDeleted: record.deleted, credentialExpiresAt: record.expiresAt,
                  publicID: record.publicID, principal: principal)
    }
    /// A new active token of the same credential, family, user, approval, credential facts and principal (a refresh's
    /// new pair).
    public func renewed(_ kind: Kind, expiresAt: Timestamp, issuedAt: Timestamp, hash: SHA256Digest) -> TokenRecord {
        var token = self
        token.kind = kind
        token.status = .active
        token.expiresAt = expiresAt
        token.issuedAt = issuedAt
        token.hash = hash
        return token
    }
}

/// `codes`: first 16 bytes of SHA-256(authorization code) → the pending grant.
public struct CodeRecord: ProjectionRow, Sendable {
    public static let table = Table.codes
    /// Stored as one byte: a code is redeemed once, or revoked before that (its user was removed).
    public enum Status: UInt8, Sendable { case unused = 0, redeemed = 1, revoked = 2 }

    public var credential: UInt32
    public var user: UInt32
    public var status: Status
    /// The token family issued from this code (0 until redeemed), revoked if the code is replayed.
    public var family: UInt64
    public var expiresAt: Timestamp
    /// Time of the consent that issued the code.
    public var approvedAt: Timestamp
    public var challenge: SHA256Digest
    public var hash: SHA256Digest
    public var redirectURI: String
    /// The RFC 8707 resource of the consent, if any: a trailing string written only when present, so that the rows
    /// of codes without one are the bytes earlier versions wrote.
    public var resource: String?

    public func encode(into w: inout ByteWriter) {
        w.write(credential); w.write(user); w.write(status.rawValue); w.write(family); w.write(expiresAt); w.write(approvedAt)
        challenge.withUnsafeBytes { w.write(bytes: $0) }; hash.withUnsafeBytes { w.write(bytes: $0) }; w.write(string: redirectURI)
        if let resource { w.write(string: resource) }
    }
    public init?(reader r: inout ByteReader) {
        guard let c = r.read(UInt32.self), let u = r.read(UInt32.self), let s = r.read(UInt8.self), let status = Status(rawValue: s),
              let f = r.read(UInt64.self), let e = r.read(Int64.self), let a = r.read(Int64.self),
              let ch = r.readBytes(32), let challenge = SHA256Digest(bytes: ch),
              let hr = r.readBytes(32), let hash = SHA256Digest(bytes: hr), let uri = r.readString() else { return nil }
        var resource: String?
        if !r.isAtEnd {
            guard let value = r.readString(), !value.isEmpty else { return nil }
            resource = value
        }
        self.init(credential: c, user: u, status: status, family: f, expiresAt: e, approvedAt: a, challenge: challenge, hash: hash,
                  redirectURI: uri, resource: resource)
    }
    public init(credential: UInt32, user: UInt32, status: Status, family: UInt64, expiresAt: Timestamp, approvedAt: Timestamp,
                challenge: SHA256Digest, hash: SHA256Digest, redirectURI: String, resource: String? = nil) {
        self.resource = resource
        self.credential = credential
        self.user = user
        self.status = status
        self.family = family
        self.expiresAt = expiresAt
        self.approvedAt = approvedAt
        self.challenge = challenge
        self.hash = hash
        self.redirectURI = redirectURI
    }
}

/// `access` / `user_roles`: a project role and since when.
public struct RoleGrant: ProjectionRow, Sendable, Equatable {
    public static let table = Table.access
    public var role: ProjectRole
    public var since: Timestamp

    /// Byte offsets in the order `encode` writes the fields (read in place by the authorization hot path).
    public enum Layout {
        @inlinable public static var role: Int { 0 }
        @inlinable public static var since: Int { role + MemoryLayout<UInt8>.size }
        @inlinable public static var size: Int { since + MemoryLayout<Timestamp>.size }
    }

    public func encode(into w: inout ByteWriter) { w.write(role.rawValue); w.write(since) }
    public init?(reader r: inout ByteReader) {
        guard let raw = r.read(UInt8.self), let role = ProjectRole(rawValue: raw), let since = r.read(Int64.self) else { return nil }
        self.init(role: role, since: since)
    }
    public init(role: ProjectRole, since: Timestamp) {
        self.role = role
        self.since = since
    }
}

/// `usage`: exact counters of one credential. Used counts allowed uses; denied ones are counted apart.
public struct UsageRecord: ProjectionRow, Sendable, Equatable {
    public static let table = Table.usage
    public var used: UInt64 = 0
    public var denied: UInt64 = 0
    /// 0 = never.
    public var lastUsed: Timestamp = 0
    public var firstUsed: Timestamp = 0
    public var lastDenied: Timestamp = 0

    public init() {}

    public func encode(into w: inout ByteWriter) {
        w.write(used); w.write(denied); w.write(lastUsed); w.write(firstUsed); w.write(lastDenied)
    }
    public init?(reader r: inout ByteReader) {
        guard let u = r.read(UInt64.self), let d = r.read(UInt64.self), let l = r.read(Int64.self), let f = r.read(Int64.self),
              let ld = r.read(Int64.self) else { return nil }
        used = u; denied = d; lastUsed = l; firstUsed = f; lastDenied = ld
    }
}

/// `usage_daily`: credential + day + project → allowed and denied counts that day.
public struct DailyUsage: ProjectionRow, Sendable, Equatable {
    public static let table = Table.usageDaily
    public var allowed: UInt64 = 0
    public var denied: UInt64 = 0

    public init() {}
    public func encode(into w: inout ByteWriter) { w.write(allowed); w.write(denied) }
    public init?(reader r: inout ByteReader) {
        guard let a = r.read(UInt64.self), let d = r.read(UInt64.self) else { return nil }
        allowed = a; denied = d
    }
}
