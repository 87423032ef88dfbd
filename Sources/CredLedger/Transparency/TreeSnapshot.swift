import CredLedgerCore
import CredLedgerProjections
import LMDB

/// The transparency tree in one read transaction: roots and proofs from the stored complete subtrees, leaf hashes
/// and the subtrees below the stored height from the events' stored chain hashes (docs/PROOFS.md §2). Every method
/// reads O(log n) rows.
struct TreeSnapshot: MerkleNodeSource {
    let txn: Transaction
    let schema: Schema
    /// The log head = the tree size.
    let size: UInt64

    /// Opens the tree in `txn`; it must be current: its checkpoint at the log head, at this code's version.
    init(txn: Transaction, schema: Schema) throws {
        self.txn = txn
        self.schema = schema
        let head = try EventLog.head(schema: schema, in: txn).seq
        let tree = MerkleTreeProjection()
        guard schema.extensions.contains(where: { $0.name == tree.name }) else {
            throw LedgerError("no_transparency_tree", "this ledger was opened without its transparency tree", kind: .badInput)
        }
        let raw = try txn.get(schema.meta, Meta.projectionKey(tree.name))
        guard let raw, let checkpoint = Meta.Checkpoint(raw), checkpoint.codeVersion == tree.codeVersion else {
            throw LedgerError("stale_projections", "the transparency tree is not built yet: open the ledger once read-write (any command that writes, or `credledger rebuild`)", kind: .badInput)
        }
        guard checkpoint.lastSeq == head else {
            throw LedgerError("projections_disagree", "the transparency tree covers \(checkpoint.lastSeq) events but the log head is \(head): run `credledger verify`", kind: .integrity)
        }
        size = head
    }

    var store: LMDBStore { LMDBStore(txn: txn, schema: schema) }

    /// The stored chain hash of event `seq` (the leaf input of leaf seq − 1).
    func chainHash(seq: UInt64) throws -> SHA256Digest {
        var key = seq.bigEndian
        let hash: SHA256Digest? = try withUnsafeBytes(of: &key) { k in
            guard let record = try txn.get(schema.events, k), record.count >= EventCodec.headerSize + 32 else { return nil }
            return SHA256Digest(bytes: UnsafeRawBufferPointer(rebasing: record[(record.count - 32)...]))
        }
        guard let hash else { throw LedgerError("corrupt_log", "event \(seq) is missing or too short", kind: .integrity) }
        return hash
    }

    func node(level: Int, index: UInt64) throws -> SHA256Digest {
        do {
            return try MerkleTreeProjection.node(level: level, index: index, store) { MerkleHash.leaf(try chainHash(seq: $0 + 1)) }
        } catch let error as MerkleTreeError {
            throw LedgerError("corrupt_tree", "\(error)", kind: .integrity)
        }
    }

    /// Refuses a size beyond the log (or 0 where a tree is needed).
    func requireSize(_ n: UInt64, _ what: String, allowZero: Bool = false) throws {
        guard n <= size, allowZero || n > 0 else {
            throw LedgerError("bad_tree_size", "\(what) \(n) is not a tree size of this log (1…\(size))", kind: .badInput)
        }
    }

    func head(size n: UInt64? = nil) throws -> TreeHead {
        let n = n ?? size
        try requireSize(n, "size", allowZero: true)
        return TreeHead(size: n, root: try MerkleTree.root(size: n, self))
    }

    func inclusion(seq: UInt64, size n: UInt64? = nil) throws -> InclusionProof {
        let n = n ?? size
        try requireSize(n, "--size")
        guard seq >= 1, seq <= n else {
            throw LedgerError("bad_tree_size", "event \(seq) is not in the tree of size \(n) (events 1…\(n))", kind: .badInput)
        }
        return InclusionProof(seq: seq, treeSize: n, leafInput: try chainHash(seq: seq),
                              hashes: try MerkleTree.inclusionProof(index: seq - 1, size: n, self), root: try MerkleTree.root(size: n, self))
    }

    func consistency(old: UInt64, new: UInt64) throws -> ConsistencyProof {
        try requireSize(new, "new size")
        guard old >= 1, old <= new else {
            throw LedgerError("bad_tree_size", "a consistency proof needs 1 ≤ old ≤ new (old \(old), new \(new))", kind: .badInput)
        }
        return ConsistencyProof(oldSize: old, newSize: new, oldRoot: try MerkleTree.root(size: old, self),
                                newRoot: try MerkleTree.root(size: new, self), hashes: try MerkleTree.consistencyProof(old: old, new: new, self))
    }
}

extension Ledger.Transparency {
    /// Runs `body` on the transparency tree of one read snapshot.
    func withTree<R>(_ body: (TreeSnapshot) throws -> R) throws -> R {
        try environment.read { txn in try body(try TreeSnapshot(txn: txn, schema: schema)) }
    }

    /// The tree head at `size` (default: the log head).
    public func treeHead(size: UInt64? = nil) throws -> TreeHead {
        try withTree { try $0.head(size: size) }
    }

    /// The inclusion proof of event `seq` in the tree of `size` leaves (default: the log head).
    public func inclusionProof(seq: UInt64, size: UInt64? = nil) throws -> InclusionProof {
        try withTree { try $0.inclusion(seq: seq, size: size) }
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` leaves.
    public func consistencyProof(old: UInt64, new: UInt64) throws -> ConsistencyProof {
        try withTree { try $0.consistency(old: old, new: new) }
    }
}
