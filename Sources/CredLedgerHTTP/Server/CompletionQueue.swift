import CHTTPShim
import Foundation

/// A handler's answer on its way back to the loop that owns the connection, tagged (fd, generation): fds are
/// reused, so an answer for a connection that has since closed is dropped.
struct Completion: Sendable {
    let fd: Int32
    let generation: UInt64
    let response: HTTPResponse
}

/// The multi-producer queue of completions into one loop: any thread pushes, the loop drains; the loop's eventfd
/// is written only when the queue turns non-empty.
final class CompletionQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Completion] = []
    private let wakeFD: Int32

    init(wakeFD: Int32) {
        self.wakeFD = wakeFD
    }

    func push(_ completion: Completion) {
        lock.lock()
        let wasEmpty = items.isEmpty
        items.append(completion)
        lock.unlock()
        if wasEmpty { _ = chttp_eventfd_signal(wakeFD) }
    }

    func drain() -> [Completion] {
        lock.lock()
        defer { lock.unlock() }
        let all = items
        items.removeAll(keepingCapacity: true)
        return all
    }
}

/// Open connections across all loops, against the cap.
final class ConnectionCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    let cap: Int

    init(cap: Int) {
        self.cap = cap
    }

    /// Takes one slot; false at the cap.
    func acquire() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard count < cap else { return false }
        count += 1
        return true
    }

    func release() {
        lock.lock()
        count -= 1
        lock.unlock()
    }

    var current: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
