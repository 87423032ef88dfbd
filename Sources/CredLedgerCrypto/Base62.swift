/// Base62 with alphabet 0-9A-Za-z (in that order).
public enum Base62 {
    /// The 62 digit characters as ASCII bytes, digit value = index.
    public static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    // A value needing more than `width` digits is written in full rather than truncated,
    // so the result never silently denotes a different number.
    /// fixed-width big-endian base62 of a UInt32, left-padded with "0" (width 6 holds any UInt32).
    public static func encode(_ value: UInt32, width: Int) -> String {
        precondition(width >= 0, "Base62.encode: negative width")
        // 6 digits cover UInt32.max (62^6 > 2^32).
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            var v = value
            repeat {
                raw[count] = UInt8(v % 62)
                v /= 62
                count += 1
            } while v > 0
        }
        let length = Swift.max(width, count)
        return String(unsafeUninitializedCapacity: length) { out in
            withUnsafeBytes(of: &digits) { raw in
                for i in 0..<length {
                    // Least significant digit last; positions beyond the digits are padding.
                    let place = length - 1 - i
                    out[i] = place < count ? digitCharacter(raw[place]) : UInt8(ascii: "0")
                }
            }
            return length
        }
    }

    /// Parses big-endian base62; nil on an empty string, a non-alphabet byte, or a value above UInt32.max.
    public static func decodeUInt32(_ text: Substring) -> UInt32? {
        var result: UInt32 = 0
        var sawDigit = false
        for byte in text.utf8 {
            guard let digit = digitValue(byte) else { return nil }
            let (shifted, overflow1) = result.multipliedReportingOverflow(by: 62)
            let (sum, overflow2) = shifted.addingReportingOverflow(UInt32(digit))
            guard !overflow1, !overflow2 else { return nil }
            result = sum
            sawDigit = true
        }
        return sawDigit ? result : nil
    }

    /// true for 0-9, A-Z and a-z.
    ///
    /// A bit test against two 64-bit masks (bytes 0–63, 64–127), no branch: inlinable, as the authorization decision
    /// checks the 42 base62 bytes of every presented secret with it.
    @inlinable @inline(__always)
    public static func isValid(_ byte: UInt8) -> Bool {
        // Bits 48–57: "0"–"9". Bits 1–26 and 33–58 of the upper half: "A"–"Z" (65–90) and "a"–"z" (97–122).
        let mask: UInt64 = byte & 0x40 == 0 ? 0x03FF_0000_0000_0000 : 0x07FF_FFFE_07FF_FFFE
        return byte < 0x80 && (mask >> UInt64(byte & 0x3F)) & 1 == 1
    }

    /// The character of base62 digit `digit` (0…61), as `alphabet[digit]` without touching the shared array.
    ///
    /// Without a branch (the checksum's digits are random, so a switch on their range mispredicted): "0" + digit, plus
    /// the 7 between "9" and "A" from 10 on, plus the 6 between "Z" and "a" from 36 on.
    @inlinable @inline(__always)
    public static func digitCharacter(_ digit: UInt8) -> UInt8 {
        UInt8(ascii: "0") &+ digit &+ (digit >= 10 ? 7 : 0) &+ (digit >= 36 ? 6 : 0)
    }

    @inline(__always)
    private static func digitValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte &- UInt8(ascii: "A") &+ 10
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return byte &- UInt8(ascii: "a") &+ 36
        default: return nil
        }
    }
}
