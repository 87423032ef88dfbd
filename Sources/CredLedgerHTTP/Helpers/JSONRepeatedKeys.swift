import Foundation

/// Finds a member name repeated inside one JSON object. Parsers disagree on which of two equal names wins (Foundation
/// keeps the first, Python, Go, JavaScript and jq the last), so a body with one is refused rather than decided on.
public enum JSONRepeatedKeys {
    private enum Frame {
        case array
        case object(names: Set<String>, expectingName: Bool)
    }

    /// The first member name given twice in the same object, at any depth (names compared after unescaping, so
    /// `"a"` and `"\u0061"` are the same), or nil. Not a validator: malformed JSON is left to the decoder.
    public static func firstRepeated(in bytes: [UInt8]) -> String? {
        var stack: [Frame] = []
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"):
                stack.append(.object(names: [], expectingName: true))
            case UInt8(ascii: "["):
                stack.append(.array)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
            case UInt8(ascii: ","):
                if case .object(let names, _)? = stack.last { stack[stack.count - 1] = .object(names: names, expectingName: true) }
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                // A backslash escapes the next byte (`\"`, `\\`, the first byte of `\uXXXX`): no quote ends the string there.
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                guard i < bytes.count else { return nil }
                if case .object(var names, true)? = stack.last {
                    let name = self.name(bytes[start...i])
                    guard names.insert(name).inserted else { return name }
                    stack[stack.count - 1] = .object(names: names, expectingName: false)
                }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// The member name of a quoted JSON string token, unescaped (the raw text when it cannot be unescaped: the decoder
    /// refuses such a body anyway).
    private static func name(_ token: ArraySlice<UInt8>) -> String {
        let inner = token.dropFirst().dropLast()
        guard inner.contains(UInt8(ascii: "\\")) else { return String(decoding: inner, as: UTF8.self) }
        let decoded = try? JSONSerialization.jsonObject(with: Data(token), options: .fragmentsAllowed) as? String
        return decoded ?? String(decoding: token, as: UTF8.self)
    }
}
