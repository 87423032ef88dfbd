import CredLedgerCore
import CredLedgerHTTP
import Foundation

/// Who is signed in (docs/HTTP.md "Identity"): the trusted proxy's identity header, else a session cookie signed with
/// the ledger directory's `session.key`. Also mints and checks CSRF tokens bound to a user and a purpose.
final class Identity: @unchecked Sendable {
    /// The session cookie's name.
    static let cookieName = "credledger_session"
    /// How long a dev-login session lasts.
    static let sessionLifetime: Int64 = 12 * 3600
    /// How long a CSRF token (a form on a page) stays valid.
    static let csrfLifetime: Int64 = 3600

    let key: SessionKey
    let clock: any LedgerClock
    let random: any RandomBytesGenerator
    let header: String?
    let trustedProxies: [CIDR]
    /// Cookies carry `Secure` when the issuer is https.
    let secureCookies: Bool
    let log: @Sendable (String) -> Void
    /// The untrusted identity header is logged once per server, not once per request (a log flood otherwise).
    private let lock = NSLock()
    private var loggedIgnoredHeader = false  // under lock
    /// Session cookies are minted only by the development login, so only a server started with it honours them: a
    /// cookie minted by a `--dev-login` server on the same ledger is nothing to a production one.
    let sessions: Bool
    /// Ended sessions and spent consent forms, by MAC, each until it would have expired anyway (under lock). In memory:
    /// a restart forgets them (the session key then still signs them; docs/HTTP.md §2 says so).
    private var spent: [String: Int64] = [:]

    init(key: SessionKey, clock: any LedgerClock, random: any RandomBytesGenerator, settings: ServerSettings, issuer: String,
         log: @escaping @Sendable (String) -> Void) {
        self.key = key
        self.clock = clock
        self.random = random
        self.header = settings.identityHeader
        self.trustedProxies = settings.trustedProxies
        self.secureCookies = issuer.lowercased().hasPrefix("https://")
        self.sessions = settings.devLogin
        self.log = log
    }

    /// Marks `mac` spent until `expiry`; false when it already was (a replay).
    func spend(_ mac: String, until expiry: Int64) -> Bool {
        let now = nowSeconds
        return lock.withLock {
            if spent.count > 10_000 { spent = spent.filter { $0.value > now } }
            guard spent[mac] == nil else { return false }
            spent[mac] = expiry
            return true
        }
    }

    func isSpent(_ mac: String) -> Bool { lock.withLock { spent[mac] != nil } }

    /// Ends the session `cookie` names (logout): the same cookie, replayed later, signs in no one.
    func endSession(_ cookie: String) {
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard verifySession(cookie) != nil, parts.count == 4, let expiry = Int64(parts[2]) else { return }
        _ = spend(String(parts[3]).lowercased(), until: expiry)
    }

    /// Spends a consent form's CSRF token: each approves or denies once (a resubmitted form, or a deny turned into an
    /// approve, is refused).
    func spendConsentToken(_ token: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int64(parts[0]) else { return false }
        return spend("csrf:" + String(parts[2]).lowercased(), until: expiry)
    }

    /// Seconds since the epoch, from the ledger's clock (tests move it).
    var nowSeconds: Int64 { clock.now() / 1_000_000 }

    // MARK: - The signed-in user

    func user(_ request: HTTPRequest) -> SignedInUser? {
        if let header, let value = headerIdentity(request, header: header) { return value }
        guard sessions else { return nil }
        // Exactly one session cookie: a second one (tossed in from a sibling domain) makes the sign-in ambiguous.
        let cookies = Cookies.parse(request.headers).filter { $0.name == Self.cookieName }
        guard cookies.count == 1 else { return nil }
        return verifySession(cookies[0].value)
    }

    /// The identity header's user when the TCP peer is a trusted proxy and the field appears exactly once (RFC 9700
    /// §4.13); otherwise nil, and the first ignored header is logged (without its value).
    private func headerIdentity(_ request: HTTPRequest, header: String) -> SignedInUser? {
        // Exact name: HTTPHeaders compares case-insensitively only; "_" never stands for "-".
        let values = request.headers.values(header)
        guard !values.isEmpty else { return nil }
        let trusted = trustedProxies.contains { $0.contains(request.peer) }
        guard trusted, values.count == 1, let email = Self.acceptableEmail(values[0]) else {
            let first = lock.withLock { () -> Bool in defer { loggedIgnoredHeader = true }; return !loggedIgnoredHeader }
            if first {
                let why = !trusted ? "peer \(request.peer.host) is not a --trusted-proxy"
                    : values.count != 1 ? "the field appears \(values.count) times" : "its value is not an email address"
                log("identity: ignored \(header) header (\(why)); logged once")
            }
            return nil
        }
        return SignedInUser(email: email)
    }

    /// An email a sign-in may name: the ledger's email rules, lowercased (the ledger compares emails ignoring case).
    static func acceptableEmail(_ text: String) -> String? {
        guard (try? Validation.email(text)) != nil else { return nil }
        return text.lowercased()
    }

    // MARK: - Session cookies: "v1.<base64url(email)>.<expiry>.<hex mac>"

    /// A signed session value for `user`, valid for `sessionLifetime`.
    func sessionValue(for user: SignedInUser) -> String {
        let expiry = nowSeconds + Self.sessionLifetime
        let encoded = Base64URL.encode(Array(user.email.utf8))
        return "v1.\(encoded).\(expiry).\(sessionMAC(encoded: encoded, expiry: expiry).hex)"
    }

    /// The `Set-Cookie` that signs `user` in.
    func sessionCookie(for user: SignedInUser) -> String {
        var cookie = SetCookie(name: Self.cookieName, value: sessionValue(for: user))
        cookie.maxAge = Int(Self.sessionLifetime)
        cookie.secure = secureCookies
        cookie.sameSite = .lax
        cookie.httpOnly = true
        return cookie.headerValue ?? ""
    }

    /// The `Set-Cookie` that signs out.
    func expiredSessionCookie() -> String {
        var cookie = SetCookie.expired(Self.cookieName)
        cookie.secure = secureCookies
        return cookie.headerValue ?? ""
    }

    func verifySession(_ value: String) -> SignedInUser? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard value.utf8.count <= 1024, parts.count == 4, parts[0] == "v1", let expiry = Int64(parts[2]),
              let mac = SHA256Digest(hex: String(parts[3])) else { return nil }
        let encoded = String(parts[1])
        guard constantTimeEquals(mac, sessionMAC(encoded: encoded, expiry: expiry)), expiry > nowSeconds,
              !isSpent(String(parts[3]).lowercased()),
              let bytes = Base64URL.decode(encoded), let email = String(validating: bytes, as: UTF8.self),
              let accepted = Self.acceptableEmail(email) else { return nil }
        return SignedInUser(email: accepted)
    }

    private func sessionMAC(encoded: String, expiry: Int64) -> SHA256Digest {
        HMACSHA256.authenticationCode(key: key.sessionKey, message: Array("\(encoded).\(expiry)".utf8))
    }

    // MARK: - CSRF tokens: "<expiry>.<hex nonce>.<hex mac>", MAC over user ‖ purpose ‖ expiry ‖ nonce

    func csrfToken(for user: SignedInUser, purpose: String) -> String {
        let expiry = nowSeconds + Self.csrfLifetime
        // A fresh nonce per form: a spent consent form's token is never minted again for the next one.
        let nonce = random.bytes(12).map { String(format: "%02x", $0) }.joined()
        return "\(expiry).\(nonce).\(csrfMAC(user: user, purpose: purpose, expiry: expiry, nonce: nonce).hex)"
    }

    func checkCSRF(_ token: String?, for user: SignedInUser, purpose: String) -> Bool {
        guard let token, token.utf8.count <= 160 else { return false }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int64(parts[0]), parts[1].count == 24, parts[1].allSatisfy(\.isHexDigit),
              let mac = SHA256Digest(hex: String(parts[2])) else { return false }
        return constantTimeEquals(mac, csrfMAC(user: user, purpose: purpose, expiry: expiry, nonce: String(parts[1]))) && expiry > nowSeconds
    }

    private func csrfMAC(user: SignedInUser, purpose: String, expiry: Int64, nonce: String) -> SHA256Digest {
        // Lengths first so no two (user, purpose) pairs share a message.
        let message = "\(user.email.utf8.count):\(user.email)|\(purpose.utf8.count):\(purpose)|\(expiry)|\(nonce.lowercased())"
        return HMACSHA256.authenticationCode(key: key.csrfKey, message: Array(message.utf8))
    }
}

extension ServerContext {
    /// The user signed in on this request: trusted-proxy identity header, else a valid session cookie.
    public func signedInUser(_ request: HTTPRequest) -> SignedInUser? { identity.user(request) }

    /// A CSRF token bound to the user and a purpose string (e.g. "admin:acme" or the consent request hash), with expiry.
    public func csrfToken(for user: SignedInUser, purpose: String) -> String { identity.csrfToken(for: user, purpose: purpose) }

    /// Whether `token` was minted by `csrfToken(for:purpose:)` for this user and purpose and has not expired.
    public func checkCSRF(_ token: String?, for user: SignedInUser, purpose: String) -> Bool {
        identity.checkCSRF(token, for: user, purpose: purpose)
    }

    /// Whether a state-changing browser request may come from here: `Sec-Fetch-Site: cross-site` is refused, and an
    /// `Origin` must be the issuer (docs/HTTP.md §9). Pair it with `checkCSRF`.
    public func isSameOriginPost(_ request: HTTPRequest) -> Bool {
        let site = request.headers["sec-fetch-site"]?.lowercased()
        if site == "cross-site" { return false }
        if let origin = request.headers["origin"] {
            // An opaque origin ("null": a no-referrer policy, a sandboxed frame, a data: URL) is same-origin only when
            // the browser says so in the header a page cannot set.
            if origin == "null" { return site == "same-origin" }
            return origin.lowercased() == issuerOrigin.lowercased()
        }
        return true
    }

    /// The issuer's origin (scheme://host[:port], no path): what a browser sends as `Origin`.
    public var issuerOrigin: String {
        guard let schemeEnd = issuer.range(of: "://") else { return issuer }
        let rest = issuer[schemeEnd.upperBound...]
        let host = rest.firstIndex(of: "/").map { rest[..<$0] } ?? rest
        return String(issuer[..<schemeEnd.upperBound]) + host
    }
}
