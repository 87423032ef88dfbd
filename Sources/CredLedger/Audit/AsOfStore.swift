import CredLedgerCore
import CredLedgerProjections

/// Projection tables held in memory for as-of state. Like `MemoryStore`, but each table keeps its keys
/// sorted once (rebuilt only after a key is added or removed), and scans binary-search their start, so the
/// prefix scans of `StateReader` stay cheap on big registries.
public final class AsOfStore: KeyValueStore {
    private final class Rows {
        var values: [[UInt8]: [UInt8]] = [:]
        var sorted: [[UInt8]]? = []

        func keys() -> [[UInt8]] {
            if let sorted { return sorted }
            let fresh = values.keys.sorted { $0.lexicographicallyPrecedes($1) }
            sorted = fresh
            return fresh
        }
    }

    private var tables: [Table: Rows] = [:]

    public init() {}

    private func rows(_ table: Table) -> Rows {
        if let rows = tables[table] { return rows }
        let rows = Rows()
        tables[table] = rows
        return rows
    }

    public func get(_ table: Table, _ key: [UInt8]) -> [UInt8]? { tables[table]?.values[key] }

    public func put(_ table: Table, _ key: [UInt8], _ value: [UInt8]) {
        let rows = rows(table)
        if rows.values.updateValue(value, forKey: key) == nil { rows.sorted = nil }
    }

    public func delete(_ table: Table, _ key: [UInt8]) {
        guard let rows = tables[table], rows.values.removeValue(forKey: key) != nil else { return }
        rows.sorted = nil
    }

    /// Number of rows of a table.
    public func count(_ table: Table) -> Int { tables[table]?.values.count ?? 0 }

    /// None: as-of state holds complete counters in `usage` and reads posting lists from the live ledger.
    public func openSegment(_ projection: ProjectionName) -> ClosedRange<UInt64>? { nil }

    public func visitLog(_ range: ClosedRange<UInt64>, descending: Bool, _ body: (LogEntry) throws -> Bool) throws {}

    public func scan(_ table: Table, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        guard let rows = tables[table] else { return }
        let keys = rows.keys()
        var i = lowerBound(keys, start)
        while i < keys.count {
            guard let value = rows.values[keys[i]], try body(keys[i], value) else { return }
            i += 1
        }
    }

    public func scanBackward(_ table: Table, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        guard let rows = tables[table] else { return }
        let keys = rows.keys()
        // The last key ≤ start.
        var i = lowerBound(keys, start)
        if i == keys.count || keys[i] != start { i -= 1 }
        while i >= 0 {
            guard let value = rows.values[keys[i]], try body(keys[i], value) else { return }
            i -= 1
        }
    }

    /// Index of the first key ≥ `key`.
    private func lowerBound(_ keys: [[UInt8]], _ key: [UInt8]) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keys[mid].lexicographicallyPrecedes(key) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
