/// `Cookie` request header parsing (RFC 6265 §5.4 / §4.2.1): `name=value` pairs separated by ";".
public enum Cookies {
    /// The cookies of every `Cookie` field, in order; malformed pairs (no "=", empty or non-token name) are skipped.
    /// Values keep their bytes (surrounding double quotes removed).
    public static func parse(_ headers: HTTPHeaders) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        for field in headers.values("cookie") {
            for pair in field.split(separator: ";") {
                let trimmed = pair.trimmingCharacters(inSet: " \t")
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                let name = String(trimmed[..<equals])
                var value = Substring(trimmed[trimmed.index(after: equals)...])
                if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") { value = value.dropFirst().dropLast() }
                guard !name.isEmpty, name.utf8.allSatisfy(ByteClass.isToken) else { continue }
                out.append((name, String(value)))
            }
        }
        return out
    }

    /// The value of the first cookie named `name`.
    public static func value(_ name: String, in headers: HTTPHeaders) -> String? {
        parse(headers).first { $0.name == name }?.value
    }
}

/// A `Set-Cookie` value builder (RFC 6265 §4.1). Names must be tokens and values cookie-octets: others are refused.
public struct SetCookie: Sendable, Equatable {
    public enum SameSite: String, Sendable { case strict = "Strict", lax = "Lax", none = "None" }

    public var name: String
    public var value: String
    public var path: String? = "/"
    public var maxAge: Int?
    public var httpOnly = true
    public var secure = false
    public var sameSite: SameSite? = .lax

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// A cookie that deletes `name` (empty value, Max-Age=0).
    public static func expired(_ name: String, path: String? = "/") -> SetCookie {
        var cookie = SetCookie(name: name, value: "")
        cookie.path = path
        cookie.maxAge = 0
        return cookie
    }

    /// The `Set-Cookie` field value, or nil when the name, value or path has a forbidden character.
    public var headerValue: String? {
        guard !name.isEmpty, name.utf8.allSatisfy(ByteClass.isToken),
              value.utf8.allSatisfy(Self.isCookieOctet) else { return nil }
        var out = "\(name)=\(value)"
        if let path {
            guard path.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ";") }) else { return nil }
            out += "; Path=\(path)"
        }
        if let maxAge { out += "; Max-Age=\(maxAge)" }
        if httpOnly { out += "; HttpOnly" }
        if secure || sameSite == SameSite.none { out += "; Secure" }
        if let sameSite { out += "; SameSite=\(sameSite.rawValue)" }
        return out
    }

    /// cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
    static func isCookieOctet(_ b: UInt8) -> Bool {
        b == 0x21 || (0x23...0x2B).contains(b) || (0x2D...0x3A).contains(b) || (0x3C...0x5B).contains(b)
            || (0x5D...0x7E).contains(b)
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(inSet set: String) -> Substring {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return s
    }
}
