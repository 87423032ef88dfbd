import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// A point in the log for as-of questions.
public enum AsOfPoint: Sendable, Equatable {
    /// Just after event `seq` (0 = before the first event).
    case seq(UInt64)
    /// After every event with a timestamp ≤ this time.
    case time(Timestamp)
    /// The current head.
    case head
}

/// The projections exactly as they were at a point of the log: registry and memberships replayed from the
/// non-use events up to that point, and each credential's counters counted from its posting list.
///
/// How it is built (no full replay):
/// - only non-use events change the registry and memberships, and the `admin` posting list holds exactly
///   those, so they alone are replayed (through the live `Projector`) into an in-memory store;
/// - a credential's `used`/`denied` at seq N are the allowed/denied entries ≤ N of its posting list (flags
///   only, no event read) — counted forward from the start, or as live counters minus the entries after N,
///   whichever range is shorter; `last used` is the time of its last allowed entry ≤ N.
public final class AsOfState {
    /// The last event included.
    public let seq: UInt64
    /// The moment: the requested time, or the timestamp of event `seq`.
    public let time: Timestamp
    /// The tables (registry, memberships, and usage rows of the credentials counted).
    public let store: AsOfStore
    /// Non-use events replayed to build it.
    public let eventsReplayed: Int
    /// Since-when facts gathered during the replay (used by `whoCouldAct`).
    let history: AccessHistory

    init(seq: UInt64, time: Timestamp, store: AsOfStore, eventsReplayed: Int, history: AccessHistory) {
        self.seq = seq
        self.time = time
        self.store = store
        self.eventsReplayed = eventsReplayed
        self.history = history
    }

    /// Typed reads of the state.
    public var reader: StateReader<AsOfStore> { StateReader(store) }

    /// The company's number then, or nil if it was not registered yet.
    public func companyNumber(_ slug: String) throws -> UInt32? { try reader.company(slug: slug)?.number }

    /// The API keys table of a company then (deleted credentials only if asked; expired as of `time`).
    public func credentialRows(company slug: String, includeDeleted: Bool) throws -> [CredentialRow] {
        guard let number = try companyNumber(slug) else { return [] }
        return try reader.credentialRows(company: number, includeDeleted: includeDeleted, at: time)
    }

    /// Exact usage counters of a company's credentials then.
    public func usage(company slug: String) throws -> [UsageRow] {
        guard let number = try companyNumber(slug) else { return [] }
        return try reader.usageRows(company: number)
    }

    /// Company members, API users' project access and users' own project roles then.
    public func memberships(company slug: String) throws -> Memberships {
        guard let number = try companyNumber(slug) else { return Memberships(members: [], serviceAccess: [], userRoles: []) }
        return try reader.memberships(company: number)
    }
}

/// One credential's counters (the usage projection), by name.
public struct UsageRow: Sendable, Equatable {
    public var id: String
    public var name: String
    public var used: UInt64
    public var denied: UInt64
    public var lastUsed: Timestamp?
    public var firstUsed: Timestamp?
    public var lastDenied: Timestamp?
    public var deleted: Bool
}

/// Who belongs where: company members, API service users' project access, users' own project roles.
public struct Memberships: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var email: String
        public var role: CompanyRole
        public var since: Timestamp
    }
    public struct ServiceAccess: Sendable, Equatable {
        public var credentialID: String
        public var credentialName: String
        public var serviceUser: String
        public var project: String
        public var role: ProjectRole
        public var since: Timestamp
    }
    public struct UserRole: Sendable, Equatable {
        public var email: String
        public var project: String
        public var role: ProjectRole
        public var since: Timestamp
    }
    public var members: [Member]
    public var serviceAccess: [ServiceAccess]
    public var userRoles: [UserRole]
}

extension StateReader {
    /// The usage rows of a company's credentials (deleted ones included), oldest credential first.
    public func usageRows(company: UInt32) throws -> [UsageRow] {
        try credentials(company: company).map { c in
            let u = try usage(credential: c.number)
            return UsageRow(id: c.publicID, name: c.name, used: u.used, denied: u.denied, lastUsed: u.lastUsed == 0 ? nil : u.lastUsed,
                            firstUsed: u.firstUsed == 0 ? nil : u.firstUsed, lastDenied: u.lastDenied == 0 ? nil : u.lastDenied,
                            deleted: c.deleted)
        }
    }

    /// Memberships of a company, sorted by email / credential id and project.
    public func memberships(company: UInt32) throws -> Memberships {
        var result = Memberships(members: [], serviceAccess: [], userRoles: [])
        for (user, member) in try members(company: company) where member.role != .removed {
            result.members.append(.init(email: try email(user: user) ?? "#\(user)", role: member.role, since: member.since))
        }
        let projects = try projects(company: company)
        for project in projects {
            for (credentialNumber, grant) in try accesses(project: project.number) {
                guard let c = try credential(credentialNumber) else { continue }
                result.serviceAccess.append(.init(credentialID: c.publicID, credentialName: c.name, serviceUser: c.serviceUser,
                                                  project: project.slug, role: grant.role, since: grant.since))
            }
            for (user, grant) in try userRoles(project: project.number) {
                result.userRoles.append(.init(email: try email(user: user) ?? "#\(user)", project: project.slug, role: grant.role, since: grant.since))
            }
        }
        result.members.sort { $0.email < $1.email }
        result.serviceAccess.sort { ($0.credentialID, $0.project) < ($1.credentialID, $1.project) }
        result.userRoles.sort { ($0.email, $0.project) < ($1.email, $1.project) }
        return result
    }
}

/// Since-when facts the projections do not keep (a role change resets `RoleGrant.since`), gathered while
/// replaying non-use events: since when a path has continuously allowed read, and write.
final class AccessHistory {
    /// (credential, project) → since when the API user could read / write (by role; scope applied later).
    var serviceRead: [UInt64: Timestamp] = [:]
    var serviceWrite: [UInt64: Timestamp] = [:]
    /// (user, project) → since when the user's own project role allowed read / write.
    var userRead: [UInt64: Timestamp] = [:]
    var userWrite: [UInt64: Timestamp] = [:]
    /// (company, user) → since when the user has been a company admin.
    var adminSince: [UInt64: Timestamp] = [:]
    /// company → since when the API module has been on.
    var apiSince: [UInt32: Timestamp] = [:]
    /// Token family (seq of its `token_issued`) → time of issue.
    var familyStart: [UInt64: Timestamp] = [:]
    /// Authorization code (hash) → time of consent.
    var consentTime: [SHA256Digest: Timestamp] = [:]

    static func key(_ a: UInt32, _ b: UInt32) -> UInt64 { UInt64(a) << 32 | UInt64(b) }

    func observe(_ event: Event) {
        let t = event.timestamp
        func role(_ read: inout [UInt64: Timestamp], _ write: inout [UInt64: Timestamp], _ key: UInt64, _ role: ProjectRole?) {
            guard let role else {
                read[key] = nil
                write[key] = nil
                return
            }
            if read[key] == nil { read[key] = t }
            if role.capability == .readWrite {
                if write[key] == nil { write[key] = t }
            } else {
                write[key] = nil
            }
        }
        switch event.payload {
        case .apiModuleEnabled:
            if apiSince[event.company] == nil { apiSince[event.company] = t }
        case .apiModuleDisabled:
            apiSince[event.company] = nil
        case .memberRoleSet(let user, _, let r):
            let key = AccessHistory.key(event.company, user)
            if r == .admin {
                if adminSince[key] == nil { adminSince[key] = t }
            } else {
                adminSince[key] = nil
            }
        case .projectAccessGranted(let c, let p, let r), .projectAccessChanged(let c, let p, let r):
            role(&serviceRead, &serviceWrite, AccessHistory.key(c, p), r)
        case .projectAccessRevoked(let c, let p):
            role(&serviceRead, &serviceWrite, AccessHistory.key(c, p), nil)
        case .userProjectRoleSet(let u, let p, let r):
            role(&userRead, &userWrite, AccessHistory.key(u, p), r)
        case .consentGiven(let c):
            consentTime[c.codeHash] = t
        case .tokenIssued:
            familyStart[event.seq] = t
        default:
            break
        }
    }
}

extension Ledger.Audit {
    /// The state as it was at `point`: credential table, counters and memberships exactly as then.
    /// `company` limits the counters to that company's credentials (the registry is always complete).
    public func state(asOf point: AsOfPoint, company: String? = nil) throws -> AsOfState {
        let head = self.head
        let seq: UInt64
        var time: Timestamp?
        switch point {
        case .head:
            seq = head.seq
        case .seq(let n):
            guard n <= head.seq else {
                throw LedgerError("beyond_head", "event \(n) does not exist yet: the log ends at event \(head.seq)", kind: .badInput)
            }
            seq = n
        case .time(let t):
            seq = try firstSeq(after: t) - 1
            time = t
        }
        let schema = self.schema
        return try environment.read { txn in
            let reader = PostingReader(schema: schema)
            let store = AsOfStore()
            let history = AccessHistory()
            var projector = Projector()
            var replayed = 0
            var eventTime: Timestamp = 0
            if seq > 0 {
                try reader.visit(PostingIndex.ListKey(.admin, 0), range: 1...seq, descending: false, txn: txn) { n, _ in
                    let stored = try Ledger.Audit.readEvent(n, schema: schema, txn: txn)
                    history.observe(stored.event)
                    try projector.apply(stored.event, to: store)
                    replayed += 1
                    return true
                }
                eventTime = try Ledger.Audit.readTimestamp(seq, schema: schema, txn: txn)
            }
            projector.discard()
            let snapshotHead = try EventLog.head(schema: schema, in: txn)
            let live = LMDBStore(txn: txn, schema: schema)
            let companyFilter = try company.map { slug in try StateReader(store).company(slug: slug)?.number ?? UInt32.max }
            var numbers: [UInt32] = []
            try store.scan(.credentials, from: []) { _, value in
                let c = try CredentialRecord.decode(value)
                if companyFilter == nil || c.company == companyFilter { numbers.append(c.number) }
                return true
            }
            let usage = try Ledger.Audit.usage(credentials: numbers, at: seq, head: snapshotHead.seq, live: live, reader: reader, schema: schema, txn: txn)
            for number in numbers {
                if let u = usage[number], u != UsageRecord() { store.put(.usage, Keys.credential(number), u.bytes) }
            }
            return AsOfState(seq: seq, time: time ?? eventTime, store: store, eventsReplayed: replayed, history: history)
        }
    }

    /// Credentials' counters at seq `n` from the credential posting lists (see `AsOfState`): counts from the flags of
    /// the uses after `n` subtracted from the live counters (or of the uses up to `n`, whichever range is shorter), last
    /// used / denied from the newest use of each kind up to `n`.
    static func usage(credentials: [UInt32], at n: UInt64, head: UInt64, live: LMDBStore, reader: PostingReader, schema: Schema,
                      txn: borrowing Transaction) throws -> [UInt32: UsageRecord] {
        var current: [UInt32: UsageRecord] = [:]
        let state = StateReader(live)
        for c in credentials { current[c] = try state.usage(credential: c) }
        if n >= head { return current }
        guard n > 0, !credentials.isEmpty else { return Dictionary(uniqueKeysWithValues: credentials.map { ($0, UsageRecord()) }) }
        let ids = Set(credentials)
        var records: [UInt32: UsageRecord] = [:]
        if n > head / 2 {
            let tail = try reader.countUses(.credential, ids: ids, range: (n + 1)...head, txn: txn)
            for c in credentials {
                let now = current[c] ?? UsageRecord(), after = tail[c] ?? (0, 0)
                guard after.allowed <= now.used, after.denied <= now.denied else {
                    throw LedgerError("corrupt_index", "credential \(c): the posting list holds more uses than the counters: run `credledger rebuild`", kind: .integrity)
                }
                var r = UsageRecord()
                r.used = now.used - after.allowed
                r.denied = now.denied - after.denied
                records[c] = r
            }
        } else {
            let counted = try reader.countUses(.credential, ids: ids, range: 1...n, txn: txn)
            for c in credentials {
                var r = UsageRecord()
                r.used = counted[c]?.allowed ?? 0
                r.denied = counted[c]?.denied ?? 0
                records[c] = r
            }
        }
        let wantAllowed = Set(records.filter { $0.value.used > 0 }.keys), wantDenied = Set(records.filter { $0.value.denied > 0 }.keys)
        let last = try reader.lastUses(.credential, ids: ids, atMost: n, wantAllowed: wantAllowed, wantDenied: wantDenied, txn: txn)
        for (c, seqs) in last {
            if let s = seqs.allowed { records[c]?.lastUsed = try Ledger.Audit.readTimestamp(s, schema: schema, txn: txn) }
            if let s = seqs.denied { records[c]?.lastDenied = try Ledger.Audit.readTimestamp(s, schema: schema, txn: txn) }
        }
        for c in wantAllowed { records[c]?.firstUsed = current[c]?.firstUsed ?? 0 }
        return records
    }

    static func readEvent(_ seq: UInt64, schema: Schema, txn: borrowing Transaction) throws -> StoredEvent {
        guard let stored = try EventLog.event(seq, schema: schema, in: txn) else {
            throw LedgerError("corrupt_index", "an index points at event \(seq), which does not exist: run `credledger verify`", kind: .integrity)
        }
        return stored
    }

    static func readTimestamp(_ seq: UInt64, schema: Schema, txn: borrowing Transaction) throws -> Timestamp {
        var key = seq.bigEndian
        return try withUnsafeBytes(of: &key) { k in
            guard let record = try txn.get(schema.events, k) else {
                throw LedgerError("corrupt_index", "an index points at event \(seq), which does not exist: run `credledger verify`", kind: .integrity)
            }
            do {
                return try EventCodec.decodeHeader(seq: seq, record: record).timestamp
            } catch {
                throw LedgerError("corrupt_log", "\(error)", kind: .integrity)
            }
        }
    }

    /// The API keys table as it was at `point` (the actor must be an admin of the company now).
    public func credentialTable(_ slug: String, as actor: String, includeDeleted: Bool = false, asOf point: AsOfPoint) throws -> [CredentialRow] {
        try withState { state in
            let company = try state.requireCompany(slug)
            _ = try state.requireAdmin(company, actor)
        }
        return try state(asOf: point, company: slug).credentialRows(company: slug, includeDeleted: includeDeleted)
    }

    /// Live usage counters of a company's credentials.
    public func usage(_ slug: String) throws -> [UsageRow] {
        try withState { state in try state.usageRows(company: try state.requireCompany(slug).number) }
    }

    /// Live memberships of a company.
    public func memberships(_ slug: String) throws -> Memberships {
        try withState { state in try state.memberships(company: try state.requireCompany(slug).number) }
    }
}
