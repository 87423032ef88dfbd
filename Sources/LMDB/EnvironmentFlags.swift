import CLMDB

/// Flags for ``Environment/init(path:configuration:)`` (`mdb_env_open`).
///
/// `MDB_NOTLS` is always added by the wrapper (transactions are not tied to threads, which Swift
/// concurrency requires). `MDB_NOMEMINIT`, `MDB_NOLOCK`, `MDB_MAPASYNC` and `MDB_FIXEDMAP` are
/// never offered, and any other bits passed through `init(rawValue:)` are dropped.
public struct EnvironmentFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// `MDB_NOSYNC`: do not fsync on commit. A system crash may lose the last transactions and,
    /// with ``writeMap``, corrupt the database. Not for the ledger.
    public static let noSync = EnvironmentFlags(rawValue: UInt32(MDB_NOSYNC))
    /// `MDB_NOMETASYNC`: fsync data but not the meta page on commit. A system crash may undo
    /// the last transaction (durability lost, integrity kept).
    public static let noMetaSync = EnvironmentFlags(rawValue: UInt32(MDB_NOMETASYNC))
    /// `MDB_WRITEMAP`: writable memory map. Faster, but stray writes through pointers can
    /// corrupt the file, and the data file is pre-sized to the map size on some systems.
    public static let writeMap = EnvironmentFlags(rawValue: UInt32(MDB_WRITEMAP))
    /// `MDB_RDONLY`: open read-only; write transactions throw ``LMDBError/accessDenied``.
    public static let readOnly = EnvironmentFlags(rawValue: UInt32(MDB_RDONLY))
    /// `MDB_NORDAHEAD`: turn off OS read-ahead (helps random reads on databases larger than RAM).
    public static let noReadAhead = EnvironmentFlags(rawValue: UInt32(MDB_NORDAHEAD))
    /// `MDB_NOSUBDIR`: `path` names the data file itself (the lock file is `path-lock`).
    public static let noSubdir = EnvironmentFlags(rawValue: UInt32(MDB_NOSUBDIR))

    /// Every flag the wrapper accepts.
    static let supported: EnvironmentFlags = [.noSync, .noMetaSync, .writeMap, .readOnly, .noReadAhead, .noSubdir]
}
