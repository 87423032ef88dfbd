import CredLedgerCore

/// An RFC 8707 `resource` parameter (the rule is `ResourceURI`, shared with the engine). Anything else is
/// `invalid_target`.
enum ResourceIndicator {
    static var maxLength: Int { ResourceURI.maxLength }

    /// The validated value, nil when absent.
    static func parse(_ value: String?) throws(OAuthFailure) -> String? {
        guard let value else { return nil }
        guard isValid(value) else {
            throw OAuthFailure(error: "invalid_target",
                               description: "resource must be an absolute URI without a fragment, at most \(maxLength) bytes (RFC 8707)")
        }
        return value
    }

    static func isValid(_ value: String) -> Bool { ResourceURI.isValid(value) }
}
