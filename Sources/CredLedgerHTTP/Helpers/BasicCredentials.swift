import Foundation

/// HTTP Basic client credentials (RFC 7617; RFC 6749 §2.3.1: base64, split at the first ":", each half
/// form-decoded).
public struct BasicCredentials: Sendable, Equatable {
    public let username: String
    public let password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// Why an `Authorization: Basic` value was refused (the endpoints answer 401 + `WWW-Authenticate: Basic`).
    public enum ParseError: Error, Sendable, Equatable {
        /// The scheme is not Basic (the caller may try others).
        case notBasic
        case badBase64
        case missingColon
        case badEncoding(FormDecodingError)
    }

    /// Parses an `Authorization` header value.
    public static func parse(_ header: String) throws(ParseError) -> BasicCredentials {
        let bytes = Array(header.utf8)
        guard bytes.count > 6, ByteClass.equalsLowercase(bytes[0..<5], "basic"), bytes[5] == ByteClass.sp else {
            throw .notBasic
        }
        var token = bytes[6...]
        while let c = token.first, c == ByteClass.sp { token.removeFirst() }
        while let c = token.last, c == ByteClass.sp { token.removeLast() }
        guard !token.isEmpty, let data = Data(base64Encoded: Data(token)) else { throw .badBase64 }
        let decoded = Array(data)
        guard let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { throw .missingColon }
        do {
            return BasicCredentials(username: try FormDecoding.component(decoded[..<colon]),
                                    password: try FormDecoding.component(decoded[(colon + 1)...]))
        } catch {
            throw .badEncoding(error)
        }
    }

    /// The header value a client sends (each half form-encoded first, per RFC 6749 §2.3.1).
    public var headerValue: String {
        let raw = PercentEncoding.formEncode(username) + ":" + PercentEncoding.formEncode(password)
        return "Basic " + Data(raw.utf8).base64EncodedString()
    }
}
