import CredLedgerCore
import CredLedger
import CredLedgerHTTP

/// `credledger serve`: the ledger's HTTP front (docs/HTTP.md). Each area's endpoints are one `RouteGroup` in Routes/;
/// this type only assembles them on an `HTTPServer`.
public final class LedgerServer: @unchecked Sendable {
    public let context: ServerContext
    let http: HTTPServer

    /// Binds the listeners (port 0 picks a free one); `start()` begins serving. `log` receives one line per request
    /// (method, path without query, status, duration, peer: never headers, cookies, bodies or queries).
    /// Throws `LedgerError` `session_key` when `<ledger dir>/session.key` cannot be read or created, or is readable by others.
    public init(ledger: Ledger, settings: ServerSettings, log: (@Sendable (String) -> Void)? = nil) throws {
        try settings.checkSafety()
        for template in settings.routeTemplates { _ = try RouteTemplate(template) }
        let sessionKey = try SessionKey.load(directory: ledger.path, random: ledger.options.random)
        var configuration = settings.http
        configuration.host = settings.host
        configuration.port = settings.port
        if let log {
            configuration.log = { record in
                // The client's own path behind the Envoy prefix is its business, and anything shaped like a secret is
                // cut to its display prefix (a key pasted into a URL).
                let path = record.path.map { $0.hasPrefix("/auth/forward/") ? "/auth/forward/…" : $0 }
                log(Redaction.scrub(HTTPLogRecord(method: record.method, path: path, status: record.status, duration: record.duration,
                                                  peer: record.peer).description))
            }
        }
        // The router needs the context, the context needs the bound port (the default issuer): bind first, route
        // through a box filled before `start()`.
        let box = RouterBox()
        let http = try HTTPServer(configuration) { request in await box.router.respond(to: request) }
        let context = ServerContext(ledger: ledger, settings: settings, issuer: settings.effectiveIssuer(boundPort: http.port),
                                    sessionKey: sessionKey, log: log ?? { _ in })
        var router = Router()
        for group in LedgerServer.routeGroups(context) { router.add(group) }
        box.router = router
        self.http = http
        self.context = context
    }

    /// Every area's routes. A new area adds its group here (and its file in Routes/).
    static func routeGroups(_ context: ServerContext) -> [any RouteGroup] {
        [
            HealthRoutes(),
            LoginRoutes(context: context),
            DiscoveryRoutes(context: context),
            TokenRoutes(context: context),
            AuthorizeRoutes(context: context),
            AdminRoutes(context: context),
            PageRoutes(context: context),
            GatewayRoutes(context),
        ]
    }

    /// The URL it listens on (`http://host:port`).
    public var url: String { http.url }
    public var port: UInt16 { http.port }

    /// Blocks SIGTERM and SIGINT in the calling thread: call before the ledger or the server starts a thread.
    public static func blockTerminationSignals() { HTTPServer.blockTerminationSignals() }

    /// Starts serving; with `handleSignals`, SIGTERM/SIGINT shut it down gracefully (see `shutdown`).
    public func start(handleSignals: Bool = false, onSignal: (@Sendable (Int32) -> Void)? = nil) throws {
        if handleSignals { try http.shutdownOnTerminationSignals(onSignal) }
        try http.start()
    }

    /// Stops accepting, lets requests in flight finish (each answered only once its engine call returned, so a use
    /// answered is durable), closes connections. `wait()` returns when it is done.
    public func shutdown() { http.shutdown() }
    public func wait() { http.wait() }
    public func stopped() async { await http.stopped() }
}

/// The router, set once before the server starts and only read afterwards.
private final class RouterBox: @unchecked Sendable {
    var router = Router()
}
