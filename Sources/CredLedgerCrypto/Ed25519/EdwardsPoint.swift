// Points of edwards25519 (−x² + y² = 1 + d·x²·y²) in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z,
// x·y = T/Z, with the formulas of Hisil, Wong, Carter, Dawson 2008 for a = −1 as RFC 8032 §5.1.4 gives them.
// Both formulas are complete (d is not a square), so the constant-time ladder needs no special cases.

/// A point of edwards25519 in extended coordinates.
struct EdwardsPoint: Sendable {
    var x: FieldElement
    var y: FieldElement
    var z: FieldElement
    var t: FieldElement

    /// The neutral element (0, 1).
    static let identity = EdwardsPoint(x: .zero, y: .one, z: .one, t: .zero)

    /// The base point B: y = 4/5, x even (RFC 8032 §5.1).
    static let base: EdwardsPoint = {
        var encoding = [UInt8](repeating: 0x66, count: 32)
        encoding[0] = 0x58
        guard case .success(let point) = EdwardsPoint.decode(encoding) else {
            preconditionFailure("the base point encoding must decode")
        }
        return point
    }()

    /// Why 32 bytes are not a point (RFC 8032 §5.1.3).
    enum DecodingFailure: Error {
        /// y ≥ p, or x = 0 with the sign bit set: a second spelling of some point.
        case nonCanonical
        /// (y² − 1)/(d·y² + 1) has no square root: no point has this y.
        case notOnCurve
    }

    /// Strict RFC 8032 §5.1.3 decoding of a 32-byte encoding: y < p, x recovered, no x = 0 with the sign bit.
    /// Variable time: only public values (keys, R) are decoded.
    static func decode(_ bytes: [UInt8]) -> Result<EdwardsPoint, DecodingFailure> {
        precondition(bytes.count == 32, "an encoded point is 32 bytes")
        let sign = UInt64(bytes[31] >> 7)
        let y = FieldElement(bytes: bytes)
        // y < p ⇔ its canonical encoding gives back the input (with the sign bit cleared).
        var withoutSign = bytes
        withoutSign[31] &= 0x7F
        guard y.bytes == withoutSign else { return .failure(.nonCanonical) }

        let y2 = y.squared()
        let u = y2 - .one
        let v = y2 * .d + .one
        guard var x = FieldElement.squareRootOfRatio(u, v) else { return .failure(.notOnCurve) }
        if x.isZero && sign == 1 { return .failure(.nonCanonical) }
        if x.isNegative != sign { x = -x }
        return .success(EdwardsPoint(x: x, y: y, z: .one, t: x * y))
    }

    /// The 32-byte encoding: y, with x's low bit in bit 255 (RFC 8032 §5.1.2). Constant time.
    var encoded: [UInt8] {
        let zInverse = z.inverted()
        let affineX = x * zInverse
        let affineY = y * zInverse
        var out = affineY.bytes
        out[31] |= UInt8(truncatingIfNeeded: affineX.isNegative << 7)
        return out
    }

    /// p + q (complete: also right for p = q and for the identity).
    @inline(__always)
    static func + (p: EdwardsPoint, q: EdwardsPoint) -> EdwardsPoint {
        let a = (p.y - p.x) * (q.y - q.x)
        let b = (p.y + p.x) * (q.y + q.x)
        let c = p.t * FieldElement.d2 * q.t
        let zz = p.z * q.z
        let d = zz + zz
        let e = b - a, f = d - c, g = d + c, h = b + a
        return EdwardsPoint(x: e * f, y: g * h, z: f * g, t: e * h)
    }

    /// −p = (−x, y).
    var negated: EdwardsPoint { EdwardsPoint(x: -x, y: y, z: z, t: -t) }

    /// 2p (RFC 8032 §5.1.4 doubling).
    @inline(__always)
    func doubled() -> EdwardsPoint {
        let a = x.squared()
        let b = y.squared()
        let zz = z.squared()
        let c = zz + zz
        let h = a + b
        let e = h - (x + y).squared()
        let g = a - b
        let f = c + g
        return EdwardsPoint(x: e * f, y: g * h, z: f * g, t: e * h)
    }

    /// `a` where `mask` is all ones, `b` where it is zero — no branch.
    @inline(__always)
    static func select(_ a: EdwardsPoint, _ b: EdwardsPoint, mask: UInt64) -> EdwardsPoint {
        EdwardsPoint(
            x: .select(a.x, b.x, mask: mask),
            y: .select(a.y, b.y, mask: mask),
            z: .select(a.z, b.z, mask: mask),
            t: .select(a.t, b.t, mask: mask)
        )
    }

    /// true for the neutral element: X = 0 and Y = Z. Public data only.
    var isIdentity: Bool { x.isZero && (y - z).isZero }

    /// true when [8]P = O, i.e. P is one of the 8 points of small order (the torsion subgroup).
    var hasSmallOrder: Bool { doubled().doubled().doubled().isIdentity }

    /// [scalar]B for a secret 256-bit little-endian scalar: 256 doublings, 256 additions, a masked select each
    /// step — the same operations whatever the bits (no branch or index on them).
    static func baseMultiple(_ scalar: [UInt8]) -> EdwardsPoint {
        precondition(scalar.count == 32, "a scalar is 32 bytes")
        var q = identity
        for bitIndex in stride(from: 255, through: 0, by: -1) {
            q = q.doubled()
            let bit = UInt64((scalar[bitIndex >> 3] >> UInt8(bitIndex & 7)) & 1)
            q = select(q + base, q, mask: 0 &- bit)
        }
        return q
    }

    /// [s]B + [k]P by joint double-and-add (Straus/Shamir). Variable time: verification only (public inputs).
    static func combination(s: [UInt8], base: EdwardsPoint, k: [UInt8], point: EdwardsPoint) -> EdwardsPoint {
        precondition(s.count == 32 && k.count == 32, "scalars are 32 bytes")
        let both = base + point
        var q = identity
        for bitIndex in stride(from: 255, through: 0, by: -1) {
            q = q.doubled()
            let sBit = (s[bitIndex >> 3] >> UInt8(bitIndex & 7)) & 1
            let kBit = (k[bitIndex >> 3] >> UInt8(bitIndex & 7)) & 1
            switch (sBit, kBit) {
            case (1, 1): q = q + both
            case (1, 0): q = q + base
            case (0, 1): q = q + point
            default: break
            }
        }
        return q
    }
}
