/// SHA-512 (FIPS 180-4 §6.4): the hash inside Ed25519 (RFC 8032). Portable Swift; no branch depends on the
/// bytes hashed (only on their length), so hashing a secret seed or nonce prefix leaks nothing but its length.
public enum SHA512 {
    /// Digest length in bytes.
    public static let digestCount = 64

    /// SHA-512 of `bytes`: 64 bytes.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var hasher = Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Streaming SHA-512: `update` any number of times, then `finalize` (which also resets the hasher).
    public struct Hasher: Sendable {
        private var h0: UInt64 = 0, h1: UInt64 = 0, h2: UInt64 = 0, h3: UInt64 = 0
        private var h4: UInt64 = 0, h5: UInt64 = 0, h6: UInt64 = 0, h7: UInt64 = 0
        /// Bytes of the current partial block; always 128 long, the first `bufferCount` meaningful.
        private var buffer: [UInt8]
        private var bufferCount = 0
        /// Message length in bytes; 2^64 bytes is far beyond anything hashed here, so the 128-bit length field's
        /// high half is always written as zero.
        private var messageLength: UInt64 = 0

        /// A hasher over the empty message.
        public init() {
            buffer = [UInt8](repeating: 0, count: 128)
            reset()
        }

        private mutating func reset() {
            h0 = 0x6a09_e667_f3bc_c908; h1 = 0xbb67_ae85_84ca_a73b
            h2 = 0x3c6e_f372_fe94_f82b; h3 = 0xa54f_f53a_5f1d_36f1
            h4 = 0x510e_527f_ade6_82d1; h5 = 0x9b05_688c_2b3e_6c1f
            h6 = 0x1f83_d9ab_fb41_bd6b; h7 = 0x5be0_cd19_137e_2179
            bufferCount = 0
            messageLength = 0
            // Wipe what is left of the last message (it may have been a secret seed).
            for i in 0..<128 { buffer[i] = 0 }
        }

        /// Feeds `bytes` into the hash.
        public mutating func update(_ bytes: some Collection<UInt8>) {
            let done: Void? = bytes.withContiguousStorageIfAvailable { update(raw: UnsafeRawBufferPointer($0)) }
            if done == nil {
                let copy = Array(bytes)
                copy.withUnsafeBytes { update(raw: $0) }
            }
        }

        private mutating func update(raw bytes: UnsafeRawBufferPointer) {
            var offset = 0
            let count = bytes.count
            messageLength &+= UInt64(count)
            if bufferCount > 0 {
                let take = Swift.min(128 - bufferCount, count)
                for i in 0..<take { buffer[bufferCount + i] = bytes[i] }
                bufferCount += take
                offset = take
                guard bufferCount == 128 else { return }
                let block = buffer
                block.withUnsafeBytes { compress($0.baseAddress!) }
                bufferCount = 0
            }
            // Whole blocks straight from the caller's memory.
            while count - offset >= 128 {
                compress(bytes.baseAddress! + offset)
                offset += 128
            }
            for i in offset..<count { buffer[i - offset] = bytes[i] }
            bufferCount = count - offset
        }

        /// Pads the message (FIPS 180-4 §5.1.2), returns its 64-byte digest and resets the hasher to empty.
        public mutating func finalize() -> [UInt8] {
            let bitLength = messageLength &<< 3
            let highBits = messageLength >> 61
            var block = buffer
            var used = bufferCount
            block[used] = 0x80
            used += 1
            for i in used..<128 { block[i] = 0 }
            if used > 112 {
                // No room for the 128-bit length: this block ends the message, a fresh one carries the length.
                block.withUnsafeBytes { compress($0.baseAddress!) }
                for i in 0..<128 { block[i] = 0 }
            }
            for i in 0..<8 {
                block[112 + i] = UInt8(truncatingIfNeeded: highBits >> (56 - 8 * UInt64(i)))
                block[120 + i] = UInt8(truncatingIfNeeded: bitLength >> (56 - 8 * UInt64(i)))
            }
            block.withUnsafeBytes { compress($0.baseAddress!) }
            for i in 0..<128 { block[i] = 0 }

            var digest = [UInt8](repeating: 0, count: 64)
            for (index, word) in [h0, h1, h2, h3, h4, h5, h6, h7].enumerated() {
                for byte in 0..<8 {
                    digest[index * 8 + byte] = UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64(byte)))
                }
            }
            reset()
            return digest
        }

        /// One 128-byte block (FIPS 180-4 §6.4.2) with a 16-word rolling message schedule.
        private mutating func compress(_ block: UnsafeRawPointer) {
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 16) { w in
                for t in 0..<16 {
                    w[t] = UInt64(bigEndian: block.loadUnaligned(fromByteOffset: t * 8, as: UInt64.self))
                }
                var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7
                for t in 0..<80 {
                    let wt: UInt64
                    if t < 16 {
                        wt = w[t]
                    } else {
                        // W[t] = σ1(W[t−2]) + W[t−7] + σ0(W[t−15]) + W[t−16], kept mod 16.
                        let w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15]
                        let s0 = w15.rotatedRight(1) ^ w15.rotatedRight(8) ^ (w15 &>> 7)
                        let s1 = w2.rotatedRight(19) ^ w2.rotatedRight(61) ^ (w2 &>> 6)
                        wt = s1 &+ w[(t - 7) & 15] &+ s0 &+ w[t & 15]
                        w[t & 15] = wt
                    }
                    let sigma1 = e.rotatedRight(14) ^ e.rotatedRight(18) ^ e.rotatedRight(41)
                    let choose = (e & f) ^ (~e & g)
                    let t1 = h &+ sigma1 &+ choose &+ SHA512.roundConstants[t] &+ wt
                    let sigma0 = a.rotatedRight(28) ^ a.rotatedRight(34) ^ a.rotatedRight(39)
                    let majority = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = sigma0 &+ majority
                    h = g; g = f; f = e; e = d &+ t1
                    d = c; c = b; b = a; a = t1 &+ t2
                }
                h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d
                h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
                // The schedule held message words: clear it before the stack slot is reused.
                for t in 0..<16 { w[t] = 0 }
            }
        }
    }

    /// K[0…79]: the first 64 bits of the fractional parts of the cube roots of the first 80 primes.
    fileprivate static let roundConstants: [UInt64] = [
        0x428a_2f98_d728_ae22, 0x7137_4491_23ef_65cd, 0xb5c0_fbcf_ec4d_3b2f, 0xe9b5_dba5_8189_dbbc,
        0x3956_c25b_f348_b538, 0x59f1_11f1_b605_d019, 0x923f_82a4_af19_4f9b, 0xab1c_5ed5_da6d_8118,
        0xd807_aa98_a303_0242, 0x1283_5b01_4570_6fbe, 0x2431_85be_4ee4_b28c, 0x550c_7dc3_d5ff_b4e2,
        0x72be_5d74_f27b_896f, 0x80de_b1fe_3b16_96b1, 0x9bdc_06a7_25c7_1235, 0xc19b_f174_cf69_2694,
        0xe49b_69c1_9ef1_4ad2, 0xefbe_4786_384f_25e3, 0x0fc1_9dc6_8b8c_d5b5, 0x240c_a1cc_77ac_9c65,
        0x2de9_2c6f_592b_0275, 0x4a74_84aa_6ea6_e483, 0x5cb0_a9dc_bd41_fbd4, 0x76f9_88da_8311_53b5,
        0x983e_5152_ee66_dfab, 0xa831_c66d_2db4_3210, 0xb003_27c8_98fb_213f, 0xbf59_7fc7_beef_0ee4,
        0xc6e0_0bf3_3da8_8fc2, 0xd5a7_9147_930a_a725, 0x06ca_6351_e003_826f, 0x1429_2967_0a0e_6e70,
        0x27b7_0a85_46d2_2ffc, 0x2e1b_2138_5c26_c926, 0x4d2c_6dfc_5ac4_2aed, 0x5338_0d13_9d95_b3df,
        0x650a_7354_8baf_63de, 0x766a_0abb_3c77_b2a8, 0x81c2_c92e_47ed_aee6, 0x9272_2c85_1482_353b,
        0xa2bf_e8a1_4cf1_0364, 0xa81a_664b_bc42_3001, 0xc24b_8b70_d0f8_9791, 0xc76c_51a3_0654_be30,
        0xd192_e819_d6ef_5218, 0xd699_0624_5565_a910, 0xf40e_3585_5771_202a, 0x106a_a070_32bb_d1b8,
        0x19a4_c116_b8d2_d0c8, 0x1e37_6c08_5141_ab53, 0x2748_774c_df8e_eb99, 0x34b0_bcb5_e19b_48a8,
        0x391c_0cb3_c5c9_5a63, 0x4ed8_aa4a_e341_8acb, 0x5b9c_ca4f_7763_e373, 0x682e_6ff3_d6b2_b8a3,
        0x748f_82ee_5def_b2fc, 0x78a5_636f_4317_2f60, 0x84c8_7814_a1f0_ab72, 0x8cc7_0208_1a64_39ec,
        0x90be_fffa_2363_1e28, 0xa450_6ceb_de82_bde9, 0xbef9_a3f7_b2c6_7915, 0xc671_78f2_e372_532b,
        0xca27_3ece_ea26_619c, 0xd186_b8c7_21c0_c207, 0xeada_7dd6_cde0_eb1e, 0xf57d_4f7f_ee6e_d178,
        0x06f0_67aa_7217_6fba, 0x0a63_7dc5_a2c8_98a6, 0x113f_9804_bef9_0dae, 0x1b71_0b35_131c_471b,
        0x28db_77f5_2304_7d84, 0x32ca_ab7b_40c7_2493, 0x3c9e_be0a_15c9_bebc, 0x431d_67c4_9c10_0d4c,
        0x4cc5_d4be_cb3e_42b6, 0x597f_299c_fc65_7e2a, 0x5fcb_6fab_3ad6_faec, 0x6c44_198c_4a47_5817,
    ]
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedRight(_ count: UInt64) -> UInt64 {
        (self &>> count) | (self &<< (64 &- count))
    }
}
