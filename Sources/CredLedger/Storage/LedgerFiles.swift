import CredLedgerCore
import Foundation

/// Checks of a ledger's files made before LMDB sees them.
///
/// `mdb_env_open` starts a new, empty environment over a zero-length `data.mdb` (and, read-write, creates the
/// directory and the file when they are missing): a damaged file or a mistyped path would silently become an empty
/// ledger and the next write would bury the evidence. So a missing ledger is created only when the caller asked for
/// it, and an existing data file must hold LMDB's two meta pages and whole pages only.
enum LedgerFiles {
    /// `MDB_MAGIC`, the first field of a meta page's `MDB_meta`.
    static let lmdbMagic: UInt32 = 0xBEEF_C0DE
    /// `P_META`, the page flag of the two meta pages.
    static let metaPageFlag: UInt16 = 0x08

    /// The data file of the ledger in directory `path`.
    static func dataFile(_ path: String) -> String { path + "/data.mdb" }

    /// `no_ledger` when `path` holds no data file (a missing or empty directory) and `createIfMissing` is false;
    /// `corrupt_storage` when the data file exists but is not a whole LMDB file. Writes nothing.
    static func check(path: String, createIfMissing: Bool) throws {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        // A regular file where the directory should be: LMDB's own open error says so.
        if exists, !isDirectory.boolValue { return }
        let file = dataFile(path)
        // lstat, not stat: a dangling symlink is "no data file" here, and LMDB reports it.
        var status = stat()
        guard exists, lstat(file, &status) == 0 else {
            if createIfMissing { return }
            throw LedgerError("no_ledger", "no ledger at \(path) (no data.mdb there); nothing was created", kind: .badInput)
        }
        try checkDataFile(file)
    }

    /// The data file must start with two LMDB meta pages and be a whole number of pages long: LMDB writes only
    /// whole pages, so anything else was cut (a zero-length file included).
    static func checkDataFile(_ file: String) throws {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }   // unreadable: LMDB's open reports why (permissions, …)
        defer { _ = close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return }
        let size = Int(status.st_size)
        func corrupt(_ why: String) -> LedgerError {
            LedgerError("corrupt_storage", "\(file) \(why). It was refused before LMDB opened it (a damaged data file must never "
                + "become a new, empty ledger) and nothing was written: restore the ledger from a backup", kind: .integrity)
        }
        guard size > 0 else { throw corrupt("is empty (0 bytes); a ledger's data file starts with two LMDB meta pages") }
        guard let pageSize = metaPageSize(fd, offset: 0, pageNumber: 0) else {
            throw corrupt("does not start with an LMDB meta page (\(size) bytes)")
        }
        guard size >= 2 * pageSize else {
            throw corrupt("is truncated: \(size) bytes, shorter than LMDB's two \(pageSize)-byte meta pages")
        }
        guard metaPageSize(fd, offset: pageSize, pageNumber: 1) == pageSize else {
            throw corrupt("has no valid second LMDB meta page at byte \(pageSize)")
        }
        guard size % pageSize == 0 else {
            throw corrupt("is truncated: \(size) bytes is not a whole number of \(pageSize)-byte pages (LMDB writes whole pages)")
        }
    }

    /// The page size recorded in the meta page at `offset`, if a valid meta page with number `pageNumber` is there.
    ///
    /// Layout (LMDB 0.9, native byte order): the page header `mp_pgno` u64 @0, `mp_pad` u16 @8, `mp_flags` u16 @10,
    /// lower/upper @12; then `MDB_meta`: `mm_magic` u32 @16, `mm_version` u32 @20, `mm_address` @24, `mm_mapsize` @32,
    /// `mm_dbs[FREE_DBI]` @40 whose first field `md_pad` holds the page size.
    private static func metaPageSize(_ fd: Int32, offset: Int, pageNumber: UInt64) -> Int? {
        var bytes = [UInt8](repeating: 0, count: 44)
        let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard read == bytes.count else { return nil }
        return bytes.withUnsafeBytes { raw -> Int? in
            guard raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self) == pageNumber,
                  raw.loadUnaligned(fromByteOffset: 10, as: UInt16.self) & metaPageFlag != 0,
                  raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self) == lmdbMagic
            else { return nil }
            let pageSize = Int(raw.loadUnaligned(fromByteOffset: 40, as: UInt32.self))
            // LMDB's page sizes are powers of two between 256 bytes and 64 KiB (MAX_PAGESIZE).
            guard pageSize >= 256, pageSize <= 1 << 16, pageSize & (pageSize - 1) == 0 else { return nil }
            return pageSize
        }
    }
}
