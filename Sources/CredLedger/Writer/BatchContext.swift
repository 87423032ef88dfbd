import CredLedgerCore
import CredLedgerProjections

/// What a command sees on the writer thread: the state as of its place in the batch, the time, and
/// a list of events to stage. Events are appended only if the command returns without throwing. A command only
/// reads (through `state`) and stages: the writer appends its events in a child transaction of the batch, so that
/// a failure undoes this command's writes alone.
public struct BatchContext {
    let store: LMDBStore
    /// The event time: the clock, never before the previous event.
    public let now: Timestamp
    let random: any RandomBytesGenerator
    /// How long OAuth artefacts live (the ledger's options).
    public let lifetimes: TokenLifetimes
    /// The seq the first staged event will get.
    public let nextSeq: UInt64
    var staged: [(company: UInt32, actor: Actor, payload: EventPayload)] = []

    public var state: StateReader<LMDBStore> { StateReader(store) }

    /// Stages an event; its seq is `nextSeq + (number staged before)`.
    public mutating func emit(company: UInt32, actor: Actor, _ payload: EventPayload) {
        staged.append((company, actor, payload))
    }
}

/// How long OAuth artefacts live, in µs (from `Ledger.Options`).
public struct TokenLifetimes: Sendable {
    public var accessToken: Int64
    public var refreshToken: Int64
    public var authorizationCode: Int64
}
