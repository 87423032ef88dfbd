import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An LMDB transaction (`MDB_txn`), lent to the closure of ``Environment/read(_:)`` or
/// ``Environment/write(_:)``.
///
/// A transaction belongs to one thread and is valid only inside its closure. It is not
/// `Sendable`, so it cannot cross to another thread or task; it is copyable so that thin views
/// (the projections' key-value store) can wrap it, but no copy may outlive the closure.
/// The environment commits or aborts it; there is no `commit()` to call. Every call checks
/// that it comes from the transaction's thread while its closure runs, and throws
/// ``LMDBError/badTransaction`` otherwise (instead of touching a freed `MDB_txn`).
///
/// Buffers returned by ``get(_:_:)-(_,UnsafeRawBufferPointer)`` and by cursors point into the
/// memory map: they are valid only until the next write in this transaction or its end. Copy
/// them (or use the `[UInt8]` conveniences) to keep the bytes.
public struct Transaction {
    /// The LMDB transaction.
    let pointer: OpaquePointer
    /// Shared with the cursors: first poisoning error, fault injector, read-only flag.
    let state: TransactionState

    init(pointer: OpaquePointer, state: TransactionState) {
        self.pointer = pointer
        self.state = state
    }

    /// Whether this is a read-only transaction (`MDB_RDONLY`).
    public var isReadOnly: Bool { state.isReadOnly }

    /// The transaction's id (`mdb_txn_id`): a read transaction's is the snapshot's (the commit it reads); a write
    /// transaction's is the id its commit will have.
    public var id: Int { Int(mdb_txn_id(pointer)) }

    // MARK: - Nested transactions

    /// Runs `body` in a child write transaction (`mdb_txn_begin` with this transaction as the
    /// parent): returning commits the child into this transaction (`mdb_txn_commit`), throwing
    /// aborts it (`mdb_txn_abort`), which undoes the child's writes and nothing else.
    ///
    /// While the child is open this transaction (and its cursors) refuse every call with
    /// ``LMDBError/badTransaction`` (LMDB forbids using the parent then), so one child at a time.
    /// The child is visible to the parent only after `body` returns. A child costs a copy of the
    /// parent's page lists on begin and a merge on commit: use one per unit of work that can fail
    /// halfway, not one per small write on a hot path.
    ///
    /// Failures of the child that leave the whole write in doubt are recorded on this transaction
    /// too, so that ``Environment/write(_:)`` handles them even if the caller catches the error:
    /// `MDB_MAP_FULL` inside the child (the map grows and the whole write runs again from the
    /// start), and a child that could not begin or commit.
    ///
    /// - Returns: what `body` returns.
    /// - Throws: the error thrown by `body`, unchanged (after the child's abort); an error the
    ///   child recorded and `body` swallowed; ``LMDBError/accessDenied`` (read-only
    ///   transaction); ``LMDBError/invalidArgument`` (environment opened with
    ///   ``EnvironmentFlags/writeMap``, where LMDB has no nested transactions);
    ///   ``LMDBError/badTransaction`` (this transaction is finished, has a child open, or belongs
    ///   to another thread); `ENOMEM` and other codes from `mdb_txn_begin` and `mdb_txn_commit`.
    public func nested<R>(_ body: (borrowing Transaction) throws -> R) throws -> R {
        let function = "Transaction.nested"
        try state.checkUsable(function).get()
        try state.checkWritable(function).get()
        guard !state.environmentHasWriteMap else {
            throw LMDBError(code: EINVAL, function: function,
                            detail: "LMDB has no nested transactions in an environment opened with MDB_WRITEMAP")
        }
        let childState = TransactionState(childOf: state)
        var begun: OpaquePointer?
        let beginCode = childState.injectedFault(.txnBegin) ?? mdb_txn_begin(mdb_txn_env(pointer), pointer, 0, &begun)
        guard beginCode == MDB_SUCCESS, let child = begun else {
            let error = LMDBError(code: beginCode == MDB_SUCCESS ? EINVAL : beginCode, function: "mdb_txn_begin",
                                  detail: "beginning a child transaction")
            state.poison(error)
            throw error
        }
        state.setChildOpen(true)
        defer { state.setChildOpen(false) }

        let result: R
        do {
            defer { childState.finish() }
            result = try body(Transaction(pointer: child, state: childState))
        } catch {
            mdb_txn_abort(child)
            if let lmdb = error as? LMDBError, lmdb.code == MDB_MAP_FULL { state.poison(lmdb) }
            throw error
        }
        // The body returned but swallowed an error after which LMDB only allows an abort (committing such a child
        // would poison the parent as well).
        if let poisoned = childState.firstError {
            mdb_txn_abort(child)
            if poisoned.code == MDB_MAP_FULL { state.poison(poisoned) }
            throw poisoned
        }
        let commitCode: Int32
        if let injected = childState.injectedFault(.commit) {
            mdb_txn_abort(child)
            commitCode = injected
        } else {
            // On failure the child is already freed: it must not be aborted again.
            commitCode = mdb_txn_commit(child)
        }
        guard commitCode == MDB_SUCCESS else {
            let error = LMDBError(code: commitCode, function: "mdb_txn_commit", detail: "committing a child transaction")
            state.poison(error)
            throw error
        }
        return result
    }

    // MARK: - Get

    /// Reads the value stored under `key`. Wraps `mdb_get`.
    ///
    /// The returned buffer points into the map: valid only until the next write in this
    /// transaction or its end.
    ///
    /// - Returns: the value, or `nil` when the key is absent (`MDB_NOTFOUND`).
    /// - Throws: ``LMDBError/badValueSize`` (empty key or longer than 511 bytes, checked before
    ///   the call), ``LMDBError/badDBI``, ``LMDBError/badTransaction``, `EINVAL`.
    public func get(_ db: Database, _ key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        try _get(db, key).get()
    }

    /// Reads and copies the value stored under `key`. Wraps `mdb_get`.
    ///
    /// - Returns: a copy of the value, or `nil` when the key is absent (`MDB_NOTFOUND`).
    /// - Throws: as ``get(_:_:)-(_,UnsafeRawBufferPointer)``.
    public func get(_ db: Database, _ key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { key in
            try _get(db, key).get().map { Array($0) }
        }
    }

    func _get(_ db: Database, _ key: UnsafeRawBufferPointer) -> Result<UnsafeRawBufferPointer?, LMDBError> {
        let function = "mdb_get"
        if case .failure(let error) = state.checkUsable(function) { return .failure(error) }
        // The database's environment and the key's size tested inline; the checks that build the errors run only when
        // one fails (two calls per read on the authorization path otherwise).
        if db.environmentID != state.environmentID || key.count < 1 || key.count > Environment.maxKeySize {
            if case .failure(let error) = state.check(db, function) { return .failure(error) }
            if case .failure(let error) = state.check(key: key, function) { return .failure(error) }
        }
        var keyValue = MDB_val(key)
        var dataValue = MDB_val.empty
        let code: Int32
        if let injected = state.injectedFault(.get) {
            code = injected
        } else {
            code = mdb_get(pointer, db.dbi, &keyValue, &dataValue)
        }
        switch code {
        case MDB_SUCCESS: return .success(dataValue.buffer)
        case MDB_NOTFOUND: return .success(nil)
        default: return .failure(state.record(LMDBError(code: code, function: function)))
        }
    }

    // MARK: - Put

    /// Stores `value` under `key`, replacing any existing value unless `flags` say otherwise.
    /// Wraps `mdb_put`.
    ///
    /// After this call, buffers previously returned in this transaction are invalid.
    ///
    /// - Parameter flags: ``WriteFlags/append`` or ``WriteFlags/noOverwrite``
    ///   (``WriteFlags/current`` is only valid for ``Cursor/put(_:_:flags:)``).
    /// - Throws: ``LMDBError/keyExists`` (`.noOverwrite` and the key exists, or `.append` and
    ///   the key does not sort last), ``LMDBError/mapFull`` (only if the map cannot grow any
    ///   more — ``Environment/write(_:)`` otherwise grows and re-runs), ``LMDBError/txnFull``,
    ///   ``LMDBError/badValueSize`` (key empty or longer than 511 bytes, checked before the
    ///   call), ``LMDBError/accessDenied`` (read-only transaction), ``LMDBError/badDBI``,
    ///   ``LMDBError/badTransaction`` (the transaction already failed), `EINVAL`.
    public func put(_ db: Database, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, flags: WriteFlags = []) throws {
        try _put(db, key, value, flags: flags).get()
    }

    /// Stores `value` under `key`. Wraps `mdb_put`; see
    /// ``put(_:_:_:flags:)-(_,UnsafeRawBufferPointer,_,_)``.
    public func put(_ db: Database, _ key: [UInt8], _ value: [UInt8], flags: WriteFlags = []) throws {
        try key.withUnsafeBytes { key in
            try value.withUnsafeBytes { value in
                try _put(db, key, value, flags: flags).get()
            }
        }
    }

    func _put(_ db: Database, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, flags: WriteFlags) -> Result<Void, LMDBError> {
        let function = "mdb_put"
        if case .failure(let error) = state.checkUsable(function) { return .failure(error) }
        if case .failure(let error) = state.checkWritable(function) { return .failure(error) }
        if case .failure(let error) = state.check(db, function) { return .failure(error) }
        if case .failure(let error) = state.check(key: key, function) { return .failure(error) }
        guard !flags.contains(.current) else {
            return .failure(LMDBError(
                code: EINVAL, function: function,
                detail: "WriteFlags.current is only valid with a cursor (mdb_cursor_put)"))
        }
        var keyValue = MDB_val(key)
        var dataValue = MDB_val(value)
        let code: Int32
        if let injected = state.injectedFault(.put) {
            code = injected
        } else {
            code = mdb_put(pointer, db.dbi, &keyValue, &dataValue, flags.intersection(.supported).rawValue)
        }
        guard code == MDB_SUCCESS else {
            return .failure(state.record(LMDBError(code: code, function: function)))
        }
        return .success(())
    }

    // MARK: - Delete

    /// Deletes `key` and its value. Wraps `mdb_del`.
    ///
    /// - Returns: `false` when the key was absent (`MDB_NOTFOUND`).
    /// - Throws: ``LMDBError/badValueSize`` (checked before the call),
    ///   ``LMDBError/accessDenied`` (read-only transaction), ``LMDBError/badDBI``,
    ///   ``LMDBError/badTransaction``, `EINVAL`.
    @discardableResult
    public func delete(_ db: Database, _ key: UnsafeRawBufferPointer) throws -> Bool {
        try _delete(db, key).get()
    }

    /// Deletes `key` and its value. Wraps `mdb_del`; see
    /// ``delete(_:_:)-(_,UnsafeRawBufferPointer)``.
    @discardableResult
    public func delete(_ db: Database, _ key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { key in try _delete(db, key).get() }
    }

    func _delete(_ db: Database, _ key: UnsafeRawBufferPointer) -> Result<Bool, LMDBError> {
        let function = "mdb_del"
        if case .failure(let error) = state.checkUsable(function) { return .failure(error) }
        if case .failure(let error) = state.checkWritable(function) { return .failure(error) }
        if case .failure(let error) = state.check(db, function) { return .failure(error) }
        if case .failure(let error) = state.check(key: key, function) { return .failure(error) }
        var keyValue = MDB_val(key)
        let code: Int32
        if let injected = state.injectedFault(.delete) {
            code = injected
        } else {
            code = mdb_del(pointer, db.dbi, &keyValue, nil)
        }
        switch code {
        case MDB_SUCCESS: return .success(true)
        case MDB_NOTFOUND: return .success(false)
        default: return .failure(state.record(LMDBError(code: code, function: function)))
        }
    }

    /// Deletes every entry of `db`, keeping the database itself. Wraps `mdb_drop(del: 0)`.
    ///
    /// - Throws: ``LMDBError/accessDenied`` (read-only transaction), ``LMDBError/badDBI``,
    ///   ``LMDBError/badTransaction``, `EINVAL`.
    public func empty(_ db: Database) throws {
        let function = "mdb_drop"
        try state.checkUsable(function).get()
        try state.checkWritable(function).get()
        try state.check(db, function).get()
        let code: Int32
        if let injected = state.injectedFault(.delete) {
            code = injected
        } else {
            code = mdb_drop(pointer, db.dbi, 0)
        }
        guard code == MDB_SUCCESS else {
            throw state.record(LMDBError(code: code, function: function))
        }
    }

    // MARK: - Statistics

    /// The number of entries in `db`, as seen by this transaction. Wraps `mdb_stat`
    /// (`ms_entries`).
    ///
    /// - Throws: ``LMDBError/badDBI``, `EINVAL`.
    public func entryCount(_ db: Database) throws -> Int {
        try stat(db).entries
    }

    /// B-tree statistics of `db`, as seen by this transaction. Wraps `mdb_stat`.
    ///
    /// - Throws: ``LMDBError/badDBI``, `EINVAL`.
    public func stat(_ db: Database) throws -> (entries: Int, depth: Int, branchPages: Int, leafPages: Int, overflowPages: Int, pageSize: Int) {
        let function = "mdb_stat"
        try state.checkUsable(function).get()
        try state.check(db, function).get()
        var stat = MDB_stat()
        let code = mdb_stat(pointer, db.dbi, &stat)
        guard code == MDB_SUCCESS else { throw LMDBError(code: code, function: function) }
        return (
            entries: stat.ms_entries, depth: Int(stat.ms_depth), branchPages: stat.ms_branch_pages,
            leafPages: stat.ms_leaf_pages, overflowPages: stat.ms_overflow_pages, pageSize: Int(stat.ms_psize))
    }

    // MARK: - Cursors

    /// Runs `body` with a cursor on `db`, closed when `body` returns or throws.
    /// Wraps `mdb_cursor_open` and `mdb_cursor_close`.
    ///
    /// - Throws: the error thrown by `body`, unchanged; ``LMDBError/badDBI``, `EINVAL` from
    ///   `mdb_cursor_open`.
    public func withCursor<R>(_ db: Database, _ body: (inout Cursor) throws -> R) throws -> R {
        let function = "mdb_cursor_open"
        try state.checkUsable(function).get()
        try state.check(db, function).get()
        var cursorPointer: OpaquePointer?
        let code = mdb_cursor_open(pointer, db.dbi, &cursorPointer)
        guard code == MDB_SUCCESS else { throw LMDBError(code: code, function: function) }
        guard let opened = cursorPointer else {
            throw LMDBError(code: EINVAL, function: function, detail: "mdb_cursor_open returned no cursor")
        }
        defer { mdb_cursor_close(opened) }
        var cursor = Cursor(pointer: opened, state: state)
        return try body(&cursor)
    }
}

@available(*, unavailable, message: "a transaction belongs to one thread")
extension Transaction: Sendable {}
