import CSHA256

extension SHA256 {
    /// SHA-256 of a message the caller has already padded (FIPS 180-4 §5.1.1) into `blockCount` 64-byte blocks at
    /// `blocks`: the compression function runs straight over them from the initial state, with no buffering. For
    /// fixed-size inputs on hot paths (a Merkle leaf is one block, a node two); `hash(_:)` gives the same digest.
    /// `implementation` pins the compression function (tests cover both; `.accelerated` falls back without SHA extensions).
    @inline(__always)
    public static func hash(paddedBlocks blocks: UnsafeRawPointer, count blockCount: Int,
                            implementation: Implementation = .accelerated) -> SHA256Digest {
        var state: State = (0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19)
        if implementation == .accelerated && isAccelerated {
            Swift.withUnsafeMutablePointer(to: &state) { tuple in
                tuple.withMemoryRebound(to: UInt32.self, capacity: 8) { words in
                    csha256_ni_compress(words, blocks.assumingMemoryBound(to: UInt8.self), blockCount)
                }
            }
        } else {
            compressPortable(&state, blocks, blockCount: blockCount)
        }
        return SHA256Digest(state: state)
    }
}

extension SHA256 {
    /// SHA-256 of two independent pre-padded messages of `blockCount` blocks each (at `a` and `b`), hashed together:
    /// with the SHA extensions the two lanes' rounds are interleaved (`csha256_ni_compress2`), so the pair costs little
    /// more than one message; the result equals two `hash(paddedBlocks:count:)` calls. For independent fixed-size
    /// inputs on hot paths (two Merkle leaves, two nodes of one level).
    @inline(__always)
    public static func hash(paddedBlocks a: UnsafeRawPointer, _ b: UnsafeRawPointer, count blockCount: Int,
                            implementation: Implementation = .accelerated) -> (SHA256Digest, SHA256Digest) {
        var stateA: State = (0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19)
        var stateB = stateA
        if implementation == .accelerated && isAccelerated {
            Swift.withUnsafeMutablePointer(to: &stateA) { tupleA in
                Swift.withUnsafeMutablePointer(to: &stateB) { tupleB in
                    tupleA.withMemoryRebound(to: UInt32.self, capacity: 8) { wordsA in
                        tupleB.withMemoryRebound(to: UInt32.self, capacity: 8) { wordsB in
                            csha256_ni_compress2(wordsA, a.assumingMemoryBound(to: UInt8.self),
                                                 wordsB, b.assumingMemoryBound(to: UInt8.self), blockCount)
                        }
                    }
                }
            }
        } else {
            compressPortable(&stateA, a, blockCount: blockCount)
            compressPortable(&stateB, b, blockCount: blockCount)
        }
        return (SHA256Digest(state: stateA), SHA256Digest(state: stateB))
    }
}
