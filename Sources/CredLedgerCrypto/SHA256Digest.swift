/// A SHA-256 digest: 32 bytes, stored inline (no heap allocation).
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    // The 32 digest bytes in order, held as four words in memory (not numeric) order so that
    // viewing them as bytes needs no conversion; equality and hashing compare whole words.
    @usableFromInline internal var w0: UInt64
    @usableFromInline internal var w1: UInt64
    @usableFromInline internal var w2: UInt64
    @usableFromInline internal var w3: UInt64

    @usableFromInline typealias Words = (UInt64, UInt64, UInt64, UInt64)

    @inlinable internal init(words: Words) {
        (w0, w1, w2, w3) = words
    }

    /// The digest of all-zero bytes, e.g. the predecessor of the first link of a hash chain.
    public static let zero = SHA256Digest(words: (0, 0, 0, 0))

    /// Returns nil unless `bytes` holds exactly 32 bytes.
    @inlinable public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        var words: Words = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &words) { raw in
            var i = 0
            for byte in bytes {
                raw[i] = byte
                i += 1
            }
        }
        self.init(words: words)
    }

    /// Returns nil unless `hex` is exactly 64 hexadecimal digits (either case).
    public init?(hex: String) {
        var words: Words = (0, 0, 0, 0)
        let ok = Swift.withUnsafeMutableBytes(of: &words) { raw -> Bool in
            var index = 0
            var high: UInt8 = 0
            for char in hex.utf8 {
                guard index < 64, let nibble = SHA256Digest.nibble(char) else { return false }
                if index & 1 == 0 {
                    high = nibble
                } else {
                    raw[index >> 1] = high << 4 | nibble
                }
                index += 1
            }
            return index == 64
        }
        guard ok else { return nil }
        self.init(words: words)
    }

    /// Builds a digest from the eight SHA-256 state words (a..h), serialised big-endian.
    internal init(state: SHA256.State) {
        var words: Words = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &words) { raw in
            raw.storeBytes(of: state.0.bigEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: state.1.bigEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: state.2.bigEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: state.3.bigEndian, toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: state.4.bigEndian, toByteOffset: 16, as: UInt32.self)
            raw.storeBytes(of: state.5.bigEndian, toByteOffset: 20, as: UInt32.self)
            raw.storeBytes(of: state.6.bigEndian, toByteOffset: 24, as: UInt32.self)
            raw.storeBytes(of: state.7.bigEndian, toByteOffset: 28, as: UInt32.self)
        }
        self.init(words: words)
    }

    /// The 32 digest bytes (allocates; prefer `withUnsafeBytes` on hot paths).
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// The digest as 64 lowercase hexadecimal digits.
    public var hex: String {
        withUnsafeBytes { raw in
            String(unsafeUninitializedCapacity: 64) { out in
                let digits: StaticString = "0123456789abcdef"
                let table = digits.utf8Start
                for i in 0..<32 {
                    let byte = raw[i]
                    out[2 * i] = table[Int(byte >> 4)]
                    out[2 * i + 1] = table[Int(byte & 0x0F)]
                }
                return 64
            }
        }
    }

    /// Calls `body` with a view of the 32 digest bytes, valid only during the call.
    @inlinable public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        // A `let` copy, not `withUnsafeBytes(of: &var)`: Swift 6.3.1 -O miscompiles a read at a constant offset 0 of
        // a `var` tuple viewed that way (`{ Int($0[0]) }` gave 0; docs/RELIABILITY.md §8).
        let words: Words = (w0, w1, w2, w3)
        return try Swift.withUnsafeBytes(of: words, body)
    }

    /// The lowercase hex form, same as `hex`.
    public var description: String { hex }

    @usableFromInline static func nibble(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }
}
