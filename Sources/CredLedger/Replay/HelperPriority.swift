import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The scheduling weight of a replay's helper threads. A replay's critical path is its rebuild thread (decode and
/// apply every event, then digest); the chain verifiers and the tree's thread have less work and finish earlier.
/// At equal weights the scheduler gives each of the four threads half a core on a two-core machine, and the rebuild
/// then runs alone at the end (measured: 6.0 s wall for 4.4 s of rebuild CPU at 9M events). Helpers at a lower
/// weight leave the rebuild a whole core while they share the other.
enum HelperPriority {
    /// Nice increment of the chain-verifying threads while a rebuild runs beside them (CFS weight 110 against 1024).
    static let verifier: Int32 = 10
    /// Nice increment of the replay's tree thread (weight 335: ahead of the verifiers, behind the rebuild).
    static let tree: Int32 = 5

    /// Lowers the calling thread's priority by `increment` nice levels. Linux keeps a nice value per thread (`who` 0
    /// is the calling thread), so only this thread changes; elsewhere it is process-wide and this does nothing.
    /// Call it only on a thread made for the purpose: an unprivileged thread cannot raise its priority again.
    ///
    /// A thread starts with its creator's nice value, so a lowered thread must not create long-lived threads. The one
    /// way these helpers could is a read transaction's snapshot-release timer (`DispatchQueue.asyncAfter`): the first
    /// timer of a process starts libdispatch's manager thread, which then starts the global queues' workers. So the
    /// first call schedules a timer while the calling thread is still at its own priority.
    ///
    /// On a loaded host the lowered helpers get little CPU beside busy threads of normal priority (a server's), and a
    /// replay, which waits for them, takes longer: its reading then yields to the serving work.
    static func lowerCallingThread(by increment: Int32) {
        #if os(Linux)
        _ = dispatchStarted
        errno = 0
        let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        guard errno == 0 else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(19, current + increment))
        #endif
    }

    /// libdispatch's timer machinery, started once by the first thread about to lower itself (see above).
    private static let dispatchStarted: Void = {
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now()) {}
    }()
}
