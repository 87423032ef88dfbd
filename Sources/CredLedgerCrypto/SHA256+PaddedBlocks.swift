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
