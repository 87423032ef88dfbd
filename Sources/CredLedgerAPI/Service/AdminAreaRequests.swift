import CredLedger
import CredLedgerCore

// The company API page's own reads: the area's opening facts, and one credential's usage detail.

extension API {
    /// The company API page opens with this: the company (is the module on?) and its projects; admins only.
    public struct AdminAreaRequest: ReadRequest, Codable, Equatable {
        public typealias Response = AdminArea

        public var company: String
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, actor = "as"
        }

        public init(company: String, actor: String) { (self.company, self.actor) = (company, actor) }

        public func read(_ ledger: Ledger) throws -> AdminArea {
            AdminArea(try ledger.audit.adminArea(company, as: actor))
        }
    }

    /// The company and its projects, as the API page shows them.
    public struct AdminArea: Codable, Sendable, Equatable {
        public var company: Company
        public var projects: [ProjectInfo]

        public init(company: Company, projects: [ProjectInfo]) { (self.company, self.projects) = (company, projects) }
    }

    /// A project: its slug, display name, and whether it is archived.
    public struct ProjectInfo: Codable, Sendable, Equatable {
        public var project: String
        public var name: String
        public var archived: Bool

        public init(project: String, name: String, archived: Bool) { (self.project, self.name, self.archived) = (project, name, archived) }
    }

    /// A credential's usage: its counters, the daily rollups of the last `days` days (default 30, 1…366), and its
    /// denied attempts by reason (counted over its newest 10,000 denied uses); admins only.
    public struct CredentialUsageRequest: ReadRequest, Codable, Equatable {
        public typealias Response = CredentialUsage

        public var company: String
        public var id: String
        public var actor: String
        public var days: Int?

        /// How many denied uses the by-reason summary reads at most (newest first).
        public static let deniedSample = 10_000

        enum CodingKeys: String, CodingKey {
            case company, id, days, actor = "as"
        }

        public init(company: String, id: String, actor: String, days: Int? = nil) {
            (self.company, self.id, self.actor, self.days) = (company, id, actor, days)
        }

        public func read(_ ledger: Ledger) throws -> CredentialUsage {
            let days = self.days ?? 30
            guard (1...366).contains(days) else { throw API.invalid("days must be 1…366") }
            let row = try ledger.audit.credentialDetail(company, credential: id, as: actor)   // the admin and credential gate
            let today = TimeFormat.day(ledger.options.clock.now())
            let from = today >= UInt32(days - 1) ? today - UInt32(days - 1) : 0
            let daily = try ledger.audit.dailyUsage(company, credential: id, as: actor, fromDay: from)
            let denied = try AuditEventsQuery(company: company, credential: id, outcome: "denied", limit: Self.deniedSample).read(ledger)
            var reasons: [String: UInt64] = [:]
            for event in denied.events {
                // A denied use names its reason in `outcome`, a denied OAuth request in `reason`.
                var reason = event.type
                if case .string(let code)? = event.payload["outcome"] ?? event.payload["reason"] { reason = code }
                reasons[reason, default: 0] += 1
            }
            return CredentialUsage(
                id: row.id, used: row.used, denied: row.denied, lastUsed: API.time(row.lastUsed), fromDay: API.day(from),
                toDay: API.day(today),
                daily: daily.map { DailyUsage(day: API.day($0.day), project: $0.project, allowed: $0.allowed, denied: $0.denied) },
                deniedByReason: reasons.map { DeniedReason(reason: $0.key, count: $0.value) }
                    .sorted { ($0.count, $1.reason) > ($1.count, $0.reason) },
                deniedSampled: UInt64(denied.events.count))
        }
    }

    /// One credential's usage (`CredentialUsageRequest`).
    public struct CredentialUsage: Codable, Sendable, Equatable {
        public var id: String
        public var used: UInt64
        public var denied: UInt64
        @AlwaysPresent public var lastUsed: String?
        /// The first and last day (UTC, `YYYY-MM-DD`) the rollups cover.
        public var fromDay: String
        public var toDay: String
        /// Day × project rollups, by day then project; days without uses are absent.
        public var daily: [DailyUsage]
        /// Denied uses by reason code, most frequent first.
        public var deniedByReason: [DeniedReason]
        /// How many denied uses the summary counted (at most `CredentialUsageRequest.deniedSample`).
        public var deniedSampled: UInt64

        enum CodingKeys: String, CodingKey {
            case id, used, denied, daily
            case lastUsed = "last_used"
            case fromDay = "from_day"
            case toDay = "to_day"
            case deniedByReason = "denied_by_reason"
            case deniedSampled = "denied_sampled"
        }

        public init(id: String, used: UInt64, denied: UInt64, lastUsed: String?, fromDay: String, toDay: String, daily: [DailyUsage],
                    deniedByReason: [DeniedReason], deniedSampled: UInt64) {
            (self.id, self.used, self.denied, self.lastUsed) = (id, used, denied, lastUsed)
            (self.fromDay, self.toDay, self.daily, self.deniedByReason, self.deniedSampled) = (fromDay, toDay, daily, deniedByReason, deniedSampled)
        }
    }

    /// One day × project rollup.
    public struct DailyUsage: Codable, Sendable, Equatable {
        public var day: String
        /// The project slug, `""` when the use named no known project.
        public var project: String
        public var allowed: UInt64
        public var denied: UInt64

        public init(day: String, project: String, allowed: UInt64, denied: UInt64) {
            (self.day, self.project, self.allowed, self.denied) = (day, project, allowed, denied)
        }
    }

    /// A denial reason code and how many denied uses had it.
    public struct DeniedReason: Codable, Sendable, Equatable {
        public var reason: String
        public var count: UInt64

        public init(reason: String, count: UInt64) { (self.reason, self.count) = (reason, count) }
    }

    /// A UTC day number as `YYYY-MM-DD`.
    static func day(_ day: UInt32) -> String {
        String(TimeFormat.rfc3339(Timestamp(day) * 86_400_000_000).prefix(10))
    }
}

extension API.AdminArea {
    public init(_ area: CredLedger.AdminArea) {
        self.init(company: API.Company(area.company),
                  projects: area.projects.map { API.ProjectInfo(project: $0.slug, name: $0.name, archived: $0.archived) })
    }
}
