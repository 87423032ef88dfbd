/// The transparency tree at one size: what a checkpoint signs (docs/PROOFS.md §4).
public struct TreeHead: Equatable, Sendable {
    /// Number of leaves = the seq of the last event covered.
    public var size: UInt64
    /// RFC 9162 MTH of those leaves.
    public var root: SHA256Digest

    public init(size: UInt64, root: SHA256Digest) {
        self.size = size
        self.root = root
    }
}

/// An RFC 9162 §2.1.3 inclusion proof of one event (leaf index = seq − 1).
public struct InclusionProof: Equatable, Sendable {
    public var seq: UInt64
    public var treeSize: UInt64
    /// The event's stored chain hash (the leaf input).
    public var leafInput: SHA256Digest
    /// The audit path, deepest first.
    public var hashes: [SHA256Digest]
    /// The root of the tree of `treeSize` leaves.
    public var root: SHA256Digest

    public init(seq: UInt64, treeSize: UInt64, leafInput: SHA256Digest, hashes: [SHA256Digest], root: SHA256Digest) {
        self.seq = seq
        self.treeSize = treeSize
        self.leafInput = leafInput
        self.hashes = hashes
        self.root = root
    }

    public var leafIndex: UInt64 { seq - 1 }
    public var leafHash: SHA256Digest { MerkleHash.leaf(leafInput) }

    /// Checks the proof against `root` (which the caller takes from a checkpoint it verified).
    public func verify(root expected: SHA256Digest) throws {
        guard seq >= 1 else { throw ProofFailure("seq 0 is not an event") }
        try MerkleVerification.verifyInclusion(leafHash: leafHash, index: leafIndex, size: treeSize, proof: hashes, root: expected)
    }
}

/// An RFC 9162 §2.1.4 consistency proof between two sizes of the tree.
public struct ConsistencyProof: Equatable, Sendable {
    public var oldSize: UInt64
    public var newSize: UInt64
    public var oldRoot: SHA256Digest
    public var newRoot: SHA256Digest
    public var hashes: [SHA256Digest]

    public init(oldSize: UInt64, newSize: UInt64, oldRoot: SHA256Digest, newRoot: SHA256Digest, hashes: [SHA256Digest]) {
        self.oldSize = oldSize
        self.newSize = newSize
        self.oldRoot = oldRoot
        self.newRoot = newRoot
        self.hashes = hashes
    }

    /// Checks the proof between the two given roots (taken from checkpoints the caller verified).
    public func verify(oldRoot: SHA256Digest, newRoot: SHA256Digest) throws {
        try MerkleVerification.verifyConsistency(old: oldSize, new: newSize, proof: hashes, oldRoot: oldRoot, newRoot: newRoot)
    }
}
