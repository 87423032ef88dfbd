import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An LMDB or errno error code, with the C message.
///
/// An open struct over the C integer (GRDB's `ResultCode` idiom): new codes need no breaking
/// change, and the named constants make `catch LMDBError.mapFull` read naturally:
///
///     do { try env.write { txn in ... } }
///     catch LMDBError.mapFull { ... }
///
/// Two errors are equal when their codes are equal; ``function`` and ``detail`` are diagnostics
/// only, so `XCTAssertEqual(error as? LMDBError, .mapFull)` works whatever call failed.
public struct LMDBError: Error, Hashable, Sendable, CustomStringConvertible, RawRepresentable {
    /// The LMDB (`MDB_*`, negative) or errno (positive) code returned by the C call.
    public let code: Int32

    /// The C function that returned ``code`` (for example `"mdb_put"`), or the wrapper entry
    /// point that refused the call before reaching C. `nil` for the named constants.
    public let function: String?

    /// An explanation added by the wrapper (for example why a call was refused). `nil` for the
    /// named constants.
    public let detail: String?

    /// Creates an error from an LMDB or errno code.
    public init(code: Int32) {
        self.init(code: code, function: nil, detail: nil)
    }

    /// Creates an error from an LMDB or errno code, naming the C function that returned it.
    public init(code: Int32, function: String?, detail: String? = nil) {
        self.code = code
        self.function = function
        self.detail = detail
    }

    /// `RawRepresentable` conformance: the raw value is ``code``.
    public init(rawValue: Int32) {
        self.init(code: rawValue)
    }

    /// `RawRepresentable` conformance: the raw value is ``code``.
    public var rawValue: Int32 { code }

    /// The C message for ``code``, from `mdb_strerror` (which falls back to `strerror` for
    /// errno codes).
    public var message: String {
        guard let cString = mdb_strerror(code) else { return "Unknown error \(code)" }
        return String(cString: cString)
    }

    /// `"<function>: <mdb_strerror text> (code <code>) — <detail>"`.
    public var description: String {
        var text = ""
        if let function { text += "\(function): " }
        text += "\(message) (code \(code))"
        if let detail { text += " — \(detail)" }
        return text
    }

    public static func == (lhs: LMDBError, rhs: LMDBError) -> Bool {
        lhs.code == rhs.code
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
    }

    /// Matches any error that is an `LMDBError` with the same code, so that
    /// `catch LMDBError.mapFull` works on untyped `throws`.
    public static func ~= (pattern: LMDBError, error: any Error) -> Bool {
        guard let error = error as? LMDBError else { return false }
        return error.code == pattern.code
    }

    /// Returns a copy naming `function` and `detail`.
    func with(function: String, detail: String? = nil) -> LMDBError {
        LMDBError(code: code, function: function, detail: detail ?? self.detail)
    }

    /// `.success(())` for `MDB_SUCCESS`, otherwise the code as a failure naming `function`.
    static func check(_ code: Int32, _ function: String) -> Result<Void, LMDBError> {
        code == MDB_SUCCESS ? .success(()) : .failure(LMDBError(code: code, function: function))
    }
}

// MARK: - LMDB codes

extension LMDBError {
    /// `MDB_KEYEXIST`: key/data pair already exists (`MDB_NOOVERWRITE`, or `MDB_APPEND` out of order).
    public static let keyExists = LMDBError(code: MDB_KEYEXIST)
    /// `MDB_NOTFOUND`: key/data pair not found (EOF). The wrapper maps it to `nil` where it can.
    public static let notFound = LMDBError(code: MDB_NOTFOUND)
    /// `MDB_PAGE_NOTFOUND`: requested page not found — usually corruption.
    public static let pageNotFound = LMDBError(code: MDB_PAGE_NOTFOUND)
    /// `MDB_CORRUPTED`: located page was wrong type.
    public static let corrupted = LMDBError(code: MDB_CORRUPTED)
    /// `MDB_PANIC`: update of meta page failed or environment had a fatal error.
    public static let panic = LMDBError(code: MDB_PANIC)
    /// `MDB_VERSION_MISMATCH`: environment version mismatch.
    public static let versionMismatch = LMDBError(code: MDB_VERSION_MISMATCH)
    /// `MDB_INVALID`: file is not a valid LMDB file.
    public static let invalid = LMDBError(code: MDB_INVALID)
    /// `MDB_MAP_FULL`: environment mapsize reached (after growth up to `maxMapSize`).
    public static let mapFull = LMDBError(code: MDB_MAP_FULL)
    /// `MDB_DBS_FULL`: environment `maxDatabases` reached.
    public static let dbsFull = LMDBError(code: MDB_DBS_FULL)
    /// `MDB_READERS_FULL`: environment `maxReaders` reached (after one `mdb_reader_check`).
    public static let readersFull = LMDBError(code: MDB_READERS_FULL)
    /// `MDB_TXN_FULL`: transaction has too many dirty pages.
    public static let txnFull = LMDBError(code: MDB_TXN_FULL)
    /// `MDB_CURSOR_FULL`: cursor stack too deep — internal error.
    public static let cursorFull = LMDBError(code: MDB_CURSOR_FULL)
    /// `MDB_PAGE_FULL`: page has not enough space — internal error.
    public static let pageFull = LMDBError(code: MDB_PAGE_FULL)
    /// `MDB_MAP_RESIZED`: database contents grew beyond environment mapsize (another process).
    public static let mapResized = LMDBError(code: MDB_MAP_RESIZED)
    /// `MDB_INCOMPATIBLE`: operation and database incompatible, or database flags changed.
    public static let incompatible = LMDBError(code: MDB_INCOMPATIBLE)
    /// `MDB_BAD_RSLOT`: invalid reuse of reader locktable slot.
    public static let badReaderSlot = LMDBError(code: MDB_BAD_RSLOT)
    /// `MDB_BAD_TXN`: transaction must abort, has a child, or is invalid. The wrapper also uses
    /// it to refuse a second transaction on a thread that already has one.
    public static let badTransaction = LMDBError(code: MDB_BAD_TXN)
    /// `MDB_BAD_VALSIZE`: unsupported size of key/DB name/data. Thrown before reaching C for
    /// empty keys and keys longer than ``Environment/maxKeySize``.
    public static let badValueSize = LMDBError(code: MDB_BAD_VALSIZE)
    /// `MDB_BAD_DBI`: the specified DBI was changed unexpectedly, or belongs to another
    /// environment.
    public static let badDBI = LMDBError(code: MDB_BAD_DBI)
}

// MARK: - errno codes

extension LMDBError {
    /// `ENOSPC`: no space left on device.
    public static let noSpace = LMDBError(code: ENOSPC)
    /// `EACCES`: permission denied — also a write attempted on a read-only environment or in a
    /// read-only transaction.
    public static let accessDenied = LMDBError(code: EACCES)
    /// `ENOENT`: no such file or directory (for example opening a missing read-only environment).
    public static let noEntry = LMDBError(code: ENOENT)
    /// `EAGAIN`: the environment is locked by another process.
    public static let busy = LMDBError(code: EAGAIN)
    /// `EROFS`: read-only file system.
    public static let readOnlyFS = LMDBError(code: EROFS)
    /// `EINVAL`: invalid argument (also: the environment is closed, or an invalid configuration).
    public static let invalidArgument = LMDBError(code: EINVAL)
    /// `EBUSY`: the environment at this real path is already open in this process. LMDB forbids
    /// opening one environment twice in a process: closing either handle drops the other's locks.
    public static let alreadyOpen = LMDBError(code: EBUSY)
}
