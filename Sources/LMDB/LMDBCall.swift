/// The C calls that ``Environment/faultInjector`` can make fail.
public enum LMDBCall: Sendable, Hashable {
    /// `mdb_txn_begin` (read and write transactions).
    case txnBegin
    /// `mdb_put` and `mdb_cursor_put`.
    case put
    /// `mdb_txn_commit`.
    case commit
    /// `mdb_get` and `mdb_cursor_get`.
    case get
    /// `mdb_del`, `mdb_cursor_del` and `mdb_drop`.
    case delete
}
