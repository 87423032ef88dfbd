import Foundation

/// Deterministic generator for tests (e.g. SplitMix64 or xoshiro seeded); NOT cryptographic.
public final class SeededRandom: RandomBytesGenerator, @unchecked Sendable {
    private var generator: SplitMix64
    // Guards `state`; that is what makes the @unchecked Sendable claim true.
    private let lock = NSLock()

    /// Same seed, same byte stream.
    public init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
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

    private func nextLocked() -> UInt64 { generator.next() }
}
