import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An LMDB cursor (`MDB_cursor`), lent to the closure of ``Transaction/withCursor(_:_:)``.
///
/// Each positioning call returns the `(key, value)` at the new position, or `nil` at the end /
/// when nothing matches. Like ``Transaction/get(_:_:)-(_,UnsafeRawBufferPointer)``, the buffers
/// point into the map: valid only until the next write in the transaction or its end.
/// Keys sort as unsigned bytes (`memcmp`), so big-endian integers iterate in numeric order.
public struct Cursor: ~Copyable {
    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    /// The LMDB cursor, closed by ``Transaction/withCursor(_:_:)``.
    let pointer: OpaquePointer
    /// The transaction's bookkeeping.
    let state: TransactionState
    /// Whether the last positioning call landed on an entry.
    private var isPositioned = false

    init(pointer: OpaquePointer, state: TransactionState) {
        self.pointer = pointer
        self.state = state
    }

    // MARK: - Positioning

    /// Moves to the first entry. Wraps `mdb_cursor_get(MDB_FIRST)`.
    ///
    /// - Returns: the entry, or `nil` if the database is empty.
    /// - Throws: ``LMDBError/badTransaction``, `EINVAL`.
    public mutating func first() throws -> Entry? {
        var key = MDB_val.empty
        return try position(MDB_FIRST, "MDB_FIRST", &key).get()
    }

    /// Moves to the last entry. Wraps `mdb_cursor_get(MDB_LAST)`.
    ///
    /// - Returns: the entry, or `nil` if the database is empty.
    /// - Throws: ``LMDBError/badTransaction``, `EINVAL`.
    public mutating func last() throws -> Entry? {
        var key = MDB_val.empty
        return try position(MDB_LAST, "MDB_LAST", &key).get()
    }

    /// Moves to the next entry (the first one if the cursor is not positioned yet).
    /// Wraps `mdb_cursor_get(MDB_NEXT)`.
    ///
    /// - Returns: the entry, or `nil` past the last entry.
    /// - Throws: ``LMDBError/badTransaction``, `EINVAL`.
    public mutating func next() throws -> Entry? {
        var key = MDB_val.empty
        return try position(MDB_NEXT, "MDB_NEXT", &key).get()
    }

    /// Moves to the previous entry (the last one if the cursor is not positioned yet).
    /// Wraps `mdb_cursor_get(MDB_PREV)`.
    ///
    /// - Returns: the entry, or `nil` before the first entry.
    /// - Throws: ``LMDBError/badTransaction``, `EINVAL`.
    public mutating func previous() throws -> Entry? {
        var key = MDB_val.empty
        return try position(MDB_PREV, "MDB_PREV", &key).get()
    }

    /// Moves to the first entry whose key is greater than or equal to `key`.
    /// Wraps `mdb_cursor_get(MDB_SET_RANGE)`.
    ///
    /// - Returns: the entry, or `nil` if every key is smaller.
    /// - Throws: ``LMDBError/badValueSize`` (empty key or longer than 511 bytes, checked before
    ///   the call), ``LMDBError/badTransaction``, `EINVAL`.
    public mutating func seek(atLeast key: UnsafeRawBufferPointer) throws -> Entry? {
        try state.check(key: key, "mdb_cursor_get(MDB_SET_RANGE)").get()
        var keyValue = MDB_val(key)
        return try position(MDB_SET_RANGE, "MDB_SET_RANGE", &keyValue).get()
    }

    /// Moves to the first entry whose key is greater than or equal to `key`.
    /// Wraps `mdb_cursor_get(MDB_SET_RANGE)`; see ``seek(atLeast:)-(UnsafeRawBufferPointer)``.
    public mutating func seek(atLeast key: [UInt8]) throws -> Entry? {
        try key.withUnsafeBytes { key in try seek(atLeast: key) }
    }

    /// Moves to the entry whose key equals `key`. Wraps `mdb_cursor_get(MDB_SET_KEY)`.
    ///
    /// - Returns: the entry, or `nil` if the key is absent. After a miss ``current()`` returns
    ///   `nil` and the LMDB position is unspecified: reposition (``first()``, a seek) before
    ///   ``next()``/``previous()``.
    /// - Throws: ``LMDBError/badValueSize`` (checked before the call),
    ///   ``LMDBError/badTransaction``, `EINVAL`.
    public mutating func seek(exactly key: UnsafeRawBufferPointer) throws -> Entry? {
        try state.check(key: key, "mdb_cursor_get(MDB_SET_KEY)").get()
        var keyValue = MDB_val(key)
        return try position(MDB_SET_KEY, "MDB_SET_KEY", &keyValue).get()
    }

    /// Moves to the entry whose key equals `key`. Wraps `mdb_cursor_get(MDB_SET_KEY)`; see
    /// ``seek(exactly:)-(UnsafeRawBufferPointer)``.
    public mutating func seek(exactly key: [UInt8]) throws -> Entry? {
        try key.withUnsafeBytes { key in try seek(exactly: key) }
    }

    /// The entry at the cursor position. Wraps `mdb_cursor_get(MDB_GET_CURRENT)`.
    ///
    /// - Returns: the entry, or `nil` if the cursor is not positioned (never positioned, or the
    ///   last move ran off the end or found nothing), or the entry was deleted and nothing follows.
    /// - Throws: ``LMDBError/badTransaction``, `EINVAL`.
    public mutating func current() throws -> Entry? {
        guard isPositioned else { return nil }
        var key = MDB_val.empty
        return try position(MDB_GET_CURRENT, "MDB_GET_CURRENT", &key).get()
    }

    private mutating func position(_ operation: MDB_cursor_op, _ name: String, _ key: inout MDB_val) -> Result<Entry?, LMDBError> {
        if case .failure(let error) = state.checkNotSuspended("mdb_cursor_get(\(name))") { return .failure(error) }
        var data = MDB_val.empty
        let code: Int32
        if let injected = state.injectedFault(.get) {
            code = injected
        } else {
            code = mdb_cursor_get(pointer, &key, &data, operation)
        }
        switch code {
        case MDB_SUCCESS:
            isPositioned = true
            return .success((key: key.buffer, value: data.buffer))
        case MDB_NOTFOUND:
            isPositioned = false
            return .success(nil)
        default:
            return .failure(state.record(LMDBError(code: code, function: "mdb_cursor_get(\(name))")))
        }
    }

    // MARK: - Writing

    /// Stores `value` under `key` and positions the cursor on it. Wraps `mdb_cursor_put`.
    ///
    /// - Parameter flags: ``WriteFlags/current`` replaces the entry at the cursor (the key must
    ///   equal the current key), ``WriteFlags/append``, ``WriteFlags/noOverwrite``.
    /// - Throws: ``LMDBError/keyExists``, ``LMDBError/mapFull`` (only once the map cannot grow),
    ///   ``LMDBError/txnFull``, ``LMDBError/badValueSize`` (checked before the call),
    ///   ``LMDBError/accessDenied`` (read-only transaction), ``LMDBError/badTransaction``,
    ///   `EINVAL`.
    public mutating func put(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, flags: WriteFlags = []) throws {
        let function = "mdb_cursor_put"
        try state.checkNotSuspended(function).get()
        try state.checkWritable(function).get()
        try state.check(key: key, function).get()
        var keyValue = MDB_val(key)
        var dataValue = MDB_val(value)
        let code: Int32
        if let injected = state.injectedFault(.put) {
            code = injected
        } else {
            code = mdb_cursor_put(pointer, &keyValue, &dataValue, flags.intersection(.supported).rawValue)
        }
        guard code == MDB_SUCCESS else {
            throw state.record(LMDBError(code: code, function: function))
        }
        isPositioned = true
    }

    /// Stores `value` under `key`. Wraps `mdb_cursor_put`; see
    /// ``put(_:_:flags:)-(UnsafeRawBufferPointer,_,_)``.
    public mutating func put(_ key: [UInt8], _ value: [UInt8], flags: WriteFlags = []) throws {
        try key.withUnsafeBytes { key in
            try value.withUnsafeBytes { value in
                try put(key, value, flags: flags)
            }
        }
    }

    /// Deletes the entry at the cursor position; ``next()`` then returns the entry that followed
    /// it. Wraps `mdb_cursor_del`.
    ///
    /// - Throws: ``LMDBError/accessDenied`` (read-only transaction), ``LMDBError/notFound`` (the
    ///   cursor is not positioned), ``LMDBError/badTransaction``, `EINVAL`.
    public mutating func deleteCurrent() throws {
        let function = "mdb_cursor_del"
        try state.checkNotSuspended(function).get()
        try state.checkWritable(function).get()
        guard isPositioned else {
            throw LMDBError(code: MDB_NOTFOUND, function: function, detail: "the cursor is not positioned on an entry")
        }
        let code: Int32
        if let injected = state.injectedFault(.delete) {
            code = injected
        } else {
            code = mdb_cursor_del(pointer, 0)
        }
        guard code == MDB_SUCCESS else {
            throw state.record(LMDBError(code: code, function: function))
        }
    }
}

@available(*, unavailable, message: "a cursor belongs to its transaction's thread")
extension Cursor: Sendable {}
