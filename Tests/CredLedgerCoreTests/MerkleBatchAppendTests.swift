import CredLedgerCore
import TestSupport
import XCTest

/// `MerkleFrontier.append(leafInputs:scratch:_:)` (level by level, two hashes at a time) against leaf-by-leaf
/// `append(leafHash:_:)`: the same created nodes in the same order, the same final frontier, for every start size up
/// to 70 and batch sizes across the tree's edges (powers of two and their neighbours), and against the naive tree.
final class MerkleBatchAppendTests: XCTestCase {
    private struct Created: Equatable {
        var level: Int
        var index: UInt64
        var hash: SHA256Digest
    }

    private func inputs(_ n: Int, seed: UInt64) -> [SHA256Digest] {
        var random = SplitMix64(seed: seed)
        return (0..<n).map { _ in SHA256.hash((0..<8).map { _ in UInt8.random(in: 0...255, using: &random) }) }
    }

    /// Appends `batch` after `prefix` both ways, from a frontier that was itself built by `build`.
    private func check(prefix: [SHA256Digest], batch: [SHA256Digest], scratch: inout MerkleFrontier.BatchScratch,
                       file: StaticString = #filePath, line: UInt = #line) {
        var sequential = MerkleFrontier()
        for input in prefix { sequential.append(leafHash: MerkleHash.leaf(input)) }
        var batched = sequential
        var expected: [Created] = []
        for input in batch {
            sequential.append(leafHash: MerkleHash.leaf(input)) { expected.append(Created(level: $0, index: $1, hash: $2)) }
        }
        // Reported from level `lowest` up (the tree projection stores from 4): the same nodes, filtered, in the same
        // order; the frontier is the same whatever is reported.
        for lowest in [4, 2, 7, 1, 0] {
            var partial = batched, got: [Created] = []
            partial.append(leafInputs: batch, scratch: &scratch, reportingFrom: lowest) { got.append(Created(level: $0, index: $1, hash: $2)) }
            XCTAssertEqual(got, expected.filter { $0.level >= max(1, lowest) }, "from level \(lowest), start \(prefix.count), batch \(batch.count)", file: file, line: line)
            XCTAssertEqual(partial, sequential, "frontier from level \(lowest)", file: file, line: line)
        }
        var got: [Created] = []
        batched.append(leafInputs: batch, scratch: &scratch) { got.append(Created(level: $0, index: $1, hash: $2)) }
        XCTAssertEqual(got, expected, "created nodes, start \(prefix.count), batch \(batch.count)", file: file, line: line)
        XCTAssertEqual(batched, sequential, "frontier, start \(prefix.count), batch \(batch.count)", file: file, line: line)
        XCTAssertEqual(batched.root, sequential.root, file: file, line: line)
    }

    func testEveryStartSizeAndBatchSizeEqualsLeafByLeaf() {
        let all = inputs(200, seed: 16)
        var scratch = MerkleFrontier.BatchScratch()
        for start in 0...70 {
            for count in [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 127, 128, 129] where start + count <= all.count {
                check(prefix: Array(all[0..<start]), batch: Array(all[start..<(start + count)]), scratch: &scratch)
            }
        }
    }

    func testConsecutiveBatchesReuseTheScratchAndMatchTheNaiveTree() throws {
        let all = inputs(1_100, seed: 99)
        var random = SplitMix64(seed: 5)
        var frontier = MerkleFrontier(), scratch = MerkleFrontier.BatchScratch()
        var stored: [Created] = []
        var at = 0
        while at < all.count {
            let count = min(all.count - at, Int.random(in: 1...300, using: &random))
            frontier.append(leafInputs: Array(all[at..<(at + count)]), scratch: &scratch) { stored.append(Created(level: $0, index: $1, hash: $2)) }
            at += count
            let hashes = all[0..<at].map { NaiveMerkle.leaf($0.bytes) }
            XCTAssertEqual(frontier.root, NaiveMerkle.mth(hashes[...]), "root after \(at) leaves")
            XCTAssertEqual(frontier.lastLeaf, hashes[at - 1])
        }
        // Every stored node is the naive subtree hash, and the keys come in the storage order (ascending).
        let hashes = all.map { NaiveMerkle.leaf($0.bytes) }
        XCTAssertEqual(stored.count, all.count - all.count.nonzeroBitCount, "one node per completed subtree of height ≥ 1")
        let keys = stored.map { MerkleTree.storedHashIndex(level: $0.level, index: $0.index) }
        XCTAssertEqual(keys, keys.sorted())
        XCTAssertEqual(Set(keys).count, keys.count)
        for node in stored.filter({ $0.index % 37 == 0 }) {
            let start = Int(node.index) << node.level, end = Int(node.index + 1) << node.level
            XCTAssertEqual(node.hash, NaiveMerkle.mth(hashes[start..<end]), "node (\(node.level), \(node.index))")
        }
    }

    func testPairHelpersEqualTheOneAtATimeHashes() {
        let x = inputs(4, seed: 3)
        let (a, b) = MerkleHash.leaves(x[0], x[1])
        XCTAssertEqual(a, MerkleHash.leaf(x[0]))
        XCTAssertEqual(b, MerkleHash.leaf(x[1]))
        XCTAssertEqual(a, SHA256.hash([0x00] + x[0].bytes))
        let (n1, n2) = MerkleHash.nodes(x[0], x[1], x[2], x[3])
        XCTAssertEqual(n1, MerkleHash.node(x[0], x[1]))
        XCTAssertEqual(n2, MerkleHash.node(x[2], x[3]))
        XCTAssertEqual(n2, SHA256.hash([0x01] + x[2].bytes + x[3].bytes))
    }
}
