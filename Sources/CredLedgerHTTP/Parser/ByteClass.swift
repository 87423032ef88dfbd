/// Character classes of RFC 9110/9112/3986 as 256-entry tables: the parser tests one byte with one load.
enum ByteClass {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    static let sp: UInt8 = 32
    static let htab: UInt8 = 9

    private static let tcharBit: UInt8 = 1       // tchar (RFC 9110 §5.6.2)
    private static let valueBit: UInt8 = 2       // field-vchar, SP, HTAB, obs-text (RFC 9110 §5.5): no CTL
    private static let pcharBit: UInt8 = 4       // unreserved / sub-delims / ":" / "@" (RFC 3986 §3.3), "%" checked apart
    private static let queryBit: UInt8 = 8       // pchar / "/" / "?"
    private static let hexBit: UInt8 = 16
    private static let regNameBit: UInt8 = 32    // unreserved / sub-delims (RFC 3986 §3.2.2)

    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 256)
        let alnum = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
        for c in alnum { t[Int(c)] |= tcharBit | pcharBit | queryBit | regNameBit }
        for c in "!#$%&'*+-.^_`|~".utf8 { t[Int(c)] |= tcharBit }
        for c in "-._~!$&'()*+,;=".utf8 { t[Int(c)] |= pcharBit | queryBit | regNameBit }
        for c in ":@".utf8 { t[Int(c)] |= pcharBit | queryBit }
        for c in "/?".utf8 { t[Int(c)] |= queryBit }
        t[Int(UInt8(ascii: "%"))] |= queryBit
        for c in "0123456789abcdefABCDEF".utf8 { t[Int(c)] |= hexBit }
        for c in 0x21...0x7E { t[c] |= valueBit }
        for c in 0x80...0xFF { t[c] |= valueBit }
        t[Int(sp)] |= valueBit
        t[Int(htab)] |= valueBit
        return t
    }()

    @inline(__always) static func isToken(_ b: UInt8) -> Bool { table[Int(b)] & tcharBit != 0 }
    @inline(__always) static func isValue(_ b: UInt8) -> Bool { table[Int(b)] & valueBit != 0 }
    @inline(__always) static func isPathChar(_ b: UInt8) -> Bool { table[Int(b)] & pcharBit != 0 }
    @inline(__always) static func isQueryChar(_ b: UInt8) -> Bool { table[Int(b)] & queryBit != 0 }
    @inline(__always) static func isHex(_ b: UInt8) -> Bool { table[Int(b)] & hexBit != 0 }
    @inline(__always) static func isRegName(_ b: UInt8) -> Bool { table[Int(b)] & regNameBit != 0 }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) static func isWhitespace(_ b: UInt8) -> Bool { b == sp || b == htab }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// The value of one hex digit (the caller checked `isHex`).
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt8 {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        default: return b - 0x61 + 10
        }
    }

    /// ASCII case-insensitive equality of bytes with a lowercase literal.
    static func equalsLowercase(_ bytes: some Collection<UInt8>, _ literal: String) -> Bool {
        bytes.count == literal.utf8.count && zip(bytes, literal.utf8).allSatisfy { lower($0) == $1 }
    }
}
