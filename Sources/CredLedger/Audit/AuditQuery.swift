import CredLedgerCore
import CredLedgerProjections
import LMDB

/// Filters of `audit events`; all given filters must hold. Names are resolved to numbers on the live
/// registry (nothing is ever removed from it).
public struct AuditQuery: Sendable {
    public enum Outcome: String, Sendable {
        /// `credential_used` events that were allowed.
        case allowed
        /// `credential_used` events that were denied, and `oauth_request_denied` events.
        case denied
    }

    /// Company slug (needed to name a project).
    public var company: String?
    /// Credential public id: events about it (its uses, grants, tokens…).
    public var credential: String?
    /// Project slug within `company`.
    public var project: String?
    /// Who did it: a user's email, a credential id, or `system`.
    public var actor: String?
    /// Event type (any of, when several).
    public var types: [EventType] = []
    /// Inclusive time bounds.
    public var since: Timestamp?
    public var until: Timestamp?
    public var outcome: Outcome?
    /// Paging: only events with seq > `after` / < `before` (exclusive cursors).
    public var after: UInt64?
    public var before: UInt64?
    public var limit: Int = 100
    public var newestFirst = true

    public init() {}
}

/// One page of `audit events`.
public struct AuditPage: Sendable {
    public var events: [StoredEvent]
    /// The hash of the event before each one (its chain link), in the same order.
    public var previousHashes: [SHA256Digest]
    /// Pass as `before` (newest first) or `after` (oldest first) for the next page; nil = no more.
    public var next: UInt64?
    /// How the events were found: which posting list, or the log's seq range.
    public var plan: String
    /// Events read and decoded to answer (candidates that passed the index flags).
    public var examined: Int
}

extension Ledger.Audit {
    /// Runs an audit query using the posting indexes: the most selective list among the filters drives the scan
    /// (credential, then actor, project, type, company); the others are checked on each candidate. Use flags in
    /// the lists answer `--outcome` without reading events. Time bounds become a seq range by binary search
    /// (timestamps never decrease along the log). Only when no filter has a list is the log read, and then
    /// only the seq range.
    public func auditEvents(_ query: AuditQuery) throws -> AuditPage {
        try auditEvents(query, budget: .standard)
    }

    /// `auditEvents` with the read budget chosen (tests cut the range into many transactions).
    func auditEvents(_ query: AuditQuery, budget: ReadBudget) throws -> AuditPage {
        guard query.limit > 0 else { throw LedgerError.invalid("limit", "--limit must be at least 1") }
        let plan = try withState { state in try AuditPlan(query, state: state) }
        let head = self.head
        var low: UInt64 = 1, high = head.seq
        if let since = query.since { low = max(low, try firstSeq(after: since - 1)) }
        if let until = query.until { high = min(high, try firstSeq(after: until) - 1) }
        if let after = query.after { low = max(low, after &+ 1) }
        if let before = query.before { high = before == 0 ? 0 : min(high, before - 1) }
        var page = AuditPage(events: [], previousHashes: [], next: nil, plan: plan.description(low: low, high: high), examined: 0)
        guard low <= high, !plan.impossible else { return page }
        let schema = self.schema
        // Short read transactions over the pinned range low…high (`ReadBudget`): a selective query may examine much
        // of the log, and one long transaction would hold up map growth. `lo…hi` is what is left to examine.
        var lo = low, hi = high, more = false
        try BoundedReads.run(environment, budget: budget) { txn, allowance in
            var paused = false
            func consider(_ seq: UInt64) throws -> Bool {
                if page.events.count == query.limit {
                    more = true
                    return false
                }
                if let stored = try EventLog.event(seq, schema: schema, in: txn) {
                    page.examined += 1
                    if plan.matches(stored.event) {
                        page.events.append(stored)
                        page.previousHashes.append(try Ledger.Audit.storedHash(seq - 1, schema: schema, txn: txn))
                    }
                }
                if query.newestFirst { hi = seq - 1 } else { lo = seq + 1 }
                guard allowance.spend() else {
                    paused = true
                    return false
                }
                return true
            }
            guard lo <= hi else { return false }
            if let list = plan.driver {
                try PostingReader(schema: schema).visit(list, range: lo...hi, descending: query.newestFirst, txn: txn) { seq, flag in
                    guard plan.flagAllows(flag) else { return true }
                    return try consider(seq)
                }
            } else if query.newestFirst {
                var seq = hi
                while seq >= lo, try consider(seq) { seq -= 1 }
            } else {
                var seq = lo
                while seq <= hi, try consider(seq) { seq += 1 }
            }
            return paused
        }
        if more, let last = page.events.last { page.next = last.event.seq }
        return page
    }
}

/// A query resolved to numbers, with the posting list that drives it.
struct AuditPlan {
    var company: UInt32?
    var credential: UInt32?
    var project: UInt32?
    var actor: Actor?
    var types: Set<EventType> = []
    var outcome: AuditQuery.Outcome?
    var driver: PostingIndex.ListKey?
    var driverName = ""
    /// A filter that no event can meet (e.g. a use type with an outcome that excludes it).
    var impossible = false

    init(_ query: AuditQuery, state: StateReader<LMDBStore>) throws {
        if let slug = query.company {
            guard let c = try state.company(slug: slug) else { throw LedgerError.unknownCompany(slug) }
            company = c.number
        }
        if let id = query.credential {
            guard let c = try state.credential(publicID: id) else { throw LedgerError.unknownCredential(id) }
            credential = c.number
        }
        if let slug = query.project {
            guard let company else {
                throw LedgerError.invalid("project", "project slugs are per company: pass --company too")
            }
            guard let p = try state.project(company: company, slug: slug) else { throw LedgerError.unknownProject(slug) }
            project = p.number
        }
        if let name = query.actor {
            if name == "system" {
                actor = .system
            } else if let user = try state.user(email: name) {
                actor = .user(user)
            } else if let c = try state.credential(publicID: name) {
                actor = .credential(c.number)
            } else {
                throw LedgerError("unknown_actor", "no user or credential '\(name)' (an actor is an email, a credential id, or system)", kind: .badInput)
            }
        }
        types = Set(query.types)
        outcome = query.outcome
        if outcome != nil, !types.isEmpty, types.isDisjoint(with: [.credentialUsed, .oauthRequestDenied]) { impossible = true }
        if outcome == .allowed, !types.isEmpty, !types.contains(.credentialUsed) { impossible = true }

        // The most selective list first.
        if let credential {
            driver = PostingIndex.ListKey(.credential, credential)
            driverName = "credential \(query.credential ?? "")"
        } else if case .user(let u) = actor {
            driver = PostingIndex.ListKey(.user, u)
            driverName = "actor \(query.actor ?? "")"
        } else if case .credential(let c) = actor {
            // Events a credential did (its uses, its token requests) are all in its own list.
            driver = PostingIndex.ListKey(.credential, c)
            driverName = "credential \(query.actor ?? "") (as actor)"
        } else if let project {
            driver = PostingIndex.ListKey(.project, project)
            driverName = "project \(query.project ?? "")"
        } else if types.count == 1, let type = types.first, type != .credentialUsed {
            driver = PostingIndex.ListKey(.type, UInt32(type.rawValue))
            driverName = "type \(type.name)"
        } else if let company {
            driver = PostingIndex.ListKey(.company, company)
            driverName = "company \(query.company ?? "")"
        }
        if case .user = actor, types == [.credentialUsed] { impossible = true }   // uses are done by credentials
    }

    func description(low: UInt64, high: UInt64) -> String {
        let range = low <= high ? "seq \(low)…\(high)" : "empty seq range"
        return driver == nil ? "log scan of \(range)" : "index \(driverName), \(range)"
    }

    /// Whether an index entry's flag can match, before reading the event.
    func flagAllows(_ flag: PostingIndex.Flag) -> Bool {
        switch outcome {
        case .allowed?: return flag == .allowedUse
        case .denied?: return flag != .allowedUse
        case nil:
            if !types.isEmpty, !types.contains(.credentialUsed) { return flag == .other }
            if types == [.credentialUsed] { return flag != .other }
            return true
        }
    }

    func matches(_ e: Event) -> Bool {
        if let company, e.company != company { return false }
        if let credential, e.payload.credential != credential { return false }
        if let project, e.payload.project != project { return false }
        if let actor, e.actor != actor { return false }
        if !types.isEmpty, !types.contains(e.type) { return false }
        switch outcome {
        case .allowed?:
            guard case .credentialUsed(let use) = e.payload, use.allowed else { return false }
        case .denied?:
            switch e.payload {
            case .credentialUsed(let use) where !use.allowed: break
            case .oauthRequestDenied: break
            default: return false
            }
        case nil:
            break
        }
        return true
    }
}
