import CLMDB

/// Opaque handle of a named database, returned by ``Environment/openDatabases(_:flags:)``;
/// valid for the lifetime of the environment that opened it (handles are never closed:
/// the wrapper does not call `mdb_dbi_close`).
///
/// Using a handle with another environment throws ``LMDBError/badDBI``.
public struct Database: Sendable, Hashable {
    /// The database name given to `mdb_dbi_open`.
    public let name: String

    /// The LMDB handle.
    let dbi: MDB_dbi

    /// Identity of the ``Environment`` that opened the handle.
    let environmentID: UInt64

    init(name: String, dbi: MDB_dbi, environmentID: UInt64) {
        self.name = name
        self.dbi = dbi
        self.environmentID = environmentID
    }
}
