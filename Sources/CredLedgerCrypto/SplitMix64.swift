/// SplitMix64 (Steele, Lea, Flood 2014): a tiny deterministic generator with a full 2^64 period.
/// The one seeded stream of the project (tests, benchmarks, stress drivers); NOT cryptographic.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    @usableFromInline var state: UInt64

    /// Same seed, same stream.
    public init(seed: UInt64) { state = seed }

    /// The next 64 pseudo-random bits.
    @inlinable
    public mutating func next() -> UInt64 { Self.step(&state) }

    @usableFromInline
    static func step(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
