// The pure-Swift SHA-256 compression function, used when the CPU lacks SHA extensions.
//
// Written for speed without allocation: the 64 rounds are fully unrolled with the round
// constants as literals, the eight working variables rotate by renaming (no shuffling
// assignments), and the message schedule is a 16-word window kept in locals.

extension SHA256 {
    /// Runs the FIPS 180-4 compression function over `blockCount` 64-byte blocks at `blocks`.
    internal static func compressPortable(_ state: inout State, _ blocks: UnsafeRawPointer, blockCount: Int) {
        var (a, b, c, d, e, f, g, h) = state
        var p = blocks
        for _ in 0..<blockCount {
            let (sa, sb, sc, sd, se, sf, sg, sh) = (a, b, c, d, e, f, g, h)
            var w0 = p.loadUnaligned(fromByteOffset: 0, as: UInt32.self).bigEndian
            var w1 = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).bigEndian
            var w2 = p.loadUnaligned(fromByteOffset: 8, as: UInt32.self).bigEndian
            var w3 = p.loadUnaligned(fromByteOffset: 12, as: UInt32.self).bigEndian
            var w4 = p.loadUnaligned(fromByteOffset: 16, as: UInt32.self).bigEndian
            var w5 = p.loadUnaligned(fromByteOffset: 20, as: UInt32.self).bigEndian
            var w6 = p.loadUnaligned(fromByteOffset: 24, as: UInt32.self).bigEndian
            var w7 = p.loadUnaligned(fromByteOffset: 28, as: UInt32.self).bigEndian
            var w8 = p.loadUnaligned(fromByteOffset: 32, as: UInt32.self).bigEndian
            var w9 = p.loadUnaligned(fromByteOffset: 36, as: UInt32.self).bigEndian
            var w10 = p.loadUnaligned(fromByteOffset: 40, as: UInt32.self).bigEndian
            var w11 = p.loadUnaligned(fromByteOffset: 44, as: UInt32.self).bigEndian
            var w12 = p.loadUnaligned(fromByteOffset: 48, as: UInt32.self).bigEndian
            var w13 = p.loadUnaligned(fromByteOffset: 52, as: UInt32.self).bigEndian
            var w14 = p.loadUnaligned(fromByteOffset: 56, as: UInt32.self).bigEndian
            var w15 = p.loadUnaligned(fromByteOffset: 60, as: UInt32.self).bigEndian
            round(a, b, c, &d, e, f, g, &h, 0x428a2f98 &+ w0)
            round(h, a, b, &c, d, e, f, &g, 0x71374491 &+ w1)
            round(g, h, a, &b, c, d, e, &f, 0xb5c0fbcf &+ w2)
            round(f, g, h, &a, b, c, d, &e, 0xe9b5dba5 &+ w3)
            round(e, f, g, &h, a, b, c, &d, 0x3956c25b &+ w4)
            round(d, e, f, &g, h, a, b, &c, 0x59f111f1 &+ w5)
            round(c, d, e, &f, g, h, a, &b, 0x923f82a4 &+ w6)
            round(b, c, d, &e, f, g, h, &a, 0xab1c5ed5 &+ w7)
            round(a, b, c, &d, e, f, g, &h, 0xd807aa98 &+ w8)
            round(h, a, b, &c, d, e, f, &g, 0x12835b01 &+ w9)
            round(g, h, a, &b, c, d, e, &f, 0x243185be &+ w10)
            round(f, g, h, &a, b, c, d, &e, 0x550c7dc3 &+ w11)
            round(e, f, g, &h, a, b, c, &d, 0x72be5d74 &+ w12)
            round(d, e, f, &g, h, a, b, &c, 0x80deb1fe &+ w13)
            round(c, d, e, &f, g, h, a, &b, 0x9bdc06a7 &+ w14)
            round(b, c, d, &e, f, g, h, &a, 0xc19bf174 &+ w15)
            w0 = schedule(w0, w1, w9, w14)
            round(a, b, c, &d, e, f, g, &h, 0xe49b69c1 &+ w0)
            w1 = schedule(w1, w2, w10, w15)
            round(h, a, b, &c, d, e, f, &g, 0xefbe4786 &+ w1)
            w2 = schedule(w2, w3, w11, w0)
            round(g, h, a, &b, c, d, e, &f, 0x0fc19dc6 &+ w2)
            w3 = schedule(w3, w4, w12, w1)
            round(f, g, h, &a, b, c, d, &e, 0x240ca1cc &+ w3)
            w4 = schedule(w4, w5, w13, w2)
            round(e, f, g, &h, a, b, c, &d, 0x2de92c6f &+ w4)
            w5 = schedule(w5, w6, w14, w3)
            round(d, e, f, &g, h, a, b, &c, 0x4a7484aa &+ w5)
            w6 = schedule(w6, w7, w15, w4)
            round(c, d, e, &f, g, h, a, &b, 0x5cb0a9dc &+ w6)
            w7 = schedule(w7, w8, w0, w5)
            round(b, c, d, &e, f, g, h, &a, 0x76f988da &+ w7)
            w8 = schedule(w8, w9, w1, w6)
            round(a, b, c, &d, e, f, g, &h, 0x983e5152 &+ w8)
            w9 = schedule(w9, w10, w2, w7)
            round(h, a, b, &c, d, e, f, &g, 0xa831c66d &+ w9)
            w10 = schedule(w10, w11, w3, w8)
            round(g, h, a, &b, c, d, e, &f, 0xb00327c8 &+ w10)
            w11 = schedule(w11, w12, w4, w9)
            round(f, g, h, &a, b, c, d, &e, 0xbf597fc7 &+ w11)
            w12 = schedule(w12, w13, w5, w10)
            round(e, f, g, &h, a, b, c, &d, 0xc6e00bf3 &+ w12)
            w13 = schedule(w13, w14, w6, w11)
            round(d, e, f, &g, h, a, b, &c, 0xd5a79147 &+ w13)
            w14 = schedule(w14, w15, w7, w12)
            round(c, d, e, &f, g, h, a, &b, 0x06ca6351 &+ w14)
            w15 = schedule(w15, w0, w8, w13)
            round(b, c, d, &e, f, g, h, &a, 0x14292967 &+ w15)
            w0 = schedule(w0, w1, w9, w14)
            round(a, b, c, &d, e, f, g, &h, 0x27b70a85 &+ w0)
            w1 = schedule(w1, w2, w10, w15)
            round(h, a, b, &c, d, e, f, &g, 0x2e1b2138 &+ w1)
            w2 = schedule(w2, w3, w11, w0)
            round(g, h, a, &b, c, d, e, &f, 0x4d2c6dfc &+ w2)
            w3 = schedule(w3, w4, w12, w1)
            round(f, g, h, &a, b, c, d, &e, 0x53380d13 &+ w3)
            w4 = schedule(w4, w5, w13, w2)
            round(e, f, g, &h, a, b, c, &d, 0x650a7354 &+ w4)
            w5 = schedule(w5, w6, w14, w3)
            round(d, e, f, &g, h, a, b, &c, 0x766a0abb &+ w5)
            w6 = schedule(w6, w7, w15, w4)
            round(c, d, e, &f, g, h, a, &b, 0x81c2c92e &+ w6)
            w7 = schedule(w7, w8, w0, w5)
            round(b, c, d, &e, f, g, h, &a, 0x92722c85 &+ w7)
            w8 = schedule(w8, w9, w1, w6)
            round(a, b, c, &d, e, f, g, &h, 0xa2bfe8a1 &+ w8)
            w9 = schedule(w9, w10, w2, w7)
            round(h, a, b, &c, d, e, f, &g, 0xa81a664b &+ w9)
            w10 = schedule(w10, w11, w3, w8)
            round(g, h, a, &b, c, d, e, &f, 0xc24b8b70 &+ w10)
            w11 = schedule(w11, w12, w4, w9)
            round(f, g, h, &a, b, c, d, &e, 0xc76c51a3 &+ w11)
            w12 = schedule(w12, w13, w5, w10)
            round(e, f, g, &h, a, b, c, &d, 0xd192e819 &+ w12)
            w13 = schedule(w13, w14, w6, w11)
            round(d, e, f, &g, h, a, b, &c, 0xd6990624 &+ w13)
            w14 = schedule(w14, w15, w7, w12)
            round(c, d, e, &f, g, h, a, &b, 0xf40e3585 &+ w14)
            w15 = schedule(w15, w0, w8, w13)
            round(b, c, d, &e, f, g, h, &a, 0x106aa070 &+ w15)
            w0 = schedule(w0, w1, w9, w14)
            round(a, b, c, &d, e, f, g, &h, 0x19a4c116 &+ w0)
            w1 = schedule(w1, w2, w10, w15)
            round(h, a, b, &c, d, e, f, &g, 0x1e376c08 &+ w1)
            w2 = schedule(w2, w3, w11, w0)
            round(g, h, a, &b, c, d, e, &f, 0x2748774c &+ w2)
            w3 = schedule(w3, w4, w12, w1)
            round(f, g, h, &a, b, c, d, &e, 0x34b0bcb5 &+ w3)
            w4 = schedule(w4, w5, w13, w2)
            round(e, f, g, &h, a, b, c, &d, 0x391c0cb3 &+ w4)
            w5 = schedule(w5, w6, w14, w3)
            round(d, e, f, &g, h, a, b, &c, 0x4ed8aa4a &+ w5)
            w6 = schedule(w6, w7, w15, w4)
            round(c, d, e, &f, g, h, a, &b, 0x5b9cca4f &+ w6)
            w7 = schedule(w7, w8, w0, w5)
            round(b, c, d, &e, f, g, h, &a, 0x682e6ff3 &+ w7)
            w8 = schedule(w8, w9, w1, w6)
            round(a, b, c, &d, e, f, g, &h, 0x748f82ee &+ w8)
            w9 = schedule(w9, w10, w2, w7)
            round(h, a, b, &c, d, e, f, &g, 0x78a5636f &+ w9)
            w10 = schedule(w10, w11, w3, w8)
            round(g, h, a, &b, c, d, e, &f, 0x84c87814 &+ w10)
            w11 = schedule(w11, w12, w4, w9)
            round(f, g, h, &a, b, c, d, &e, 0x8cc70208 &+ w11)
            w12 = schedule(w12, w13, w5, w10)
            round(e, f, g, &h, a, b, c, &d, 0x90befffa &+ w12)
            w13 = schedule(w13, w14, w6, w11)
            round(d, e, f, &g, h, a, b, &c, 0xa4506ceb &+ w13)
            w14 = schedule(w14, w15, w7, w12)
            round(c, d, e, &f, g, h, a, &b, 0xbef9a3f7 &+ w14)
            w15 = schedule(w15, w0, w8, w13)
            round(b, c, d, &e, f, g, h, &a, 0xc67178f2 &+ w15)
            a &+= sa
            b &+= sb
            c &+= sc
            d &+= sd
            e &+= se
            f &+= sf
            g &+= sg
            h &+= sh
            p += 64
        }
        state = (a, b, c, d, e, f, g, h)
    }
}

@inline(__always)
private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 {
    (x &>> n) | (x &<< (32 &- n))
}

/// One round; only d and h change, the caller renames the variables for the next round.
@inline(__always)
private func round(
    _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
    _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ kw: UInt32
) {
    let bigSigma1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
    let choose = g ^ (e & (f ^ g))
    let t1 = h &+ bigSigma1 &+ choose &+ kw
    let bigSigma0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
    let majority = (a & b) | (c & (a | b))
    d = d &+ t1
    h = t1 &+ bigSigma0 &+ majority
}

/// W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16], with W[t-16] the slot being replaced.
@inline(__always)
private func schedule(_ w16: UInt32, _ w15: UInt32, _ w7: UInt32, _ w2: UInt32) -> UInt32 {
    let sigma0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 &>> 3)
    let sigma1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 &>> 10)
    return w16 &+ sigma0 &+ w7 &+ sigma1
}
