import CLMDB

/// Flags for ``Transaction/put(_:_:_:flags:)`` (`mdb_put`) and ``Cursor/put(_:_:flags:)``
/// (`mdb_cursor_put`).
public struct WriteFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// `MDB_APPEND`: the key must sort after every key in the database, else
    /// ``LMDBError/keyExists``. Fast bulk loading; for the log it also proves sequence numbers
    /// only go up.
    public static let append = WriteFlags(rawValue: UInt32(MDB_APPEND))
    /// `MDB_NOOVERWRITE`: fail with ``LMDBError/keyExists`` if the key is present.
    public static let noOverwrite = WriteFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// `MDB_CURRENT`: replace the item at the cursor position; the key must equal the current
    /// key. Only valid for ``Cursor/put(_:_:flags:)``.
    public static let current = WriteFlags(rawValue: UInt32(MDB_CURRENT))

    /// Every flag the wrapper accepts.
    static let supported: WriteFlags = [.append, .noOverwrite, .current]
}
