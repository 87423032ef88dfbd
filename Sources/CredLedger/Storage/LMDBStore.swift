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

/// The projector's allocation-free path: values are read in place from the map and written from the caller's buffers.
extension LMDBStore: RawKeyValueStore {
    public func withValue<R>(_ table: Table, _ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        try body(try txn.get(schema.database(table), key))
    }

    public func put(_ table: Table, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws {
        try txn.put(schema.database(table), key, value)
    }

    public func withLastEntry<R>(_ table: Table, atMost key: UnsafeRawBufferPointer,
                                 _ body: ((key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)?) throws -> R) throws -> R {
        try txn.withCursor(schema.database(table)) { cursor in
            // Like scanBackward: the first key ≥ `key`, stepping back unless it is equal.
            let entry: Cursor.Entry?
            if let e = try cursor.seek(atLeast: key) {
                entry = e.key.elementsEqual(key) ? e : try cursor.previous()
            } else {
                entry = try cursor.last()
            }
            return try body(entry.map { (key: $0.key, value: $0.value) })
        }
    }
}
