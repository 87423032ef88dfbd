/// Why a proof was rejected: one reason per rule of RFC 9162 §2.1.3.2 / §2.1.4.2 and the exact-length rules
/// (docs/PROOFS.md §3).
public struct ProofFailure: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Checks inclusion and consistency proofs against roots, recomputing every link (never only the ends).
public enum MerkleVerification {
    /// The number of hashes in the inclusion proof of leaf `index` in a tree of `size` leaves:
    /// b + popcount(index ≫ b) with b = bitlen(index ⊕ (size − 1)).
    public static func inclusionProofLength(index: UInt64, size: UInt64) -> Int {
        let inner = 64 - (index ^ (size - 1)).leadingZeroBitCount
        return inner + (inner >= 64 ? 0 : (index >> UInt64(inner)).nonzeroBitCount)
    }

    /// The number of hashes in the consistency proof from `old` to `new` leaves (0 < old < new).
    public static func consistencyProofLength(old: UInt64, new: UInt64) -> Int {
        let shift = old.trailingZeroBitCount
        let length = inclusionProofLength(index: old - 1, size: new) - shift
        return old == UInt64(1) << UInt64(shift) ? length : length + 1
    }

    /// The root that `proof` gives for leaf `leafHash` at `index` in a tree of `size` leaves (§2.1.3.2 steps 1–5),
    /// or the rule it breaks.
    public static func rootFromInclusion(leafHash: SHA256Digest, index: UInt64, size: UInt64, proof: [SHA256Digest]) throws -> SHA256Digest {
        guard index < size else { throw ProofFailure("leaf index \(index) is not below tree size \(size)") }
        let expected = inclusionProofLength(index: index, size: size)
        guard proof.count == expected else { throw ProofFailure("the proof has \(proof.count) hashes; index \(index) in size \(size) needs \(expected)") }
        var fn = index, sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw ProofFailure("the proof is longer than the path to the root") }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw ProofFailure("the proof is shorter than the path to the root") }
        return r
    }

    /// Checks that leaf `leafHash` is at `index` in the tree of `size` leaves whose root is `root`.
    public static func verifyInclusion(leafHash: SHA256Digest, index: UInt64, size: UInt64, proof: [SHA256Digest],
                                       root: SHA256Digest) throws {
        let computed = try rootFromInclusion(leafHash: leafHash, index: index, size: size, proof: proof)
        guard computed == root else { throw ProofFailure("the proof leads to another root") }
    }

    /// Checks that the tree of `old` leaves with root `oldRoot` is a prefix of the tree of `new` leaves with root
    /// `newRoot` (§2.1.4.2), 0 < old ≤ new; old == new needs an empty proof and equal roots.
    public static func verifyConsistency(old: UInt64, new: UInt64, proof: [SHA256Digest], oldRoot: SHA256Digest,
                                         newRoot: SHA256Digest) throws {
        guard old > 0 else { throw ProofFailure("a consistency proof starts from a non-empty tree (old size 0)") }
        guard old <= new else { throw ProofFailure("old size \(old) is larger than new size \(new)") }
        if old == new {
            guard proof.isEmpty else { throw ProofFailure("equal sizes need an empty proof, not \(proof.count) hashes") }
            guard oldRoot == newRoot else { throw ProofFailure("equal sizes with different roots") }
            return
        }
        let expected = consistencyProofLength(old: old, new: new)
        guard proof.count == expected else { throw ProofFailure("the proof has \(proof.count) hashes; \(old) → \(new) needs \(expected)") }
        var path = proof
        if old & (old - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = old - 1, sn = new - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { throw ProofFailure("the proof is longer than the path to the root") }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw ProofFailure("the proof is shorter than the path to the root") }
        guard fr == oldRoot else { throw ProofFailure("the proof does not lead to the old root") }
        guard sr == newRoot else { throw ProofFailure("the proof does not lead to the new root") }
    }
}
