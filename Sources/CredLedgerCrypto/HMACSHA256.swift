/// HMAC-SHA-256 (RFC 2104).
public enum HMACSHA256 {
    private typealias Block = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    /// The 32-byte HMAC-SHA-256 of `message` under `key` (any key length).
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> SHA256Digest {
        key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                authenticationCode(key: keyBytes, message: messageBytes)
            }
        }
    }

    /// The HMAC-SHA-256 of `message` under `key`, without copying either to the heap.
    public static func authenticationCode(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> SHA256Digest {
        // K0: the key, hashed first when longer than the block, zero-padded to 64 bytes.
        var block: Block = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &block) { raw in
            if key.count > 64 {
                SHA256.hash(key).withUnsafeBytes { raw.copyMemory(from: $0) }
            } else if key.count > 0 {
                raw.copyMemory(from: key)
            }
        }

        xor(&block, with: 0x3636_3636_3636_3636)
        var inner = SHA256()
        withUnsafeBytes(of: &block) { inner.update($0) }
        inner.update(message)
        let innerDigest = inner.finalize()

        // ipad ^ opad, so one pass turns K0 ^ ipad into K0 ^ opad.
        xor(&block, with: 0x3636_3636_3636_3636 ^ 0x5C5C_5C5C_5C5C_5C5C)
        var outer = SHA256()
        withUnsafeBytes(of: &block) { outer.update($0) }
        outer.update(innerDigest)

        // Best effort: do not leave key-derived bytes in this stack frame.
        block = (0, 0, 0, 0, 0, 0, 0, 0)
        return outer.finalize()
    }

    private static func xor(_ block: inout Block, with pad: UInt64) {
        block.0 ^= pad
        block.1 ^= pad
        block.2 ^= pad
        block.3 ^= pad
        block.4 ^= pad
        block.5 ^= pad
        block.6 ^= pad
        block.7 ^= pad
    }
}
