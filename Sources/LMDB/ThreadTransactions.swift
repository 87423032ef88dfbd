#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The environments whose transaction closure the calling thread is inside. Internal.
///
/// Thread-local (a `pthread_key_t`), so marking a thread as inside a transaction takes no lock and touches no cache
/// line another thread writes: the read path's bookkeeping was a `Set` insert and remove under the environment's mutex,
/// two of its lock sections per read, bouncing between cores when many threads read at once.
enum ThreadTransactions {
    /// The calling thread's open environments (ids; usually none or one), behind a raw pointer: only its own thread
    /// touches it, and a class property would cost a dynamic exclusivity check per access on the read path.
    private struct Open {
        /// The thread's number, in the order threads first used an environment (it picks the thread's stripe of the
        /// map lock and the reader pool: ``ReaderStripes``).
        let ordinal: Int
        var count: Int
        var capacity: Int
        var ids: UnsafeMutablePointer<UInt64>
    }

    /// Freed by the key's destructor when the thread exits.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { pointer in
            // `pointer` is optional on Glibc and not on Darwin: the cast covers both.
            guard let pointer = pointer as UnsafeMutableRawPointer? else { return }
            let open = pointer.assumingMemoryBound(to: Open.self)
            open.pointee.ids.deallocate()
            open.deallocate()
        }
        precondition(rc == 0, "pthread_key_create failed: \(rc)")
        return key
    }()

    /// The calling thread's list, created on its first transaction.
    private static var current: UnsafeMutablePointer<Open> {
        if let pointer = pthread_getspecific(key) { return pointer.assumingMemoryBound(to: Open.self) }
        let open = UnsafeMutablePointer<Open>.allocate(capacity: 1)
        let ordinal = ordinals.withLock {
            defer { nextOrdinal &+= 1 }
            return nextOrdinal & Int.max
        }
        open.initialize(to: Open(ordinal: ordinal, count: 0, capacity: 4, ids: .allocate(capacity: 4)))
        let rc = pthread_setspecific(key, open)
        precondition(rc == 0, "pthread_setspecific failed: \(rc)")
        return open
    }

    /// Hands out ordinals, once per thread.
    private static let ordinals = PosixMutex()
    nonisolated(unsafe) private static var nextOrdinal = 0

    /// The calling thread's ordinal (see `Open`).
    static var ordinal: Int { current.pointee.ordinal }

    /// Marks the calling thread as inside a transaction of environment `id` and returns the thread's ordinal; nil when
    /// it already was (nesting).
    static func enter(_ id: UInt64) -> Int? {
        let open = current
        let count = open.pointee.count
        for i in 0..<count where open.pointee.ids[i] == id { return nil }
        if count == open.pointee.capacity {
            // Transactions of more environments at once than ever before on this thread: double the list.
            let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: count * 2)
            grown.update(from: open.pointee.ids, count: count)
            open.pointee.ids.deallocate()
            open.pointee.ids = grown
            open.pointee.capacity = count * 2
        }
        open.pointee.ids[count] = id
        open.pointee.count = count + 1
        return open.pointee.ordinal
    }

    /// Ends what ``enter(_:)`` marked.
    static func leave(_ id: UInt64) {
        let open = current
        let count = open.pointee.count
        for i in 0..<count where open.pointee.ids[i] == id {
            open.pointee.ids[i] = open.pointee.ids[count - 1]
            open.pointee.count = count - 1
            return
        }
    }

    /// Whether the calling thread is inside a transaction of environment `id`.
    static func contains(_ id: UInt64) -> Bool {
        guard let pointer = pthread_getspecific(key) else { return false }
        let open = pointer.assumingMemoryBound(to: Open.self)
        for i in 0..<open.pointee.count where open.pointee.ids[i] == id { return true }
        return false
    }
}
