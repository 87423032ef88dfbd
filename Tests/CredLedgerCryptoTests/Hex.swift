extension Array where Element == UInt8 {
    /// Lowercase hex, for handing bytes to the oracles.
    var hexString: String {
        map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
        }.joined()
    }

    /// Bytes from hex; crashes the test on malformed input, which only comes from literals here.
    init(hex: String) {
        let chars = Array(hex.utf8)
        precondition(chars.count % 2 == 0)
        self = stride(from: 0, to: chars.count, by: 2).map { i in
            UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16)!
        }
    }
}
