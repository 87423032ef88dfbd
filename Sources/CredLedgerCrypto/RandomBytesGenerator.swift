/// Source of randomness; injectable so tests can seed it.
public protocol RandomBytesGenerator: Sendable {
    /// Overwrites every byte of `buffer` with random bytes.
    func fill(_ buffer: UnsafeMutableRawBufferPointer)
}

extension RandomBytesGenerator {
    /// `count` fresh random bytes.
    public func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "RandomBytesGenerator.bytes: negative count")
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }
}
