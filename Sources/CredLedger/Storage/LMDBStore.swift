import CredLedgerProjections
import LMDB

/// The projections' key-value view of one LMDB transaction. Values are copied out of the map.
/// Public only as a type name in `Ledger.Audit.withState`; its members stay internal.
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

    public func removeAll(_ table: Table) throws {
        try txn.empty(schema.database(table))
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

/// Tables by name: registered projections' tables are the schema's own databases.
extension LMDBStore {
    public func get(named table: String, _ key: [UInt8]) throws -> [UInt8]? {
        try txn.get(schema.database(named: table), key)
    }

    public func put(named table: String, _ key: [UInt8], _ value: [UInt8]) throws {
        try txn.put(schema.database(named: table), key, value)
    }

    public func delete(named table: String, _ key: [UInt8]) throws {
        try txn.delete(schema.database(named: table), key)
    }

    public func scan(named table: String, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        try txn.withCursor(schema.database(named: table)) { cursor in
            var entry = start.isEmpty ? try cursor.first() : try cursor.seek(atLeast: start)
            while let e = entry {
                guard try body(Array(e.key), Array(e.value)) else { return }
                entry = try cursor.next()
            }
        }
    }

    public func removeAll(named table: String) throws {
        try txn.empty(schema.database(named: table))
    }
}

/// The projector's allocation-free path: values are read in place from the map and written from the caller's buffers,
/// through one LMDB cursor per table and flush.
extension LMDBStore: RawKeyValueStore {
    public func withCursor<R>(_ table: Table, _ body: (any RawCursor) throws -> R) throws -> R {
        try withCursor(schema.database(table), body)
    }

    public func withCursor<R>(named table: String, _ body: (any RawCursor) throws -> R) throws -> R {
        try withCursor(schema.database(named: table), body)
    }

    private func withCursor<R>(_ database: Database, _ body: (any RawCursor) throws -> R) throws -> R {
        try txn.withCursor(database) { cursor in
            try withUnsafeMutablePointer(to: &cursor) { pointer in
                let raw = LMDBRawCursor(pointer)
                defer { raw.invalidate() }
                return try body(raw)
            }
        }
    }
}

/// A `RawCursor` over the LMDB cursor lent to `LMDBStore.withCursor`; unusable once that call returns.
final class LMDBRawCursor: RawCursor {
    private var cursor: UnsafeMutablePointer<Cursor>?

    init(_ cursor: UnsafeMutablePointer<Cursor>) { self.cursor = cursor }

    func invalidate() { cursor = nil }

    private var live: UnsafeMutablePointer<Cursor> {
        guard let cursor else { preconditionFailure("RawCursor used after its withCursor call returned") }
        return cursor
    }

    func value(at key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        try live.pointee.seek(exactly: key)?.value
    }

    func put(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, atCurrent: Bool) throws {
        try live.pointee.put(key, value, flags: atCurrent ? .current : [])
    }

    func append(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws {
        try live.pointee.put(key, value, flags: .append)
    }

    func forEach(from key: UnsafeRawBufferPointer,
                 _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool) throws {
        var entry = key.isEmpty ? try live.pointee.first() : try live.pointee.seek(atLeast: key)
        while let e = entry {
            guard try body(e.key, e.value) else { return }
            entry = try live.pointee.next()
        }
    }
}
