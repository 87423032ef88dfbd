import CredLedgerCore

/// Applies events to every projection. State changes are written at once; use counters and index
/// postings are accumulated and written by `flush` (once per batch), with the same bytes either way.
public struct Projector {
    private var usage: [UInt32: UsageRecord] = [:]
    private var daily: [[UInt8]: DailyUsage] = [:]
    private var postings: [PostingIndex.ListKey: [PostingIndex.Entry]] = [:]
    private var scratch: [(PostingIndex.ListKey, PostingIndex.Flag)] = []
    public private(set) var lastApplied: UInt64 = 0

    public init() {}

    /// Applies one event; `event.seq` must follow the previous one.
    public mutating func apply(_ event: Event, to store: some KeyValueStore) throws {
        scratch.removeAll(keepingCapacity: true)
        PostingIndex.lists(for: event, into: &scratch)
        for (list, flag) in scratch {
            postings[list, default: []].append(PostingIndex.Entry(seq: event.seq, flag: flag))
        }
        if case .credentialUsed(let use) = event.payload {
            accumulate(use, at: event.timestamp)
        } else {
            try RegistryProjection.apply(event, to: store)
        }
        lastApplied = event.seq
    }

    private mutating func accumulate(_ use: CredentialUse, at t: Timestamp) {
        guard use.credential != 0 else { return }
        var row = usage[use.credential] ?? UsageRecord()
        var dayRow = daily[Keys.daily(use.credential, TimeFormat.day(t), use.project)] ?? DailyUsage()
        if use.allowed {
            row.used += 1
            row.lastUsed = t
            if row.firstUsed == 0 { row.firstUsed = t }
            dayRow.allowed += 1
        } else {
            row.denied += 1
            row.lastDenied = t
            dayRow.denied += 1
        }
        usage[use.credential] = row
        daily[Keys.daily(use.credential, TimeFormat.day(t), use.project)] = dayRow
    }

    /// Writes accumulated counters and postings, merging with what the store holds.
    public mutating func flush(to store: some KeyValueStore) throws {
        for (credential, delta) in usage {
            let key = Keys.credential(credential)
            var row = try store.get(.usage, key).map(UsageRecord.decode) ?? UsageRecord()
            row.used += delta.used
            row.denied += delta.denied
            if delta.lastUsed != 0 { row.lastUsed = delta.lastUsed }
            if row.firstUsed == 0 { row.firstUsed = delta.firstUsed }
            if delta.lastDenied != 0 { row.lastDenied = delta.lastDenied }
            try store.put(.usage, key, row.bytes)
        }
        for (key, delta) in daily {
            var row = try store.get(.usageDaily, key).map(DailyUsage.decode) ?? DailyUsage()
            row.allowed += delta.allowed
            row.denied += delta.denied
            try store.put(.usageDaily, key, row.bytes)
        }
        for (list, entries) in postings {
            try PostingIndex.append(entries, to: list, in: store)
        }
        usage.removeAll(keepingCapacity: true)
        daily.removeAll(keepingCapacity: true)
        postings.removeAll(keepingCapacity: true)
    }

    /// Forgets everything accumulated (the batch was rolled back).
    public mutating func discard() {
        usage.removeAll(keepingCapacity: true)
        daily.removeAll(keepingCapacity: true)
        postings.removeAll(keepingCapacity: true)
    }
}

/// The registry and memberships projections: applied directly, event by event.
enum RegistryProjection {
    static func apply(_ event: Event, to store: some KeyValueStore) throws {
        let t = event.timestamp
        switch event.payload {
        case .companyRegistered(let slug, let name, let domain):
            let record = CompanyRecord(number: event.company, apiEnabled: false, registeredAt: t, slug: slug, name: name, mailDomain: domain)
            try store.put(.companies, Keys.company(event.company), record.bytes)
            try store.put(.companySlugs, Keys.companySlug(slug), event.company.bigEndianBytes)
            try bump(.company, to: event.company, in: store)
        case .apiModuleEnabled, .apiModuleDisabled:
            let key = Keys.company(event.company)
            guard let raw = try store.get(.companies, key) else { throw ProjectionError(.companies, "no company \(event.company)") }
            var record = try CompanyRecord.decode(raw)
            record.apiEnabled = event.type == .apiModuleEnabled
            try store.put(.companies, key, record.bytes)
        case .memberRoleSet(let user, let email, let role):
            try store.put(.users, Keys.userByEmail(email), user.bigEndianBytes)
            try store.put(.users, Keys.emailByUser(user), Array(email.lowercased().utf8))
            try store.put(.members, Keys.member(event.company, user), MemberRecord(role: role, since: t).bytes)
            try bump(.user, to: user, in: store)
        case .projectCreated(let project, let slug, let name):
            let record = ProjectRecord(company: event.company, archived: false, number: project, createdAt: t, slug: slug, name: name)
            try store.put(.projects, Keys.project(project), record.bytes)
            try store.put(.projectSlugs, Keys.projectSlug(event.company, slug), project.bigEndianBytes)
            try bump(.project, to: project, in: store)
        case .projectArchived(let project):
            var record = try load(ProjectRecord.self, .projects, Keys.project(project), store)
            record.archived = true
            try store.put(.projects, Keys.project(project), record.bytes)
        case .credentialCreated(let c):
            let createdBy: UInt32 = if case .user(let u) = event.actor { u } else { 0 }
            let record = CredentialRecord(
                company: event.company, type: c.type, scope: c.scope, deleted: false, expiresAt: c.expiresAt, number: c.credential,
                createdAt: t, deletedAt: 0, createdBy: createdBy, rotatedAt: 0, publicID: c.publicID, name: c.name,
                serviceUser: c.serviceUser, displayPrefix: c.displayPrefix, clientID: c.clientID, redirectURIs: c.redirectURIs,
                secretHashes: c.secretHash.map { [$0] } ?? [])
            try store.put(.credentials, Keys.credential(c.credential), record.bytes)
            try store.put(.credentialIDs, Keys.credentialID(c.publicID), c.credential.bigEndianBytes)
            if !c.clientID.isEmpty { try store.put(.clientIDs, Keys.credentialID(c.clientID), c.credential.bigEndianBytes) }
            if let hash = c.secretHash {
                try store.put(.secrets, Keys.hashPrefix(hash), SecretEntry(credential: c.credential, validUntil: 0, hash: hash).bytes)
            }
            try bump(.credential, to: c.credential, in: store)
        case .secretRotated(let credential, let hash, let prefix, let graceUntil):
            var record = try load(CredentialRecord.self, .credentials, Keys.credential(credential), store)
            var kept: [SHA256Digest] = []
            for old in record.secretHashes {
                let key = Keys.hashPrefix(old)
                guard let raw = try store.get(.secrets, key) else { continue }
                var entry = try SecretEntry.decode(raw)
                let until = entry.validUntil == 0 ? graceUntil : min(entry.validUntil, graceUntil)
                if until <= t {
                    try store.delete(.secrets, key)
                } else {
                    entry.validUntil = until
                    try store.put(.secrets, key, entry.bytes)
                    kept.append(old)
                }
            }
            try store.put(.secrets, Keys.hashPrefix(hash), SecretEntry(credential: credential, validUntil: 0, hash: hash).bytes)
            record.secretHashes = [hash] + kept
            record.displayPrefix = record.type == .staticKey ? prefix : record.displayPrefix
            record.rotatedAt = t
            try store.put(.credentials, Keys.credential(credential), record.bytes)
        case .credentialDeleted(let credential):
            var record = try load(CredentialRecord.self, .credentials, Keys.credential(credential), store)
            record.deleted = true
            record.deletedAt = t
            try store.put(.credentials, Keys.credential(credential), record.bytes)
        case .projectAccessGranted(let credential, let project, let role), .projectAccessChanged(let credential, let project, let role):
            let grant = RoleGrant(role: role, since: t).bytes
            try store.put(.access, Keys.pair(credential, project), grant)
            try store.put(.accessByProject, Keys.pair(project, credential), grant)
        case .projectAccessRevoked(let credential, let project):
            try store.delete(.access, Keys.pair(credential, project))
            try store.delete(.accessByProject, Keys.pair(project, credential))
        case .userProjectRoleSet(let user, let project, let role):
            if let role {
                let grant = RoleGrant(role: role, since: t).bytes
                try store.put(.userRoles, Keys.pair(user, project), grant)
                try store.put(.userRolesByProject, Keys.pair(project, user), grant)
            } else {
                try store.delete(.userRoles, Keys.pair(user, project))
                try store.delete(.userRolesByProject, Keys.pair(project, user))
            }
        case .consentGiven(let c):
            let record = CodeRecord(credential: c.credential, user: c.user, used: false, family: 0, expiresAt: c.expiresAt,
                                    challenge: c.challenge, hash: c.codeHash, redirectURI: c.redirectURI)
            try store.put(.codes, Keys.hashPrefix(c.codeHash), record.bytes)
        case .tokenIssued(let i):
            let family = event.seq
            try putToken(TokenRecord(kind: .access, status: .active, credential: i.credential, user: i.user, family: family,
                                     expiresAt: i.accessExpiresAt, issuedAt: t, hash: i.accessHash), store)
            if let refresh = i.refreshHash {
                try putToken(TokenRecord(kind: .refresh, status: .active, credential: i.credential, user: i.user, family: family,
                                         expiresAt: i.refreshExpiresAt, issuedAt: t, hash: refresh), store)
            }
            if let code = i.codeHash {
                var record = try load(CodeRecord.self, .codes, Keys.hashPrefix(code), store)
                record.used = true
                record.family = family
                try store.put(.codes, Keys.hashPrefix(code), record.bytes)
            }
        case .tokenRefreshed(let r):
            let spentKey = Keys.hashPrefix(r.spentRefreshHash)
            var spent = try load(TokenRecord.self, .tokens, spentKey, store)
            spent.status = .spent
            try store.put(.tokens, spentKey, spent.bytes)
            try putToken(TokenRecord(kind: .access, status: .active, credential: r.credential, user: spent.user, family: r.family,
                                     expiresAt: r.accessExpiresAt, issuedAt: t, hash: r.accessHash), store)
            try putToken(TokenRecord(kind: .refresh, status: .active, credential: r.credential, user: spent.user, family: r.family,
                                     expiresAt: r.refreshExpiresAt, issuedAt: t, hash: r.refreshHash), store)
        case .tokenRevoked(let r):
            if r.wholeFamily {
                var members: [[UInt8]] = []
                try store.scan(.tokenFamilies, prefix: r.family.bigEndianBytes) { key, _ in
                    members.append(Array(key.suffix(16)))
                    return true
                }
                for key in members { try revoke(key, store) }
            } else {
                try revoke(Keys.hashPrefix(r.tokenHash), store)
            }
        case .credentialUsed, .oauthRequestDenied:
            break
        }
    }

    private static func revoke(_ key: [UInt8], _ store: some KeyValueStore) throws {
        guard let raw = try store.get(.tokens, key) else { return }
        var token = try TokenRecord.decode(raw)
        guard token.status == .active else { return }
        token.status = .revoked
        try store.put(.tokens, key, token.bytes)
    }

    private static func putToken(_ token: TokenRecord, _ store: some KeyValueStore) throws {
        try store.put(.tokens, Keys.hashPrefix(token.hash), token.bytes)
        try store.put(.tokenFamilies, Keys.tokenFamily(token.family, token.hash), [])
    }

    private static func load<R: ProjectionRow>(_: R.Type, _ table: Table, _ key: [UInt8], _ store: some KeyValueStore) throws -> R {
        guard let raw = try store.get(table, key) else { throw ProjectionError(table, "missing row \(key)") }
        return try R.decode(raw)
    }

    private static func bump(_ counter: Keys.Counter, to value: UInt32, in store: some KeyValueStore) throws {
        let key = [counter.rawValue]
        let current = try store.get(.counters, key).flatMap { UInt32(bigEndianBytes: $0) } ?? 0
        if value > current { try store.put(.counters, key, value.bigEndianBytes) }
    }
}
