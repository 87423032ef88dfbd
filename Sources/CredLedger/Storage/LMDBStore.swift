import CredLedgerProjections
import LMDB

/// The projections' key-value view of one LMDB transaction. Values are copied out of the map.
/// Public only as a type name in `Ledger.withState`; its members stay internal.
public struct LMDBStore: KeyValueStore {
    let txn: Transaction
    let schema: Schema

    public func get(_ table: Table, _ key: [UInt8]) throws -> [UInt8]? {
        try txn.get(schema.database(table), key)
    }

    public func put(_ table: Table, _ key: [UInt8], _ value: [UInt8]) throws {
        try txn.put(schema.database(table), key, value)
    }

    public func delete(_ table: Table, _ key: [UInt8]) throws {
        try txn.delete(schema.database(table), key)
    }

    public func scan(_ table: Table, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try txn.withCursor(schema.database(table)) { cursor in
            var entry = start.isEmpty ? try cursor.first() : try cursor.seek(atLeast: start)
            while let e = entry {
                guard try body(Array(e.key), Array(e.value)) else { return }
                entry = try cursor.next()
            }
        }
    }

    public func scanBackward(_ table: Table, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try txn.withCursor(schema.database(table)) { cursor in
            // Position on the last key ≤ start: seek to the first ≥ start, step back unless equal.
            var entry: Cursor.Entry?
            if let e = try cursor.seek(atLeast: start) {
                entry = Array(e.key) == start ? e : try cursor.previous()
            } else {
                entry = try cursor.last()
            }
            while let e = entry {
                guard try body(Array(e.key), Array(e.value)) else { return }
                entry = try cursor.previous()
            }
        }
    }
}
