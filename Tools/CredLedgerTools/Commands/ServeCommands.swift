import CredLedger
import CredLedgerHTTP
import CredLedgerServer
import Foundation

/// `serve`: the HTTP front (docs/HTTP.md).
enum ServeCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("serve", options: ["listen", "issuer", "identity-header", "trusted-proxy", "route"], flags: ["dev-login"],
                        summary: "Serve the ledger over HTTP (OAuth authorization server, MCP discovery, forward-auth for gateways; docs/HTTP.md). --listen HOST:PORT (default 127.0.0.1:8080), --issuer URL (default http://<listen>), --identity-header NAME honoured only from --trusted-proxy CIDR[,CIDR…], --route TEMPLATE[,TEMPLATE…] for forward-auth, --dev-login adds a development login page. SIGTERM/SIGINT: finish requests in flight, flush, exit 0.") { inv, ctx in
                let settings = try settings(inv)
                // Before the ledger's writer or the server start a thread: only the server's signalfd takes them.
                LedgerServer.blockTerminationSignals()
                let ledger = try ctx.ledger()
                let server = try LedgerServer(ledger: ledger, settings: settings, log: { Output.error($0) })
                try server.start(handleSignals: true) { signal in
                    Output.error("credledger serve: signal \(signal): finishing requests in flight")
                }
                Output.line("credledger serve: listening on \(server.url) (issuer \(server.context.issuer))")
                server.wait()
                // Every answered use was durable before its answer; closing flushes the writer for the rest.
                ledger.close()
                Output.line("credledger serve: stopped")
                return ExitCode.ok
            },
        ]
    }

    /// The settings from the command line, each value checked (a bad one is a usage error: nothing starts).
    static func settings(_ inv: Invocation) throws -> ServerSettings {
        var settings = ServerSettings()
        if let listen = inv.option("listen") {
            guard let (host, port) = parseListen(listen) else {
                throw UsageError("--listen takes HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), not '\(listen)'")
            }
            (settings.host, settings.port) = (host, port)
        }
        if let issuer = inv.option("issuer") {
            guard let url = URL(string: issuer), let scheme = url.scheme, scheme == "https" || scheme == "http",
                  url.host != nil, url.query == nil, url.fragment == nil else {
                throw UsageError("--issuer takes an http(s) URL without query or fragment (e.g. https://auth.example.com), not '\(issuer)'")
            }
            settings.issuer = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        }
        if let header = inv.option("identity-header") {
            guard !header.isEmpty, header.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 < 128 && (isalnum(Int32($0)) != 0)) }) else {
                throw UsageError("--identity-header takes a header name like X-Forwarded-Email, not '\(header)'")
            }
            settings.identityHeader = header
        }
        if let proxies = inv.option("trusted-proxy") {
            for part in proxies.split(separator: ",", omittingEmptySubsequences: false) {
                guard let cidr = CIDR(String(part).trimmingCharacters(in: .whitespaces)) else {
                    throw UsageError("--trusted-proxy takes CIDR ranges like 127.0.0.1/32,10.0.0.0/8, not '\(part)'")
                }
                settings.trustedProxies.append(cidr)
            }
        }
        if settings.identityHeader != nil, settings.trustedProxies.isEmpty {
            throw UsageError("--identity-header needs --trusted-proxy: the header is honoured only from those addresses")
        }
        if let routes = inv.option("route") {
            settings.routeTemplates = routes.split(separator: ",", omittingEmptySubsequences: false).map {
                String($0).trimmingCharacters(in: .whitespaces)
            }
            for template in settings.routeTemplates {
                do { _ = try RouteTemplate(template) } catch { throw UsageError(error.description) }
            }
        }
        settings.devLogin = inv.flag("dev-login")
        return settings
    }

    /// `HOST:PORT` or `[IPv6]:PORT`.
    static func parseListen(_ text: String) -> (String, UInt16)? {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let p = UInt16(port), IPAddress(String(host)) != nil || String(host) == "localhost" else { return nil }
        return (String(host) == "localhost" ? "127.0.0.1" : String(host), p)
    }
}
