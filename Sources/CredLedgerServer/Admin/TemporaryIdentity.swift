// TEMPORARY until branch oauth-http's Identity lands (then this file is deleted): the same interface, header-only.
import CredLedgerCrypto
import CredLedgerHTTP

public struct SignedInUser: Sendable, Equatable {
    public let email: String
    public init(email: String) { self.email = email }
}

private let temporaryKey: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }

extension ServerContext {
    public func signedInUser(_ request: HTTPRequest) -> SignedInUser? {
        guard let header = settings.identityHeader, trustedProxies(request), let value = request.headers[header] else { return nil }
        return SignedInUser(email: value.lowercased())
    }
    private func trustedProxies(_ request: HTTPRequest) -> Bool { settings.trustedProxies.contains { $0.contains(request.peer) } }
    public func csrfToken(for user: SignedInUser, purpose: String) -> String {
        HMACSHA256.authenticationCode(key: temporaryKey, message: Array("\(user.email)|\(purpose)".utf8)).hex
    }
    public func checkCSRF(_ token: String?, for user: SignedInUser, purpose: String) -> Bool {
        token == csrfToken(for: user, purpose: purpose)
    }
}
