import Foundation

/// Deterministic generator for tests (e.g. SplitMix64 or xoshiro seeded); NOT cryptographic.
public final class SeededRandom: RandomBytesGenerator, @unchecked Sendable {
    // SplitMix64: tiny state, full 2^64 period, good enough statistics for test data.
    private var state: UInt64
    // Guards `state`; that is what makes the @unchecked Sendable claim true.
    private let lock = NSLock()

    /// Same seed, same byte stream.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 pseudo-random bits.
    public func next() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return nextLocked()
    }

    /// Fills `buffer` with the next bytes of the stream (little-endian 64-bit words).
    public func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        lock.lock()
        defer { lock.unlock() }
        var offset = 0
        while offset < buffer.count {
            var word = nextLocked().littleEndian
            let take = Swift.min(8, buffer.count - offset)
            withUnsafeBytes(of: &word) { raw in
                (buffer.baseAddress! + offset).copyMemory(from: raw.baseAddress!, byteCount: take)
            }
            offset += take
        }
    }

    private func nextLocked() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
