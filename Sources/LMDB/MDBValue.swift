import CLMDB

/// A valid address for zero-length values, so LMDB never receives a NULL `mv_data`.
nonisolated(unsafe) private let emptyValueAddress = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

extension MDB_val {
    /// An `MDB_val` describing `buffer` (LMDB only reads through it for keys and data in).
    init(_ buffer: UnsafeRawBufferPointer) {
        self.init(
            mv_size: buffer.count,
            mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress) ?? emptyValueAddress)
    }

    /// An empty `MDB_val` for LMDB to fill in.
    static var empty: MDB_val { MDB_val(mv_size: 0, mv_data: nil) }

    /// The bytes LMDB returned (pointing into the map).
    var buffer: UnsafeRawBufferPointer {
        guard let data = mv_data else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(data), count: mv_size)
    }
}
