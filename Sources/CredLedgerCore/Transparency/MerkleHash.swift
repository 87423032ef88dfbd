/// RFC 9162 §2.1.1 hashes of the transparency tree over the log (docs/PROOFS.md §1).
///
/// Leaf input = the event's stored chain hash (docs/FORMAT.md §4), leaf index = seq − 1.
public enum MerkleHash {
    /// The root of the empty tree: SHA-256 of no bytes.
    public static let empty: SHA256Digest = SHA256.hash([UInt8]())

    /// SHA-256(0x00 ‖ input): the leaf hash of one 32-byte leaf input (one SHA-256 block).
    @inlinable
    public static func leaf(_ input: SHA256Digest) -> SHA256Digest {
        withUnsafeTemporaryAllocation(byteCount: 33, alignment: 8) { buffer in
            let p = buffer.baseAddress!
            p.storeBytes(of: 0x00, as: UInt8.self)
            input.withUnsafeBytes { (p + 1).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            return SHA256.hash(UnsafeRawBufferPointer(start: p, count: 33))
        }
    }

    /// SHA-256(0x01 ‖ left ‖ right): an interior node (two SHA-256 blocks).
    @inlinable
    public static func node(_ left: SHA256Digest, _ right: SHA256Digest) -> SHA256Digest {
        withUnsafeTemporaryAllocation(byteCount: 65, alignment: 8) { buffer in
            let p = buffer.baseAddress!
            p.storeBytes(of: 0x01, as: UInt8.self)
            left.withUnsafeBytes { (p + 1).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            right.withUnsafeBytes { (p + 33).copyMemory(from: $0.baseAddress!, byteCount: 32) }
            return SHA256.hash(UnsafeRawBufferPointer(start: p, count: 65))
        }
    }
}
