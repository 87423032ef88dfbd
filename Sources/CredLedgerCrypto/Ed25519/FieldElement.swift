// GF(2^255 − 19) in radix 2^51: five UInt64 limbs, 128-bit products (the donna-64 / Go edwards25519 shape). Every operation runs the same instructions whatever the values: no branch, no table index and no
// `/` or `%` on limb contents, so secrets (the signing scalar, the nonce) can flow through it.
//
// Invariant ("loose" form): every limb of every value an operation returns is < 2^51 + 2^18 (`carried`), so a
// column of `*` is < 77·2^103 < 2^110 (see `Column`) and `-` never underflows (2p's limbs are ≥ 2^52 − 38).
// `bytes` reduces fully before encoding.

/// An element of the field GF(2^255 − 19): value = l0 + l1·2^51 + l2·2^102 + l3·2^153 + l4·2^204.
struct FieldElement: Sendable {
    var l0: UInt64
    var l1: UInt64
    var l2: UInt64
    var l3: UInt64
    var l4: UInt64

    static let mask51: UInt64 = (1 << 51) - 1

    static let zero = FieldElement(0, 0, 0, 0, 0)
    static let one = FieldElement(1, 0, 0, 0, 0)
    /// d = −121665/121666, the curve constant of edwards25519 (RFC 8032 §5.1).
    static let d = FieldElement(0x34_dca1_3597_8a3, 0x1a_8283_b156_ebd, 0x5e_7a26_001c_029, 0x73_9c66_3a03_cbb, 0x52_036c_ee2b_6ff)
    /// 2·d, used by the addition formula.
    static let d2 = FieldElement(0x69_b942_6b2f_159, 0x35_0507_62ad_d7a, 0x3c_f44c_0038_052, 0x67_38cc_7407_977, 0x24_06d9_dc56_dff)
    /// √−1 = 2^((p−1)/4), fixes the square root when the candidate's square is −u/v.
    static let sqrtMinusOne = FieldElement(0x61_b274_a0ea_0b0, 0x0d_5a5f_c8f1_89d, 0x7e_f5e9_cbd0_c60, 0x78_595a_6804_c9e, 0x2b_8324_804f_c1d)

    @inline(__always)
    init(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64, _ l4: UInt64) {
        self.l0 = l0
        self.l1 = l1
        self.l2 = l2
        self.l3 = l3
        self.l4 = l4
    }

    /// The little-endian 32 bytes `bytes[offset..<offset+32]` with bit 255 ignored (RFC 8032 §5.1.3 takes the
    /// sign from it); values p…2^255−1 are accepted here and reduce to 0…18 — callers wanting y < p check it.
    init(bytes: [UInt8], offset: Int = 0) {
        precondition(bytes.count >= offset + 32, "FieldElement needs 32 bytes")
        func word(_ index: Int) -> UInt64 {
            var value: UInt64 = 0
            for byte in 0..<8 { value |= UInt64(bytes[offset + index * 8 + byte]) << (8 * UInt64(byte)) }
            return value
        }
        let w0 = word(0), w1 = word(1), w2 = word(2), w3 = word(3)
        l0 = w0 & Self.mask51
        l1 = (w0 >> 51 | w1 << 13) & Self.mask51
        l2 = (w1 >> 38 | w2 << 26) & Self.mask51
        l3 = (w2 >> 25 | w3 << 39) & Self.mask51
        l4 = (w3 >> 12) & Self.mask51
    }

    /// The canonical little-endian encoding: the value fully reduced to 0…p−1, bit 255 clear.
    var bytes: [UInt8] {
        let r = reduced()
        let words = [
            r.l0 | r.l1 << 51,
            r.l1 >> 13 | r.l2 << 38,
            r.l2 >> 26 | r.l3 << 25,
            r.l3 >> 39 | r.l4 << 12,
        ]
        var out = [UInt8](repeating: 0, count: 32)
        for index in 0..<4 {
            for byte in 0..<8 { out[index * 8 + byte] = UInt8(truncatingIfNeeded: words[index] >> (8 * UInt64(byte))) }
        }
        return out
    }

    /// Limbs < 2^51 + 2^13·19: each limb's carry goes to the next, the top carry wraps round times 19
    /// (2^255 ≡ 19).
    @inline(__always)
    func carried() -> FieldElement {
        let c0 = l0 &>> 51, c1 = l1 &>> 51, c2 = l2 &>> 51, c3 = l3 &>> 51, c4 = l4 &>> 51
        return FieldElement(
            (l0 & Self.mask51) &+ c4 &* 19,
            (l1 & Self.mask51) &+ c0,
            (l2 & Self.mask51) &+ c1,
            (l3 & Self.mask51) &+ c2,
            (l4 & Self.mask51) &+ c3
        )
    }

    /// The unique representative 0…p−1, limbs < 2^51 (Go edwards25519's `reduce`, branch-free).
    func reduced() -> FieldElement {
        var v = carried()
        // v < 2^255 + 2^13·19 now. c = 1 exactly when v ≥ p (v + 19 carries out of bit 255).
        var c = (v.l0 &+ 19) &>> 51
        c = (v.l1 &+ c) &>> 51
        c = (v.l2 &+ c) &>> 51
        c = (v.l3 &+ c) &>> 51
        c = (v.l4 &+ c) &>> 51
        // Subtract c·p = add 19·c and drop bit 255.
        v.l0 &+= 19 &* c
        v.l1 &+= v.l0 &>> 51
        v.l0 &= Self.mask51
        v.l2 &+= v.l1 &>> 51
        v.l1 &= Self.mask51
        v.l3 &+= v.l2 &>> 51
        v.l2 &= Self.mask51
        v.l4 &+= v.l3 &>> 51
        v.l3 &= Self.mask51
        v.l4 &= Self.mask51
        return v
    }

    @inline(__always)
    static func + (a: FieldElement, b: FieldElement) -> FieldElement {
        FieldElement(a.l0 &+ b.l0, a.l1 &+ b.l1, a.l2 &+ b.l2, a.l3 &+ b.l3, a.l4 &+ b.l4).carried()
    }

    /// a − b computed as (a + 2p) − b so no limb goes negative (b's limbs are < 2^52 − 38 ≤ 2p's).
    @inline(__always)
    static func - (a: FieldElement, b: FieldElement) -> FieldElement {
        FieldElement(
            (a.l0 &+ 0xF_FFFF_FFFF_FFDA) &- b.l0,
            (a.l1 &+ 0xF_FFFF_FFFF_FFFE) &- b.l1,
            (a.l2 &+ 0xF_FFFF_FFFF_FFFE) &- b.l2,
            (a.l3 &+ 0xF_FFFF_FFFF_FFFE) &- b.l3,
            (a.l4 &+ 0xF_FFFF_FFFF_FFFE) &- b.l4
        ).carried()
    }

    @inline(__always)
    static prefix func - (a: FieldElement) -> FieldElement { .zero - a }

    /// Carries the five column sums into loose limbs: column i's part above 2^51 moves to column i + 1, and the
    /// part of column 4 above 2^255 wraps round times 19 (2^255 ≡ 19).
    @inline(__always)
    private static func fold(_ c0: Column, _ c1: Column, _ c2: Column, _ c3: Column, _ c4: Column) -> FieldElement {
        let k0 = c0.carry, k1 = c1.carry, k2 = c2.carry, k3 = c3.carry, k4 = c4.carry
        return FieldElement(
            (c0.low & mask51) &+ k4 &* 19,
            (c1.low & mask51) &+ k0,
            (c2.low & mask51) &+ k1,
            (c3.low & mask51) &+ k2,
            (c4.low & mask51) &+ k3
        ).carried()
    }

    /// Schoolbook 5×5 with the high half folded by 2^255 ≡ 19.
    @inline(__always)
    static func * (a: FieldElement, b: FieldElement) -> FieldElement {
        let b1 = b.l1 &* 19, b2 = b.l2 &* 19, b3 = b.l3 &* 19, b4 = b.l4 &* 19
        var c0 = Column(), c1 = Column(), c2 = Column(), c3 = Column(), c4 = Column()
        c0.add(a.l0, b.l0); c0.add(a.l1, b4); c0.add(a.l2, b3); c0.add(a.l3, b2); c0.add(a.l4, b1)
        c1.add(a.l0, b.l1); c1.add(a.l1, b.l0); c1.add(a.l2, b4); c1.add(a.l3, b3); c1.add(a.l4, b2)
        c2.add(a.l0, b.l2); c2.add(a.l1, b.l1); c2.add(a.l2, b.l0); c2.add(a.l3, b4); c2.add(a.l4, b3)
        c3.add(a.l0, b.l3); c3.add(a.l1, b.l2); c3.add(a.l2, b.l1); c3.add(a.l3, b.l0); c3.add(a.l4, b4)
        c4.add(a.l0, b.l4); c4.add(a.l1, b.l3); c4.add(a.l2, b.l2); c4.add(a.l3, b.l1); c4.add(a.l4, b.l0)
        return fold(c0, c1, c2, c3, c4)
    }

    /// self², the symmetric products counted once and doubled.
    @inline(__always)
    func squared() -> FieldElement {
        let d0 = l0 &* 2, d1 = l1 &* 2, d2 = l2 &* 2, d3 = l3 &* 2
        let s3 = l3 &* 19, s4 = l4 &* 19
        var c0 = Column(), c1 = Column(), c2 = Column(), c3 = Column(), c4 = Column()
        c0.add(l0, l0); c0.add(d1, s4); c0.add(d2, s3)
        c1.add(d0, l1); c1.add(d2, s4); c1.add(l3, s3)
        c2.add(d0, l2); c2.add(l1, l1); c2.add(d3, s4)
        c3.add(d0, l3); c3.add(d1, l2); c3.add(l4, s4)
        c4.add(d0, l4); c4.add(d1, l3); c4.add(l2, l2)
        return Self.fold(c0, c1, c2, c3, c4)
    }

    /// self^(2^count); `count` is a public constant of an addition chain.
    func squared(times count: Int) -> FieldElement {
        var v = self
        for _ in 0..<count { v = v.squared() }
        return v
    }

    /// self^(p−2) = 1/self (0 for 0), by the fixed chain of ref10 / Go: 254 squarings, 11 multiplications.
    func inverted() -> FieldElement {
        let z2 = squared()                                   // 2
        let z9 = z2.squared(times: 2) * self                 // 9
        let z11 = z9 * z2                                    // 11
        let z2_5_0 = z11.squared() * z9                      // 2^5 − 1
        let z2_10_0 = z2_5_0.squared(times: 5) * z2_5_0      // 2^10 − 1
        let z2_20_0 = z2_10_0.squared(times: 10) * z2_10_0   // 2^20 − 1
        let z2_40_0 = z2_20_0.squared(times: 20) * z2_20_0   // 2^40 − 1
        let z2_50_0 = z2_40_0.squared(times: 10) * z2_10_0   // 2^50 − 1
        let z2_100_0 = z2_50_0.squared(times: 50) * z2_50_0  // 2^100 − 1
        let z2_200_0 = z2_100_0.squared(times: 100) * z2_100_0 // 2^200 − 1
        let z2_250_0 = z2_200_0.squared(times: 50) * z2_50_0 // 2^250 − 1
        return z2_250_0.squared(times: 5) * z11              // 2^255 − 32 + 11 = p − 2
    }

    /// self^((p−5)/8) = self^(2^252 − 3), the core of the square root x = (u/v)^((p+3)/8).
    func pow22523() -> FieldElement {
        let z2 = squared()
        let z9 = z2.squared(times: 2) * self
        let z11 = z9 * z2
        let z2_5_0 = z11.squared() * z9
        let z2_10_0 = z2_5_0.squared(times: 5) * z2_5_0
        let z2_20_0 = z2_10_0.squared(times: 10) * z2_10_0
        let z2_40_0 = z2_20_0.squared(times: 20) * z2_20_0
        let z2_50_0 = z2_40_0.squared(times: 10) * z2_10_0
        let z2_100_0 = z2_50_0.squared(times: 50) * z2_50_0
        let z2_200_0 = z2_100_0.squared(times: 100) * z2_100_0
        let z2_250_0 = z2_200_0.squared(times: 50) * z2_50_0
        return z2_250_0.squared(times: 2) * self             // 2^252 − 4 + 1
    }

    /// The least significant bit of the canonical value (RFC 8032's "x is negative"), as 0 or 1.
    var isNegative: UInt64 { UInt64(bytes[0] & 1) }

    /// Equality of the values (not the limbs); used on public data only.
    func equals(_ other: FieldElement) -> Bool { bytes == other.bytes }

    /// true for the value 0 (any representation); used on public data only.
    var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    /// `a` where `mask` is all ones, `b` where it is zero — no branch.
    @inline(__always)
    static func select(_ a: FieldElement, _ b: FieldElement, mask: UInt64) -> FieldElement {
        FieldElement(
            (a.l0 & mask) | (b.l0 & ~mask),
            (a.l1 & mask) | (b.l1 & ~mask),
            (a.l2 & mask) | (b.l2 & ~mask),
            (a.l3 & mask) | (b.l3 & ~mask),
            (a.l4 & mask) | (b.l4 & ~mask)
        )
    }

    /// √(u/v) by RFC 8032 §5.1.3 step 3, or nil when u/v is not a square. Decoding only (public input).
    static func squareRootOfRatio(_ u: FieldElement, _ v: FieldElement) -> FieldElement? {
        let v3 = v.squared() * v
        let v7 = v3.squared() * v
        let x = u * v3 * (u * v7).pow22523()
        let check = v * x.squared()
        if check.equals(u) { return x }
        if check.equals(-u) { return x * sqrtMinusOne }
        return nil
    }
}

/// One column of a product: a sum of 128-bit products kept split at bit 51 — `low` adds up the bits below 2^51,
/// `high` the rest, shifted down. For loose inputs a column has at most 5 terms each < 19·2^103, so `low` < 2^54
/// and `high` < 2^58: plain wrapping adds, no carry to track, no branch.
///
/// Swift 6's UInt128 works on this toolchain, but its conversions from UInt64 are generic and run ~150× slower
/// unoptimised (the test suite's debug build: 12 ms a signature); `multipliedFullWidth` is concrete.
private struct Column {
    var low: UInt64 = 0
    var high: UInt64 = 0

    /// Adds a·b.
    @inline(__always)
    mutating func add(_ a: UInt64, _ b: UInt64) {
        let product = a.multipliedFullWidth(by: b)
        low &+= product.low & FieldElement.mask51
        // product < 2^115, so its high word is < 2^51 and this shift loses nothing.
        high &+= (product.low &>> 51) | (product.high &<< 13)
    }

    /// ⌊column / 2^51⌋.
    @inline(__always)
    var carry: UInt64 { high &+ (low &>> 51) }
}
