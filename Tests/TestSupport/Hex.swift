import Foundation

/// Bytes from a hex literal; whitespace and `_` are ignored so fixtures can be laid out field by field.
public func hexBytes(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
    let digits = Array(text.utf8.filter { !($0 == 0x20 || $0 == 0x0A || $0 == 0x5F) })
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: preconditionFailure("not a hex digit: \(c)")
        }
    }
    return stride(from: 0, to: digits.count, by: 2).map { nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
}

extension Array where Element == UInt8 {
    /// Lowercase hex, for fixtures and for handing bytes to the oracles.
    public var hex: String { map { String(format: "%02x", $0) }.joined() }
}
