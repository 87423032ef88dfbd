/// The request-target forms a server accepts (RFC 9112 §3.2): origin-form, absolute-form (http/https) and "*" for
/// OPTIONS; the path is percent-decoded exactly once and refused when decoding would change its structure.
enum RequestTarget {
    struct Parts {
        var path: String
        var query: String?
        var authority: String?
    }

    static func parse(_ bytes: ArraySlice<UInt8>, method: HTTPMethod) throws -> Parts {
        for b in bytes where b < 0x21 || b > 0x7E || b == UInt8(ascii: "#") {
            throw HTTPParseError.bad("bad character in request target")
        }
        if bytes.count == 1 && bytes.first == UInt8(ascii: "*") {
            guard method == .options else { throw HTTPParseError.bad("asterisk-form without OPTIONS") }
            return Parts(path: "*", query: nil, authority: nil)
        }
        if bytes.first == UInt8(ascii: "/") {
            return try origin(bytes, authority: nil)
        }
        // absolute-form: scheme "://" authority path-abempty [ "?" query ].
        let lower = bytes.prefix(8).map(ByteClass.lower)
        let schemeLength: Int
        if lower.starts(with: "http://".utf8) {
            schemeLength = 7
        } else if lower.starts(with: "https://".utf8) {
            schemeLength = 8
        } else {
            throw HTTPParseError.bad("unsupported request-target form")
        }
        let afterScheme = bytes.dropFirst(schemeLength)
        let end = afterScheme.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? afterScheme.endIndex
        let authority = afterScheme[afterScheme.startIndex..<end]
        guard isValidHost(Array(authority), allowEmpty: false) else { throw HTTPParseError.bad("bad authority in request target") }
        var rest = Array(afterScheme[end...])
        if rest.first != UInt8(ascii: "/") { rest.insert(UInt8(ascii: "/"), at: 0) }
        return try origin(rest[...], authority: String(decoding: authority, as: UTF8.self))
    }

    private static func origin(_ bytes: ArraySlice<UInt8>, authority: String?) throws -> Parts {
        let questionMark = bytes.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = bytes[bytes.startIndex..<(questionMark ?? bytes.endIndex)]
        var query: String?
        if let questionMark {
            let rawQuery = bytes[(questionMark + 1)...]
            guard rawQuery.allSatisfy(ByteClass.isQueryChar) else { throw HTTPParseError.bad("bad character in query") }
            query = String(decoding: rawQuery, as: UTF8.self)
        }
        return Parts(path: try decodePath(rawPath), query: query, authority: authority)
    }

    /// Percent-decodes a path once; refuses bad escapes, an encoded "/" or NUL, decoded control characters,
    /// invalid UTF-8 and "." or ".." segments (so no later layer can be tricked into another path).
    static func decodePath(_ raw: ArraySlice<UInt8>) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            let b = raw[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < raw.endIndex, ByteClass.isHex(raw[i + 1]), ByteClass.isHex(raw[i + 2]) else {
                    throw HTTPParseError.bad("bad percent-encoding in path")
                }
                let decoded = ByteClass.hexValue(raw[i + 1]) << 4 | ByteClass.hexValue(raw[i + 2])
                guard decoded != UInt8(ascii: "/") else { throw HTTPParseError.bad("encoded slash in path") }
                guard decoded >= 0x20 && decoded != 0x7F else { throw HTTPParseError.bad("encoded control character in path") }
                out.append(decoded)
                i += 3
            } else {
                guard b == UInt8(ascii: "/") || ByteClass.isPathChar(b) else { throw HTTPParseError.bad("bad character in path") }
                out.append(b)
                i += 1
            }
        }
        for segment in out.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) {
                throw HTTPParseError.bad("dot segment in path")
            }
        }
        guard let path = String(validating: out, as: UTF8.self) else { throw HTTPParseError.bad("path is not UTF-8") }
        return path
    }

    /// Host = uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2): a reg-name, IPv4 or bracketed IP literal.
    static func isValidHost(_ host: [UInt8], allowEmpty: Bool) -> Bool {
        if host.isEmpty { return allowEmpty }
        var name = host[...]
        var port: ArraySlice<UInt8>?
        if host.first == UInt8(ascii: "[") {
            guard let close = host.firstIndex(of: UInt8(ascii: "]")), close > 1 else { return false }
            let literal = host[1..<close]
            guard literal.allSatisfy({ ByteClass.isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else {
                return false
            }
            let after = host[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { return false }
                port = after.dropFirst()
            }
            name = []
        } else if let colon = host.lastIndex(of: UInt8(ascii: ":")) {
            name = host[..<colon]
            port = host[(colon + 1)...]
            guard !name.isEmpty else { return false }
        }
        if let port {
            guard !port.isEmpty, port.count <= 5, port.allSatisfy(ByteClass.isDigit) else { return false }
        }
        var i = name.startIndex
        while i < name.endIndex {
            if name[i] == UInt8(ascii: "%") {
                guard i + 2 < name.endIndex, ByteClass.isHex(name[i + 1]), ByteClass.isHex(name[i + 2]) else { return false }
                i += 3
            } else {
                guard ByteClass.isRegName(name[i]) else { return false }
                i += 1
            }
        }
        return true
    }
}
