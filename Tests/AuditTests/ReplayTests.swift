@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB
import XCTest

/// Issue 5, `replay`: on randomized histories the chain verifies and every projection rebuilt from the log
/// equals the live one; a changed byte or a missing event is reported at exactly its seq, wherever it falls
/// relative to the verification chunks and threads.
final class ReplayTests: XCTestCase {
    func testRebuildDigestsEqualLiveOnRandomHistories() throws {
        for seed: UInt64 in [3, 17, 42] {
            let t = try TestLedger("replay-\(seed)", seed: seed)
            defer { t.remove() }
            try RandomHistory(t, seed: seed).run(steps: 260)
            let head = t.ledger.head
            XCTAssertGreaterThan(head.seq, 200)

            let report = try t.ledger.audit.replay()
            XCTAssertNil(report.chainFailure, "seed \(seed): \(report.chainFailure!)")
            XCTAssertTrue(report.ok)
            XCTAssertEqual(report.head, head)
            XCTAssertEqual(report.lastGood, head)
            XCTAssertEqual(report.eventsVerified, head.seq)
            XCTAssertEqual(report.eventsProjected, head.seq)
            XCTAssertEqual(report.projections.map(\.name), ProjectionName.allCases.map(\.rawValue) + ["merkle"])
            for p in report.projections {
                XCTAssertEqual(p.live, p.rebuilt, "seed \(seed): projection \(p.name) differs from its rebuild")
                XCTAssertEqual(p.lastSeq, head.seq)
            }
            // Small chunks on one and on three threads give the same answer.
            for threads in [1, 3] {
                let chunked = try t.ledger.audit.replay(from: 1, threads: threads, projections: false, chunkSize: 7)
                XCTAssertTrue(chunked.ok)
                XCTAssertEqual(chunked.eventsVerified, head.seq)
            }
            // The live rebuild agrees with the scratch rebuild, and verify() with replay().
            let rebuilt = try t.ledger.maintenance.rebuildProjections()
            for p in report.projections { XCTAssertEqual(rebuilt.digests[p.name], p.rebuilt) }
            XCTAssertTrue(try t.ledger.audit.verify().ok)
        }
    }

    func testReplayFromAnEventChecksOnlyTheRest() throws {
        let t = try TestLedger("replay-from")
        defer { t.remove() }
        try RandomHistory(t, seed: 5).run(steps: 120)
        let head = t.ledger.head
        let from = head.seq / 2
        XCTAssertGreaterThan(from, 20)
        let report = try t.ledger.audit.replay(from: from, threads: 2, projections: true, chunkSize: 9)
        XCTAssertTrue(report.ok)
        XCTAssertEqual(report.from, from)
        XCTAssertEqual(report.eventsVerified, head.seq - from + 1)
        XCTAssertEqual(report.eventsProjected, head.seq, "projections always rebuild from event 1")
        let beyond = try t.ledger.audit.replay(from: head.seq + 5, threads: 2, projections: false, chunkSize: 9)
        XCTAssertTrue(beyond.ok)
        XCTAssertEqual(beyond.eventsVerified, 0)
    }

    func testAChangedByteIsReportedAtItsExactSeq() throws {
        let t = try TestLedger("replay-tamper")
        defer { t.remove() }
        try RandomHistory(t, seed: 9).run(steps: 120)
        let head = t.ledger.head.seq
        t.close()
        // Chunks of 7: first event, a chunk's first and last event, the middle, the head.
        let targets: [UInt64] = [1, 7, 8, 14, 15, head / 2, head - 1, head]
        for target in targets {
            for part in ["payload", "hash", "header-time"] {
                try withRecord(t, target) { record in
                    let bodyLength = record.count - 32
                    switch part {
                    case "payload": record[bodyLength - 1] ^= 0x01
                    case "hash": record[bodyLength + 5] ^= 0x80
                    default: record[15] ^= 0x01   // lowest byte of the timestamp
                    }
                }
                try t.reopen(readOnly: true)
                for threads in [1, 2] {
                    let report = try t.ledger.audit.replay(from: 1, threads: threads, projections: true, chunkSize: 7)
                    XCTAssertEqual(report.chainFailure?.seq, target, "\(part) of event \(target), \(threads) threads: \(String(describing: report.chainFailure))")
                    XCTAssertFalse(report.ok)
                    XCTAssertEqual(report.lastGood.seq, target - 1)
                    XCTAssertEqual(report.eventsVerified, target - 1)
                    XCTAssertTrue(report.projections.isEmpty)
                    XCTAssertEqual(report.projectionNote, "not compared: chain broken at event \(target)")
                }
                XCTAssertEqual(try t.ledger.audit.verify().chainFailure?.seq, target)
                t.close()
                try withRecord(t, target) { record in   // undo
                    let bodyLength = record.count - 32
                    switch part {
                    case "payload": record[bodyLength - 1] ^= 0x01
                    case "hash": record[bodyLength + 5] ^= 0x80
                    default: record[15] ^= 0x01
                    }
                }
            }
        }
        try t.reopen(readOnly: true)
        XCTAssertTrue(try t.ledger.audit.replay(from: 1, threads: 2, projections: true, chunkSize: 7).ok, "undoing every change restores the chain")
    }

    func testAMissingEventIsReportedAtItsSeq() throws {
        let t = try TestLedger("replay-gap")
        defer { t.remove() }
        try RandomHistory(t, seed: 10).run(steps: 60)
        let head = t.ledger.head.seq
        t.close()
        let target = head / 2
        try rawEvents(t) { txn, events in _ = try txn.delete(events, target.bigEndianBytes) }
        try t.reopen(readOnly: true)
        let report = try t.ledger.audit.replay(from: 1, threads: 2, projections: true, chunkSize: 5)
        XCTAssertEqual(report.chainFailure?.seq, target)
        XCTAssertTrue(report.chainFailure?.reason.contains("missing") ?? false, "\(String(describing: report.chainFailure))")
        XCTAssertEqual(report.lastGood.seq, target - 1)
    }

    func testSwappedEventsAndADeletedTailAreNamed() throws {
        let t = try TestLedger("replay-swap")
        defer { t.remove() }
        try RandomHistory(t, seed: 11).run(steps: 80)
        let head = t.ledger.head.seq
        t.close()
        // Two events swapped: the earlier position is the first bad event (the rebuild cannot even apply it).
        let (a, b) = (head / 3, 2 * head / 3)
        try rawEvents(t) { txn, events in
            let ra = try txn.get(events, a.bigEndianBytes)!, rb = try txn.get(events, b.bigEndianBytes)!
            try txn.put(events, a.bigEndianBytes, rb)
            try txn.put(events, b.bigEndianBytes, ra)
        }
        try t.reopen(readOnly: true)
        for projections in [true, false] {
            let report = try t.ledger.audit.replay(from: 1, threads: 2, projections: projections, chunkSize: 6)
            XCTAssertEqual(report.chainFailure?.seq, a, "\(String(describing: report.chainFailure))")
        }
        t.close()
        try rawEvents(t) { txn, events in   // undo, then drop the last two events
            let ra = try txn.get(events, a.bigEndianBytes)!, rb = try txn.get(events, b.bigEndianBytes)!
            try txn.put(events, a.bigEndianBytes, rb)
            try txn.put(events, b.bigEndianBytes, ra)
            _ = try txn.delete(events, head.bigEndianBytes)
            _ = try txn.delete(events, (head - 1).bigEndianBytes)
        }
        try t.reopen(readOnly: true)
        for projections in [true, false] {
            let report = try t.ledger.audit.replay(from: 1, threads: 2, projections: projections, chunkSize: 6)
            XCTAssertEqual(report.chainFailure?.seq, head - 1, "the checkpoints remember events up to \(head)")
            XCTAssertTrue(report.chainFailure?.reason.contains("missing") ?? false)
        }
    }

    func testReplayCommandReportsAndExitsThreeOnABreak() throws {
        let t = try TestLedger("replay-cli")
        defer { t.remove() }
        try RandomHistory(t, seed: 12).run(steps: 40)
        let head = t.ledger.head.seq
        t.close()
        let ok = runCLI(t, ["--json", "replay"])
        XCTAssertEqual(ok.code, 0, ok.all)
        XCTAssertEqual(ok.object["ok"] as? Bool, true)
        XCTAssertEqual((ok.object["events_verified"] as? NSNumber)?.uint64Value, head)
        XCTAssertEqual((ok.object["projections"] as? [Any])?.count, 5, "the four built-in projections and the transparency tree")
        let human = runCLI(t, ["replay", "--threads", "1"])
        XCTAssertEqual(human.code, 0)
        XCTAssertTrue(human.out.contains("chain: ok"), human.out)
        XCTAssertTrue(human.out.contains("projection usage: ok"), human.out)

        try withRecord(t, 5) { $0[$0.count - 33] ^= 0xFF }
        let broken = runCLI(t, ["--json", "replay"])
        XCTAssertEqual(broken.code, 3, broken.all)
        XCTAssertEqual((broken.object["first_bad_seq"] as? NSNumber)?.uint64Value, 5)
        let text = runCLI(t, ["replay", "--chain-only"])
        XCTAssertEqual(text.code, 3)
        XCTAssertTrue(text.out.contains("BROKEN at event 5"), text.out)
    }

    // MARK: raw access to the log (the ledger must be closed)

    private func rawEvents(_ t: TestLedger, _ body: (borrowing Transaction, Database) throws -> Void) throws {
        var configuration = Environment.Configuration()
        configuration.maxDatabases = 64
        configuration.mapSize = 64 << 20
        let environment = try Environment(path: t.path, configuration: configuration)
        defer { environment.close() }
        let events = try environment.openDatabases(["events"], flags: [])[0]
        try environment.write { txn in try body(txn, events) }
    }

    private func withRecord(_ t: TestLedger, _ seq: UInt64, _ change: (inout [UInt8]) -> Void) throws {
        try rawEvents(t) { txn, events in
            guard var record = try txn.get(events, seq.bigEndianBytes) else { throw LedgerError("test", "no event \(seq)") }
            change(&record)
            try txn.put(events, seq.bigEndianBytes, record)
        }
    }
}

