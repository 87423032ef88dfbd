import CredLedger
import CredLedgerCore
import Foundation

// Audit reads: as-of views, who could act, the access review, event queries, exports.

extension API {
    /// `usage`: exact usage counters per credential, live or as of `at` / `seq`.
    public struct UsageRequest: ReadRequest, Codable, Equatable {
        public typealias Response = UsageReport

        public var company: String
        public var at: String?
        public var seq: UInt64?

        public init(company: String, at: String? = nil, seq: UInt64? = nil) {
            (self.company, self.at, self.seq) = (company, at, seq)
        }

        public func read(_ ledger: Ledger) throws -> UsageReport {
            guard let point = try AsOfQuery(at: at, seq: seq).point() else {
                return UsageReport(company: company, rows: try ledger.audit.usage(company), asOf: nil)
            }
            _ = try ledger.audit.usage(company)   // the company must exist (now)
            let state = try ledger.audit.state(asOf: point, company: company)
            return UsageReport(company: company, rows: try state.usage(company: company), asOf: AsOf(seq: state.seq, timestamp: state.time))
        }
    }

    /// `memberships`: members, API users' project access and users' project roles, live or as of `at` / `seq`.
    public struct MembershipsRequest: ReadRequest, Codable, Equatable {
        public typealias Response = MembershipsReport

        public var company: String
        public var at: String?
        public var seq: UInt64?

        public init(company: String, at: String? = nil, seq: UInt64? = nil) {
            (self.company, self.at, self.seq) = (company, at, seq)
        }

        public func read(_ ledger: Ledger) throws -> MembershipsReport {
            guard let point = try AsOfQuery(at: at, seq: seq).point() else {
                return MembershipsReport(company: company, try ledger.audit.memberships(company), asOf: nil)
            }
            _ = try ledger.audit.memberships(company)   // the company must exist (now)
            let state = try ledger.audit.state(asOf: point, company: company)
            return MembershipsReport(company: company, try state.memberships(company: company), asOf: AsOf(seq: state.seq, timestamp: state.time))
        }
    }

    /// `audit access`: who could act on a project (`operation` read or write; absent = at least read) at `at` / `seq`
    /// (default now).
    public struct WhoCouldActRequest: ReadRequest, Codable, Equatable {
        public typealias Response = AccessReport

        public var company: String
        public var project: String
        public var operation: String?
        public var at: String?
        public var seq: UInt64?

        public init(company: String, project: String, operation: String? = nil, at: String? = nil, seq: UInt64? = nil) {
            (self.company, self.project, self.operation, self.at, self.seq) = (company, project, operation, at, seq)
        }

        public func read(_ ledger: Ledger) throws -> AccessReport {
            var op: CredLedgerCore.Operation?
            if let operation {
                guard let parsed = CredLedgerCore.Operation(name: operation) else { throw API.invalid("operation must be read or write, not '\(operation)'") }
                op = parsed
            }
            let point = try AsOfQuery(at: at, seq: seq).point() ?? .head
            return AccessReport(try ledger.audit.whoCouldAct(company: company, project: project, operation: op, at: point))
        }
    }

    /// `audit review`: findings on the live credentials (defaults: 90 stale days, 5 projects).
    public struct AccessReviewRequest: ReadRequest, Codable, Equatable {
        public typealias Response = AccessReview

        public var company: String
        public var staleDays: Int?
        public var manyProjects: Int?

        enum CodingKeys: String, CodingKey {
            case company
            case staleDays = "stale_days"
            case manyProjects = "many_projects"
        }

        public init(company: String, staleDays: Int? = nil, manyProjects: Int? = nil) {
            (self.company, self.staleDays, self.manyProjects) = (company, staleDays, manyProjects)
        }

        public func read(_ ledger: Ledger) throws -> AccessReview {
            let stale = staleDays ?? 90, many = manyProjects ?? 5
            guard (1...36_500).contains(stale) else { throw API.invalid("stale_days must be 1…36500") }
            guard many >= 1 else { throw API.invalid("many_projects must be at least 1") }
            return AccessReview(company: company, staleDays: stale,
                                findings: try ledger.audit.accessReview(company, staleDays: stale, manyProjects: many))
        }
    }
}

extension API.AuditEventsQuery: ReadRequest {
    public typealias Response = API.AuditEventsPage

    /// The engine query it names (defaults: newest first, 50 per page).
    public func query() throws -> AuditQuery {
        var query = AuditQuery()
        query.company = company
        query.credential = credential
        query.project = project
        query.actor = actor
        query.types = try (types ?? []).map { name in
            guard let t = EventType(name: name) else {
                throw API.invalid("unknown type '\(name)'; types: \(EventType.allCases.map(\.name).joined(separator: ", "))")
            }
            return t
        }
        query.since = try API.time(since, "since")
        query.until = try API.time(until, "until")
        if let outcome {
            guard let o = AuditQuery.Outcome(rawValue: outcome) else { throw API.invalid("outcome must be allowed or denied") }
            query.outcome = o
        }
        query.limit = limit ?? 50
        guard (1...100_000).contains(query.limit) else { throw API.invalid("limit must be 1…100000") }
        switch order ?? "newest" {
        case "newest": query.newestFirst = true
        case "oldest": query.newestFirst = false
        default: throw API.invalid("order must be newest or oldest")
        }
        query.before = before
        query.after = after
        return query
    }

    public func read(_ ledger: Ledger) throws -> API.AuditEventsPage {
        let query = try query()
        let page = try ledger.audit.auditEvents(query)
        return API.AuditEventsPage(page, newestFirst: query.newestFirst, fields: try EventFields(audit: ledger.audit))
    }
}

extension API.ExportRequest: ReadRequest {
    public typealias Response = API.ExportResult

    /// The engine request it names (format jsonl unless `csv`).
    public func engineRequest() throws -> CredLedger.ExportRequest {
        let name = format ?? "jsonl"
        guard let format = CredLedger.ExportRequest.Format(rawValue: name) else { throw API.invalid("format must be jsonl or csv, not '\(name)'") }
        return CredLedger.ExportRequest(company: company, format: format, directory: out, since: try API.time(since, "since"),
                                        until: try API.time(until, "until"))
    }

    public func read(_ ledger: Ledger) throws -> API.ExportResult {
        API.ExportResult(try ledger.audit.export(try engineRequest()))
    }
}
