import CredLedger
import CredLedgerCore

/// A typed command that stages the given events exactly as they are, bypassing every check of today's commands: how a
/// test writes what an older version could have written, or what LMDB refuses (a key over 511 bytes). It goes through
/// the writer like any command (its own child transaction, its own outcome).
public struct AppendEvents: LedgerCommand {
    /// One event to stage: its company, actor and payload (the writer gives it its seq, time and hash link).
    public struct Staged: Sendable {
        public var company: UInt32
        public var actor: Actor
        public var payload: EventPayload

        public init(company: UInt32, actor: Actor = .system, _ payload: EventPayload) {
            self.company = company
            self.actor = actor
            self.payload = payload
        }
    }

    public var events: [Staged]

    public init(_ events: [Staged]) { self.events = events }

    /// One event.
    public init(company: UInt32, actor: Actor = .system, _ payload: EventPayload) {
        self.init([Staged(company: company, actor: actor, payload)])
    }

    public func decide(_ ctx: inout BatchContext) throws {
        for e in events { ctx.emit(company: e.company, actor: e.actor, e.payload) }
    }
}
