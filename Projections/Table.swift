import CredLedgerCore

/// Every projection table (one LMDB named database each) and the projection it belongs to.
public enum Table: String, CaseIterable, Sendable {
    // registry: companies, members, projects, credentials, secrets, tokens
    case companies, companySlugs = "company_slugs", users, members, projects, projectSlugs = "project_slugs"
    case credentials, credentialIDs = "credential_ids", clientIDs = "client_ids", secrets, tokens, tokenFamilies = "token_families", codes, counters
    // memberships: API service users' and users' own project roles
    case access, accessByProject = "access_by_project", userRoles = "user_roles", userRolesByProject = "user_roles_by_project"
    // usage: exact counters and daily rollups
    case usage, usageDaily = "usage_daily"
    // indexes: posting lists by company, credential, project, actor, type
    case index = "ix"

    public var projection: ProjectionName {
        switch self {
        case .companies, .companySlugs, .users, .members, .projects, .projectSlugs, .credentials, .credentialIDs,
             .clientIDs, .secrets, .tokens, .tokenFamilies, .codes, .counters:
            .registry
        case .access, .accessByProject, .userRoles, .userRolesByProject: .memberships
        case .usage, .usageDaily: .usage
        case .index: .indexes
        }
    }
}

/// The projections; each has its own checkpoint and digest.
public enum ProjectionName: String, CaseIterable, Sendable {
    case registry, memberships, usage, indexes

    public var tables: [Table] { Table.allCases.filter { $0.projection == self } }

    /// Bumped when the projection's code changes what it writes; a mismatch at open triggers a rebuild.
    public var codeVersion: UInt32 { 1 }
}

/// The key-value operations projections need; implemented over an LMDB transaction and in memory.
public protocol KeyValueStore {
    func get(_ table: Table, _ key: [UInt8]) throws -> [UInt8]?
    func put(_ table: Table, _ key: [UInt8], _ value: [UInt8]) throws
    func delete(_ table: Table, _ key: [UInt8]) throws
    /// Visits entries with key ≥ `start` in ascending order until `body` returns false.
    func scan(_ table: Table, from start: [UInt8], _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool) throws
    /// Visits entries with key ≤ `start` in descending order until `body` returns false.
    func scanBackward(_ table: Table, from start: [UInt8], _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool) throws
}

extension KeyValueStore {
    /// Visits every entry whose key starts with `prefix`, ascending.
    public func scan(_ table: Table, prefix: [UInt8], _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool) throws {
        try scan(table, from: prefix) { key, value in
            guard key.starts(with: prefix) else { return false }
            return try body(key, value)
        }
    }
}

/// Projections kept in memory (as-of queries, tests): sorted on demand.
public final class MemoryStore: KeyValueStore {
    public private(set) var tables: [Table: [[UInt8]: [UInt8]]] = [:]

    public init() {}

    public func get(_ table: Table, _ key: [UInt8]) -> [UInt8]? { tables[table]?[key] }
    public func put(_ table: Table, _ key: [UInt8], _ value: [UInt8]) { tables[table, default: [:]][key] = value }
    public func delete(_ table: Table, _ key: [UInt8]) { tables[table]?[key] = nil }

    public func scan(_ table: Table, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        guard let rows = tables[table] else { return }
        for key in rows.keys.filter({ !$0.lexicographicallyPrecedes(start) }).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            guard try body(key, rows[key]!) else { return }
        }
    }

    public func scanBackward(_ table: Table, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        guard let rows = tables[table] else { return }
        for key in rows.keys.filter({ !start.lexicographicallyPrecedes($0) }).sorted(by: { $1.lexicographicallyPrecedes($0) }) {
            guard try body(key, rows[key]!) else { return }
        }
    }
}
