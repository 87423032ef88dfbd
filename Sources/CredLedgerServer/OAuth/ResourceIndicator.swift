import Foundation

/// An RFC 8707 `resource` parameter: an absolute URI without a fragment, at most 2048 bytes. Anything else is
/// `invalid_target`.
enum ResourceIndicator {
    static let maxLength = 2048

    /// The validated value, nil when absent.
    static func parse(_ value: String?) throws(OAuthFailure) -> String? {
        guard let value else { return nil }
        guard isValid(value) else {
            throw OAuthFailure(error: "invalid_target",
                               description: "resource must be an absolute URI without a fragment, at most \(maxLength) bytes (RFC 8707)")
        }
        return value
    }

    static func isValid(_ value: String) -> Bool {
        guard value.utf8.count <= maxLength, !value.contains("#"),
              value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
              let url = URL(string: value), let scheme = url.scheme, !scheme.isEmpty,
              url.host != nil || scheme != "http" && scheme != "https" else { return false }
        // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
        return scheme.utf8.first.map { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A } ?? false
    }
}
