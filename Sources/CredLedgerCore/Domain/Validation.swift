import Foundation

/// Input rules for names and ids; each failure is a specific bad-input error.
public enum Validation {
    public static let maxNameLength = 100
    public static let maxSlugLength = 63
    public static let maxEmailLength = 254
    public static let maxRedirectURILength = 2048
    public static let maxRedirectURIs = 5
    /// The platform's mail domain for service users: shared by every company that has no domain of its own.
    public static let defaultMailDomain = "cxplanner.com"

    /// Company and project ids: lowercase letters, digits and '-', 1…63, starting alphanumeric.
    public static func slug(_ s: String, field: String) throws(LedgerError) {
        guard !s.isEmpty else { throw .invalid(field, "\(field) must not be empty") }
        guard s.utf8.count <= maxSlugLength else { throw .invalid(field, "\(field) is longer than \(maxSlugLength) characters") }
        guard hasSlugCharacters(s) else { throw .invalid(field, "\(field) '\(s)' may use only a-z, 0-9 and '-' (not first)") }
    }

    /// Whether `s` is a well-formed company or project id (what `slug(_:field:)` accepts), without making an error.
    public static func isSlug(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= maxSlugLength && hasSlugCharacters(s)
    }

    private static func hasSlugCharacters(_ s: String) -> Bool {
        s.utf8.enumerated().allSatisfy { i, c in (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c == 45 && i > 0) }
    }

    /// Display names: 1…100 characters, no secret-shaped text, no control, format or invisible characters
    /// (`DisplaySafety.isUnsafe`: C0, DEL, C1, bidi overrides and isolates, LRM/RLM/ALM, zero-width characters, …).
    public static func name(_ s: String, field: String = "name") throws(LedgerError) {
        try noSecret(s, field: field)
        let trimmed = s.trimmingWhitespace
        guard !trimmed.isEmpty else { throw .invalid(field, "\(field) must not be empty") }
        guard s.count <= maxNameLength, s.utf8.count <= 400 else { throw .invalid(field, "\(field) is longer than \(maxNameLength) characters") }
        guard !DisplaySafety.containsUnsafe(s), !DisplaySafety.hasStrayVariationSelector(s) else {
            throw .invalid(field, "\(field) must not contain control, bidi-override, zero-width or other invisible characters")
        }
    }

    /// Refuses text that would be stored for good while carrying something shaped like one of our secrets
    /// (`SecretShape`, also percent-encoded): the log cannot be purged, so such text never gets in.
    public static func noSecret(_ s: String, field: String) throws(LedgerError) {
        guard !SecretShape.occurs(in: s) else { throw .secretInField(field) }
    }

    /// The local-part prefix of API service users (`apiservice+<id>@<domain>`): never a company member.
    public static let reservedIdentityPrefix = "apiservice+"

    /// Whether `email` is an API service user's address (any domain, any case).
    public static func isReservedIdentity(_ email: String) -> Bool {
        email.lowercased().hasPrefix(reservedIdentityPrefix)
    }

    /// What two credential names are compared by for `duplicate_name`: Unicode compatibility-normalised (NFKC, so a
    /// fullwidth `１` is `1` and `ﬁ` is `fi`: look-alikes a table read by name would show alike), whitespace trimmed and
    /// runs of it collapsed to one space, then lower-cased (Unicode). Only compared, never stored, so the Unicode
    /// tables of the running Swift do not reach the projections.
    public static func nameKey(_ name: String) -> String {
        // ASCII names (nearly all) take a byte loop that gives the same result: this runs for every live
        // credential of the company on each create.
        if name.utf8.allSatisfy({ $0 < 0x80 }) {
            var out: [UInt8] = []
            out.reserveCapacity(name.utf8.count)
            var space = false
            for c in name.utf8 {
                if c == 0x20 || (c >= 0x09 && c <= 0x0D) {
                    space = !out.isEmpty
                    continue
                }
                if space { out.append(0x20) }
                space = false
                out.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c)
            }
            return String(decoding: out, as: UTF8.self)
        }
        return name.precomposedStringWithCompatibilityMapping.split(whereSeparator: \.isWhitespace).joined(separator: " ").lowercased()
    }

    /// A plain ASCII email address `local@domain.tld`, lowercase-insensitive, ≤ 254 bytes, no secret-shaped text.
    public static func email(_ s: String) throws(LedgerError) {
        // Emails are stored lower-cased: a key with its prefix typed in capitals would still be stored as one.
        try noSecret(s, field: "email")
        try noSecret(s.lowercased(), field: "email")
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
