import CredLedger
import CredLedgerCore
import CredLedgerProjections
@testable import CredLedgerLab
import Foundation
import LMDB
import XCTest

/// Tail cut, fork and rewritten history, done to the LMDB file behind the ledger's back, are detected against a tree
/// head recorded earlier (docs/PROOFS.md §6, docs/RELIABILITY.md): `Ledger.transparency.audit(checkpoint:)` recomputes everything
/// from the event bytes and names the first size that disagrees where it can be known.
final class TransparencyTamperTests: ReliabilityTestCase {
    private struct Fixture {
        var pristine: TamperDriver.Pristine
        /// The tree head at the pristine log's head (what a checkpoint signed).
        var head: TreeHead
    }

    private func fixture() throws -> Fixture {
        let directory = try makeDirectory("transparency")
        let pristine = try TamperDriver.makePristine(directory: directory, extraUses: 40, seed: Self.seed)
        let ledger = try Ledger(path: pristine.path, options: readOnlyOptions())
        defer { ledger.close() }
        return Fixture(pristine: pristine, head: try ledger.transparency.treeHead())
    }

    private func copy(_ f: Fixture, _ name: String) throws -> String {
        let path = (f.pristine.path as NSString).deletingLastPathComponent + "/" + name
        try TamperDriver.writeCopy(f.pristine.data, to: path)
        return path
    }

    private func audit(_ path: String, _ head: TreeHead) throws -> CheckpointAudit {
        let ledger = try Ledger(path: path, options: readOnlyOptions())
        defer { ledger.close() }
        return try ledger.transparency.audit(checkpoint: head)
    }

    /// The control, and honest growth: the untouched log and a log that only grew are consistent with the checkpoint,
    /// and the consistency proof from it verifies against its root.
    func testUntouchedAndGrownLogsAreConsistent() throws {
        let f = try fixture()
        let path = try copy(f, "grown")
        XCTAssertTrue(try audit(path, f.head).ok)
        let ledger = try Ledger(path: path, options: testOptions())
        try ledger.administration.registerCompany("later", admin: "x@later.example")
        let proof = try ledger.transparency.consistencyProof(old: f.head.size, new: ledger.head.seq)
        XCTAssertNoThrow(try proof.verify(oldRoot: f.head.root, newRoot: try ledger.transparency.treeHead().root))
        ledger.close()
        let result = try audit(path, f.head)
        XCTAssertTrue(result.ok, result.messages.joined(separator: "; "))
        XCTAssertGreaterThan(result.logSize, f.head.size)
        XCTAssertEqual(result.recomputedRoot, f.head.root)
    }

    /// Events deleted at the end: the shorter chain links perfectly; the checkpoint names the first missing event.
    func testTailCutIsDetected() throws {
        let f = try fixture()
        for count in [1, 2, 5] {
            let path = try copy(f, "cut\(count)")
            try TamperDriver.rewriteEvents(path) { txn, events in
                for r in f.pristine.records.suffix(count) { _ = try txn.delete(events, r.seq.bigEndianBytes) }
            }
            let result = try audit(path, f.head)
            XCTAssertEqual(result.findings, [.tailCut], "\(count)")
            XCTAssertEqual(result.firstBadSize, f.head.size - UInt64(count) + 1)
            XCTAssertTrue(result.messages[0].contains("events \(f.head.size - UInt64(count) + 1)…\(f.head.size)") || count == 1)
        }
    }

    /// A cut tail that the operator then "accepted" (`rebuild` appends `log_accepted` and rebuilds the tree) is a fork:
    /// the log has the checkpoint's size again, with another last event.
    func testCutAndAcceptedTailIsAFork() throws {
        let f = try fixture()
        let path = try copy(f, "accepted")
        try TamperDriver.rewriteEvents(path) { txn, events in
            _ = try txn.delete(events, f.pristine.records.last!.seq.bigEndianBytes)
        }
        let ledger = try Ledger(path: path, options: testOptions())
        _ = try ledger.maintenance.rebuildProjections()
        XCTAssertEqual(ledger.head.seq, f.head.size)
        ledger.close()
        let result = try audit(path, f.head)
        XCTAssertEqual(result.findings, [.rootDiffers])
        XCTAssertEqual(result.firstBadSize, f.head.size)
    }

    /// Two ledgers from one history that then diverge: each one's checkpoint exposes the other.
    func testForkIsDetected() throws {
        let f = try fixture()
        let a = try copy(f, "forkA"), b = try copy(f, "forkB")
        var heads: [TreeHead] = []
        for (path, name) in [(a, "alpha"), (b, "bravo")] {
            let ledger = try Ledger(path: path, options: testOptions())
            try ledger.administration.registerCompany(name, admin: "x@\(name).example")
            try ledger.administration.registerCompany(name + "2", admin: "y@\(name).example")
            heads.append(try ledger.transparency.treeHead())
            ledger.close()
        }
        XCTAssertEqual(heads[0].size, heads[1].size)
        XCTAssertNotEqual(heads[0].root, heads[1].root)
        XCTAssertEqual(try audit(b, heads[0]).findings, [.rootDiffers])
        XCTAssertEqual(try audit(a, heads[1]).findings, [.rootDiffers])
        // Both still extend the common checkpoint.
        XCTAssertTrue(try audit(a, f.head).ok)
        XCTAssertTrue(try audit(b, f.head).ok)
    }

    /// One use re-encoded and every later link recomputed (the chain verifies): the stored tree, built from the
    /// original events, locates the rewrite; and the checkpoint's root no longer matches.
    func testRewrittenHistoryIsLocatedByTheStoredTree() throws {
        let f = try fixture()
        let path = try copy(f, "rewrite")
        let target = try rewriteOneUse(f, path, after: f.pristine.records.count / 2)
        let chainOnly = try Ledger(path: path, options: readOnlyOptions())
        XCTAssertNil(try chainOnly.audit.verify(projections: false).chainFailure, "a consistent rewrite links")
        chainOnly.close()
        let result = try audit(path, f.head)
        XCTAssertEqual(result.findings.count, 2, result.messages.joined(separator: "; "))
        guard case .treeDiffers(let first, let last) = result.findings.first else { return XCTFail("\(result.findings)") }
        XCTAssertTrue((first...last).contains(target), "\(first)…\(last) should hold \(target)")
        // Located to the smallest stored subtree holding it: 16 leaves (height 4; the lower ones are not stored).
        let block = UInt64(1) << UInt64(MerkleTreeProjection.lowestStoredLevel)
        XCTAssertEqual(last - first + 1, block, "one subtree of the lowest stored height")
        XCTAssertEqual((first - 1) % block, 0)
        XCTAssertEqual(result.findings.last, .rootDiffers)
        XCTAssertEqual(result.firstBadSize, first)
    }

    /// A rewrite among the last events, which no stored subtree covers yet (head mod 16 of them), after an earlier
    /// checkpoint: the tail row's low peaks, recomputed from the events, locate it; and a damaged low peak in that row
    /// is named the same way.
    func testRewriteAmongTheLastEventsIsLocatedByTheTailRow() throws {
        let directory = try makeDirectory("transparency-tail")
        var pristine = try TamperDriver.makePristine(directory: directory + "/a", extraUses: 40, seed: Self.seed)
        // Grow the scenario so that the head is 8 past a multiple of 16: its last 8 events are uses under no stored node.
        let extra = 40 + (24 - pristine.records.count % 16) % 16
        if extra != 40 { pristine = try TamperDriver.makePristine(directory: directory + "/b", extraUses: extra, seed: Self.seed) }
        let head = UInt64(pristine.records.count)
        XCTAssertEqual(head % 16, 8)
        let covered = head - 8
        let ledger = try Ledger(path: pristine.path, options: readOnlyOptions())
        let earlier = try ledger.transparency.treeHead(size: covered), atHead = try ledger.transparency.treeHead()
        ledger.close()

        let path = directory + "/rewrite-last"
        try TamperDriver.writeCopy(pristine.data, to: path)
        let target = try TamperDriver.rewriteOneUse(path, records: pristine.records, after: Int(covered))
        XCTAssertGreaterThan(target, covered)
        let result = try audit(path, earlier)
        XCTAssertEqual(result.findings, [.treeDiffers(firstSeq: covered + 1, lastSeq: head)], result.messages.joined(separator: "; "))
        XCTAssertTrue(result.storedTreeChecked)
        let whole = try audit(path, atHead)
        XCTAssertEqual(whole.findings, [.treeDiffers(firstSeq: covered + 1, lastSeq: head), .rootDiffers])
        XCTAssertEqual(whole.firstBadSize, covered + 1)

        // The tail row itself damaged (its peak of height 3, the first after size and last leaf): named, log untouched.
        let damaged = directory + "/damaged-tail"
        try TamperDriver.writeCopy(pristine.data, to: damaged)
        try TamperDriver.rewriteTable(MerkleTreeProjection.tailTable, in: damaged) { txn, tail in
            var row = try XCTUnwrap(try txn.get(tail, MerkleTreeProjection.tailKey))
            XCTAssertEqual(row.count, 40 + 32)
            row[50] ^= 0x01
            try txn.put(tail, MerkleTreeProjection.tailKey, row)
        }
        XCTAssertEqual(try audit(damaged, earlier).findings, [.treeDiffers(firstSeq: covered + 1, lastSeq: head)])
        XCTAssertTrue(try audit(pristine.path, earlier).ok, "the untouched ledger passes")
    }

    /// The same rewrite followed by a rebuild of every projection (the attacker rewrote the tree as well): nothing
    /// inside the file disagrees any more; only the checkpoint does.
    func testRewrittenHistoryAndTreeAreCaughtByTheCheckpoint() throws {
        let f = try fixture()
        let path = try copy(f, "rewrite-all")
        _ = try rewriteOneUse(f, path, after: 3)
        let ledger = try Ledger(path: path, options: testOptions())
        _ = try ledger.maintenance.rebuildProjections()
        XCTAssertTrue(try ledger.audit.verify().ok, "the rewritten file is consistent in itself")
        ledger.close()
        let result = try audit(path, f.head)
        XCTAssertEqual(result.findings, [.rootDiffers])
        XCTAssertEqual(result.firstBadSize, f.head.size)
    }

    /// A byte changed in place (no re-chaining): the first bad event is named.
    func testInPlaceChangeIsNamed() throws {
        let f = try fixture()
        let victim = f.pristine.records[f.pristine.records.count / 3]
        var bytes = f.pristine.data
        bytes[victim.fileOffset + 9] ^= 0x40   // the timestamp
        let path = (f.pristine.path as NSString).deletingLastPathComponent + "/flip"
        try TamperDriver.writeCopy(bytes, to: path)
        let result = try audit(path, f.head)
        guard case .brokenChain(let seq, _) = result.findings.first else { return XCTFail("\(result.findings)") }
        XCTAssertEqual(seq, victim.seq)
        XCTAssertEqual(result.firstBadSize, victim.seq)
    }

    /// Re-encodes the first use after record index `after` with the other operation and re-links every later event.
    @discardableResult
    private func rewriteOneUse(_ f: Fixture, _ path: String, after: Int) throws -> UInt64 {
        try TamperDriver.rewriteOneUse(path, records: f.pristine.records, after: after)
    }
}
