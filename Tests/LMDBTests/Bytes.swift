import Foundation

/// Big-endian bytes of a sequence number (log keys sort numerically).
func key(_ value: UInt64) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// Decodes a big-endian UInt64 key.
func decodeKey(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
    guard bytes.count == 8 else { return nil }
    return bytes.reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
}

/// A deterministic value of `size` bytes that depends on `seed`.
func pattern(size: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
    return (0..<size).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}
