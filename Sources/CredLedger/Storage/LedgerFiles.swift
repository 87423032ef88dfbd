import CredLedgerCore
import Foundation

/// Checks of a ledger's files made before LMDB sees them: the one place that decides whether a ledger exists and
/// whether its data file is whole.
///
/// `mdb_env_open` starts a new, empty environment over a zero-length `data.mdb` (and, read-write, creates the
/// directory and the files when they are missing, following symbolic links): a damaged file or a mistyped path would
/// silently become an empty ledger and the next write would bury the evidence, and a dangling link would create a file
/// wherever it points. So a missing ledger is created only when the caller asked for it, `data.mdb` and `lock.mdb`
/// must not be symbolic links, and an existing data file must hold LMDB's two meta pages and every page its current
/// meta page claims.
enum LedgerFiles {
    /// `MDB_MAGIC`, the first field of a meta page's `MDB_meta`.
    static let lmdbMagic: UInt32 = 0xBEEF_C0DE
    /// `P_META`, the page flag of the two meta pages.
    static let metaPageFlag: UInt16 = 0x08

    /// The data file of the ledger in directory `path`.
    static func dataFile(_ path: String) -> String { path + "/data.mdb" }
    /// LMDB's lock file (reader table) of the ledger in directory `path`.
    static func lockFile(_ path: String) -> String { path + "/lock.mdb" }

    /// The one `no_ledger` error (library and CLI): nothing is at `path`, and nothing was created there.
    static func noLedger(_ path: String) -> LedgerError {
        LedgerError("no_ledger", "no ledger at \(path) (no data.mdb there); nothing was created: pass the ledger's directory "
            + "(--db), or start a new ledger with `credledger company create`", kind: .badInput)
    }

    /// `no_ledger` when `path` holds no data file (a missing or empty directory) and `createIfMissing` is false;
    /// `symlinked_ledger_file` when `data.mdb` or `lock.mdb` is a symbolic link (dangling or not); `dangling_link`
    /// when a ledger is to be created in a directory that is a link to nothing;
    /// `corrupt_storage` when the data file exists but is not a whole LMDB file. Writes nothing.
    static func check(path: String, createIfMissing: Bool) throws {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        // A regular file where the directory should be: LMDB's own open error says so.
        if exists, !isDirectory.boolValue { return }
        // lstat: a link is refused whatever it points to, before anything could follow it.
        for file in [dataFile(path), lockFile(path)] where isSymbolicLink(file) {
            throw symlinkedFile(file)
        }
        let file = dataFile(path)
        var status = stat()
        guard exists, lstat(file, &status) == 0 else {
            guard createIfMissing else { throw noLedger(path) }
            // The directory itself may be a link (that is fine), but not to nothing: creating its target is not asked for.
            if !exists, isSymbolicLink(path) {
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                throw LedgerError("dangling_link", "\(path) is a symbolic link to \(target), which does not exist; nothing was "
                    + "created: create that directory first, or pass another directory as --db", kind: .badInput)
            }
            return
        }
        try checkDataFile(file, status: status)
    }

    /// Whether `file` is itself a symbolic link (`lstat`).
    private static func isSymbolicLink(_ file: String) -> Bool {
        var status = stat()
        return lstat(file, &status) == 0 && (status.st_mode & S_IFMT) == S_IFLNK
    }

    /// A ledger file that is a symbolic link. Following it would split the ledger: LMDB keeps its lock file next to the
    /// link, so two directories linking to one data file would hold two lock tables and let two writers corrupt it;
    /// the evidence would live outside the directory its permissions and backups cover; and a dangling link would make
    /// LMDB create the target wherever it points. A linked *directory* (`--db`) is fine: both files stay together.
    private static func symlinkedFile(_ file: String) -> LedgerError {
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: file)).map { " (to \($0))" } ?? ""
        return LedgerError("symlinked_ledger_file", "\(file) is a symbolic link\(target): credledger refuses linked ledger files "
            + "(LMDB's lock file would not be shared with the real data file, and a dangling link would create a file outside the "
            + "ledger's directory); nothing was opened or created. Move the real files into the ledger's directory, or pass the "
            + "directory that holds them as --db", kind: .badInput)
    }

    /// The data file must be a regular file starting with two LMDB meta pages, and hold every page the current meta
    /// page (the one with the higher transaction id, as LMDB chooses) says was written: LMDB writes only whole pages
    /// and never shrinks the file, so anything shorter was cut (a zero-length file included) and reading past its end
    /// would fault (SIGBUS). The page size is the one LMDB recorded in the meta page, which is what it reads with.
    private static func checkDataFile(_ file: String, status linkStatus: stat) throws {
        func corrupt(_ why: String) -> LedgerError {
            LedgerError("corrupt_storage", "\(file) \(why). It was refused before LMDB opened it (a damaged data file must never "
                + "become a new, empty ledger) and nothing was written: restore the ledger from a backup", kind: .integrity)
        }
        // Not opened at all unless regular: opening a FIFO would block, a device is never a ledger.
        guard (linkStatus.st_mode & S_IFMT) == S_IFREG else { throw corrupt("is not a regular file") }
        let fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return }   // unreadable: LMDB's open reports why (permissions, …)
        defer { _ = close(fd) }
        // The meta pages first, then the size: a writer appends pages before it commits the meta page that claims them.
        let first = metaPage(fd, offset: 0, pageNumber: 0)
        let second = first.flatMap { metaPage(fd, offset: $0.pageSize, pageNumber: 1) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { throw corrupt("is not a regular file") }
        let size = Int(status.st_size)
        guard size > 0 else { throw corrupt("is empty (0 bytes); a ledger's data file starts with two LMDB meta pages") }
        guard let first else { throw corrupt("does not start with an LMDB meta page (\(size) bytes)") }
        let pageSize = first.pageSize
        guard size >= 2 * pageSize else {
            throw corrupt("is truncated: \(size) bytes, shorter than LMDB's two \(pageSize)-byte meta pages")
        }
        guard let second, second.pageSize == pageSize else {
            throw corrupt("has no valid second LMDB meta page at byte \(pageSize)")
        }
        let current = second.transaction > first.transaction ? second : first
        let needed = current.lastPage < UInt64(Int.max / pageSize) ? (Int(current.lastPage) + 1) * pageSize : Int.max
        guard size >= needed else {
            throw corrupt("is truncated: \(size) bytes, but the ledger's pages reach \(needed) bytes (last page \(current.lastPage), "
                + "\(pageSize)-byte pages)")
        }
        guard size % pageSize == 0 else {
            throw corrupt("is truncated: \(size) bytes is not a whole number of \(pageSize)-byte pages (LMDB writes whole pages)")
        }
    }

    /// What a meta page records: LMDB's page size, its last used page and the transaction that wrote it.
    private struct MetaPage {
        var pageSize: Int
        var lastPage: UInt64
        var transaction: UInt64
    }

    /// The meta page at `offset`, if a valid meta page with number `pageNumber` is there.
    ///
    /// Layout (LMDB 0.9, 64-bit, native byte order): the page header `mp_pgno` u64 @0, `mp_pad` u16 @8, `mp_flags`
    /// u16 @10, lower/upper @12; then `MDB_meta`: `mm_magic` u32 @16, `mm_version` u32 @20, `mm_address` @24,
    /// `mm_mapsize` @32, `mm_dbs[2]` (48 bytes each) @40 whose first field, `mm_dbs[FREE_DBI].md_pad`, holds the page
    /// size; `mm_last_pg` u64 @136, `mm_txnid` u64 @144.
    private static func metaPage(_ fd: Int32, offset: Int, pageNumber: UInt64) -> MetaPage? {
        var bytes = [UInt8](repeating: 0, count: 152)
        let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        guard read == bytes.count else { return nil }
        return bytes.withUnsafeBytes { raw -> MetaPage? in
            guard raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self) == pageNumber,
                  raw.loadUnaligned(fromByteOffset: 10, as: UInt16.self) & metaPageFlag != 0,
                  raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self) == lmdbMagic
            else { return nil }
            let pageSize = Int(raw.loadUnaligned(fromByteOffset: 40, as: UInt32.self))
            // LMDB's page sizes are powers of two between 256 bytes and 64 KiB (MAX_PAGESIZE).
            guard pageSize >= 256, pageSize <= 1 << 16, pageSize & (pageSize - 1) == 0 else { return nil }
            return MetaPage(pageSize: pageSize, lastPage: raw.loadUnaligned(fromByteOffset: 136, as: UInt64.self),
                            transaction: raw.loadUnaligned(fromByteOffset: 144, as: UInt64.self))
        }
    }
}
