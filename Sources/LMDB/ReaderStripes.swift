import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An environment's map lock and pool of idle read transactions, split into stripes. Internal.
///
/// Every read takes the map lock shared and the pool's mutex twice (take a reader, give it back). With one lock and
/// one pool, each of those writes a cache line that every reading thread writes too, so two cores deciding at once
/// kept passing the same lines back and forth (a decision cost 20–30 % more CPU on two busy cores than on one). Here
/// a thread uses only its own stripe (chosen by its ordinal, ``ThreadTransactions/ordinal``), each stripe on cache
/// lines of its own: the map lock is one writer-preferring `pthread_rwlock_t` per stripe, taken shared in the
/// thread's stripe and exclusively in all of them, in order (a "big-reader" lock); each stripe's mutex guards its
/// share of the pool.
final class ReaderStripes: @unchecked Sendable {
    /// A read transaction kept between reads (see "Held snapshots" in `Environment`).
    struct IdleReader {
        var txn: OpaquePointer
        /// Whether `txn` keeps its snapshot (it was the newest commit as its read ended), else it was reset.
        var holdsSnapshot: Bool
        /// The environment's database generation when `txn` last began or renewed (or an older one).
        var databaseGeneration: UInt64
    }

    /// One stripe, alone on its cache lines (`stride`).
    fileprivate struct Stripe {
        var mapLock: pthread_rwlock_t
        var mutex: pthread_mutex_t
        /// `capacity` slots, the first `count` of them kept readers (under `mutex`).
        var readers: UnsafeMutablePointer<IdleReader>
        var count: Int
        /// Whether a release of this stripe's held snapshots is scheduled (under `mutex`).
        var releaseScheduled: Bool
    }

    /// How many stripes there are.
    let count: Int
    /// Idle readers kept per stripe (at most).
    let capacity: Int
    private let base: UnsafeMutableRawPointer
    private let stride: Int

    /// Stripes for a pool of at most `limit` idle readers: up to 8 stripes of `limit / count` each (one stripe and no
    /// reader when `limit` is 0), so no more than `limit` are ever kept.
    init(keepingAtMost limit: Int) {
        count = max(1, min(8, limit))
        capacity = max(0, limit) / count
        // Two cache lines of 64 bytes at least, so the adjacent-line prefetcher does not pair two stripes either.
        let line = 128
        stride = (MemoryLayout<Stripe>.stride + line - 1) / line * line
        base = .allocate(byteCount: stride * count, alignment: line)
        for i in 0..<count {
            let stripe = (base + i * stride).bindMemory(to: Stripe.self, capacity: 1)
            stripe.initialize(to: Stripe(mapLock: pthread_rwlock_t(), mutex: pthread_mutex_t(),
                                         readers: .allocate(capacity: max(1, capacity)), count: 0, releaseScheduled: false))
            var attributes = pthread_rwlockattr_t()
            pthread_rwlockattr_init(&attributes)
            #if canImport(Glibc)
            // A stream of readers must not starve a growth.
            pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
            #endif
            let rw = pthread_rwlock_init(Self.mapLock(stripe), &attributes)
            pthread_rwlockattr_destroy(&attributes)
            precondition(rw == 0, "pthread_rwlock_init failed: \(rw)")
            let m = pthread_mutex_init(Self.mutex(stripe), nil)
            precondition(m == 0, "pthread_mutex_init failed: \(m)")
        }
    }

    deinit {
        for i in 0..<count {
            let stripe = self.stripe(i)
            pthread_rwlock_destroy(Self.mapLock(stripe))
            pthread_mutex_destroy(Self.mutex(stripe))
            stripe.pointee.readers.deallocate()
            stripe.deinitialize(count: 1)
        }
        base.deallocate()
    }

    /// The stripe of the thread with `ordinal`.
    @inline(__always) func index(ordinal: Int) -> Int { ordinal % count }

    @inline(__always) private func stripe(_ index: Int) -> UnsafeMutablePointer<Stripe> {
        (base + index * stride).assumingMemoryBound(to: Stripe.self)
    }

    // The fields' own addresses (a lock must never move or be copied).
    @inline(__always) private static func mapLock(_ stripe: UnsafeMutablePointer<Stripe>) -> UnsafeMutablePointer<pthread_rwlock_t> {
        (UnsafeMutableRawPointer(stripe) + MemoryLayout<Stripe>.offset(of: \.mapLock)!).assumingMemoryBound(to: pthread_rwlock_t.self)
    }
    @inline(__always) private static func mutex(_ stripe: UnsafeMutablePointer<Stripe>) -> UnsafeMutablePointer<pthread_mutex_t> {
        (UnsafeMutableRawPointer(stripe) + MemoryLayout<Stripe>.offset(of: \.mutex)!).assumingMemoryBound(to: pthread_mutex_t.self)
    }

    // MARK: - The map lock

    /// Runs `body` with the map lock held shared: stripe `index`'s lock only.
    func withShared<R>(_ index: Int, _ body: () throws -> R) rethrows -> R {
        let lock = Self.mapLock(stripe(index))
        let rc = pthread_rwlock_rdlock(lock)
        precondition(rc == 0, "pthread_rwlock_rdlock failed: \(rc)")
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` with the map lock held exclusively: every stripe's lock, taken in order (so two exclusive holders
    /// cannot deadlock), released in reverse.
    func withExclusive<R>(_ body: () throws -> R) rethrows -> R {
        for i in 0..<count {
            let rc = pthread_rwlock_wrlock(Self.mapLock(stripe(i)))
            precondition(rc == 0, "pthread_rwlock_wrlock failed: \(rc)")
        }
        defer { for i in (0..<count).reversed() { pthread_rwlock_unlock(Self.mapLock(stripe(i))) } }
        return try body()
    }

    // MARK: - The pools

    /// Stripe `index`'s pool, usable only inside ``withPool(_:_:)`` (its mutex held).
    struct Pool {
        fileprivate let stripe: UnsafeMutablePointer<Stripe>
        let capacity: Int

        var count: Int { stripe.pointee.count }
        var heldCount: Int { (0..<count).count { stripe.pointee.readers[$0].holdsSnapshot } }
        var isFull: Bool { count >= capacity }

        /// The reader given back last, if any.
        func popLast() -> IdleReader? {
            guard count > 0 else { return nil }
            stripe.pointee.count -= 1
            return stripe.pointee.readers[count]
        }

        /// Keeps `reader`; the caller checked `isFull`.
        func append(_ reader: IdleReader) {
            precondition(!isFull, "ReaderStripes.Pool.append: the stripe is full")
            stripe.pointee.readers[count] = reader
            stripe.pointee.count += 1
        }

        /// Resets (`mdb_txn_reset`) the readers that hold a snapshot; they stay kept.
        func resetHeld() {
            for i in 0..<count where stripe.pointee.readers[i].holdsSnapshot {
                mdb_txn_reset(stripe.pointee.readers[i].txn)
                stripe.pointee.readers[i].holdsSnapshot = false
            }
        }

        /// Empties the pool, returning what it kept.
        func removeAll() -> [IdleReader] {
            let kept = (0..<count).map { stripe.pointee.readers[$0] }
            stripe.pointee.count = 0
            return kept
        }

        /// Whether a release of held snapshots is scheduled for this stripe.
        var releaseScheduled: Bool {
            get { stripe.pointee.releaseScheduled }
            nonmutating set { stripe.pointee.releaseScheduled = newValue }
        }
    }

    /// Runs `body` with stripe `index`'s mutex held.
    func withPool<R>(_ index: Int, _ body: (Pool) throws -> R) rethrows -> R {
        let stripe = self.stripe(index)
        pthread_mutex_lock(Self.mutex(stripe))
        defer { pthread_mutex_unlock(Self.mutex(stripe)) }
        return try body(Pool(stripe: stripe, capacity: capacity))
    }

    /// Runs `body` on every stripe's pool in turn, each under its own mutex.
    func forEachPool(_ body: (Pool) throws -> Void) rethrows {
        for i in 0..<count { try withPool(i, body) }
    }

    /// Runs `body` with every stripe's mutex held (taken in order): for a value that every pool's section reads, so
    /// that a reader holding any one stripe's mutex sees it whole.
    func withAllPools<R>(_ body: () throws -> R) rethrows -> R {
        for i in 0..<count { pthread_mutex_lock(Self.mutex(stripe(i))) }
        defer { for i in (0..<count).reversed() { pthread_mutex_unlock(Self.mutex(stripe(i))) } }
        return try body()
    }
}
