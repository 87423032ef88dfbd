import CredLedgerCore
import CredLedgerHTTP

/// How `credledger serve` runs: where it listens, the issuer it names, whom it trusts for identity (docs/HTTP.md).
public struct ServerSettings: Sendable {
    /// Listen address (`--listen`, default 127.0.0.1:8080; port 0 picks a free one).
    public var host = "127.0.0.1"
    public var port: UInt16 = 8080
    /// The issuer URL (`--issuer`): every absolute URL the server names (metadata, redirects, `iss`) starts with it,
    /// never with the request's `Host`. Nil: `http://<listen address>`.
    public var issuer: String?
    /// The request header a trusted front proxy sets to the signed-in user's email (`--identity-header`).
    public var identityHeader: String?
    /// TCP peers whose identity header is honoured (`--trusted-proxy`, CIDR ranges).
    public var trustedProxies: [CIDR] = []
    /// A plainly marked development login page to pick a company user (`--dev-login`): demo and tests only.
    public var devLogin = false
    /// Forward-auth path templates (`--route '/companies/{company}/projects/{project}/'`).
    public var routeTemplates: [String] = []
    /// Limits, timeouts, loops and the connection cap of the HTTP server underneath.
    public var http = HTTPServerConfiguration()

    public init() {}

    /// The issuer actually used: `issuer`, or `http://host:port` of the bound address.
    func effectiveIssuer(boundPort: UInt16) -> String {
        if let issuer { return issuer }
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "http://\(host):\(boundPort)"
    }

    /// Refuses start-up combinations that would be unsafe without a word: the development login (anyone signs in as
    /// anyone) anywhere but on a loopback address; a trusted-proxy range of everything (every
    /// client could name its own identity); a wildcard listen address as the issuer (no client can reach it).
    func checkSafety() throws {
        let loopback = host == "127.0.0.1" || host == "::1" || host.hasPrefix("127.")
        if devLogin, !loopback {
            throw LedgerError("unsafe_settings", "--dev-login lets anyone sign in as any user: it listens on a loopback address only (--listen 127.0.0.1:PORT)", kind: .badInput)
        }
        if let everything = trustedProxies.first(where: { $0.prefixLength == 0 }) {
            throw LedgerError("unsafe_settings", "--trusted-proxy \(everything) trusts every address: any client could set the identity header; name the proxy's own address (e.g. 127.0.0.1/32)", kind: .badInput)
        }
        if issuer == nil, host == "0.0.0.0" || host == "::" {
            throw LedgerError("unsafe_settings", "listening on \(host) needs --issuer with the URL clients reach (metadata, redirects and iss are built from it)", kind: .badInput)
        }
    }
}
