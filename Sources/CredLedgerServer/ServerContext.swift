import CredLedger
import CredLedgerAPI
import CredLedgerHTTP

/// What every route group gets: the ledger behind the API model, the settings, and the issuer URL.
public final class ServerContext: Sendable {
    public let ledger: Ledger
    /// The one mapping from API request values to engine calls (the CLI uses the same).
    public let api: APIService
    public let settings: ServerSettings
    /// The issuer URL, without a trailing slash (see `ServerSettings.issuer`).
    public let issuer: String
    /// Who is signed in, sessions and CSRF tokens (Identity/).
    let identity: Identity

    init(ledger: Ledger, settings: ServerSettings, issuer: String, sessionKey: SessionKey, log: @escaping @Sendable (String) -> Void) {
        self.ledger = ledger
        self.api = APIService(ledger)
        self.settings = settings
        let issuer = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        self.issuer = issuer
        self.identity = Identity(key: sessionKey, clock: ledger.options.clock, random: ledger.options.random, settings: settings, issuer: issuer, log: log)
    }
}
