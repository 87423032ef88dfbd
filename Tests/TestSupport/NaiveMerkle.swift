import CredLedgerCore

/// The RFC 9162 §2.1 definitions written out naively (recursion over arrays of leaf hashes, hashing concatenated
/// arrays), against which the projection's O(log n) code is checked.
public enum NaiveMerkle {
    public static func leaf(_ data: [UInt8]) -> SHA256Digest { SHA256.hash([0x00] + data) }
    public static func node(_ l: SHA256Digest, _ r: SHA256Digest) -> SHA256Digest { SHA256.hash([0x01] + l.bytes + r.bytes) }

    public static func split(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    /// MTH over leaf hashes.
    public static func mth(_ d: ArraySlice<SHA256Digest>) -> SHA256Digest {
        switch d.count {
        case 0: return SHA256.hash([UInt8]())
        case 1: return d.first!
        default:
            let k = split(d.count)
            return node(mth(d.prefix(k)), mth(d.dropFirst(k)))
        }
    }

    public static func path(_ m: Int, _ d: ArraySlice<SHA256Digest>) -> [SHA256Digest] {
        guard d.count > 1 else { return [] }
        let k = split(d.count)
        if m < k { return path(m, d.prefix(k)) + [mth(d.dropFirst(k))] }
        return path(m - k, d.dropFirst(k)) + [mth(d.prefix(k))]
    }

    public static func subproof(_ m: Int, _ d: ArraySlice<SHA256Digest>, _ b: Bool) -> [SHA256Digest] {
        if m == d.count { return b ? [] : [mth(d)] }
        let k = split(d.count)
        if m <= k { return subproof(m, d.prefix(k), b) + [mth(d.dropFirst(k))] }
        return subproof(m - k, d.dropFirst(k), false) + [mth(d.prefix(k))]
    }

    public static func proof(_ m: Int, _ d: [SHA256Digest]) -> [SHA256Digest] { subproof(m, d[...], true) }
}

/// Perfect subtrees computed naively from the leaf hashes: a `MerkleNodeSource` for the O(log n) code.
public struct NaiveNodes: MerkleNodeSource {
    public let leaves: [SHA256Digest]
    public init(leaves: [SHA256Digest]) { self.leaves = leaves }

    public func node(level: Int, index: UInt64) throws -> SHA256Digest {
        let start = Int(index) << level, end = start + (1 << level)
        guard end <= leaves.count else { throw MerkleRangeError("node beyond the leaves") }
        return NaiveMerkle.mth(leaves[start..<end])
    }
}

