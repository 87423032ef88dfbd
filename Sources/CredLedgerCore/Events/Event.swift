/// One entry of the log. `seq` is dense from 1; `hash` links it to its predecessor.
public struct Event: Equatable, Sendable {
    public var seq: UInt64
    public var timestamp: Timestamp
    /// Company number (0 = none).
    public var company: UInt32
    public var actor: Actor
    public var payload: EventPayload

    public init(seq: UInt64, timestamp: Timestamp, company: UInt32, actor: Actor, payload: EventPayload) {
        self.seq = seq
        self.timestamp = timestamp
        self.company = company
        self.actor = actor
        self.payload = payload
    }

    public var type: EventType { payload.type }
}

/// An event as stored: the decoded event plus its chain hash.
public struct StoredEvent: Equatable, Sendable {
    public var event: Event
    public var hash: SHA256Digest

    public init(event: Event, hash: SHA256Digest) {
        self.event = event
        self.hash = hash
    }
}
