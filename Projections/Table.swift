import CredLedgerCore

/// Every projection table (one LMDB named database each) and the projection it belongs to.
public enum Table: String, CaseIterable, Sendable {
    // registry: companies, members, projects, credentials, secrets, tokens
    case companies, companySlugs = "company_slugs", users, members, projects, projectSlugs = "project_slugs"
    case credentials, credentialIDs = "credential_ids", clientIDs = "client_ids", secrets, tokens, tokenFamilies = "token_families", codes, counters
    // memberships: API service users' and users' own project roles
    case access, accessByProject = "access_by_project", userRoles = "user_roles", userRolesByProject = "user_roles_by_project"
    // usage: exact counters and daily rollups of the closed segments (the open segment is read from the log);
    // `usage_recent` is retired (always empty since usage code version 3) and kept so older files upgrade in place
    case usage, usageDaily = "usage_daily", usageRecent = "usage_recent"
    // indexes: posting lists by company, credential, project, actor, type, of the closed segments; `ix_recent`
    // is retired like `usage_recent` (indexes code version 3)
    case index = "ix", indexRecent = "ix_recent"
    // registry (issue 11): live credential names per company, so `duplicate_name` needs no scan of every credential
    case credentialNames = "credential_names"
    // registry (declared last, so the tables above keep their positions): who holds which token families and codes,
    // so a removal or a rotation finds what it ends without scanning `tokens` or `codes`
    case userFamilies = "user_families", credentialFamilies = "credential_families", userCodes = "user_codes"

    public var projection: ProjectionName {
        switch self {
        case .companies, .companySlugs, .users, .members, .projects, .projectSlugs, .credentials, .credentialIDs,
             .clientIDs, .secrets, .tokens, .tokenFamilies, .codes, .counters, .credentialNames, .userFamilies,
             .credentialFamilies, .userCodes:
            .registry
        case .access, .accessByProject, .userRoles, .userRolesByProject: .memberships
        case .usage, .usageDaily, .usageRecent: .usage
        case .index, .indexRecent: .indexes
        }
    }

    /// A table no code version writes any more: emptied by a rebuild, left out of digests (docs/FORMAT.md §1).
    public var isRetired: Bool { self == .usageRecent || self == .indexRecent }
}

/// The projections; each has its own checkpoint and digest.
public enum ProjectionName: String, CaseIterable, Sendable {
    case registry, memberships, usage, indexes

    /// The tables the projection writes (retired ones left out).
    public var tables: [Table] { Table.allCases.filter { $0.projection == self && !$0.isRetired } }

    /// Bumped when the projection's code changes what it writes; a mismatch at open triggers a rebuild.
    public var codeVersion: UInt32 {
        switch self {
        case .registry: 5  // 2 (issue 11): `credential_names`; token approval time, code state, the family and code indexes; removal and rotation end tokens
                           // 3 (issue 15): slug rows carry the company's API flag and the project's archived flag
                           // 4 (issue 15): `secrets` rows carry their credential's facts (and its deleted flag)
                           // 5 (issue 15): `tokens` rows carry their credential's facts (and its deleted flag) and the principal
        case .memberships: 2  // 2: a removal deletes the user's project roles in the company
        case .usage: 3     // 2: counters folded per segment; 3: the open segment is read from the log (no `usage_recent`)
        case .indexes: 3   // 2: segmented posting lists; 3: the open segment is read from the log (no `ix_recent`)
        }
    }
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
    /// Deletes every row of `table`.
    func removeAll(_ table: Table) throws

    // Tables by name: every built-in table (its raw value) and those of registered projections (`Projection`).
    func get(named table: String, _ key: [UInt8]) throws -> [UInt8]?
    func put(named table: String, _ key: [UInt8], _ value: [UInt8]) throws
    func delete(named table: String, _ key: [UInt8]) throws
    /// Visits entries with key ≥ `start` in ascending order until `body` returns false.
    func scan(named table: String, from start: [UInt8], _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool) throws
    func removeAll(named table: String) throws

    // The log, as the usage and index projections read it: they store only closed segments (docs/FORMAT.md §6.0).
    /// The seqs of `projection`'s open segment — the log's events it has applied that its tables do not hold — or nil
    /// when there are none (an empty log; a store whose counters are complete, as as-of state's are).
    func openSegment(_ projection: ProjectionName) throws -> ClosedRange<UInt64>?
    /// Visits the log's events with seq in `range` as the projections see them, ascending or descending, until
    /// `body` returns false.
    func visitLog(_ range: ClosedRange<UInt64>, descending: Bool, _ body: (LogEntry) throws -> Bool) throws
}

extension KeyValueStore {
    /// A store without tables of its own beyond the built-in ones: names resolve to `Table`.
    @inline(__always)
    private func builtIn(_ name: String) throws -> Table {
        guard let table = Table(rawValue: name) else { throw UnknownTableError(name) }
        return table
    }

    public func get(named table: String, _ key: [UInt8]) throws -> [UInt8]? { try get(builtIn(table), key) }
    public func put(named table: String, _ key: [UInt8], _ value: [UInt8]) throws { try put(builtIn(table), key, value) }
    public func delete(named table: String, _ key: [UInt8]) throws { try delete(builtIn(table), key) }
    public func scan(named table: String, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try scan(builtIn(table), from: start, body)
    }
    public func removeAll(named table: String) throws { try removeAll(builtIn(table)) }
}

extension KeyValueStore {
    /// Row by row; stores that can empty a table at once implement it themselves.
    public func removeAll(_ table: Table) throws {
        var keys: [[UInt8]] = []
        try scan(table, from: []) { key, _ in
            keys.append(key)
            return true
        }
        for key in keys { try delete(table, key) }
    }

    /// Visits every entry whose key starts with `prefix`, ascending.
    public func scan(_ table: Table, prefix: [UInt8], _ body: (_ key: [UInt8], _ value: [UInt8]) throws -> Bool) throws {
        try scan(table, from: prefix) { key, value in
            guard key.starts(with: prefix) else { return false }
            return try body(key, value)
        }
    }
}

/// Projections kept in memory (as-of queries, tests): per table a key-sorted array, binary-searched.
public final class MemoryStore: KeyValueStore {
    private struct Rows {
        var keys: [[UInt8]] = []
        var values: [[UInt8]] = []

        /// Index of the first key ≥ `key`.
        func lowerBound(_ key: [UInt8]) -> Int {
            var low = 0, high = keys.count
            while low < high {
                let mid = (low + high) / 2
                if keys[mid].lexicographicallyPrecedes(key) { low = mid + 1 } else { high = mid }
            }
            return low
        }
    }

    private var storage: [Table: Rows] = [:]
    /// Tables of registered projections (`Projection`), by name.
    private var named: [String: MemoryStore] = [:]
    /// The log the projections were applied from, ascending seqs (the caller appends what it applies): the usage and
    /// index projections read their open segment from it.
    public var log: [Event] = []

    /// All rows by table, as dictionaries (for tests and comparisons).
    public var tables: [Table: [[UInt8]: [UInt8]]] {
        storage.mapValues { Dictionary(uniqueKeysWithValues: zip($0.keys, $0.values)) }
    }

    public init() {}

    /// Every (key, value) of a table in key order.
    public func rows(_ table: Table) -> [(key: [UInt8], value: [UInt8])] {
        guard let rows = storage[table] else { return [] }
        return Array(zip(rows.keys, rows.values))
    }

    public func get(_ table: Table, _ key: [UInt8]) -> [UInt8]? {
        guard let rows = storage[table] else { return nil }
        let i = rows.lowerBound(key)
        return i < rows.keys.count && rows.keys[i] == key ? rows.values[i] : nil
    }

    public func put(_ table: Table, _ key: [UInt8], _ value: [UInt8]) {
        var rows = storage.removeValue(forKey: table) ?? Rows()
        let i = rows.lowerBound(key)
        if i < rows.keys.count && rows.keys[i] == key {
            rows.values[i] = value
        } else {
            rows.keys.insert(key, at: i)
            rows.values.insert(value, at: i)
        }
        storage[table] = rows
    }

    public func delete(_ table: Table, _ key: [UInt8]) {
        guard var rows = storage.removeValue(forKey: table) else { return }
        let i = rows.lowerBound(key)
        if i < rows.keys.count && rows.keys[i] == key {
            rows.keys.remove(at: i)
            rows.values.remove(at: i)
        }
        storage[table] = rows
    }

    public func scan(_ table: Table, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        guard let rows = storage[table] else { return }
        var i = rows.lowerBound(start)
        while i < rows.keys.count {
            guard try body(rows.keys[i], rows.values[i]) else { return }
            i += 1
        }
    }

    public func removeAll(_ table: Table) {
        storage[table] = nil
    }

    // A registered projection's table is kept as the `counters` table of a store of its own (same code, same order).
    private func extensionTable(_ name: String) -> MemoryStore? {
        if let store = named[name] { return store }
        guard Table(rawValue: name) == nil else { return nil }
        let store = MemoryStore()
        named[name] = store
        return store
    }

    public func get(named table: String, _ key: [UInt8]) throws -> [UInt8]? {
        if let t = Table(rawValue: table) { return get(t, key) }
        return extensionTable(table)?.get(.counters, key)
    }

    public func put(named table: String, _ key: [UInt8], _ value: [UInt8]) throws {
        if let t = Table(rawValue: table) { return put(t, key, value) }
        extensionTable(table)?.put(.counters, key, value)
    }

    public func delete(named table: String, _ key: [UInt8]) throws {
        if let t = Table(rawValue: table) { return delete(t, key) }
        extensionTable(table)?.delete(.counters, key)
    }

    public func scan(named table: String, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        if let t = Table(rawValue: table) { return try scan(t, from: start, body) }
        try extensionTable(table)?.scan(.counters, from: start, body)
    }

    public func removeAll(named table: String) throws {
        if let t = Table(rawValue: table) { return removeAll(t) }
        named[table] = nil
    }

    /// The open segment of the last event of `log`.
    public func openSegment(_ projection: ProjectionName) -> ClosedRange<UInt64>? {
        log.last.flatMap { PostingIndex.openSegment(head: $0.seq) }
    }

    public func visitLog(_ range: ClosedRange<UInt64>, descending: Bool, _ body: (LogEntry) throws -> Bool) throws {
        // The first event with seq ≥ the range's start (binary search: seqs ascend).
        var low = 0, high = log.count
        while low < high {
            let mid = (low + high) / 2
            if log[mid].seq < range.lowerBound { low = mid + 1 } else { high = mid }
        }
        var end = low
        while end < log.count, log[end].seq <= range.upperBound { end += 1 }
        let indices = low..<end
        if descending {
            for i in indices.reversed() where try !body(LogEntry(log[i])) { return }
        } else {
            for i in indices where try !body(LogEntry(log[i])) { return }
        }
    }

    public func scanBackward(_ table: Table, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        guard let rows = storage[table] else { return }
        var i = rows.lowerBound(start)
        if i == rows.keys.count || rows.keys[i] != start { i -= 1 }
        while i >= 0 {
            guard try body(rows.keys[i], rows.values[i]) else { return }
            i -= 1
        }
    }
}
