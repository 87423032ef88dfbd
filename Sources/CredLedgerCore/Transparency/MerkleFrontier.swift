/// The right edge of a tree being appended to: its perfect subtrees (one per set bit of the size), largest first.
/// Appending a leaf merges equal-height peaks, which are exactly the complete subtrees a log stores (RFC 9162 §2.1;
/// docs/PROOFS.md §2), so the same code builds the tree live, rebuilds it, and recomputes it from event bytes.
public struct MerkleFrontier: Sendable, Equatable {
    /// (level, hash) per peak, heights strictly decreasing.
    public private(set) var peaks: [(level: Int, hash: SHA256Digest)] = []
    /// Leaves appended so far.
    public private(set) var size: UInt64 = 0
    /// The hash of the last leaf appended (zero while empty): the tree projection's tail row keeps it.
    public var lastLeaf: SHA256Digest = .zero

    public init() { peaks.reserveCapacity(64) }

    /// The frontier of a tree of `size` leaves from its peaks (largest first); nil unless they match size's bits.
    public init?(size: UInt64, peaks: [SHA256Digest]) {
        guard size.nonzeroBitCount == peaks.count else { return nil }
        var levels: [Int] = []
        for level in stride(from: 63, through: 0, by: -1) where size & (UInt64(1) << UInt64(level)) != 0 { levels.append(level) }
        self.size = size
        self.peaks = Array(zip(levels, peaks)).map { (level: $0.0, hash: $0.1) }
    }

    /// Levels (largest first) of the peaks of a tree of `size` leaves, with each peak's node index.
    public static func peakPositions(size: UInt64) -> [(level: Int, index: UInt64)] {
        var out: [(level: Int, index: UInt64)] = []
        for level in stride(from: 63, through: 0, by: -1) where size & (UInt64(1) << UInt64(level)) != 0 {
            out.append((level, (size >> UInt64(level)) - 1))
        }
        return out
    }

    /// Appends the leaf whose hash is `leafHash` (index `size`).
    public mutating func append(leafHash: SHA256Digest) {
        append(leafHash: leafHash) { _, _, _ in }
    }

    /// Appends the leaf whose hash is `leafHash` (index `size`); `created` sees each interior node it completes, bottom
    /// up: (level ≥ 1, node index, hash).
    public mutating func append(leafHash: SHA256Digest, _ created: (Int, UInt64, SHA256Digest) throws -> Void) rethrows {
        let index = size
        size += 1
        lastLeaf = leafHash
        var hash = leafHash
        var level = 0
        while let last = peaks.last, last.level == level {
            peaks.removeLast()
            hash = MerkleHash.node(last.hash, hash)
            level += 1
            try created(level, index >> UInt64(level), hash)
        }
        peaks.append((level, hash))
    }

    /// MTH of the leaves appended so far.
    public var root: SHA256Digest {
        guard var acc = peaks.last?.hash else { return MerkleHash.empty }
        for peak in peaks.dropLast().reversed() { acc = MerkleHash.node(peak.hash, acc) }
        return acc
    }

    public static func == (a: MerkleFrontier, b: MerkleFrontier) -> Bool {
        a.size == b.size && a.lastLeaf == b.lastLeaf && a.peaks.count == b.peaks.count && zip(a.peaks, b.peaks).allSatisfy { $0.level == $1.level && $0.hash == $1.hash }
    }
}
