@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB
import XCTest

/// Issue 15, replay on both cores: the transparency tree is rebuilt on a second thread (`ReplayTreeThread`) from the
/// stored chain hashes while the rebuild thread decodes and applies the other projections. The answers must be the
/// one-thread answers: the same digests, the first bad event named whichever thread met it, a tampered live tree found.
final class ParallelReplayTests: XCTestCase {
    /// Small read transactions, so every thread crosses many of them on a small history.
    private let smallReads = ReadBudget(maxEvents: 13, maxNanoseconds: 10_000_000_000)

    func testTheTreeThreadGivesTheOneThreadDigests() throws {
        let t = try TestLedger("parreplay-same", seed: 21)
        defer { t.remove() }
        try RandomHistory(t, seed: 21).run(steps: 220)
        let head = t.ledger.head
        var answers: [[ProjectionStatus]] = []
        for treeThread in [true, false] {
            for budget in [smallReads, ReadBudget.standard] {
                let report = try t.ledger.audit.replay(from: 1, threads: 2, projections: true, chunkSize: 11, readBudget: budget,
                                                       treeThread: treeThread)
                XCTAssertTrue(report.ok, "tree thread \(treeThread): \(String(describing: report.chainFailure)) \(report.projections)")
                XCTAssertEqual(report.head, head)
                XCTAssertEqual(report.eventsProjected, head.seq)
                XCTAssertEqual(report.projections.map(\.name), ProjectionName.allCases.map(\.rawValue) + ["merkle"])
                answers.append(report.projections)
            }
        }
        XCTAssertEqual(Set(answers.map { $0.map(\.rebuilt) }).count, 1, "every way gives the same rebuilt digests")
        XCTAssertEqual(Set(answers.map { $0.map(\.live) }).count, 1, "and the same live digests")
        // The live writer's own rebuild writes the same tree.
        let rebuilt = try t.ledger.maintenance.rebuildProjections()
        XCTAssertEqual(rebuilt.digests["merkle"], answers[0].last?.rebuilt)
    }

    /// One stored tree node changed in the live ledger (the log untouched): the chain is good, the four built-in
    /// projections match, the tree does not — with the tree's live digest taken by its own thread or by the rebuild.
    func testAChangedLiveTreeNodeIsFound() throws {
        let t = try TestLedger("parreplay-node", seed: 22)
        defer { t.remove() }
        try RandomHistory(t, seed: 22).run(steps: 120)
        t.close()
        try raw(t, MerkleTreeProjection.nodesTable) { txn, nodes in
            let key = try txn.withCursor(nodes) { cursor in try XCTUnwrap(try cursor.last()).key }
            var value = try XCTUnwrap(try txn.get(nodes, Array(key)))
            value[7] ^= 0x20
            try txn.put(nodes, Array(key), value)
        }
        try t.reopen(readOnly: true)
        for treeThread in [true, false] {
            for threads in [1, 2] {
                let report = try t.ledger.audit.replay(from: 1, threads: threads, projections: true, chunkSize: 9, readBudget: smallReads,
                                                       treeThread: treeThread)
                let what = "tree thread \(treeThread), \(threads) threads"
                XCTAssertNil(report.chainFailure, what)
                XCTAssertFalse(report.ok, what)
                XCTAssertEqual(report.projections.filter { !$0.matches }.map(\.name), ["merkle"], what)
            }
        }
        XCTAssertEqual(try t.ledger.audit.verify().projections.filter { !$0.matches }.map(\.name), ["merkle"])
    }

    /// A record cut short (it holds no hash any more) or with a changed stored hash, late in the log: the tree's thread
    /// meets it in a later read transaction than the first; the report names it, whatever found it first.
    func testABreakInTheTreeThreadsRangeIsNamed() throws {
        let t = try TestLedger("parreplay-break", seed: 23)
        defer { t.remove() }
        try RandomHistory(t, seed: 23).run(steps: 160)
        let head = t.ledger.head.seq
        t.close()
        let target = 2 * head / 3
        XCTAssertGreaterThan(target, 3 * smallReads.maxEvents)
        let original = try record(t, target)
        for damage in ["cut", "hash"] {
            try raw(t, "events") { txn, events in
                var changed = original
                if damage == "cut" { changed = Array(original.prefix(20)) } else { changed[changed.count - 3] ^= 0x01 }
                try txn.put(events, target.bigEndianBytes, changed)
            }
            try t.reopen(readOnly: true)
            for threads in [1, 2] {
                let report = try t.ledger.audit.replay(from: 1, threads: threads, projections: true, chunkSize: 7, readBudget: smallReads)
                let what = "\(damage), \(threads) threads: \(String(describing: report.chainFailure))"
                XCTAssertEqual(report.chainFailure?.seq, target, what)
                XCTAssertEqual(report.lastGood.seq, target - 1, what)
                XCTAssertTrue(report.projections.isEmpty, what)
                XCTAssertEqual(report.projectionNote, "not compared: chain broken at event \(target)", what)
            }
            t.close()
        }
        try raw(t, "events") { txn, events in try txn.put(events, target.bigEndianBytes, original) }
        try t.reopen(readOnly: true)
        XCTAssertTrue(try t.ledger.audit.replay(from: 1, threads: 2, projections: true, chunkSize: 7, readBudget: smallReads).ok)
    }

    /// A payload that does not decode, its links recomputed (the chain holds): only the rebuild thread can find it,
    /// while the tree's thread, which reads hashes only, runs on past it. The report names it and the replay ends.
    func testADamagedPayloadIsNamedWhileTheTreeThreadRunsAhead() throws {
        let t = try TestLedger("parreplay-payload", seed: 24)
        defer { t.remove() }
        try RandomHistory(t, seed: 24).run(steps: 160)
        let head = t.ledger.head.seq
        t.close()
        let target = head / 2
        try raw(t, "events") { txn, events in
            var previous = try XCTUnwrap(SHA256Digest(bytes: Array(try XCTUnwrap(try txn.get(events, (target - 1).bigEndianBytes)).suffix(32))))
            for seq in target...head {
                var body = Array(try XCTUnwrap(try txn.get(events, seq.bigEndianBytes)).dropLast(32))
                if seq == target {
                    body.append(0)   // a trailing byte: the length says so, the payload decoder refuses it
                    let length = UInt16(bigEndianBytes: Array(body[20..<22]))! + 1
                    body.replaceSubrange(20..<22, with: length.bigEndianBytes)
                }
                let hash = body.withUnsafeBytes { HashChain.link(previous: previous, seq: seq, body: $0) }
                try txn.put(events, seq.bigEndianBytes, body + hash.withUnsafeBytes { Array($0) })
                previous = hash
            }
        }
        try t.reopen(readOnly: true)
        for threads in [1, 2] {
            for budget in [smallReads, ReadBudget.standard] {
                let report = try t.ledger.audit.replay(from: 1, threads: threads, projections: true, chunkSize: 7, readBudget: budget)
                let what = "\(threads) threads, budget \(budget.maxEvents): \(String(describing: report.chainFailure))"
                XCTAssertEqual(report.chainFailure?.seq, target, what)
                XCTAssertEqual(report.lastGood.seq, target - 1, what)
                XCTAssertEqual(report.eventsProjected, target - 1, what)
                XCTAssertTrue(report.projections.isEmpty, what)
            }
        }
    }

    // MARK: raw access (the ledger must be closed)

    private func raw(_ t: TestLedger, _ table: String, _ body: (borrowing Transaction, Database) throws -> Void) throws {
        var configuration = Environment.Configuration()
        configuration.maxDatabases = 64
        configuration.mapSize = 64 << 20
        let environment = try Environment(path: t.path, configuration: configuration)
        defer { environment.close() }
        let database = try environment.openDatabases([table], flags: [])[0]
        try environment.write { txn in try body(txn, database) }
    }

    private func record(_ t: TestLedger, _ seq: UInt64) throws -> [UInt8] {
        var found: [UInt8]?
        try raw(t, "events") { txn, events in found = try txn.get(events, seq.bigEndianBytes) }
        return try XCTUnwrap(found)
    }
}
