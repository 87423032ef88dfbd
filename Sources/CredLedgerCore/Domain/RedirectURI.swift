/// The rules of redirect URIs: which may be registered (RFC 6749 §3.1.2, RFC 8252 §7–8) and when a requested one
/// matches a registered one. Everything matches exactly, as a string, except a loopback IP redirect URI, whose port
/// may differ (RFC 8252 §7.3: a native app listens on whatever port is free at that moment).
public struct RedirectURI: Equatable, Sendable {
    /// What sort of redirect a URI is, which decides who may register it and how it matches.
    public enum Kind: Equatable, Sendable {
        /// `https://host[:port]/…`: any client, exact match.
        case https
        /// `http://127.0.0.1[:port]/…` or `http://[::1][:port]/…`: any client; matches with any port.
        case loopbackIP
        /// `http://localhost[:port]/…`: accepted for compatibility (RFC 8252 §8.3: NOT RECOMMENDED), exact match, port included.
        case localhost
        /// A private-use scheme `com.example.app:/…` (RFC 8252 §7.1): public PKCE clients only, exact match.
        case privateUse
    }

    public let kind: Kind
    /// The host as written (`127.0.0.1`, `[::1]`, `client.example`); empty for a private-use scheme.
    public let host: String
    /// The port digits, if the URI names one.
    public let port: String?
    /// Everything after the authority (path and query), compared exactly.
    public let rest: String

    /// Parses and checks a redirect URI. `allowPrivateUseScheme` is true only for public PKCE clients.
    public init(parsing uri: String, allowPrivateUseScheme: Bool) throws(LedgerError) {
        func refuse(_ why: String) -> LedgerError { .invalid("redirect_uri", "redirect URI '\(uri)' \(why)") }
        guard uri.utf8.count <= Validation.maxRedirectURILength else {
            throw .invalid("redirect_uri", "redirect URI is longer than \(Validation.maxRedirectURILength) characters")
        }
        guard !uri.isEmpty, uri.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { throw refuse("is empty or has spaces or non-ASCII characters") }
        guard !uri.contains("#") else { throw refuse("must not have a fragment (RFC 6749 §3.1.2)") }
        // A wildcard would let a registration match hosts or paths the company never saw; matching is exact.
        guard !uri.contains("*") else { throw refuse("must not contain a wildcard '*': redirect URIs are matched exactly") }
        guard let colon = uri.firstIndex(of: ":") else { throw refuse("has no scheme") }
        let scheme = uri[..<colon]
        let afterScheme = uri[uri.index(after: colon)...]
        guard let first = scheme.utf8.first, first >= 97 && first <= 122,
              scheme.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 43 || $0 == 45 || $0 == 46 })
        else { throw refuse("needs a lowercase scheme such as https") }

        if scheme == "https" || scheme == "http" {
            guard afterScheme.hasPrefix("//") else { throw refuse("needs '//' and a host after '\(scheme):'") }
            let hierarchy = afterScheme.dropFirst(2)
            let authority = hierarchy.prefix { $0 != "/" && $0 != "?" }
            guard !authority.contains("@") else { throw refuse("must not carry user information (RFC 6749 §3.1.2)") }
            let (host, port) = try Self.splitAuthority(authority, refuse: refuse)
            self.host = host
            self.port = port
            self.rest = String(hierarchy.dropFirst(authority.count))
            if scheme == "https" {
                kind = .https
            } else if host == "127.0.0.1" || host == "[::1]" {
                kind = .loopbackIP
            } else if host == "localhost" {
                kind = .localhost
            } else {
                throw refuse("must be https (http only on the loopback interface: 127.0.0.1, [::1] or localhost)")
            }
            return
        }

        // RFC 8252 §7.1: a private-use scheme is a reverse domain name the app's owner controls, e.g. com.example.app.
        let labels = scheme.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }) else {
            throw refuse("must be https, http on loopback, or a reverse-domain private-use scheme such as com.example.app:/callback (RFC 8252 §7.1)")
        }
        guard allowPrivateUseScheme else {
            throw refuse("uses a private-use scheme, which only public native clients (--type pkce-public) may register: any app on a device can claim such a scheme, and a confidential client is a server that redirects over https")
        }
        guard !afterScheme.isEmpty else { throw refuse("needs a path after '\(scheme):'") }
        if afterScheme.hasPrefix("//") {
            let authority = afterScheme.dropFirst(2).prefix { $0 != "/" && $0 != "?" }
            guard !authority.contains("@") else { throw refuse("must not carry user information (RFC 6749 §3.1.2)") }
        }
        kind = .privateUse
        host = ""
        port = nil
        rest = String(afterScheme)
    }

    /// Splits `host[:port]` (or `[v6]:port`), checking the host's characters and that a port is 1…65535 without leading zeros.
    private static func splitAuthority(_ authority: Substring, refuse: (String) -> LedgerError) throws(LedgerError) -> (String, String?) {
        var host = authority
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw refuse("has an unclosed '[' in its host") }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw refuse("has text after its IPv6 host") }
                port = after.dropFirst()
            }
            guard host.dropFirst().dropLast().utf8.allSatisfy({ isHexDigit($0) || $0 == 58 || $0 == 46 }) else {
                throw refuse("has an invalid IPv6 host")
            }
        } else {
            if let c = authority.firstIndex(of: ":") {
                host = authority[..<c]
                port = authority[authority.index(after: c)...]
            }
            guard host.utf8.allSatisfy({ isHexDigit($0) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 46 }) else {
                throw refuse("has an invalid host")
            }
        }
        guard host.count > (authority.hasPrefix("[") ? 2 : 0) else { throw refuse("has no host") }
        if let port {
            guard !port.isEmpty, port.utf8.count <= 5, port.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), port.first != "0",
                  let n = Int(port), n <= 65_535
            else { throw refuse("has an invalid port") }
        }
        return (String(host), port.map(String.init))
    }

    private static func isHexDigit(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) }

    /// Whether a redirect URI sent with an authorization request matches a registered one: the same string, or, for a
    /// loopback IP redirect URI, the same scheme, IP literal, path and query with any port (RFC 8252 §7.3).
    public static func matches(registered: String, requested: String) -> Bool {
        if registered == requested { return true }
        guard let r = try? RedirectURI(parsing: registered, allowPrivateUseScheme: false), r.kind == .loopbackIP,
              let q = try? RedirectURI(parsing: requested, allowPrivateUseScheme: false), q.kind == .loopbackIP
        else { return false }
        return r.host == q.host && r.rest == q.rest
    }
}
