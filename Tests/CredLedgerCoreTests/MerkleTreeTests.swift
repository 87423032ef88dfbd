import CredLedgerCore
import TestSupport
import XCTest

final class MerkleTreeTests: XCTestCase {
    /// Leaf inputs (chain-hash-like 32-byte values) and their leaf hashes.
    private func leaves(_ n: Int, seed: UInt8 = 1) -> (inputs: [SHA256Digest], hashes: [SHA256Digest]) {
        let inputs = (0..<n).map { SHA256.hash([seed, UInt8($0 & 0xFF), UInt8($0 >> 8)]) }
        return (inputs, inputs.map { NaiveMerkle.leaf($0.bytes) })
    }

    func testHashesAreRFC9162() {
        let input = SHA256.hash("x")
        XCTAssertEqual(MerkleHash.leaf(input), SHA256.hash([0x00] + input.bytes))
        let a = SHA256.hash("a"), b = SHA256.hash("b")
        XCTAssertEqual(MerkleHash.node(a, b), SHA256.hash([0x01] + a.bytes + b.bytes))
        XCTAssertEqual(MerkleHash.empty.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    /// The RFC 6962 reference tree (transparency-dev/merkle testonly, also in Go's and Trillian's tests): eight
    /// leaves of varying length and the roots of their prefixes.
    func testReferenceTreeRoots() throws {
        let data = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map { hexBytes($0) }
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ]
        let hashes = data.map(NaiveMerkle.leaf)
        var frontier = MerkleFrontier()
        for (i, root) in roots.enumerated() {
            let source = NaiveNodes(leaves: Array(hashes.prefix(i + 1)))
            XCTAssertEqual(try MerkleTree.root(size: UInt64(i + 1), source).hex, root)
            frontier.append(leafHash: hashes[i])
            XCTAssertEqual(frontier.root.hex, root)
        }
    }

    /// Go's `tlog.StoredHashIndex`: the order complete subtrees are stored in as leaves are appended.
    func testStoredHashIndexIsTheStorageOrder() {
        var next: UInt64 = 0
        var frontier = MerkleFrontier()
        for i in 0..<300 as Range<UInt64> {
            XCTAssertEqual(MerkleTree.storedHashIndex(level: 0, index: i), next, "leaf \(i)")
            next += 1
            frontier.append(leafHash: SHA256.hash([UInt8(i & 0xFF)])) { level, index, _ in
                XCTAssertEqual(MerkleTree.storedHashIndex(level: level, index: index), next, "node (\(level), \(index))")
                next += 1
            }
        }
        // Go's documented values: StoredHashIndex(0, 3) = 4, (1, 1) = 5, (2, 0) = 6, (0, 4) = 7.
        XCTAssertEqual([MerkleTree.storedHashIndex(level: 0, index: 3), MerkleTree.storedHashIndex(level: 1, index: 1),
                        MerkleTree.storedHashIndex(level: 2, index: 0), MerkleTree.storedHashIndex(level: 0, index: 4)], [4, 5, 6, 7])
    }

    /// Every size 1…64: the root, every inclusion proof and every consistency proof equal the naive definitions,
    /// verify, and have the exact lengths the verifier demands.
    func testEverySizeAndPairAgainstNaive() throws {
        let (_, hashes) = leaves(64)
        var frontier = MerkleFrontier()
        for n in 1...64 {
            let d = Array(hashes.prefix(n))
            let source = NaiveNodes(leaves: d)
            let root = NaiveMerkle.mth(d[...])
            frontier.append(leafHash: hashes[n - 1])
            XCTAssertEqual(frontier.root, root, "frontier root \(n)")
            XCTAssertEqual(try MerkleTree.root(size: UInt64(n), source), root, "root \(n)")
            for m in 0..<n {
                let proof = try MerkleTree.inclusionProof(index: UInt64(m), size: UInt64(n), source)
                XCTAssertEqual(proof, NaiveMerkle.path(m, d[...]), "PATH(\(m), \(n))")
                XCTAssertEqual(proof.count, MerkleVerification.inclusionProofLength(index: UInt64(m), size: UInt64(n)))
                XCTAssertNoThrow(try MerkleVerification.verifyInclusion(leafHash: d[m], index: UInt64(m), size: UInt64(n), proof: proof, root: root))
            }
            for m in 1...n {
                let proof = try MerkleTree.consistencyProof(old: UInt64(m), new: UInt64(n), source)
                XCTAssertEqual(proof, NaiveMerkle.proof(m, d), "PROOF(\(m), \(n))")
                if m < n { XCTAssertEqual(proof.count, MerkleVerification.consistencyProofLength(old: UInt64(m), new: UInt64(n))) }
                let oldRoot = NaiveMerkle.mth(d.prefix(m))
                XCTAssertNoThrow(try MerkleVerification.verifyConsistency(old: UInt64(m), new: UInt64(n), proof: proof, oldRoot: oldRoot, newRoot: root),
                                 "verify PROOF(\(m), \(n))")
            }
        }
    }

    private func flipped(_ d: SHA256Digest, bit: Int) -> SHA256Digest {
        var b = d.bytes
        b[bit / 8] ^= 1 << (bit % 8)
        return SHA256Digest(bytes: b)!
    }

    /// Every bit of every hash (leaf, path, root) of every inclusion proof of sizes 1…9, 16 and 17, and one random
    /// bit per hash for all sizes to 64, makes verification fail.
    func testInclusionProofsRejectEveryFlippedBit() throws {
        let (_, hashes) = leaves(64, seed: 2)
        var random = SplitMix64(seed: 7)
        for n in 1...64 {
            let d = Array(hashes.prefix(n)), source = NaiveNodes(leaves: d), root = NaiveMerkle.mth(d[...])
            let every = n <= 9 || n == 16 || n == 17
            for m in 0..<n {
                let proof = try MerkleTree.inclusionProof(index: UInt64(m), size: UInt64(n), source)
                let bits = every ? Array(0..<256) : [Int.random(in: 0..<256, using: &random)]
                for bit in bits {
                    XCTAssertThrowsError(try MerkleVerification.verifyInclusion(leafHash: flipped(d[m], bit: bit), index: UInt64(m), size: UInt64(n), proof: proof, root: root))
                    XCTAssertThrowsError(try MerkleVerification.verifyInclusion(leafHash: d[m], index: UInt64(m), size: UInt64(n), proof: proof, root: flipped(root, bit: bit)))
                    for i in proof.indices {
                        var bad = proof
                        bad[i] = flipped(bad[i], bit: bit)
                        XCTAssertThrowsError(try MerkleVerification.verifyInclusion(leafHash: d[m], index: UInt64(m), size: UInt64(n), proof: bad, root: root))
                    }
                }
            }
        }
    }

    func testConsistencyProofsRejectEveryFlippedBit() throws {
        let (_, hashes) = leaves(64, seed: 3)
        var random = SplitMix64(seed: 8)
        for n in 1...64 {
            let d = Array(hashes.prefix(n)), source = NaiveNodes(leaves: d), root = NaiveMerkle.mth(d[...])
            let every = n <= 9 || n == 16 || n == 17
            for m in 1..<max(n, 1) {
                let proof = try MerkleTree.consistencyProof(old: UInt64(m), new: UInt64(n), source)
                let oldRoot = NaiveMerkle.mth(d.prefix(m))
                let bits = every ? Array(0..<256) : [Int.random(in: 0..<256, using: &random)]
                for bit in bits {
                    XCTAssertThrowsError(try MerkleVerification.verifyConsistency(old: UInt64(m), new: UInt64(n), proof: proof, oldRoot: flipped(oldRoot, bit: bit), newRoot: root))
                    XCTAssertThrowsError(try MerkleVerification.verifyConsistency(old: UInt64(m), new: UInt64(n), proof: proof, oldRoot: oldRoot, newRoot: flipped(root, bit: bit)))
                    for i in proof.indices {
                        var bad = proof
                        bad[i] = flipped(bad[i], bit: bit)
                        XCTAssertThrowsError(try MerkleVerification.verifyConsistency(old: UInt64(m), new: UInt64(n), proof: bad, oldRoot: oldRoot, newRoot: root),
                                             "PROOF(\(m), \(n)) hash \(i) bit \(bit)")
                    }
                }
            }
        }
    }

    /// Wrong sizes, indexes, order, lengths (docs/PROOFS.md §5, the adversarial list).
    func testStructurallyWrongProofsAreRejected() throws {
        let (_, hashes) = leaves(40, seed: 4)
        for n in 1...40 {
            let d = Array(hashes.prefix(n)), source = NaiveNodes(leaves: d), root = NaiveMerkle.mth(d[...])
            for m in 0..<n {
                let proof = try MerkleTree.inclusionProof(index: UInt64(m), size: UInt64(n), source)
                func rejects(_ p: [SHA256Digest], index: UInt64 = UInt64(m), size: UInt64 = UInt64(n), leaf: SHA256Digest? = nil, _ what: String) {
                    XCTAssertThrowsError(try MerkleVerification.verifyInclusion(leafHash: leaf ?? d[m], index: index, size: size, proof: p, root: root), "\(what) m \(m) n \(n)")
                }
                rejects(proof, index: UInt64(n), "index = size")
                rejects(proof, index: UInt64(n) + 5, "index > size")
                rejects(proof, size: 0, "size 0")
                // Another size with the same path shape gives the same computed root, so a size alone is not
                // rejected here: a size is only ever checked together with the root a checkpoint signs for it.
                for size in [UInt64(n) - 1, UInt64(n) + 1] where size > UInt64(m) {
                    if let other = try? MerkleTree.root(size: size, NaiveNodes(leaves: Array(hashes.prefix(Int(size))))), other != root {
                        XCTAssertThrowsError(try MerkleVerification.verifyInclusion(leafHash: d[m], index: UInt64(m), size: size, proof: proof, root: other), "size \(size) m \(m) n \(n)")
                    }
                }
                if m > 0 { rejects(proof, index: UInt64(m) - 1, "index − 1") }
                if m + 1 < n { rejects(proof, index: UInt64(m) + 1, "index + 1") }
                rejects(proof + [root], "one hash more")
                rejects([d[m]] + proof, "one hash more in front")
                if !proof.isEmpty { rejects(Array(proof.dropLast()), "truncated") }
                if !proof.isEmpty { rejects(Array(proof.dropFirst()), "first hash dropped") }
                if proof.count >= 2 && proof[0] != proof[1] { rejects([proof[1], proof[0]] + proof.dropFirst(2), "reordered") }
                // An interior node presented as a leaf: the raw leaf input must be hashed by the verifier.
                if n > 1 { rejects(Array(proof.dropFirst()), leaf: NaiveMerkle.node(d[m & ~1], d[min(m | 1, n - 1)]), "interior node as leaf") }
            }
            for m in 1...n {
                let proof = try MerkleTree.consistencyProof(old: UInt64(m), new: UInt64(n), source)
                let oldRoot = NaiveMerkle.mth(d.prefix(m))
                func rejects(_ p: [SHA256Digest], old: UInt64 = UInt64(m), new: UInt64 = UInt64(n), oldRoot o: SHA256Digest? = nil, newRoot r: SHA256Digest? = nil, _ what: String) {
                    XCTAssertThrowsError(try MerkleVerification.verifyConsistency(old: old, new: new, proof: p, oldRoot: o ?? oldRoot, newRoot: r ?? root), "\(what) m \(m) n \(n)")
                }
                rejects(proof, old: 0, "from 0")
                rejects(proof, old: UInt64(n) + 1, "old > new")
                rejects(proof + [root], "one hash more")
                if m == n {
                    rejects([root], "equal sizes with a proof")
                    if n > 1 { rejects([], oldRoot: NaiveMerkle.mth(d.prefix(n - 1)), "equal sizes, other root") }
                } else {
                    rejects([], "empty proof")
                    rejects(Array(proof.dropLast()), "truncated")
                    if oldRoot != root { rejects(proof, oldRoot: root, newRoot: oldRoot, "roots swapped") }
                    if n < 40 { rejects(proof, new: UInt64(n) + 1, newRoot: NaiveMerkle.mth(hashes.prefix(n + 1)), "new + 1 (with its root)") }
                    if m + 1 < n { rejects(proof, old: UInt64(m) + 1, "old + 1") }
                    if proof.count >= 2 && proof[0] != proof[1] { rejects([proof[1], proof[0]] + proof.dropFirst(2), "reordered") }
                }
            }
        }
    }
}
