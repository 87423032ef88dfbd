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

    /// Reused storage of `append(leafInputs:scratch:_:)`: the batch's new hashes, level by level.
    public struct BatchScratch: Sendable {
        var hashes: [SHA256Digest] = []
        /// Where level l's new hashes start in `hashes`, per level (level 0: the leaf hashes).
        var starts: [Int] = []
        public init() {}
    }

    /// Appends one leaf per element of `inputs` (leaf input = `inputs[j]`, its leaf hash `MerkleHash.leaf`), with the
    /// same result and the same `created` calls, in the same order, as `append(leafHash:_:)` leaf by leaf. The hashes
    /// are computed level by level instead, two independent ones at a time (`MerkleHash.leaves`, `MerkleHash.nodes`):
    /// SHA-256's rounds are latency-bound, and two interleaved messages cost little more than one. `created` sees only
    /// the nodes of level ≥ `lowestReported` (every node is still computed: the higher ones need them).
    public mutating func append(leafInputs inputs: [SHA256Digest], scratch: inout BatchScratch, reportingFrom lowestReported: Int = 1,
                                _ created: (Int, UInt64, SHA256Digest) throws -> Void) rethrows {
        let m = inputs.count
        guard m > 0 else { return }
        let first = size, end = size + UInt64(m)
        var hashes = scratch.hashes, starts = scratch.starts
        // Taken out of the scratch so appending to them does not copy (the scratch gets them back below).
        scratch.hashes = []
        scratch.starts = []
        hashes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        // Level 0: the leaf hashes, in pairs.
        starts.append(0)
        var j = 0
        while j + 1 < m {
            let (a, b) = MerkleHash.leaves(inputs[j], inputs[j + 1])
            hashes.append(a)
            hashes.append(b)
            j += 2
        }
        if j < m { hashes.append(MerkleHash.leaf(inputs[j])) }
        // Level l + 1 from level l: node (l + 1, k) = H(node (l, 2k), node (l, 2k + 1)) for the new k in
        // [first >> (l + 1), end >> (l + 1)); a left child before level l's new ones is the stored peak of level l.
        // Peaks are largest first, so the peak of level l, if any, is found by scanning from the end.
        var level = 0
        var peakCursor = peaks.count - 1
        while true {
            let lowChild = first >> UInt64(level)
            let low = first >> UInt64(level + 1), high = end >> UInt64(level + 1)
            guard low < high else { break }
            let childStart = starts[level]
            // The old peak of this level (the left child of the first new node when lowChild is odd).
            var oldPeak = SHA256Digest.zero
            if lowChild & 1 == 1 {
                while peakCursor >= 0 && peaks[peakCursor].level < level { peakCursor -= 1 }
                precondition(peakCursor >= 0 && peaks[peakCursor].level == level, "frontier out of step with its size")
                oldPeak = peaks[peakCursor].hash
            }
            starts.append(hashes.count)
            // Child index c of this level: the old peak below lowChild, else hashes[childStart + c - lowChild].
            let shift = childStart - Int(lowChild)
            var k = low
            while k + 1 < high {
                let c = Int(2 * k)
                let left1 = 2 * k < lowChild ? oldPeak : hashes[shift + c]
                let (a, b) = MerkleHash.nodes(left1, hashes[shift + c + 1], hashes[shift + c + 2], hashes[shift + c + 3])
                hashes.append(a)
                hashes.append(b)
                k += 2
            }
            if k < high {
                let c = Int(2 * k)
                hashes.append(MerkleHash.node(2 * k < lowChild ? oldPeak : hashes[shift + c], hashes[shift + c + 1]))
            }
            level += 1
        }
        // Report the new nodes in the order leaf-by-leaf appending completes them: leaf i completes the nodes of
        // levels 1 … trailingZeroBitCount(i + 1).
        let lowest = max(1, lowestReported)
        for i in first..<end {
            let completed = (i + 1).trailingZeroBitCount
            guard completed >= lowest else { continue }
            for l in lowest...completed {
                let index = ((i + 1) >> UInt64(l)) - 1
                try created(l, index, hashes[starts[l] + Int(index - (first >> UInt64(l)))])
            }
        }
        // The new right edge: level l has a peak iff bit l of `end` is set; it is new unless no node of that level
        // was made (then it is the old peak of the same level and index).
        var newPeaks: [(level: Int, hash: SHA256Digest)] = []
        newPeaks.reserveCapacity(end.nonzeroBitCount)
        for l in stride(from: 63, through: 0, by: -1) where end & (UInt64(1) << UInt64(l)) != 0 {
            let index = (end >> UInt64(l)) - 1, lowIndex = first >> UInt64(l)
            if l < starts.count && index >= lowIndex {
                newPeaks.append((l, hashes[starts[l] + Int(index - lowIndex)]))
            } else {
                guard let old = peaks.first(where: { $0.level == l }) else { preconditionFailure("frontier out of step with its size") }
                newPeaks.append(old)
            }
        }
        peaks = newPeaks
        size = end
        lastLeaf = hashes[m - 1]
        scratch.hashes = hashes
        scratch.starts = starts
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
