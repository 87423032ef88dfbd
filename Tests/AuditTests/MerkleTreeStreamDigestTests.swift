@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB
import XCTest

/// Issue 15: the replay's tree thread no longer writes the rebuilt tree to a scratch B-tree; `MerkleTreeStreamDigest`
/// hashes its rows as they are made. The reference is the scratch path — `MerkleTreeProjection` flushed into an LMDB
/// environment (digested in place) and into a `MemoryStore` (digested by scan) — and the digests must be equal at every
/// size, however the leaves are batched on either side.
final class MerkleTreeStreamDigestTests: XCTestCase {
    private func hashes(_ n: Int, salt: UInt8) -> [SHA256Digest] {
        (0..<n).map { SHA256.hash([salt] + UInt64($0).bigEndianBytes) }
    }

    /// Splits 0..<n into chunks of random lengths in 1...maxChunk.
    private func chunks(_ n: Int, maxChunk: Int, _ random: inout SplitMix64) -> [Range<Int>] {
        var out: [Range<Int>] = [], i = 0
        while i < n {
            let next = min(n, i + Int(random.next() % UInt64(maxChunk)) + 1)
            out.append(i..<next)
            i = next
        }
        return out
    }

    /// The scratch path: the projection appends the leaves batch by batch and writes its rows; the digest reads them.
    private func scratchDigest(_ leaves: [SHA256Digest], batches: [Range<Int>], in scratch: Environment, schema: Schema) throws -> SHA256Digest {
        var digest: SHA256Digest?
        try ScratchWrite.run(scratch) { txn in
            let store = LMDBStore(txn: txn, schema: schema)
            var tree = MerkleTreeProjection()
            for batch in batches {
                for i in batch { try tree.append(seq: UInt64(i + 1), chainHash: leaves[i]) }
                try tree.flush(to: store)
            }
            digest = try ProjectionDigest.compute(tree, in: store)
        }
        return try XCTUnwrap(digest)
    }

    private func memoryDigest(_ leaves: [SHA256Digest], batches: [Range<Int>]) throws -> SHA256Digest {
        let store = MemoryStore()
        var tree = MerkleTreeProjection()
        for batch in batches {
            for i in batch { try tree.append(seq: UInt64(i + 1), chainHash: leaves[i]) }
            try tree.flush(to: store)
        }
        return try ProjectionDigest.compute(tree, in: store)
    }

    private func streamDigest(_ leaves: [SHA256Digest], batches: [Range<Int>]) throws -> SHA256Digest {
        var stream = MerkleTreeStreamDigest()
        for batch in batches { try stream.append(chainHashes: Array(leaves[batch])) }
        XCTAssertEqual(stream.size, UInt64(leaves.count))
        return stream.digest
    }

    func testTheStreamedDigestIsTheScratchTablesDigest() throws {
        let path = NSTemporaryDirectory() + "credledger-streamdigest-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = Environment.Configuration()
        configuration.flags = [.noSync]
        configuration.mapSize = 64 << 20
        configuration.maxDatabases = UInt32(Schema.databaseCount(extensions: [MerkleTreeProjection()]) + 2)
        let scratch = try Environment(path: path, configuration: configuration)
        defer { scratch.close() }
        let schema = try Schema(environment: scratch, extensions: [MerkleTreeProjection()])

        var random = SplitMix64(seed: 0x5EED_7EE)
        // Powers of two and their neighbours, the tree thread's batch (4096) and the read budgets' sizes around them.
        var sizes = [0, 1, 2, 3, 63, 64, 65, 127, 128, 129, 1000, 1023, 1024, 1025, 4095, 4096, 4097, 8191, 8192, 8193, 10_000]
        for _ in 0..<6 { sizes.append(1 + Int(random.next() % 9000)) }
        var seen: Set<SHA256Digest> = []
        for (k, n) in sizes.enumerated() {
            let leaves = hashes(n, salt: UInt8(truncatingIfNeeded: k))
            let reference = try scratchDigest(leaves, batches: chunks(n, maxChunk: 5000, &random), in: scratch, schema: schema)
            XCTAssertEqual(try memoryDigest(leaves, batches: chunks(n, maxChunk: 700, &random)), reference, "size \(n): scan path")
            // The stream batched as the tree thread batches it, one leaf at a time, and at random.
            for batches in [stride(from: 0, to: n, by: 4096).map { $0..<min(n, $0 + 4096) }, (0..<n).map { $0..<$0 + 1 },
                            chunks(n, maxChunk: 97, &random), chunks(n, maxChunk: 6000, &random)] {
                XCTAssertEqual(try streamDigest(leaves, batches: batches), reference, "size \(n), \(batches.count) batches")
            }
            seen.insert(reference)
        }
        XCTAssertEqual(seen.count, sizes.count, "every tree has its own digest (the empty one included)")
    }

    /// The digest covers every node and the tail: one leaf changed anywhere changes it.
    func testOneChangedLeafChangesTheDigest() throws {
        let n = 1000
        let leaves = hashes(n, salt: 9)
        let whole = [0..<n]
        let reference = try streamDigest(leaves, batches: whole)
        XCTAssertEqual(try memoryDigest(leaves, batches: whole), reference)
        for i in [0, 1, 511, 512, 998, 999] {
            var changed = leaves
            changed[i] = SHA256.hash([0xFF] + UInt64(i).bigEndianBytes)
            let digest = try streamDigest(changed, batches: whole)
            XCTAssertNotEqual(digest, reference, "leaf \(i)")
            XCTAssertEqual(digest, try memoryDigest(changed, batches: whole), "leaf \(i)")
        }
    }
}
