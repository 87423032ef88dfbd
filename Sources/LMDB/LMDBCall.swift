/// The C calls that ``Environment/faultInjector`` can make fail.
public enum LMDBCall: Sendable, Hashable {
    /// `mdb_txn_begin` (read, write and child transactions).
    case txnBegin
    /// `mdb_put` and `mdb_cursor_put`.
    case put
    /// `mdb_txn_commit` (of a transaction or of a child).
    case commit
    /// `mdb_get` and `mdb_cursor_get`.
    case get
    /// `mdb_del`, `mdb_cursor_del` and `mdb_drop`.
    case delete
    /// `mdb_env_sync` (``Environment/sync(force:)``).
    case sync
}
