import CredLedgerCore

/// The transparency log's Merkle tree (RFC 9162 §2.1) over the event log: a projection the engine always registers
/// (docs/PROOFS.md §2, docs/FORMAT.md §6.10).
///
/// Leaf i is the event of seq i + 1; its leaf input is the event's stored chain hash, so the leaf hash is
/// SHA-256(0x00 ‖ hash_seq). Only complete subtrees of height ≥ `lowestStoredLevel` (4) are stored, each once, when its
/// last leaf is appended, at Go tlog's `StoredHashIndex(level, index)` as a u64 big-endian key (increasing: rows are
/// appended). The lower ones are recomputed when a proof needs them, from at most 8 leaves, each one SHA-256 block
/// over a hash the event record already holds: storing every node cost 50 of a use's ~160 bytes on disk and a quarter
/// of the pages each commit writes (docs/BENCHMARKS.md, "The tree's low levels"); from height 4 up it costs about 6.
/// What a later append needs of the right edge below that height — the last leaf and the peaks of heights 1–3 — is
/// kept in the one `merkle_tail` row. Derived only from the chain hashes, so a rebuild writes the same bytes.
public struct MerkleTreeProjection: Projection {
    public static let projectionName = "merkle"
    /// Complete subtrees of height ≥ `lowestStoredLevel`: key u64 `StoredHashIndex(level, index)`, value the 32-byte hash.
    public static let nodesTable = "merkle_nodes"
    /// One row, key 0x00: u64 tree size n ‖ the leaf hash of leaf n − 1 ‖ the right edge's peaks below
    /// `lowestStoredLevel` (absent while the log is empty; `tailValue`).
    public static let tailTable = "merkle_tail"
    public static let tailKey: [UInt8] = [0]
    /// The lowest height of a stored subtree. Lower ones are recomputed from their leaves (≤ 8 for a height-3 node).
    public static let lowestStoredLevel = 4

    public var name: String { Self.projectionName }
    /// 1: every complete subtree of height ≥ 1 stored, the tail row 40 bytes. 2: from height 4 up, the tail row with
    /// the low peaks (a ledger of version 1 is rebuilt at its next read-write open, docs/FORMAT.md §6.9).
    public var codeVersion: UInt32 { 2 }
    public var tableNames: [String] { [Self.nodesTable, Self.tailTable] }

    /// The batch's chain hashes, unflushed; the first is the event of seq `firstSeq`.
    private var pending: [SHA256Digest] = []
    private var firstSeq: UInt64 = 0
    /// The right edge after the last flush, kept so the next batch need not read it back. Trusted only when the
    /// stored tail row still says the same size and last leaf (a rolled-back or failed batch, a rebuild, another
    /// writer all change or contradict it: then the edge is read from the tables again). Size and last leaf suffice:
    /// the last leaf is the hash of the last chain hash, which commits to every event before it.
    private var cached: MerkleFrontier?
    /// The batch append's reused storage (`MerkleFrontier.append(leafInputs:scratch:_:)`).
    private var scratch = MerkleFrontier.BatchScratch()

    public init() {}

    public mutating func apply(_ event: Event, hash: SHA256Digest, to store: some KeyValueStore) throws {
        try append(seq: event.seq, chainHash: hash)
    }

    /// Adds the leaf of event `seq` (the next one) with its stored chain hash: all the tree needs of an event.
    public mutating func append(seq: UInt64, chainHash: SHA256Digest) throws {
        if pending.isEmpty {
            firstSeq = seq
        } else if seq != firstSeq + UInt64(pending.count) {
            throw MerkleTreeError("event \(seq) does not follow event \(firstSeq + UInt64(pending.count) - 1)")
        }
        pending.append(chainHash)
    }

    /// Appends the batch's leaves: loads the right edge of the stored tree (≤ 64 reads), merges (hashing two leaves or
    /// two nodes of a level at a time), appends every completed node in the order leaf-by-leaf appending completes
    /// them (ascending keys) and replaces the tail row.
    public mutating func flush(to store: some KeyValueStore) throws {
        guard !pending.isEmpty else { return }
        defer { pending.removeAll(keepingCapacity: true) }
        guard firstSeq >= 1 else { throw MerkleTreeError("events start at seq 1") }
        let raw = store as? any RawKeyValueStore
        let size = firstSeq - 1
        let tail = try Self.tail(store)
        guard (tail?.size ?? 0) == size else {
            cached = nil
            throw MerkleTreeError("the tree holds \(tail?.size ?? 0) leaves, but the next event is leaf \(size)")
        }
        var frontier: MerkleFrontier
        if let cached, cached.size == size, cached.lastLeaf == tail?.leaf {
            frontier = cached
        } else {
            frontier = try Self.frontier(size: size, tail: tail, store, raw: raw)
        }
        cached = nil
        if let raw {
            try raw.withCursor(named: Self.nodesTable) { cursor in
                try withUnsafeTemporaryAllocation(byteCount: 40, alignment: 8) { buffer in
                    let p = buffer.baseAddress!
                    try frontier.append(leafInputs: pending, scratch: &scratch, reportingFrom: Self.lowestStoredLevel) { level, index, hash in
                        p.storeBytes(of: MerkleTree.storedHashIndex(level: level, index: index).bigEndian, as: UInt64.self)
                        hash.withUnsafeBytes { (p + 8).copyMemory(from: $0.baseAddress!, byteCount: 32) }
                        try cursor.append(UnsafeRawBufferPointer(start: p, count: 8), UnsafeRawBufferPointer(start: p + 8, count: 32))
                    }
                }
            }
        } else {
            try frontier.append(leafInputs: pending, scratch: &scratch, reportingFrom: Self.lowestStoredLevel) { level, index, hash in
                try store.put(named: Self.nodesTable, MerkleTree.storedHashIndex(level: level, index: index).bigEndianBytes, hash.bytes)
            }
        }
        try store.put(named: Self.tailTable, Self.tailKey, Self.tailValue(frontier))
        cached = frontier
    }

    public var mark: Int { pending.count }
    public mutating func rollBack(to mark: Int) { pending.removeSubrange(mark...) }
    public mutating func discard() { pending.removeAll(keepingCapacity: true) }

    /// The `merkle_tail` row's parts: the tree's size, its last leaf hash, and its peaks of heights
    /// `lowestStoredLevel` − 1 … 1, largest first (one per set bit of the size among those heights).
    public struct Tail: Equatable, Sendable {
        public var size: UInt64
        public var leaf: SHA256Digest
        public var lowPeaks: [SHA256Digest]
    }

    /// The bits of a tree size whose peaks the tail row holds (heights 1 … `lowestStoredLevel` − 1).
    static let lowPeakBits: UInt64 = (UInt64(1) << UInt64(lowestStoredLevel)) - 2

    /// The `merkle_tail` row of `frontier` (non-empty): u64 size ‖ last leaf hash ‖ its peaks of heights
    /// `lowestStoredLevel` − 1 … 1, largest first; 40 + 32 × (set bits of size among bits 1–3) bytes.
    public static func tailValue(_ frontier: MerkleFrontier) -> [UInt8] {
        var value = frontier.size.bigEndianBytes + frontier.lastLeaf.bytes
        for peak in frontier.peaks where peak.level >= 1 && peak.level < lowestStoredLevel { value += peak.hash.bytes }
        return value
    }

    /// The stored tree's tail row (nil while empty), from `merkle_tail`.
    public static func tail(_ store: some KeyValueStore) throws -> Tail? {
        guard let row = try store.get(named: tailTable, tailKey) else { return nil }
        guard row.count >= 40, let size = UInt64(bigEndianBytes: Array(row[0..<8])), size > 0,
              row.count == 40 + 32 * (size & lowPeakBits).nonzeroBitCount,
              let leaf = SHA256Digest(bytes: row[8..<40]) else {
            throw MerkleTreeError("the merkle_tail row is malformed (\(row.count) bytes)")
        }
        var lowPeaks: [SHA256Digest] = []
        var offset = 40
        while offset < row.count {
            guard let peak = SHA256Digest(bytes: row[offset..<(offset + 32)]) else { throw MerkleTreeError("the merkle_tail row is malformed") }
            lowPeaks.append(peak)
            offset += 32
        }
        return Tail(size: size, leaf: leaf, lowPeaks: lowPeaks)
    }

    /// The right edge (peaks) of the stored tree of `tail.size` leaves: the low ones from the tail row, the others from
    /// `merkle_nodes` (one cursor).
    static func frontier(size: UInt64, tail: Tail?, _ store: some KeyValueStore, raw: (any RawKeyValueStore)?) throws -> MerkleFrontier {
        let positions = MerkleFrontier.peakPositions(size: size)
        var peaks: [SHA256Digest] = []
        peaks.reserveCapacity(positions.count)
        func read(_ node: (Int, UInt64) throws -> SHA256Digest) throws {
            var lowPeaks = tail?.lowPeaks[...] ?? []
            for (level, index) in positions {
                if level == 0, let tail {
                    peaks.append(tail.leaf)
                } else if level < lowestStoredLevel, let peak = lowPeaks.popFirst() {
                    peaks.append(peak)
                } else if level < lowestStoredLevel {
                    throw MerkleTreeError("the merkle_tail row lacks the peak of height \(level)")
                } else {
                    peaks.append(try node(level, index))
                }
            }
        }
        if let raw {
            try raw.withCursor(named: nodesTable) { cursor in
                try read { level, index in
                    var key = MerkleTree.storedHashIndex(level: level, index: index).bigEndian
                    let value = try withUnsafeBytes(of: &key) { k in try cursor.value(at: k).flatMap { SHA256Digest(bytes: $0) } }
                    guard let value else { throw MerkleTreeError("tree node (level \(level), index \(index)) is missing or malformed") }
                    return value
                }
            }
        } else {
            try read { level, index in try storedNode(level: level, index: index, store) }
        }
        guard var frontier = MerkleFrontier(size: size, peaks: peaks) else { throw MerkleTreeError("inconsistent frontier at size \(size)") }
        if let tail { frontier.lastLeaf = tail.leaf }
        return frontier
    }

    /// The hash of the complete subtree (level, index): a leaf through `leafHash`, a subtree below `lowestStoredLevel`
    /// recomputed from its leaves, a higher one read from `merkle_nodes`.
    public static func node(level: Int, index: UInt64, _ store: some KeyValueStore,
                            leafHash: (UInt64) throws -> SHA256Digest) throws -> SHA256Digest {
        if level == 0 { return try leafHash(index) }
        if level < lowestStoredLevel { return try MerkleTree.subtree(level: level, index: index, leafHash: leafHash) }
        return try storedNode(level: level, index: index, store)
    }

    /// The stored hash of the complete subtree (level ≥ `lowestStoredLevel`, index); lower ones are not stored
    /// (`node(level:index:_:leafHash:)` recomputes them).
    public static func storedNode(level: Int, index: UInt64, _ store: some KeyValueStore, raw: (any RawKeyValueStore)? = nil) throws -> SHA256Digest {
        guard level >= lowestStoredLevel else {
            throw MerkleTreeError("tree node (level \(level), index \(index)) is below the stored height \(lowestStoredLevel): recompute it from its leaves")
        }
        let key = MerkleTree.storedHashIndex(level: level, index: index).bigEndianBytes
        let value: SHA256Digest?
        if let raw {
            value = try raw.withCursor(named: nodesTable) { cursor in
                try key.withUnsafeBytes { k in try cursor.value(at: k).flatMap { SHA256Digest(bytes: $0) } }
            }
        } else {
            value = try store.get(named: nodesTable, key).flatMap { SHA256Digest(bytes: $0) }
        }
        guard let value else { throw MerkleTreeError("tree node (level \(level), index \(index)) is missing or malformed") }
        return value
    }
}

/// A tree row that is missing, malformed, or out of step with the log.
public struct MerkleTreeError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "merkle tree: \(message)" }
}

/// Complete subtrees read from a store: height ≥ 4 from `merkle_nodes`, the lower ones computed from leaves through
/// `leafHash` (the engine reads the event's chain hash from the log).
public struct StoredMerkleNodes<Store: KeyValueStore>: MerkleNodeSource {
    public let store: Store
    public let leafHash: (UInt64) throws -> SHA256Digest

    public init(store: Store, leafHash: @escaping (UInt64) throws -> SHA256Digest) {
        self.store = store
        self.leafHash = leafHash
    }

    public func node(level: Int, index: UInt64) throws -> SHA256Digest {
        try MerkleTreeProjection.node(level: level, index: index, store, leafHash: leafHash)
    }
}
