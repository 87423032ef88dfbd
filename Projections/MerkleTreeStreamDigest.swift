import CredLedgerCore

/// The tree projection's `ProjectionDigest`, computed while the tree is built from its first leaf, without storing it.
/// `MerkleFrontier` hands out the completed nodes in the order `MerkleTreeProjection` appends them to `merkle_nodes`
/// (ascending keys), which is the order the digest reads that table; `merkle_tail` is one row, known at the end. So a
/// replay's tree thread hashes the rows as they are made instead of writing a scratch B-tree and reading it back.
public struct MerkleTreeStreamDigest: Sendable {
    private var frontier = MerkleFrontier()
    private var scratch = MerkleFrontier.BatchScratch()
    /// Over the `merkle_nodes` table so far: its name, then every node row.
    private var hasher = SHA256()
    /// The last node key hashed: keys must increase, since the digest reads a table in key order.
    private var lastKey: UInt64?

    /// Rows are gathered into a buffer of this size and hashed when it is full (SHA-256 over whole blocks).
    private static let gather = 64 * 1024
    /// One `merkle_nodes` row as the digest frames it: u32 8 ‖ key u64 ‖ u32 32 ‖ hash.
    private static let rowSize = 4 + 8 + 4 + 32

    public init() {
        // The digest's tables, in `MerkleTreeProjection.tableNames` order: the nodes, then the tail.
        precondition(MerkleTreeProjection().tableNames == [MerkleTreeProjection.nodesTable, MerkleTreeProjection.tailTable])
        ProjectionDigest.hashTableName(MerkleTreeProjection.nodesTable, into: &hasher)
    }

    /// Leaves appended so far.
    public var size: UInt64 { frontier.size }

    /// The `merkle_tail` row's value of the tree so far (nil while empty).
    public var tailValue: [UInt8]? { frontier.size > 0 ? MerkleTreeProjection.tailValue(frontier) : nil }

    /// Appends one leaf per stored chain hash: the events of seq `size + 1`, `size + 2`, ….
    public mutating func append(chainHashes: [SHA256Digest]) throws {
        try append(chainHashes: chainHashes) { _, _ in }
    }

    /// The same, handing out each completed node that `MerkleTreeProjection` stores — height ≥ `lowestStoredLevel`: key
    /// `StoredHashIndex`, its hash — in ascending key order: a rebuild appends them to `merkle_nodes` while this digest is
    /// hashed on another thread.
    public mutating func append(chainHashes: [SHA256Digest], _ node: (_ key: UInt64, _ hash: SHA256Digest) throws -> Void) throws {
        guard !chainHashes.isEmpty else { return }
        // Taken out of `self` so the frontier's callback can update them while the frontier is being appended to.
        var hasher = self.hasher, lastKey = self.lastKey
        defer {
            self.hasher = hasher
            self.lastKey = lastKey
        }
        try withUnsafeTemporaryAllocation(byteCount: Self.gather, alignment: 8) { buffer in
            let base = buffer.baseAddress!
            var used = 0
            try frontier.append(leafInputs: chainHashes, scratch: &scratch, reportingFrom: MerkleTreeProjection.lowestStoredLevel) { level, index, hash in
                let key = MerkleTree.storedHashIndex(level: level, index: index)
                if let lastKey, key <= lastKey {
                    throw MerkleTreeError("tree node (level \(level), index \(index)) would come after a larger key")
                }
                lastKey = key
                try node(key, hash)
                if Self.gather - used < Self.rowSize {
                    hasher.update(UnsafeRawBufferPointer(start: base, count: used))
                    used = 0
                }
                let row = base + used
                row.storeBytes(of: UInt32(8).bigEndian, as: UInt32.self)
                (row + 4).storeBytes(of: key.bigEndian, as: UInt64.self)
                (row + 12).storeBytes(of: UInt32(32).bigEndian, as: UInt32.self)
                hash.withUnsafeBytes { (row + 16).copyMemory(from: $0.baseAddress!, byteCount: 32) }
                used += Self.rowSize
            }
            hasher.update(UnsafeRawBufferPointer(start: base, count: used))
        }
    }

    /// What `ProjectionDigest.compute(MerkleTreeProjection(), in:)` gives of a store holding exactly this tree.
    public var digest: SHA256Digest {
        var hasher = self.hasher
        ProjectionDigest.hashTableName(MerkleTreeProjection.tailTable, into: &hasher)
        if let value = tailValue {
            // The one tail row, as `MerkleTreeProjection.flush` writes it.
            let key = MerkleTreeProjection.tailKey
            hasher.update(UInt32(key.count).bigEndianBytes + key + UInt32(value.count).bigEndianBytes + value)
        }
        return hasher.finalize()
    }
}
