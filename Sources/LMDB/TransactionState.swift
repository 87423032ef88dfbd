import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Bookkeeping shared by a ``Transaction`` and its cursors. Internal, never Sendable.
///
/// It remembers the first error that *poisoned* the LMDB transaction (after which LMDB only
/// allows an abort), so that the environment reports that error — or, for `MDB_MAP_FULL`,
/// grows the map and re-runs the body — instead of committing and getting `MDB_BAD_TXN`.
final class TransactionState {
    /// What the checks need of the environment, copied as plain values: holding the `Environment` itself would add a
    /// retain and a release of the one object every reader shares, a cache line bouncing between cores per read.
    let environmentID: UInt64
    /// Whether the environment was opened with `MDB_WRITEMAP` (no nested transactions then).
    let environmentHasWriteMap: Bool
    /// The path of an environment opened read-only, for the refusal of a write; nil otherwise.
    private let readOnlyEnvironmentPath: String?
    let isReadOnly: Bool
    /// Whether this is a child transaction (``Transaction/nested(_:)``).
    let isNested: Bool
    private(set) var firstError: LMDBError?
    /// The thread that began the transaction: the only one allowed to use it.
    let thread: UInt
    /// Set by the environment before it commits or aborts: copies of the (copyable)
    /// ``Transaction`` that escaped their closure must not reach LMDB's freed `MDB_txn`.
    private(set) var isFinished = false
    /// Set while a child transaction (``Transaction/nested(_:)``) is open: LMDB forbids using the parent then.
    private(set) var hasOpenChild = false
    /// `isFinished || hasOpenChild`: one test per call on the hot path, the diagnosis only on failure.
    private var isBlocked = false
    /// The environment's fault injector when the transaction began: read once (it sits behind a mutex), not per call.
    private let injector: (@Sendable (LMDBCall) -> Int32?)?

    /// `injector` is the environment's fault injector, read by the caller in the lock section that begins the
    /// transaction (one lock section per begin, not two).
    init(environment: Environment, isReadOnly: Bool, injector: (@Sendable (LMDBCall) -> Int32?)?) {
        self.environmentID = environment.id
        self.environmentHasWriteMap = environment.configuration.flags.contains(.writeMap)
        self.readOnlyEnvironmentPath = environment.isReadOnly ? environment.path : nil
        self.isReadOnly = isReadOnly
        self.isNested = false
        self.thread = CurrentThread.id
        self.injector = injector
    }

    /// The state of a child transaction of `parent` (same environment and thread, the parent's fault injector).
    init(childOf parent: TransactionState) {
        self.environmentID = parent.environmentID
        self.environmentHasWriteMap = parent.environmentHasWriteMap
        self.readOnlyEnvironmentPath = parent.readOnlyEnvironmentPath
        self.isReadOnly = false
        self.isNested = true
        self.thread = parent.thread
        self.injector = parent.injector
    }

    /// Marks the transaction as ended; later use throws ``LMDBError/badTransaction``.
    func finish() {
        isFinished = true
        isBlocked = true
    }

    /// Marks a child transaction as open (`true`) or ended (`false`); while open, this transaction's calls throw
    /// ``LMDBError/badTransaction``.
    func setChildOpen(_ open: Bool) {
        hasOpenChild = open
        isBlocked = isFinished || open
    }

    /// Throws ``LMDBError/badTransaction`` when the transaction is used after its closure
    /// returned, or from another thread than the one that began it.
    @inline(__always)
    func checkUsable(_ function: String) -> Result<Void, LMDBError> {
        guard isBlocked else { return checkThread(function) }
        if hasOpenChild && !isFinished {
            return .failure(LMDBError(
                code: MDB_BAD_TXN, function: function,
                detail: "the parent transaction was used while its child (Transaction.nested) is open"))
        }
        if isFinished {
            return .failure(LMDBError(
                code: MDB_BAD_TXN, function: function,
                detail: "the transaction was used after its read/write closure returned"))
        }
        return checkThread(function)
    }

    /// For cursors (which live inside their transaction's closure, on its thread): throws
    /// ``LMDBError/badTransaction`` while a child transaction is open.
    @inline(__always)
    /// The name is built only on failure: this runs for every cursor read of every scan.
    func checkNotSuspended(_ function: @autoclosure () -> String) -> Result<Void, LMDBError> {
        guard isBlocked else { return .success(()) }
        return checkUsable(function())
    }

    @inline(__always)
    private func checkThread(_ function: String) -> Result<Void, LMDBError> {
        if CurrentThread.id != thread {
            return .failure(LMDBError(
                code: MDB_BAD_TXN, function: function,
                detail: "the transaction was used from another thread than the one that began it"))
        }
        return .success(())
    }

    /// The fault injector's code for `call`, if it wants the call to fail (`nil` and `0` mean
    /// "perform the real call").
    func injectedFault(_ call: LMDBCall) -> Int32? {
        guard let injector, let code = injector(call), code != MDB_SUCCESS else {
            return nil
        }
        return code
    }

    /// Records `error` if it leaves the transaction unusable, and returns it.
    ///
    /// Errors LMDB reports without flagging the transaction (`MDB_KEYEXIST`, `MDB_NOTFOUND`,
    /// `MDB_BAD_VALSIZE`, `MDB_BAD_DBI`, `MDB_INCOMPATIBLE`, `EINVAL`, `EACCES`) do not poison it.
    @discardableResult
    func record(_ error: LMDBError) -> LMDBError {
        switch error.code {
        case MDB_KEYEXIST, MDB_NOTFOUND, MDB_BAD_VALSIZE, MDB_BAD_DBI, MDB_INCOMPATIBLE, EINVAL, EACCES:
            break
        default:
            if firstError == nil { firstError = error }
        }
        return error
    }

    /// Records `error` as the first poisoning error whatever its code: a failure that leaves this
    /// transaction's state in doubt (a child that could not begin or commit, or a child that hit
    /// `MDB_MAP_FULL`, after which the whole write must grow the map and run again).
    func poison(_ error: LMDBError) {
        if firstError == nil { firstError = error }
    }

    /// Throws ``LMDBError/badDBI`` if `database` was opened by another environment.
    func check(_ database: Database, _ function: String) -> Result<Void, LMDBError> {
        guard database.environmentID == environmentID else {
            return .failure(LMDBError(
                code: MDB_BAD_DBI, function: function,
                detail: "database '\(database.name)' belongs to another environment"))
        }
        return .success(())
    }

    /// Throws ``LMDBError/badValueSize`` for an empty key or one longer than
    /// ``Environment/maxKeySize`` bytes, before LMDB sees it.
    func check(key: UnsafeRawBufferPointer, _ function: String) -> Result<Void, LMDBError> {
        guard key.count >= 1, key.count <= Environment.maxKeySize else {
            return .failure(LMDBError(
                code: MDB_BAD_VALSIZE, function: function,
                detail: "keys must be 1...\(Environment.maxKeySize) bytes (got \(key.count))"))
        }
        return .success(())
    }

    /// Throws ``LMDBError/accessDenied`` when writing in a read-only transaction.
    func checkWritable(_ function: String) -> Result<Void, LMDBError> {
        guard !isReadOnly else {
            return .failure(LMDBError(
                code: EACCES, function: function,
                detail: readOnlyEnvironmentPath.map { "the environment at \($0) was opened read-only" }
                    ?? "write attempted in a read-only transaction (use Environment.write)"))
        }
        return .success(())
    }
}
