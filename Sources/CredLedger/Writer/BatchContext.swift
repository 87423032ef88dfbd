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

    /// `draw()`'s value, unless the ledger already holds it (`isTaken`). Every identifier and secret has ≥ 95 random
    /// bits, so a working generator never repeats one; one that does (a cloned VM's state, a reused seed) would
    /// overwrite another credential's, token's or code's lookup row. The request is then refused (`random_repeats`,
    /// nothing written) rather than drawn again: a repeating stream's next values were handed out before too.
    func drawChecked<T>(_ what: String, _ draw: () throws -> T, isTaken: (T) throws -> Bool) throws -> T {
        let value = try draw()
        guard try !isTaken(value) else {
            throw LedgerError("random_repeats", "the random generator returned a \(what) the ledger already holds: nothing was written; check the machine's random source",
                              kind: .integrity)
        }
        return value
    }

    /// `drawChecked` of a secret of `kind` and its hash. Taken when its random body is held under any kind: the body
    /// alone is the secret (the prefix and checksum can be written by anyone), so a client secret's body must not
    /// come back as an API key or a token.
    func drawCheckedSecret(_ kind: SecretKind) throws -> (secret: String, hash: SHA256Digest) {
        try drawChecked("\(kind.prefix)… secret", {
            let secret = try SecretFormat.generate(kind, using: random)
            return (secret, SecretFormat.hash(secret))
        }, isTaken: { drawn in
            try SecretKind.allCases.contains { other in
                let hash = other == kind ? drawn.1 : SecretFormat.hash(SecretFormat.withKind(drawn.0, other))
                return try store.get(BatchContext.lookupTable(of: other), Keys.hashPrefix(hash)) != nil
            }
        })
    }

    /// The table whose rows are keyed by the hash of a secret of `kind`.
    static func lookupTable(of kind: SecretKind) -> Table {
        switch kind {
        case .apiKey, .clientSecret: .secrets
        case .accessToken, .refreshToken: .tokens
        case .authorizationCode: .codes
        }
    }
}

/// How long OAuth artefacts live, in µs (from `Ledger.Options`).
public struct TokenLifetimes: Sendable {
    public var accessToken: Int64
    public var refreshToken: Int64
    public var authorizationCode: Int64
}
