@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB
import XCTest

/// The transparency tree projection on a real ledger: applied live in the events' transactions (commands, single
/// uses, batches of uses), equal to the naive RFC 9162 definitions over the events' chain hashes at every size,
/// rebuilt byte-identically, covered by `verify`, and built for a ledger that did not have it.
final class TransparencyTreeTests: XCTestCase {
    /// A use event at `seq` (the tree needs only its seq and the chain hash passed beside it).
    private static func anonymousUse(_ seq: UInt64) -> Event {
        Event(seq: seq, timestamp: 1, company: 1, actor: .system, payload: .credentialUsed(CredentialUse(
            credential: 0, project: 0, operation: .read, denial: .unknownCredential)))
    }

    /// Leaf hashes of the log, from the events' stored chain hashes.
    private func leafHashes(_ ledger: Ledger) throws -> [SHA256Digest] {
        try ledger.audit.events().map { MerkleHash.leaf($0.hash) }
    }

    /// Every row of the tree's tables.
    private func treeRows(_ ledger: Ledger) throws -> [String: [[UInt8]]] {
        try ledger.audit.withState { state in
            var out: [String: [[UInt8]]] = [:]
            for table in MerkleTreeProjection().tableNames {
                try state.store.scan(named: table, from: []) { key, value in
                    out[table, default: []].append(key + value)
                    return true
                }
            }
            return out
        }
    }

    /// A log of admin events, single uses, batches of uses (one write transaction each) and OAuth events.
    private func history(_ t: TestLedger, uses: Int) throws {
        try t.makeWorld()
        let key = try t.create(.staticKey, .global)
        let header = "Apikey " + key.secret!
        var i = 0
        while i < uses {
            if i % 3 == 0 {
                _ = try t.ledger.access.check(header: header, company: World.acme, project: World.bridge, operation: .read)
                i += 1
            } else {
                let n = min(uses - i, 1 + i % 7)
                let decisions = try (0..<n).map { _ in try t.ledger.access.authorize(header: header, company: World.acme, project: World.bridge, operation: .write) }
                try t.ledger.access.record(batch: decisions)
                i += n
            }
            if i % 10 == 0 { _ = try t.create(.oauth, .read, name: "client \(i)") }
            t.tick()
        }
    }

    func testTreeMatchesTheNaiveDefinitionsAtEverySize() throws {
        let t = try TestLedger("tree-naive")
        defer { t.remove() }
        try history(t, uses: 70)
        let hashes = try leafHashes(t.ledger)
        let n = hashes.count
        XCTAssertGreaterThan(n, 80)
        XCTAssertEqual(UInt64(n), t.head.seq)
        for size in 0...n {
            XCTAssertEqual(try t.ledger.transparency.treeHead(size: UInt64(size)).root, NaiveMerkle.mth(hashes.prefix(size)), "root at \(size)")
        }
        for size in [1, 2, 3, 7, 8, 9, 31, 32, 33, 64, n - 1, n] {
            let d = Array(hashes.prefix(size))
            for seq in 1...size {
                let proof = try t.ledger.transparency.inclusionProof(seq: UInt64(seq), size: UInt64(size))
                XCTAssertEqual(proof.hashes, NaiveMerkle.path(seq - 1, d[...]), "PATH(\(seq - 1), \(size))")
                XCTAssertEqual(proof.root, NaiveMerkle.mth(d[...]))
                XCTAssertNoThrow(try proof.verify(root: proof.root))
            }
            for old in 1...size {
                let proof = try t.ledger.transparency.consistencyProof(old: UInt64(old), new: UInt64(size))
                XCTAssertEqual(proof.hashes, NaiveMerkle.proof(old, d), "PROOF(\(old), \(size))")
                XCTAssertNoThrow(try proof.verify(oldRoot: NaiveMerkle.mth(d.prefix(old)), newRoot: NaiveMerkle.mth(d[...])))
            }
        }
        // Only complete subtrees of height ≥ 4 are stored, each with its hash by the definition, in completion order;
        // the tail row holds the size, the last leaf and the peaks of heights 3 … 1 the size has.
        let rows = try treeRows(t.ledger)
        let lowest = MerkleTreeProjection.lowestStoredLevel
        XCTAssertEqual(lowest, 4)
        XCTAssertEqual(rows[MerkleTreeProjection.nodesTable], NaiveMerkle.storedRows(hashes, lowest: lowest))
        XCTAssertEqual(rows[MerkleTreeProjection.nodesTable]?.count, (4...7).map { n >> $0 }.reduce(0, +))
        XCTAssertEqual(rows[MerkleTreeProjection.tailTable], [NaiveMerkle.tailRow(hashes, lowest: lowest)])
        XCTAssertEqual(rows[MerkleTreeProjection.tailTable]?.first?.count, 1 + 40 + 32 * (n & 0b1110).nonzeroBitCount)
        // Out of range: refused with a clear error, not an empty proof.
        for (seq, size) in [(0, n), (n + 1, n), (5, 4)] {
            XCTAssertThrowsError(try t.ledger.transparency.inclusionProof(seq: UInt64(seq), size: UInt64(size))) { XCTAssertEqual(($0 as? LedgerError)?.code, "bad_tree_size") }
        }
        XCTAssertThrowsError(try t.ledger.transparency.inclusionProof(seq: 1, size: UInt64(n + 1))) { XCTAssertEqual(($0 as? LedgerError)?.code, "bad_tree_size") }
        for (old, new) in [(0, n), (3, 2), (1, n + 1)] {
            XCTAssertThrowsError(try t.ledger.transparency.consistencyProof(old: UInt64(old), new: UInt64(new))) { XCTAssertEqual(($0 as? LedgerError)?.code, "bad_tree_size") }
        }
    }

    /// The live tree (built batch by batch) and a rebuild (one pass) are byte-identical, and `verify` checks it.
    func testLiveTreeEqualsRebuildAndIsVerified() throws {
        let t = try TestLedger("tree-rebuild")
        defer { t.remove() }
        try history(t, uses: 150)
        let live = try treeRows(t.ledger)
        let report = try t.ledger.audit.verify()
        XCTAssertTrue(report.ok)
        XCTAssertTrue(report.projections.contains { $0.name == "merkle" && $0.matches })
        let rebuilt = try t.ledger.maintenance.rebuildProjections()
        XCTAssertNotNil(rebuilt.digests["merkle"])
        XCTAssertEqual(try treeRows(t.ledger), live)
        // The in-memory reference path writes the same bytes as the LMDB cursor path.
        let memory = MemoryStore()
        var projector = Projector(extensions: [MerkleTreeProjection()])
        for (i, stored) in try t.ledger.audit.events().enumerated() {
            try projector.apply(stored.event, hash: stored.hash, to: memory)
            if i % 13 == 0 { try projector.flush(to: memory) }
        }
        try projector.flush(to: memory)
        var memoryRows: [String: [[UInt8]]] = [:]
        for table in MerkleTreeProjection().tableNames {
            try memory.scan(named: table, from: []) { key, value in
                memoryRows[table, default: []].append(key + value)
                return true
            }
        }
        XCTAssertEqual(memoryRows, live)
    }

    /// A ledger written without the tree (as before this code) gets it at the first read-write open, from the log.
    func testExistingLedgerGetsItsTreeAtTheFirstReadWriteOpen() throws {
        let t = try TestLedger("tree-upgrade") { $0.withoutTransparencyTree = true }
        defer { t.remove() }
        try history(t, uses: 20)
        XCTAssertThrowsError(try t.ledger.transparency.treeHead()) { XCTAssertEqual(($0 as? LedgerError)?.code, "no_transparency_tree") }
        let head = t.head
        t.close()
        var options = t.options
        options.withoutTransparencyTree = false
        // Read-only cannot build it.
        options.readOnly = true
        XCTAssertThrowsError(try Ledger(path: t.path, options: options)) { XCTAssertEqual(($0 as? LedgerError)?.code, "stale_projections") }
        options.readOnly = false
        let ledger = try Ledger(path: t.path, options: options)
        XCTAssertEqual(ledger.head, head, "building the tree appended nothing")
        XCTAssertEqual(try ledger.transparency.treeHead().root, NaiveMerkle.mth(try leafHashes(ledger)[...]))
        XCTAssertTrue(try ledger.audit.verify().ok)
        ledger.close()
        // Once it has a tree, the ledger is never written without it.
        options.withoutTransparencyTree = true
        XCTAssertThrowsError(try Ledger(path: t.path, options: options)) { XCTAssertEqual(($0 as? LedgerError)?.code, "transparency_tree_required") }
    }

    /// Rewrites the closed ledger at `path` (leaf hashes `hashes`) as code version 1 wrote it: the level 1–3 rows too,
    /// the 40-byte tail row, the tree checkpoint at version 1; optionally without its last event.
    private func makeVersionOneTree(_ path: String, hashes: [SHA256Digest], cuttingTheLastEvent: Bool = false) throws {
        let n = hashes.count
        var configuration = Environment.Configuration()
        configuration.maxDatabases = 64
        configuration.mapSize = 64 << 20
        let environment = try Environment(path: path, configuration: configuration)
        defer { environment.close() }
        let tables = try environment.openDatabases([MerkleTreeProjection.nodesTable, MerkleTreeProjection.tailTable, "meta", "events"], flags: [])
        try environment.write { txn in
            for row in NaiveMerkle.storedRows(hashes, lowest: 1) { try txn.put(tables[0], Array(row.prefix(8)), Array(row.dropFirst(8))) }
            try txn.put(tables[1], MerkleTreeProjection.tailKey, UInt64(n).bigEndianBytes + hashes[n - 1].bytes)
            let key = Meta.projectionKey(MerkleTreeProjection.projectionName)
            var checkpoint = try XCTUnwrap(Meta.Checkpoint(try XCTUnwrap(try txn.get(tables[2], key))))
            XCTAssertEqual(checkpoint.codeVersion, 2)
            checkpoint.codeVersion = 1
            try txn.put(tables[2], key, checkpoint.bytes)
            if cuttingTheLastEvent { XCTAssertTrue(try txn.delete(tables[3], UInt64(n).bigEndianBytes)) }
        }
    }

    /// A ledger whose tree is at code version 1 (every subtree of height ≥ 1 stored, a 40-byte tail row) cannot be read
    /// as it is; its next read-write open rebuilds the tree in the current layout, with the same roots.
    func testAVersionOneTreeIsRebuiltAtTheNextReadWriteOpen() throws {
        let t = try TestLedger("tree-v1")
        defer { t.remove() }
        try history(t, uses: 60)
        let hashes = try leafHashes(t.ledger)
        let n = hashes.count
        let root = try t.ledger.transparency.treeHead().root
        t.close()
        try makeVersionOneTree(t.path, hashes: hashes)
        var options = t.options
        options.readOnly = true
        XCTAssertThrowsError(try Ledger(path: t.path, options: options)) { XCTAssertEqual(($0 as? LedgerError)?.code, "stale_projections") }
        options.readOnly = false
        let ledger = try Ledger(path: t.path, options: options)
        defer { ledger.close() }
        XCTAssertEqual(try treeRows(ledger)[MerkleTreeProjection.nodesTable], NaiveMerkle.storedRows(hashes, lowest: 4), "the level 1–3 rows are gone")
        XCTAssertEqual(try treeRows(ledger)[MerkleTreeProjection.tailTable], [NaiveMerkle.tailRow(hashes, lowest: 4)])
        XCTAssertEqual(try ledger.transparency.treeHead().root, root)
        XCTAssertTrue(try ledger.audit.verify().ok)
        let audit = try ledger.transparency.audit(checkpoint: try ledger.transparency.treeHead(size: UInt64(n - 1)))
        XCTAssertTrue(audit.ok && audit.storedTreeChecked, "\(audit.findings)")
    }

    /// A version-1 tree that a read-write open did not rebuild (its checkpoints disagree with the log: a cut tail, when an
    /// operator audits) is not compared as if it were version 2: the audit recomputes from the events and says so.
    func testTheAuditSkipsAStoredTreeOfAnotherVersion() throws {
        let t = try TestLedger("tree-v1-audit")
        defer { t.remove() }
        for i in 0..<30 { _ = try t.ledger.administration.registerCompany("c\(i)", admin: "a\(i)@c.example") }
        let hashes = try leafHashes(t.ledger)
        let n = hashes.count
        let checkpoint = try t.ledger.transparency.treeHead(size: UInt64(n - 1))
        t.close()
        try makeVersionOneTree(t.path, hashes: hashes, cuttingTheLastEvent: true)   // the cut the operator is looking at
        let ledger = try Ledger(path: t.path, options: t.options)   // read-write, yet no rebuild: the checkpoints disagree
        defer { ledger.close() }
        let result = try ledger.transparency.audit(checkpoint: checkpoint)
        XCTAssertTrue(result.ok, "the first \(n - 1) events are untouched: \(result.findings)")
        XCTAssertFalse(result.storedTreeChecked)
        XCTAssertEqual(result.recomputedRoot, checkpoint.root)
    }

    /// The right edge kept between batches is used only while the stored tail row agrees: a batch whose transaction
    /// was lost (the store went back), or a store holding another history of the same size, makes it read the edge again.
    func testTheCachedRightEdgeIsCheckedAgainstTheStore() throws {
        let event = Self.anonymousUse
        func history(_ salt: UInt8, _ n: Int) -> [SHA256Digest] { (1...n).map { SHA256.hash([salt, UInt8($0)]) } }
        func fill(_ p: inout Projector, _ store: MemoryStore, _ hashes: [SHA256Digest], from: Int, to: Int) throws {
            for seq in from...to { try p.apply(event(UInt64(seq)), hash: hashes[seq - 1], to: store) }
            try p.flush(to: store)
        }
        func root(_ store: MemoryStore, _ hashes: [SHA256Digest], _ n: Int) throws -> SHA256Digest {
            try MerkleTree.root(size: UInt64(n), StoredMerkleNodes(store: store) { MerkleHash.leaf(hashes[Int($0)]) })
        }
        let a = history(1, 9), b = history(2, 9)
        var projector = Projector(extensions: [MerkleTreeProjection()])
        var other = Projector(extensions: [MerkleTreeProjection()])
        let x = MemoryStore(), y = MemoryStore(), z = MemoryStore()
        try fill(&projector, x, a, from: 1, to: 4)
        try fill(&other, y, a, from: 1, to: 4)
        try fill(&projector, x, a, from: 5, to: 8)        // the edge kept is at 8
        try fill(&projector, y, a, from: 5, to: 6)        // y is at 4: "the batch 5…8 was lost"
        XCTAssertEqual(try root(y, a, 6), NaiveMerkle.mth(a.prefix(6).map { MerkleHash.leaf($0) }[...]))
        var third = Projector(extensions: [MerkleTreeProjection()])
        try fill(&third, z, b, from: 1, to: 6)            // z holds another history of size 6
        try fill(&projector, z, b, from: 7, to: 9)        // the edge kept (history a at 6) must not be used
        XCTAssertEqual(try root(z, b, 9), NaiveMerkle.mth(b.map { MerkleHash.leaf($0) }[...]))
    }

    /// The stored rows and every root and proof are right whatever the batches and wherever the right edge is read back
    /// from the store (a new projector has no cached edge: the low peaks come from the tail row, the higher ones from
    /// `merkle_nodes`) — over sizes that cross the stored height many times, in random batches.
    func testRowsRootsAndProofsWithTheRightEdgeReadBackAtEverySize() throws {
        let event = Self.anonymousUse
        let chain = (1...150).map { SHA256.hash([UInt8($0 & 0xFF), UInt8($0 >> 8), 7]) }
        let leaves = chain.map { MerkleHash.leaf($0) }
        let lowest = MerkleTreeProjection.lowestStoredLevel
        let random = SeededRandom(seed: 0x7EE5)
        for round in 0..<4 {
            let store = MemoryStore()
            var projector = Projector(extensions: [MerkleTreeProjection()])
            var n = 0
            while n < chain.count {
                let batch = min(chain.count - n, 1 + Int(random.next() % (round == 0 ? 3 : 40)))
                for seq in (n + 1)...(n + batch) { try projector.apply(event(UInt64(seq)), hash: chain[seq - 1], to: store) }
                try projector.flush(to: store)
                n += batch
                // Most of the time the edge is read back from the store, as after a reopen.
                if random.next() % 4 != 0 { projector = Projector(extensions: [MerkleTreeProjection()]) }
                let d = Array(leaves.prefix(n))
                var nodes: [[UInt8]] = [], tail: [[UInt8]] = []
                try store.scan(named: MerkleTreeProjection.nodesTable, from: []) { k, v in nodes.append(k + v); return true }
                try store.scan(named: MerkleTreeProjection.tailTable, from: []) { k, v in tail.append(k + v); return true }
                XCTAssertEqual(nodes, NaiveMerkle.storedRows(d, lowest: lowest), "rows at \(n)")
                XCTAssertEqual(tail, [NaiveMerkle.tailRow(d, lowest: lowest)], "tail at \(n)")
                let source = StoredMerkleNodes(store: store) { leaves[Int($0)] }
                XCTAssertEqual(try MerkleTree.root(size: UInt64(n), source), NaiveMerkle.mth(d[...]), "root at \(n)")
                let m = Int(random.next() % UInt64(n))
                XCTAssertEqual(try MerkleTree.inclusionProof(index: UInt64(m), size: UInt64(n), source), NaiveMerkle.path(m, d[...]), "PATH(\(m), \(n))")
                let old = 1 + Int(random.next() % UInt64(n))
                XCTAssertEqual(try MerkleTree.consistencyProof(old: UInt64(old), new: UInt64(n), source), NaiveMerkle.proof(old, d), "PROOF(\(old), \(n))")
            }
        }
        // Every subtree below the stored height, recomputed from its leaves, is the definition's.
        for level in 0..<lowest {
            for index in 0..<(leaves.count >> level) {
                XCTAssertEqual(try MerkleTree.subtree(level: level, index: UInt64(index)) { leaves[Int($0)] }, NaiveMerkle.subtree(level, index, leaves))
            }
        }
        XCTAssertThrowsError(try MerkleTree.subtree(level: 17, index: 0) { leaves[Int($0)] })
    }

    /// A tail row that is cut, padded, or names a size whose low peaks it does not hold is refused with a clear error
    /// when the edge must be read back, and the store is left as it was.
    func testAMalformedTailRowIsRefused() throws {
        let event = Self.anonymousUse
        let chain = (1...30).map { SHA256.hash([UInt8($0), 9]) }
        let store = MemoryStore()
        var projector = Projector(extensions: [MerkleTreeProjection()])
        for seq in 1...29 { try projector.apply(event(UInt64(seq)), hash: chain[seq - 1], to: store) }
        try projector.flush(to: store)
        let good = try XCTUnwrap(try store.get(named: MerkleTreeProjection.tailTable, MerkleTreeProjection.tailKey))
        XCTAssertEqual(good.count, 40 + 2 * 32, "29 = 0b11101: the peaks of heights 3 and 2")
        // 13 = 0b1101 has 29's low bits: a well-formed row of another size, refused for its size.
        let rest = Array(good[8...])
        let cases: [([UInt8], String)] = [
            (Array(good.dropLast()), "malformed"), (good + [0], "malformed"), (Array(good.prefix(40)), "malformed"),
            (Array(good.prefix(8)), "malformed"), (UInt64(0).bigEndianBytes + rest, "malformed"),
            (UInt64(31).bigEndianBytes + rest, "malformed"), (UInt64(13).bigEndianBytes + rest, "holds 13 leaves"),
        ]
        for (bad, reason) in cases {
            try store.put(named: MerkleTreeProjection.tailTable, MerkleTreeProjection.tailKey, bad)
            var fresh = Projector(extensions: [MerkleTreeProjection()])
            try fresh.apply(event(30), hash: chain[29], to: store)
            XCTAssertThrowsError(try fresh.flush(to: store), "\(bad.count) bytes") { XCTAssertTrue("\($0)".contains(reason), "\($0)") }
            XCTAssertEqual(try store.get(named: MerkleTreeProjection.tailTable, MerkleTreeProjection.tailKey), bad)
        }
    }

    /// A stored subtree under the right edge that is missing: the next append is refused by name and writes nothing.
    func testAMissingStoredPeakIsRefused() throws {
        let event = Self.anonymousUse
        let chain = (1...40).map { SHA256.hash([UInt8($0), 0x5A]) }
        for (n, level) in [(29, 4), (16, 4), (33, 5)] {
            let store = MemoryStore()
            var projector = Projector(extensions: [MerkleTreeProjection()])
            for seq in 1...n { try projector.apply(event(UInt64(seq)), hash: chain[seq - 1], to: store) }
            try projector.flush(to: store)
            try store.delete(named: MerkleTreeProjection.nodesTable, MerkleTree.storedHashIndex(level: level, index: 0).bigEndianBytes)
            var before: [[UInt8]] = []
            try store.scan(named: MerkleTreeProjection.nodesTable, from: []) { k, v in before.append(k + v); return true }
            let tail = try store.get(named: MerkleTreeProjection.tailTable, MerkleTreeProjection.tailKey)
            var fresh = Projector(extensions: [MerkleTreeProjection()])
            try fresh.apply(event(UInt64(n + 1)), hash: chain[n], to: store)
            XCTAssertThrowsError(try fresh.flush(to: store)) { XCTAssertTrue("\($0)".contains("(level \(level), index 0) is missing"), "\($0)") }
            var after: [[UInt8]] = []
            try store.scan(named: MerkleTreeProjection.nodesTable, from: []) { k, v in after.append(k + v); return true }
            XCTAssertEqual(after, before)
            XCTAssertEqual(try store.get(named: MerkleTreeProjection.tailTable, MerkleTreeProjection.tailKey), tail)
        }
    }

    /// On LMDB (the raw cursor path that reads the edge back), reopened after every command: the rows are the
    /// definition's at every size from the first event to past 45 commands.
    func testRowsAfterAReopenAtEverySizeOnLMDB() throws {
        let t = try TestLedger("tree-reopen")
        defer { t.remove() }
        for i in 0..<45 {
            _ = try t.ledger.administration.registerCompany("c\(i)", admin: "a\(i)@c.example")
            try t.reopen()
            let hashes = try leafHashes(t.ledger)
            let rows = try treeRows(t.ledger)
            XCTAssertEqual(rows[MerkleTreeProjection.nodesTable] ?? [], NaiveMerkle.storedRows(hashes, lowest: 4), "at \(hashes.count)")
            XCTAssertEqual(rows[MerkleTreeProjection.tailTable], [NaiveMerkle.tailRow(hashes, lowest: 4)], "at \(hashes.count)")
        }
        XCTAssertGreaterThan(t.head.seq, 64)
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }

    /// A command whose events are undone leaves no leaf behind; the next batch continues the tree correctly.
    func testRolledBackLeavesLeaveNoTrace() throws {
        var projector = Projector(extensions: [MerkleTreeProjection()])
        let store = MemoryStore()
        let event = Self.anonymousUse
        let h = (1...4).map { SHA256.hash([UInt8($0)]) }
        try projector.apply(event(1), hash: h[0], to: store)
        let mark = projector.mark
        try projector.apply(event(2), hash: SHA256.hash("undone"), to: store)
        projector.rollBack(to: mark)
        try projector.apply(event(2), hash: h[1], to: store)
        try projector.flush(to: store)
        try projector.apply(event(3), hash: h[2], to: store)
        try projector.flush(to: store)
        try projector.apply(event(4), hash: h[3], to: store)
        try projector.flush(to: store)
        let nodes = StoredMerkleNodes(store: store) { MerkleHash.leaf(h[Int($0)]) }
        XCTAssertEqual(try MerkleTree.root(size: 4, nodes), NaiveMerkle.mth(h.map { MerkleHash.leaf($0) }[...]))
        // A gap in the seqs is refused, not silently absorbed.
        try projector.apply(event(5), hash: h[0], to: store)
        XCTAssertThrowsError(try projector.apply(event(7), hash: h[0], to: store))
        projector.discard()
        try projector.apply(event(6), hash: h[0], to: store)
        XCTAssertThrowsError(try projector.flush(to: store)) { XCTAssertTrue("\($0)".contains("next event is leaf 5")) }
    }
}
