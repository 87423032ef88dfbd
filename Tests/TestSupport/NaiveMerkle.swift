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


extension NaiveMerkle {
    /// The perfect subtree (level, index) of leaf hashes `d`, by the definition.
    public static func subtree(_ level: Int, _ index: Int, _ d: [SHA256Digest]) -> SHA256Digest {
        mth(d[(index << level)..<((index + 1) << level)])
    }

    /// The `merkle_nodes` rows (key ‖ value) a tree over leaf hashes `d` must hold when subtrees of height ≥ `lowest`
    /// are stored, in completion order: leaf i completes the subtrees of heights 1 … trailing zeros of i + 1.
    public static func storedRows(_ d: [SHA256Digest], lowest: Int) -> [[UInt8]] {
        var rows: [[UInt8]] = []
        for i in 0..<d.count {
            let completed = (i + 1).trailingZeroBitCount
            guard completed >= lowest else { continue }
            for level in lowest...completed {
                let index = ((i + 1) >> level) - 1
                rows.append(MerkleTree.storedHashIndex(level: level, index: UInt64(index)).bigEndianBytes + subtree(level, index, d).bytes)
            }
        }
        return rows
    }

    /// The `merkle_tail` row (key ‖ value) of a tree over leaf hashes `d` (non-empty): key 0x00, size, the last leaf,
    /// then the right edge's peaks of heights `lowest` − 1 … 1 that the size has.
    public static func tailRow(_ d: [SHA256Digest], lowest: Int) -> [UInt8] {
        let n = d.count
        var row = [0] + UInt64(n).bigEndianBytes + d[n - 1].bytes
        for level in stride(from: lowest - 1, through: 1, by: -1) where n & (1 << level) != 0 {
            row += subtree(level, (n >> level) - 1, d).bytes
        }
        return row
    }
}
