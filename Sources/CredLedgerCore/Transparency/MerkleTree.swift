/// Where the hashes of complete (perfect) subtrees come from: the tree projection's stored nodes (plus the event log
/// for level 0), or memory in tests.
public protocol MerkleNodeSource {
    /// The hash of the perfect subtree of height `level` over leaves [index·2^level, (index+1)·2^level).
    func node(level: Int, index: UInt64) throws -> SHA256Digest
}

/// A proof asked for a size or index the tree does not have.
public struct MerkleRangeError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Roots and RFC 9162 §2.1.3.1 / §2.1.4.1 proofs computed from complete subtrees only, in O(log n) node reads.
/// The recursion of the RFC splits a range at the largest power of two below its size, so every left part is a
/// perfect subtree (one stored node) and every right part is again such a range.
public enum MerkleTree {
    /// Go's `tlog.StoredHashIndex(level, n)`: the position of node (level, n) in the order a log stores its complete
    /// subtrees as leaves are appended — dense and increasing, so the rows are appended (docs/PROOFS.md §2).
    @inlinable
    public static func storedHashIndex(level: Int, index n: UInt64) -> UInt64 {
        var n = n
        for _ in 0..<level { n = 2 &* n &+ 1 }
        var i: UInt64 = 0
        while n > 0 {
            i &+= n
            n >>= 1
        }
        return i &+ UInt64(level)
    }

    /// The largest power of two strictly below `n` (n ≥ 2).
    @inlinable
    static func split(_ n: UInt64) -> UInt64 {
        UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    /// The hash of the perfect subtree of height `level` over leaves [index·2^level, (index+1)·2^level), computed from its
    /// 2^level leaf hashes (`leafHash(i)` for leaf i, in order): for the low levels a store does not keep. `level` ≤ 16.
    public static func subtree(level: Int, index: UInt64, leafHash: (UInt64) throws -> SHA256Digest) throws -> SHA256Digest {
        guard (0...16).contains(level), index < (UInt64(1) << UInt64(63 - level)) else {
            throw MerkleRangeError("subtree (level \(level), index \(index)) is out of range")
        }
        let first = index << UInt64(level), count = UInt64(1) << UInt64(level)
        // A frontier of at most `level` + 1 peaks: leaf j merges the peaks its trailing one bits complete.
        var stack: [SHA256Digest] = []
        stack.reserveCapacity(level + 1)
        for j in 0..<count {
            var hash = try leafHash(first + j)
            var k = j
            while k & 1 == 1, let left = stack.popLast() {
                hash = MerkleHash.node(left, hash)
                k >>= 1
            }
            stack.append(hash)
        }
        return stack[0]
    }

    /// MTH of the first `size` leaves (RFC 9162 §2.1.1): the perfect subtrees of size's set bits, folded right to left.
    public static func root(size: UInt64, _ source: some MerkleNodeSource) throws -> SHA256Digest {
        guard size > 0 else { return MerkleHash.empty }
        return try hash(0, size, source)
    }

    /// MTH of leaves [start, end) where the range is one of the RFC recursion's (start aligned to the largest
    /// power of two ≤ end − start).
    static func hash(_ start: UInt64, _ end: UInt64, _ source: some MerkleNodeSource) throws -> SHA256Digest {
        let size = end - start
        if size & (size - 1) == 0 {
            let level = size.trailingZeroBitCount
            return try source.node(level: level, index: start >> UInt64(level))
        }
        let k = split(size)
        return MerkleHash.node(try hash(start, start + k, source), try hash(start + k, end, source))
    }

    /// The inclusion proof (audit path, §2.1.3.1) of leaf `index` in the tree of the first `size` leaves, deepest first.
    public static func inclusionProof(index: UInt64, size: UInt64, _ source: some MerkleNodeSource) throws -> [SHA256Digest] {
        guard index < size else { throw MerkleRangeError("leaf index \(index) is not below tree size \(size)") }
        var proof: [SHA256Digest] = []
        try path(index, 0, size, source, into: &proof)
        return proof
    }

    private static func path(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ source: some MerkleNodeSource,
                             into proof: inout [SHA256Digest]) throws {
        let n = end - start
        guard n > 1 else { return }
        let k = split(n)
        if m < k {
            try path(m, start, start + k, source, into: &proof)
            proof.append(try hash(start + k, end, source))
        } else {
            try path(m - k, start + k, end, source, into: &proof)
            proof.append(try hash(start, start + k, source))
        }
    }

    /// The consistency proof (§2.1.4.1) between the trees of the first `old` and `new` leaves, 0 < old ≤ new
    /// (empty when old == new).
    public static func consistencyProof(old: UInt64, new: UInt64, _ source: some MerkleNodeSource) throws -> [SHA256Digest] {
        guard old > 0, old <= new else { throw MerkleRangeError("a consistency proof needs 0 < old ≤ new (old \(old), new \(new))") }
        var proof: [SHA256Digest] = []
        try subproof(old, 0, new, true, source, into: &proof)
        return proof
    }

    private static func subproof(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ complete: Bool, _ source: some MerkleNodeSource,
                                 into proof: inout [SHA256Digest]) throws {
        let n = end - start
        if m == n {
            if !complete { proof.append(try hash(start, end, source)) }
            return
        }
        let k = split(n)
        if m <= k {
            try subproof(m, start, start + k, complete, source, into: &proof)
            proof.append(try hash(start + k, end, source))
        } else {
            try subproof(m - k, start + k, end, false, source, into: &proof)
            proof.append(try hash(start, start + k, source))
        }
    }
}
