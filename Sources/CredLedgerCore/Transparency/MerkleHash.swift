/// RFC 9162 §2.1.1 hashes of the transparency tree over the log (docs/PROOFS.md).
///
/// Leaf input = the event's stored chain hash (docs/FORMAT.md §4), leaf index = seq − 1. Inputs are fixed-size, so
/// the padded SHA-256 blocks are laid out directly (a leaf is one block, a node two) and compressed in one call:
/// the tree's rebuild speed is its hashing speed.
public enum MerkleHash {
    /// The root of the empty tree: SHA-256 of no bytes.
    public static let empty: SHA256Digest = SHA256.hash([UInt8]())

    /// SHA-256(0x00 ‖ input): the leaf hash of one 32-byte leaf input. One block: 33 message bytes, 0x80, zeros,
    /// the bit length 264.
    @inlinable
    public static func leaf(_ input: SHA256Digest) -> SHA256Digest {
        var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &block) { p in
            let base = p.baseAddress!
            base.storeBytes(of: 0x00, as: UInt8.self)
            input.withUnsafeBytes { (base + 1).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            base.storeBytes(of: 0x80, toByteOffset: 33, as: UInt8.self)
            base.storeBytes(of: UInt64(33 * 8).bigEndian, toByteOffset: 56, as: UInt64.self)
            return SHA256.hash(paddedBlocks: base, count: 1)
        }
    }

    /// SHA-256(0x01 ‖ left ‖ right): an interior node. Two blocks: 65 message bytes, 0x80, zeros, the bit length 520.
    @inlinable
    public static func node(_ left: SHA256Digest, _ right: SHA256Digest) -> SHA256Digest {
        var blocks: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &blocks) { p in
            let base = p.baseAddress!
            base.storeBytes(of: 0x01, as: UInt8.self)
            left.withUnsafeBytes { (base + 1).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            right.withUnsafeBytes { (base + 33).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            base.storeBytes(of: 0x80, toByteOffset: 65, as: UInt8.self)
            base.storeBytes(of: UInt64(65 * 8).bigEndian, toByteOffset: 120, as: UInt64.self)
            return SHA256.hash(paddedBlocks: base, count: 2)
        }
    }

    /// Two leaf hashes at once (`leaf(a)`, `leaf(b)`): two independent one-block messages on the two-lane SHA-256.
    @inlinable
    public static func leaves(_ a: SHA256Digest, _ b: SHA256Digest) -> (SHA256Digest, SHA256Digest) {
        var blocks: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &blocks) { p in
            let base = p.baseAddress!
            layOutLeaf(a, at: base)
            layOutLeaf(b, at: base + 64)
            return SHA256.hash(paddedBlocks: base, base + 64, count: 1)
        }
    }

    /// Two interior nodes at once (`node(l1, r1)`, `node(l2, r2)`): two independent two-block messages on the two-lane
    /// SHA-256.
    @inlinable
    public static func nodes(_ l1: SHA256Digest, _ r1: SHA256Digest, _ l2: SHA256Digest, _ r2: SHA256Digest) -> (SHA256Digest, SHA256Digest) {
        var blocks: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                     UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &blocks) { p in
            let base = p.baseAddress!
            layOutNode(l1, r1, at: base)
            layOutNode(l2, r2, at: base + 128)
            return SHA256.hash(paddedBlocks: base, base + 128, count: 2)
        }
    }

    /// The padded block of a leaf (as `leaf(_:)` lays it out) at `block`, whose 64 bytes are zero.
    @inlinable @inline(__always)
    static func layOutLeaf(_ input: SHA256Digest, at block: UnsafeMutableRawPointer) {
        block.storeBytes(of: 0x00, as: UInt8.self)
        input.withUnsafeBytes { (block + 1).copyMemory(from: $0.baseAddress!, byteCount: 32) }
        block.storeBytes(of: 0x80, toByteOffset: 33, as: UInt8.self)
        block.storeBytes(of: UInt64(33 * 8).bigEndian, toByteOffset: 56, as: UInt64.self)
    }

    /// The two padded blocks of a node (as `node(_:_:)` lays them out) at `message`, whose 128 bytes are zero.
    @inlinable @inline(__always)
    static func layOutNode(_ left: SHA256Digest, _ right: SHA256Digest, at message: UnsafeMutableRawPointer) {
        message.storeBytes(of: 0x01, as: UInt8.self)
        left.withUnsafeBytes { (message + 1).copyMemory(from: $0.baseAddress!, byteCount: 32) }
        right.withUnsafeBytes { (message + 33).copyMemory(from: $0.baseAddress!, byteCount: 32) }
        message.storeBytes(of: 0x80, toByteOffset: 65, as: UInt8.self)
        message.storeBytes(of: UInt64(65 * 8).bigEndian, toByteOffset: 120, as: UInt64.self)
    }
}
