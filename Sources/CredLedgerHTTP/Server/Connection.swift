/// The read-side timer a connection is waiting under (at most one at a time; the send timer is separate).
enum ReadTimer: Int, CaseIterable {
    case header, body, idle, linger
}

/// One accepted socket, owned by exactly one loop for its whole life (no locks).
final class Connection {
    let fd: Int32
    let generation: UInt64
    let peer: PeerAddress
    var parser: HTTPParser

    /// Received bytes not yet parsed (pipelined requests wait here while one is in flight).
    var input: [UInt8] = []
    /// Bytes queued for the socket, from `outputOffset` on.
    var output: [UInt8] = []
    var outputOffset = 0

    /// The head of the request being read or answered.
    var head: HTTPRequestHead?
    var headTime: UInt64 = 0
    /// A handler is running for this connection: nothing more is parsed until its response is queued.
    var inFlight = false
    /// Close (lingering) once the queued output is written.
    var closeAfterWrite = false
    /// The peer sent FIN: answer what was received, then close.
    var readClosed = false
    /// Shut down for writing, discarding input until EOF or the linger timeout.
    var lingering = false
    /// No request completed on this connection yet (a silent fresh connection is closed without an answer).
    var fresh = true
    /// The epoll interest currently registered.
    var interest: UInt32 = 0

    // Intrusive links of the deadline queues (O(1) insert and removal).
    var readTimer: ReadTimer?
    var readDeadline: UInt64 = 0
    var readPrevious: Connection?
    var readNext: Connection?
    var sendArmed = false
    var sendDeadline: UInt64 = 0
    var sendPrevious: Connection?
    var sendNext: Connection?

    init(fd: Int32, generation: UInt64, peer: PeerAddress, limits: HTTPParser.Limits) {
        self.fd = fd
        self.generation = generation
        self.peer = peer
        self.parser = HTTPParser(limits: limits)
    }

    var pendingOutput: Int { output.count - outputOffset }
}

/// A FIFO of connections waiting under one fixed duration: deadlines are appended in order, so the earliest is
/// always first (libev's "be smart about timeouts"); insert, removal and expiry are O(1).
final class DeadlineQueue {
    enum Slot { case read, send }

    let duration: UInt64
    let slot: Slot
    private(set) var first: Connection?
    private var last: Connection?

    init(duration: UInt64, slot: Slot) {
        self.duration = duration
        self.slot = slot
    }

    func append(_ c: Connection, now: UInt64) {
        let deadline = now &+ duration
        switch slot {
        case .read:
            c.readDeadline = deadline
            c.readPrevious = last
            c.readNext = nil
            if let last { last.readNext = c } else { first = c }
        case .send:
            c.sendDeadline = deadline
            c.sendArmed = true
            c.sendPrevious = last
            c.sendNext = nil
            if let last { last.sendNext = c } else { first = c }
        }
        last = c
    }

    func remove(_ c: Connection) {
        switch slot {
        case .read:
            if let previous = c.readPrevious { previous.readNext = c.readNext } else { first = c.readNext }
            if let next = c.readNext { next.readPrevious = c.readPrevious } else { last = c.readPrevious }
            c.readPrevious = nil
            c.readNext = nil
        case .send:
            if let previous = c.sendPrevious { previous.sendNext = c.sendNext } else { first = c.sendNext }
            if let next = c.sendNext { next.sendPrevious = c.sendPrevious } else { last = c.sendPrevious }
            c.sendPrevious = nil
            c.sendNext = nil
            c.sendArmed = false
        }
    }

    /// The first deadline, if any.
    var nextDeadline: UInt64? {
        guard let first else { return nil }
        return slot == .read ? first.readDeadline : first.sendDeadline
    }
}
