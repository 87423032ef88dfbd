import Foundation

/// The wire model of credledger: one `Codable` type per request and response of every operation, with stable
/// snake_case keys. The CLI's `--json` output and the HTTP server are built from these types; docs/API.md is the
/// contract. Types hold plain JSON values (strings, integers, booleans, RFC 3339 times as strings) so that a
/// client can decode them without the engine; `Mapping/` builds them from engine results.
public enum API {
    /// The one JSON encoding of every API value: compact, keys sorted (stable for scripts and fixtures), `/`
    /// not escaped. Unsafe display characters are the caller's concern (the CLI escapes them after encoding).
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// `encode` as UTF-8 text.
    public static func encodeText<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    /// Decodes an API value; every key the contract marks "always" must be there (null where it allows null).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONDecoder().decode(type, from: data)
    }
}

/// A key that is always present in the JSON, `null` when the value is nil (an absent optional, the default for
/// `Optional` properties, leaves the key out). Decoding requires the key: its absence is a contract violation.
@propertyWrapper
public struct AlwaysPresent<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension API {
    /// A scalar of an event payload: text, a non-negative integer or a flag (docs/EXPORT.md, payload fields).
    public enum PayloadValue: Codable, Sendable, Equatable {
        case string(String)
        /// Payload integers are seqs, counts and numbers: never negative, up to 2⁶⁴ − 1 (a token family is a u64).
        case integer(UInt64)
        case bool(Bool)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let s = try? container.decode(String.self) {
                self = .string(s)
            } else if let b = try? container.decode(Bool.self) {
                self = .bool(b)
            } else {
                self = .integer(try container.decode(UInt64.self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let s): try container.encode(s)
            case .integer(let i): try container.encode(i)
            case .bool(let b): try container.encode(b)
            }
        }
    }

    /// The error body of every refused or malformed command (not OAuth endpoints, which answer `OAuthErrorBody`).
    public struct ErrorBody: Codable, Sendable, Equatable {
        /// The stable error code (`usage` for a malformed command line).
        public var error: String
        public var message: String

        public init(error: String, message: String) {
            self.error = error
            self.message = message
        }
    }

    /// The state an as-of view was read at: after event `seq`, whose time is `time`.
    public struct AsOf: Codable, Sendable, Equatable {
        public var seq: UInt64
        /// RFC 3339; null for `seq` 0 (before the first event).
        @AlwaysPresent public var time: String?

        public init(seq: UInt64, time: String?) {
            self.seq = seq
            self.time = time
        }
    }
}
