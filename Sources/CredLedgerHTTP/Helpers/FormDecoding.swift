/// Why form or query text could not be decoded.
public enum FormDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A "%" not followed by two hex digits.
    case badPercentEncoding
    /// The decoded bytes are not UTF-8.
    case invalidUTF8

    public var description: String {
        switch self {
        case .badPercentEncoding: return "bad percent-encoding"
        case .invalidUTF8: return "not UTF-8 once decoded"
        }
    }
}

/// Decoded `application/x-www-form-urlencoded` fields (docs/HTTP.md §9, RFC 6749 §3.1): empty values count as
/// absent, repeated names are reported (the endpoints answer `invalid_request`), order is kept.
public struct FormFields: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public let name: String
        public let value: String
    }

    /// Every pair, in order, empty values included.
    public let fields: [Field]

    public init(_ fields: [Field]) {
        self.fields = fields
    }

    /// The value of `name` when present with a non-empty value (RFC 6749 §3.1: empty = absent). When the name is
    /// repeated this is the first non-empty value: check `repeatedNames` first.
    public subscript(name: String) -> String? {
        fields.first { $0.name == name && !$0.value.isEmpty }?.value
    }

    /// Names that appear more than once with a non-empty value, in order of first repeat.
    public var repeatedNames: [String] {
        var seen = Set<String>(), repeated: [String] = []
        for field in fields where !field.value.isEmpty {
            if !seen.insert(field.name).inserted && !repeated.contains(field.name) { repeated.append(field.name) }
        }
        return repeated
    }

    /// Whether `name` is repeated (non-empty values).
    public func isRepeated(_ name: String) -> Bool {
        fields.filter { $0.name == name && !$0.value.isEmpty }.count > 1
    }
}

/// `application/x-www-form-urlencoded` (WHATWG URL §5.1): split on "&", then at the first "=", "+" → space,
/// percent-decode, strict UTF-8. Empty pieces ("a&&b") are skipped.
public enum FormDecoding {
    /// Decodes a request body.
    public static func decode(_ body: [UInt8]) throws(FormDecodingError) -> FormFields {
        var fields: [FormFields.Field] = []
        for piece in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = piece.firstIndex(of: UInt8(ascii: "="))
            let name = piece[piece.startIndex..<(equals ?? piece.endIndex)]
            let value = equals.map { piece[($0 + 1)...] } ?? []
            fields.append(FormFields.Field(name: try component(name), value: try component(value)))
        }
        return FormFields(fields)
    }

    /// Decodes one component: "+" → space, "%XX" → byte, then strict UTF-8.
    public static func component(_ bytes: some Collection<UInt8>) throws(FormDecodingError) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var i = 0
        while i < input.count {
            let b = input[i]
            if b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
                i += 1
            } else if b == UInt8(ascii: "%") {
                guard i + 2 < input.count, ByteClass.isHex(input[i + 1]), ByteClass.isHex(input[i + 2]) else {
                    throw .badPercentEncoding
                }
                out.append(ByteClass.hexValue(input[i + 1]) << 4 | ByteClass.hexValue(input[i + 2]))
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }

    /// Whether a `Content-Type` value is `application/x-www-form-urlencoded` (case-insensitive; parameters such as
    /// `charset` allowed).
    public static func isFormContentType(_ value: String?) -> Bool {
        guard let value else { return false }
        let type = value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        return ByteClass.equalsLowercase(Array(type.utf8.filter { !ByteClass.isWhitespace($0) }),
                                         "application/x-www-form-urlencoded")
    }
}

/// Query strings, decoded with the form rules.
public enum QueryString {
    /// Parses the raw query (without "?").
    public static func parse(_ query: String) throws(FormDecodingError) -> FormFields {
        try FormDecoding.decode(Array(query.utf8))
    }
}
