#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-wide registry of open environments, keyed by real path. Internal.
///
/// LMDB forbids opening the same environment twice in one process: its locks are POSIX
/// record locks owned by the process, so closing either handle silently drops the other's.
final class EnvironmentRegistry: @unchecked Sendable {
    static let shared = EnvironmentRegistry()

    private let mutex = PosixMutex()
    private var openPaths: Set<String> = []
    private var lastID: UInt64 = 0

    /// A fresh identity for an ``Environment``.
    func nextID() -> UInt64 {
        mutex.withLock {
            lastID += 1
            return lastID
        }
    }

    /// Claims `realPath`; throws ``LMDBError/alreadyOpen`` if it is already claimed.
    func register(_ realPath: String) throws {
        try mutex.withLock {
            guard openPaths.insert(realPath).inserted else {
                throw LMDBError(
                    code: EBUSY, function: "Environment.init",
                    detail: "the LMDB environment at \(realPath) is already open in this process; "
                        + "share the existing Environment (opening it twice would drop its locks on close)")
            }
        }
    }

    /// Releases `realPath`.
    func unregister(_ realPath: String) {
        mutex.withLock {
            _ = openPaths.remove(realPath)
        }
    }
}
