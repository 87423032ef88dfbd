import CredLedgerCore

/// Typed reads of the projections, over any store (an LMDB transaction, or memory for as-of).
public struct StateReader<Store: KeyValueStore> {
    public let store: Store
    /// The open segment's uses, read once per reader on the first usage query.
    private let recentUsage = RecentUsageBox()

    public init(_ store: Store) { self.store = store }

    private func recent() throws -> RecentUsage {
        if let r = recentUsage.value { return r }
        let r = try RecentUsage(store)
        recentUsage.value = r
        return r
    }

    private func row<R: ProjectionRow>(_: R.Type, _ table: Table, _ key: [UInt8]) throws -> R? {
        try store.get(table, key).map(R.decode)
    }

    private func number(_ table: Table, _ key: [UInt8]) throws -> UInt32? {
        // No stored id is empty or longer than a key can be (1…511 bytes): such a lookup (an empty or huge client id,
        // slug or credential id from a caller) finds nothing, instead of failing in the store.
        guard !key.isEmpty, key.count <= 511 else { return nil }
        return try store.get(table, key).flatMap { UInt32(bigEndianBytes: $0) }
    }

    public func company(slug: String) throws -> CompanyRecord? {
        guard let entry = try companyEntry(slug: slug) else { return nil }
        return try company(entry.company)
    }
    public func company(_ n: UInt32) throws -> CompanyRecord? { try row(CompanyRecord.self, .companies, Keys.company(n)) }
    /// The `company_slugs` row of `slug`: the company's number and API flag, in one lookup.
    public func companyEntry(slug: String) throws -> CompanySlugEntry? {
        let key = Keys.companySlug(slug)
        guard !key.isEmpty, key.count <= 511 else { return nil }
        return try row(CompanySlugEntry.self, .companySlugs, key)
    }

    public func user(email: String) throws -> UInt32? { try number(.users, Keys.userByEmail(email)) }
    public func email(user: UInt32) throws -> String? {
        try store.get(.users, Keys.emailByUser(user)).map { String(decoding: $0, as: UTF8.self) }
    }
    public func member(company: UInt32, user: UInt32) throws -> MemberRecord? {
        try row(MemberRecord.self, .members, Keys.member(company, user))
    }
    /// Members of a company (role `removed` included), by user number.
    public func members(company: UInt32) throws -> [(user: UInt32, member: MemberRecord)] {
        var out: [(UInt32, MemberRecord)] = []
        try store.scan(.members, prefix: company.bigEndianBytes) { key, value in
            out.append((UInt32(bigEndianBytes: Array(key.suffix(4))) ?? 0, try MemberRecord.decode(value)))
            return true
        }
        return out
    }

    public func project(company: UInt32, slug: String) throws -> ProjectRecord? {
        guard let entry = try projectEntry(company: company, slug: slug) else { return nil }
        return try project(entry.project)
    }
    public func project(_ n: UInt32) throws -> ProjectRecord? { try row(ProjectRecord.self, .projects, Keys.project(n)) }
    /// The `project_slugs` row of `company`'s `slug`: the project's number and archived flag, in one lookup.
    public func projectEntry(company: UInt32, slug: String) throws -> ProjectSlugEntry? {
        let key = Keys.projectSlug(company, slug)
        guard key.count <= 511 else { return nil }
        return try row(ProjectSlugEntry.self, .projectSlugs, key)
    }
    public func projects(company: UInt32) throws -> [ProjectRecord] {
        var numbers: [UInt32] = []
        try store.scan(.projectSlugs, prefix: company.bigEndianBytes) { _, value in
            numbers.append(try ProjectSlugEntry.decode(value).project)
            return true
        }
        return try numbers.compactMap { try project($0) }.sorted { $0.number < $1.number }
    }

    public func credential(_ n: UInt32) throws -> CredentialRecord? { try row(CredentialRecord.self, .credentials, Keys.credential(n)) }
    public func credential(publicID: String) throws -> CredentialRecord? {
        guard let n = try number(.credentialIDs, Keys.credentialID(publicID)) else { return nil }
        return try credential(n)
    }
    public func credential(clientID: String) throws -> CredentialRecord? {
        guard let n = try number(.clientIDs, Keys.credentialID(clientID)) else { return nil }
        return try credential(n)
    }
    /// All credentials (deleted ones included) of a company, oldest first.
    public func credentials(company: UInt32) throws -> [CredentialRecord] {
        var out: [CredentialRecord] = []
        try store.scan(.credentials, from: []) { _, value in
            let record = try CredentialRecord.decode(value)
            if record.company == company { out.append(record) }
            return true
        }
        return out
    }

    /// Every credential, grouped by company number, each company's in credential-number order: one scan of the table
    /// (`credentials(company:)` per company scans it once per company).
    public func credentialsByCompany() throws -> [UInt32: [CredentialRecord]] {
        var out: [UInt32: [CredentialRecord]] = [:]
        try store.scan(.credentials, from: []) { _, value in
            let record = try CredentialRecord.decode(value)
            out[record.company, default: []].append(record)
            return true
        }
        return out
    }

    /// Names of a company's credentials that are not deleted, by credential number (`credential_names`).
    public func liveCredentialNames(company: UInt32) throws -> [(credential: UInt32, name: String)] {
        var out: [(UInt32, String)] = []
        try store.scan(.credentialNames, prefix: company.bigEndianBytes) { key, value in
            out.append((UInt32(bigEndianBytes: Array(key.suffix(4))) ?? 0, String(decoding: value, as: UTF8.self)))
            return true
        }
        return out
    }

    /// The company whose mail domain is `domain` (the `companies` table is scanned: companies are few).
    public func companyUsing(mailDomain domain: String) throws -> CompanyRecord? {
        var found: CompanyRecord?
        try store.scan(.companies, from: []) { _, value in
            let record = try CompanyRecord.decode(value)
            if record.mailDomain == domain { found = record }
            return found == nil
        }
        return found
    }

    /// The secret entry whose full hash equals `hash` (compared in constant time), if any.
    public func secret(hash: SHA256Digest) throws -> SecretEntry? {
        guard let entry = try row(SecretEntry.self, .secrets, Keys.hashPrefix(hash)), constantTimeEquals(entry.hash, hash) else { return nil }
        return entry
    }
    public func token(hash: SHA256Digest) throws -> TokenRecord? {
        guard let t = try row(TokenRecord.self, .tokens, Keys.hashPrefix(hash)), constantTimeEquals(t.hash, hash) else { return nil }
        return t
    }
    public func code(hash: SHA256Digest) throws -> CodeRecord? {
        guard let c = try row(CodeRecord.self, .codes, Keys.hashPrefix(hash)), constantTimeEquals(c.hash, hash) else { return nil }
        return c
    }

    /// Token families (seqs of their `token_issued`) of a user's tokens in a company, oldest first.
    public func families(company: UInt32, user: UInt32) throws -> [UInt64] {
        try suffixes(.userFamilies, Keys.pair(company, user)) { UInt64(bigEndianBytes: $0) }
    }
    /// Token families of a credential, oldest first.
    public func families(credential: UInt32) throws -> [UInt64] {
        try suffixes(.credentialFamilies, credential.bigEndianBytes) { UInt64(bigEndianBytes: $0) }
    }
    /// The RFC 8707 resource a token family of `credential` is bound to (nil = none, or no such family).
    public func resource(credential: UInt32, family: UInt64) throws -> String? {
        guard let value = try store.get(.credentialFamilies, Keys.credentialFamily(credential, family)), !value.isEmpty else { return nil }
        return String(decoding: value, as: UTF8.self)
    }
    /// `tokens` keys of a family's tokens.
    public func tokenKeys(family: UInt64) throws -> [[UInt8]] {
        try suffixes(.tokenFamilies, family.bigEndianBytes) { $0 }
    }
    /// The tokens of a family, by key.
    public func tokens(family: UInt64) throws -> [TokenRecord] {
        try tokenKeys(family: family).compactMap { try row(TokenRecord.self, .tokens, $0) }
    }
    /// The first token of a family (by key) that is active and unexpired at `now`, if any: whether the family is
    /// still live (revocation of a spent refresh token, the end of a removed user's access).
    public func liveToken(family: UInt64, at now: Timestamp) throws -> TokenRecord? {
        var live: TokenRecord?
        try store.scan(.tokenFamilies, prefix: family.bigEndianBytes) { key, _ in
            if let token = try row(TokenRecord.self, .tokens, Array(key.dropFirst(8))), token.status == .active, now < token.expiresAt {
                live = token
            }
            return live == nil
        }
        return live
    }
    /// `codes` keys of the codes a user approved in a company.
    public func codeKeys(company: UInt32, user: UInt32) throws -> [[UInt8]] {
        try suffixes(.userCodes, Keys.pair(company, user)) { $0 }
    }
    /// The codes a user approved in a company, by key.
    public func codes(company: UInt32, user: UInt32) throws -> [CodeRecord] {
        try codeKeys(company: company, user: user).compactMap { try row(CodeRecord.self, .codes, $0) }
    }

    /// The rest of each key under `prefix`, converted.
    private func suffixes<T>(_ table: Table, _ prefix: [UInt8], _ convert: ([UInt8]) -> T?) throws -> [T] {
        var out: [T] = []
        try store.scan(table, prefix: prefix) { key, _ in
            guard let value = convert(Array(key.dropFirst(prefix.count))) else { throw ProjectionError(table, "malformed key \(key)") }
            out.append(value)
            return true
        }
        return out
    }

    /// The last number assigned of a kind (0 = none yet).
    public func counter(_ kind: Keys.Counter) throws -> UInt32 { try number(.counters, [kind.rawValue]) ?? 0 }

    public func access(credential: UInt32, project: UInt32) throws -> RoleGrant? {
        try row(RoleGrant.self, .access, Keys.pair(credential, project))
    }
    public func accesses(credential: UInt32) throws -> [(project: UInt32, grant: RoleGrant)] {
        try pairs(.access, credential)
    }
    public func accesses(project: UInt32) throws -> [(credential: UInt32, grant: RoleGrant)] {
        try pairs(.accessByProject, project)
    }
    public func userRole(user: UInt32, project: UInt32) throws -> RoleGrant? {
        try row(RoleGrant.self, .userRoles, Keys.pair(user, project))
    }
    public func userRoles(project: UInt32) throws -> [(user: UInt32, grant: RoleGrant)] {
        try pairs(.userRolesByProject, project)
    }
    /// A user's own project roles in the projects of `company`.
    public func userRoles(user: UInt32, company: UInt32) throws -> [(project: UInt32, grant: RoleGrant)] {
        try pairs(.userRoles, user).filter { try project($0.0)?.company == company }
    }

    private func pairs(_ table: Table, _ first: UInt32) throws -> [(UInt32, RoleGrant)] {
        var out: [(UInt32, RoleGrant)] = []
        try store.scan(table, prefix: first.bigEndianBytes) { key, value in
            out.append((UInt32(bigEndianBytes: Array(key.suffix(4))) ?? 0, try RoleGrant.decode(value)))
            return true
        }
        return out
    }

    /// A credential's exact counters: its folded `usage` row plus the open segment's uses.
    public func usage(credential: UInt32) throws -> UsageRecord {
        var record = try row(UsageRecord.self, .usage, Keys.credential(credential)) ?? UsageRecord()
        if let delta = try recent().counters[credential] { record.merge(delta) }
        return record
    }

    /// Daily rollups of a credential: (day, project, counts), folded rows plus the open segment's uses, by day then project.
    public func dailyUsage(credential: UInt32) throws -> [(day: UInt32, project: UInt32, usage: DailyUsage)] {
        var rows: [DailyUsage.Key: DailyUsage] = [:]
        try store.scan(.usageDaily, prefix: credential.bigEndianBytes) { key, value in
            let day = UInt32(bigEndianBytes: Array(key[4..<8])) ?? 0
            let project = UInt32(bigEndianBytes: Array(key[8..<12])) ?? 0
            rows[DailyUsage.Key(day: day, project: project)] = try DailyUsage.decode(value)
            return true
        }
        for (key, delta) in try recent().daily[credential] ?? [:] {
            rows[key, default: DailyUsage()].allowed += delta.allowed
            rows[key, default: DailyUsage()].denied += delta.denied
        }
        return rows.sorted { $0.key < $1.key }.map { ($0.key.day, $0.key.project, $0.value) }
    }
}

/// Holder of a reader's `RecentUsage`, so the value-type reader can fill it lazily.
final class RecentUsageBox {
    var value: RecentUsage?
}

/// Digest of a projection's tables: SHA-256 over, per table in declaration order, the table name and
/// every (key, value) in key order, each length-prefixed (u32). Equal digests = byte-identical tables.
public enum ProjectionDigest {
    /// A built-in projection's digest (`.registry`, `.usage`, …).
    public static func compute(_ projection: ProjectionName, in store: some KeyValueStore) throws -> SHA256Digest {
        try compute(description: projection, in: store)
    }

    /// Any projection's digest, a registered one's included.
    public static func compute(_ projection: any ProjectionDescription, in store: some KeyValueStore) throws -> SHA256Digest {
        try compute(description: projection, in: store)
    }

    private static func compute(description projection: some ProjectionDescription, in store: some KeyValueStore) throws -> SHA256Digest {
        var hasher = SHA256()
        let raw = store as? any RawKeyValueStore
        for table in projection.tableNames {
            hashTableName(table, into: &hasher)
            if let raw {
                try digestInPlace(table, raw, into: &hasher)
                continue
            }
            try store.scan(named: table, from: []) { key, value in
                hasher.update(key.count.bigEndianU32)
                hasher.update(key)
                hasher.update(value.count.bigEndianU32)
                hasher.update(value)
                return true
            }
        }
        return hasher.finalize()
    }

    /// A table's header in the digest: u32 length ‖ the name's UTF-8 (`MerkleTreeStreamDigest` frames tables the same way).
    static func hashTableName(_ table: String, into hasher: inout SHA256) {
        hasher.update(Array(table.utf8).count.bigEndianU32 + Array(table.utf8))
    }

    /// The same bytes as the `scan` path, read in place and gathered into one buffer that is hashed when full: no
    /// array per row, and SHA-256 runs over whole blocks (rows are small: a digest was an allocation-bound loop).
    private static func digestInPlace(_ table: String, _ store: any RawKeyValueStore, into hasher: inout SHA256) throws {
        try withUnsafeTemporaryAllocation(byteCount: DigestGather.capacity, alignment: 8) { buffer in
            let base = buffer.baseAddress!   // a 64 KiB allocation has an address
            // The buffer's state is a value passed inout, not a variable captured by a nested function: a captured one was
            // boxed and every row paid two dynamic exclusivity checks (`swift_beginAccess`, a tenth of a replay's profile).
            var gather = DigestGather(base: base)
            try store.withCursor(named: table) { cursor in
                try cursor.forEach(from: UnsafeRawBufferPointer(start: nil, count: 0)) { key, value in
                    gather.put(key, &hasher)
                    gather.put(value, &hasher)
                    return true
                }
            }
            gather.flush(&hasher)
        }
    }
}

/// `ProjectionDigest`'s gathering buffer: length-prefixed byte strings copied into one buffer that is hashed when full.
private struct DigestGather {
    static let capacity = 64 * 1024
    let base: UnsafeMutableRawPointer
    var used = 0

    /// Appends u32 length ‖ `bytes` (hashing the buffer first if they do not fit).
    mutating func put(_ bytes: UnsafeRawBufferPointer, _ hasher: inout SHA256) {
        if Self.capacity - used < 4 + bytes.count { flush(&hasher) }
        (base + used).storeBytes(of: UInt32(truncatingIfNeeded: bytes.count).bigEndian, as: UInt32.self)
        used += 4
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        guard bytes.count <= Self.capacity - used else {   // larger than the buffer (no row is): hashed from the map
            flush(&hasher)
            hasher.update(bytes)
            return
        }
        (base + used).copyMemory(from: source, byteCount: bytes.count)
        used += bytes.count
    }

    /// Hashes what the buffer holds and empties it.
    mutating func flush(_ hasher: inout SHA256) {
        hasher.update(UnsafeRawBufferPointer(start: base, count: used))
        used = 0
    }
}

extension Int {
    fileprivate var bigEndianU32: [UInt8] { UInt32(truncatingIfNeeded: self).bigEndianBytes }
}
