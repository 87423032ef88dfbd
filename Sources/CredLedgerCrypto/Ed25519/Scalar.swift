// Integers modulo the group order L = 2^252 + 27742317777372353535851937790883648493.
//
// Reduction is a bit-serial restoring division: r = 2r + bit, then r − L replaces r unless it borrowed, chosen
// by a mask. 512 identical steps for any input — no branch, no index, no `/` or `%` on the value — and simple
// enough to check by eye; its few microseconds are nothing next to the base-point multiplication.

/// Arithmetic modulo L on little-endian byte strings (the encoding RFC 8032 uses for scalars).
enum Scalar {
    /// L as four little-endian 64-bit words.
    static let order: (UInt64, UInt64, UInt64, UInt64) = (0x5812_631a_5cf5_d3ed, 0x14de_f9de_a2f7_9cd6, 0, 0x1000_0000_0000_0000)

    /// L's 32-byte little-endian encoding.
    static let orderBytes: [UInt8] = wordsToBytes([order.0, order.1, order.2, order.3])

    /// `bytes` (64, little-endian: a SHA-512 digest) reduced mod L, as 32 bytes. Constant time.
    static func reduce(_ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count == 64, "reduce takes 64 bytes")
        return reduceWords(bytesToWords(bytes))
    }

    /// (k·a + r) mod L for any 256-bit little-endian k, a, r (32 bytes each): S of RFC 8032 §5.1.6. Constant time.
    static func multiplyAdd(_ k: [UInt8], _ a: [UInt8], _ r: [UInt8]) -> [UInt8] {
        precondition(k.count == 32 && a.count == 32 && r.count == 32, "multiplyAdd takes 32-byte scalars")
        let x = bytesToWords(k), y = bytesToWords(a), z = bytesToWords(r)
        // Schoolbook 4×4 → 8 words; x·y + product + carry ≤ (2^64−1)² + 2(2^64−1) = 2^128 − 1 fits two words.
        var product = [UInt64](repeating: 0, count: 8)
        for i in 0..<4 {
            var carry: UInt64 = 0
            for j in 0..<4 {
                let wide = x[i].multipliedFullWidth(by: y[j])
                let (low1, carry1) = addWithCarry(wide.low, product[i + j], 0)
                let (low2, carry2) = addWithCarry(low1, carry, 0)
                product[i + j] = low2
                carry = wide.high &+ carry1 &+ carry2
            }
            product[i + 4] = carry
        }
        // + r, carried through all 8 words (k·a + r < 2^512 because k·a ≤ (2^256−1)², r < 2^256).
        var carry: UInt64 = 0
        for i in 0..<8 {
            (product[i], carry) = addWithCarry(product[i], i < 4 ? z[i] : 0, carry)
        }
        return reduceWords(product)
    }

    /// true when the 32 little-endian bytes encode an integer < L (RFC 8032 §5.1.7 / §8.4). Public data only.
    static func isCanonical(_ bytes: [UInt8]) -> Bool {
        precondition(bytes.count == 32, "a scalar is 32 bytes")
        let words = bytesToWords(bytes)
        let l = [order.0, order.1, order.2, order.3]
        for i in stride(from: 3, through: 0, by: -1) where words[i] != l[i] {
            return words[i] < l[i]
        }
        return false  // equal to L
    }

    /// A multiple-of-64-bit little-endian integer (8 words) mod L, as 32 bytes.
    private static func reduceWords(_ n: [UInt64]) -> [UInt8] {
        var r0: UInt64 = 0, r1: UInt64 = 0, r2: UInt64 = 0, r3: UInt64 = 0
        for bitIndex in stride(from: n.count * 64 - 1, through: 0, by: -1) {
            let bit = (n[bitIndex >> 6] &>> UInt64(truncatingIfNeeded: bitIndex)) & 1
            // r < L < 2^253, so 2r + 1 < 2^254: the shift loses nothing.
            r3 = r3 &<< 1 | r2 &>> 63
            r2 = r2 &<< 1 | r1 &>> 63
            r1 = r1 &<< 1 | r0 &>> 63
            r0 = r0 &<< 1 | bit
            // t = r − L, borrows propagated word by word.
            let (t0, b0) = subtractWithBorrow(r0, order.0, 0)
            let (t1, b1) = subtractWithBorrow(r1, order.1, b0)
            let (t2, b2) = subtractWithBorrow(r2, order.2, b1)
            let (t3, b3) = subtractWithBorrow(r3, order.3, b2)
            // keep = all ones when r − L borrowed (r < L): keep r; otherwise take r − L.
            let keep = 0 &- b3
            r0 = (r0 & keep) | (t0 & ~keep)
            r1 = (r1 & keep) | (t1 & ~keep)
            r2 = (r2 & keep) | (t2 & ~keep)
            r3 = (r3 & keep) | (t3 & ~keep)
        }
        return wordsToBytes([r0, r1, r2, r3])
    }

    /// a + b + carry (carry 0 or 1) and the carry out, from bit logic (no flag read through a branch).
    @inline(__always)
    private static func addWithCarry(_ a: UInt64, _ b: UInt64, _ carry: UInt64) -> (UInt64, UInt64) {
        let sum = a &+ b &+ carry
        return (sum, ((a & b) | ((a | b) & ~sum)) &>> 63)
    }

    /// a − b − borrow (borrow 0 or 1) and the borrow out (Hacker's Delight 2-16).
    @inline(__always)
    private static func subtractWithBorrow(_ a: UInt64, _ b: UInt64, _ borrow: UInt64) -> (UInt64, UInt64) {
        let difference = a &- b &- borrow
        return (difference, ((~a & b) | (~(a ^ b) & difference)) &>> 63)
    }

    private static func bytesToWords(_ bytes: [UInt8]) -> [UInt64] {
        (0..<(bytes.count / 8)).map { index in
            var value: UInt64 = 0
            for byte in 0..<8 { value |= UInt64(bytes[index * 8 + byte]) << (8 * UInt64(byte)) }
            return value
        }
    }

    private static func wordsToBytes(_ words: [UInt64]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: words.count * 8)
        for (index, word) in words.enumerated() {
            for byte in 0..<8 { out[index * 8 + byte] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(byte))) }
        }
        return out
    }
}
