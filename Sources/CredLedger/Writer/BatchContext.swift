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

    /// A random value (`draw`) the ledger does not hold yet (`isTaken`), drawn again while it does. A working generator
    /// never repeats one (every identifier and secret has ≥ 95 random bits); a repeating stream (a cloned VM's state,
    /// a reused seed) would otherwise overwrite another credential's, token's or code's lookup row. After 8 draws the
    /// request is refused, and nothing is written.
    func drawFresh<T>(_ what: String, _ draw: () -> T, isTaken: (T) throws -> Bool) throws -> T {
        for _ in 0..<8 {
            let value = draw()
            if try !isTaken(value) { return value }
        }
        throw LedgerError("random_repeats", "the random generator keeps returning \(what)s the ledger already holds: nothing was written; check the machine's random source",
                          kind: .integrity)
    }

    /// `drawFresh` of a secret (`kind`) and its hash, taken when `table` holds a row under the hash's lookup key.
    func drawFreshSecret(_ kind: SecretKind, in table: Table) throws -> (secret: String, hash: SHA256Digest) {
        try drawFresh("\(kind.prefix)… secret", {
            let secret = SecretFormat.generate(kind, using: random)
            return (secret, SecretFormat.hash(secret))
        }, isTaken: { try store.get(table, Keys.hashPrefix($0.1)) != nil })
    }
}

/// How long OAuth artefacts live, in µs (from `Ledger.Options`).
public struct TokenLifetimes: Sendable {
    public var accessToken: Int64
    public var refreshToken: Int64
    public var authorizationCode: Int64
}
