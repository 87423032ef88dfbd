import CLMDB

/// Flags for ``Environment/openDatabases(_:flags:)`` (`mdb_dbi_open`).
///
/// There is deliberately no `MDB_DUPSORT` (several DUPSORT bugs were fixed after LMDB 0.9.24,
/// the version Debian 12 ships), no `MDB_INTEGERKEY` (our keys are big-endian) and no custom
/// comparators. Bits other than ``create`` passed through `init(rawValue:)` are dropped.
public struct DatabaseFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// `MDB_CREATE`: create the named database if it does not exist (ignored on a read-only
    /// environment, where a missing database throws ``LMDBError/notFound``).
    public static let create = DatabaseFlags(rawValue: UInt32(MDB_CREATE))

    /// Every flag the wrapper accepts.
    static let supported: DatabaseFlags = [.create]
}
