/// Input rules for names and ids; each failure is a specific bad-input error.
public enum Validation {
    public static let maxNameLength = 100
    public static let maxSlugLength = 63
    public static let maxEmailLength = 254
    public static let maxRedirectURILength = 2048
    public static let maxRedirectURIs = 5

    /// Company and project ids: lowercase letters, digits and '-', 1…63, starting alphanumeric.
    public static func slug(_ s: String, field: String) throws(LedgerError) {
        guard !s.isEmpty else { throw .invalid(field, "\(field) must not be empty") }
        guard s.utf8.count <= maxSlugLength else { throw .invalid(field, "\(field) is longer than \(maxSlugLength) characters") }
        let ok = s.utf8.enumerated().allSatisfy { i, c in
            (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c == 45 && i > 0)
        }
        guard ok else { throw .invalid(field, "\(field) '\(s)' may use only a-z, 0-9 and '-' (not first)") }
    }

    /// Display names: 1…100 characters, no control characters.
    public static func name(_ s: String, field: String = "name") throws(LedgerError) {
        let trimmed = s.trimmingWhitespace
        guard !trimmed.isEmpty else { throw .invalid(field, "\(field) must not be empty") }
        guard s.count <= maxNameLength, s.utf8.count <= 400 else { throw .invalid(field, "\(field) is longer than \(maxNameLength) characters") }
        guard !s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(field, "\(field) must not contain control characters")
        }
    }

    /// A plain ASCII email address `local@domain.tld`, lowercase-insensitive, ≤ 254 bytes.
    public static func email(_ s: String) throws(LedgerError) {
        guard s.utf8.count <= maxEmailLength else { throw .invalid("email", "email is longer than \(maxEmailLength) characters") }
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, s.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw .invalid("email", "'\(s)' is not an email address")
        }
        try mailDomain(String(parts[1]), field: "email")
    }

    public static func mailDomain(_ d: String, field: String = "mail_domain") throws(LedgerError) {
        let labels = d.split(separator: ".", omittingEmptySubsequences: false)
        let ok = d.utf8.count <= 253 && labels.count >= 2 && labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.utf8.allSatisfy { c in
                (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 45
            }
        }
        guard ok else { throw .invalid(field, "'\(d)' is not a valid mail domain") }
    }

    /// A redirect URI a client may register (the rules and the matching are in `RedirectURI`); a private-use scheme
    /// (`com.example.app:/cb`) only for a public client.
    public static func redirectURI(_ uri: String, publicClient: Bool = false) throws(LedgerError) {
        _ = try RedirectURI(parsing: uri, allowPrivateUseScheme: publicClient)
    }
}

extension String {
    var trimmingWhitespace: Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
