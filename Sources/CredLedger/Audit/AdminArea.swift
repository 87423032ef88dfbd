import CredLedgerCore
import CredLedgerProjections

/// What the company API page needs to open: the company's facts (is the module on?) and its projects, read only
/// after the caller is checked to be one of its admins (`not_company_admin` otherwise).
public struct AdminArea: Sendable, Equatable {
    public var company: CompanyInfo
    public var projects: [ProjectSummary]
}

/// A project of a company, as the access panel lists it.
public struct ProjectSummary: Sendable, Equatable {
    public var slug: String
    public var name: String
    public var archived: Bool
}

/// One day × project rollup of a credential's uses (the usage projection's `usage_daily` rows).
public struct DailyUsageRow: Sendable, Equatable {
    /// The UTC day number since the epoch (`TimeFormat.day`).
    public var day: UInt32
    public var project: String
    public var allowed: UInt64
    public var denied: UInt64
}

extension Ledger.Audit {
    /// The admin gate of the API area for reads, and the facts the page opens with. Works with the module disabled
    /// (the page then offers the switch).
    public func adminArea(_ slug: String, as actor: String) throws -> AdminArea {
        try withState { state in
            let company = try state.requireCompany(slug)
            _ = try state.requireAdmin(company, actor)
            let projects = try state.projects(company: company.number).map {
                ProjectSummary(slug: $0.slug, name: $0.name, archived: $0.archived)
            }
            return AdminArea(company: CompanyInfo(slug: company.slug, name: company.name, mailDomain: company.mailDomain,
                                                  apiEnabled: company.apiEnabled),
                             projects: projects.sorted { $0.slug < $1.slug })
        }
    }

    /// A credential's daily rollups since `fromDay` (inclusive), by day then project; admins of its company only.
    public func dailyUsage(_ slug: String, credential id: String, as actor: String, fromDay: UInt32 = 0) throws -> [DailyUsageRow] {
        try withState { state in
            let company = try state.requireCompany(slug)
            _ = try state.requireAdmin(company, actor)
            let credential = try state.requireCredential(company, id)
            var names: [UInt32: String] = [:]
            return try state.dailyUsage(credential: credential.number).filter { $0.day >= fromDay }.map { row in
                if names[row.project] == nil { names[row.project] = try state.project(row.project)?.slug ?? "" }
                return DailyUsageRow(day: row.day, project: names[row.project] ?? "", allowed: row.usage.allowed, denied: row.usage.denied)
            }
        }
    }
}
