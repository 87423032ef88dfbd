import CredLedgerProjections
import LMDB

/// B-tree statistics of one named database of the ledger.
public struct TableStatistics: Sendable, Equatable {
    public var name: String
    public var entries: Int
    /// Branch + leaf + overflow pages.
    public var pages: Int
    public var pageSize: Int
    public var bytes: Int { pages * pageSize }
}

extension Ledger.Maintenance {
    /// Entries and pages of the log and of every projection table, from one read snapshot (`mdb_stat`).
    public func tableStatistics() throws -> [TableStatistics] {
        let schema = self.schema
        return try environment.read { txn in
            var out: [TableStatistics] = []
            func add(_ name: String, _ db: Database) throws {
                let s = try txn.stat(db)
                out.append(TableStatistics(name: name, entries: s.entries, pages: s.branchPages + s.leafPages + s.overflowPages,
                                           pageSize: s.pageSize))
            }
            try add(Schema.eventsName, schema.events)
            try add(Schema.metaName, schema.meta)
            for table in Table.allCases { try add(table.rawValue, schema.database(table)) }
            // Registered projections' tables (the transparency tree's among them).
            for name in schema.extensions.flatMap(\.tableNames) { try add(name, try schema.database(named: name)) }
            return out
        }
    }
}
