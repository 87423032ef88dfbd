#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A `pthread_rwlock_t` on the heap guarding the memory map. Internal.
///
/// Every transaction holds it *shared* for its whole lifetime; map growth
/// (`mdb_env_set_mapsize`) and `mdb_env_close` take it *exclusively*, because LMDB requires that
/// no transaction of this process is active then (it does not check, and readers crash).
///
/// On glibc the lock prefers writers (`PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP`) so a
/// stream of readers cannot starve a growth. It is therefore not recursive: the environment
/// refuses a second transaction on a thread that already has one.
final class PosixRWLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        let rc = pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        precondition(rc == 0, "pthread_rwlock_init failed: \(rc)")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deinitialize(count: 1)
        lock.deallocate()
    }

    /// `pthread_rwlock_rdlock`.
    func lockShared() {
        let rc = pthread_rwlock_rdlock(lock)
        precondition(rc == 0, "pthread_rwlock_rdlock failed: \(rc)")
    }

    /// `pthread_rwlock_wrlock`.
    func lockExclusive() {
        let rc = pthread_rwlock_wrlock(lock)
        precondition(rc == 0, "pthread_rwlock_wrlock failed: \(rc)")
    }

    /// `pthread_rwlock_unlock`.
    func unlock() {
        pthread_rwlock_unlock(lock)
    }

    /// Runs `body` with the lock held shared.
    func withShared<R>(_ body: () throws -> R) rethrows -> R {
        lockShared()
        defer { unlock() }
        return try body()
    }

    /// Runs `body` with the lock held exclusively.
    func withExclusive<R>(_ body: () throws -> R) rethrows -> R {
        lockExclusive()
        defer { unlock() }
        return try body()
    }
}
