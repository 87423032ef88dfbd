import Foundation

/// An RFC 8707 resource indicator: an absolute URI without a fragment, printable ASCII, at most 2048 bytes. The
/// token endpoint, the consent and the engine's OAuth commands share this one rule (anything else is `invalid_target`).
public enum ResourceURI {
    public static let maxLength = 2048

    /// Whether `value` may name a resource (and so be stored with a code or a token family).
    public static func isValid(_ value: String) -> Bool {
        guard !value.isEmpty, value.utf8.count <= maxLength, !value.contains("#"),
              value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
              let url = URL(string: value), let scheme = url.scheme, !scheme.isEmpty,
              url.host != nil || scheme != "http" && scheme != "https" else { return false }
        // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
        return scheme.utf8.first.map { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A } ?? false
    }
}
