@testable import CredLedger
import CredLedgerCore
@testable import CredLedgerProjections
import Foundation
import LMDB
import TestSupport
import XCTest

/// The usage and index projections store closed segments only; the open one is read from the log
/// (docs/FORMAT.md §6.0). These tests take the paths where the writer's memory of the open segment does not
/// cover it: a writer reopened mid-segment, a failed batch, and a ledger written by code version 2.
final class OpenSegmentTests: XCTestCase {
    private static let segmentEnd = OpenSegmentFixture.segmentEnd   // 65,535

    private typealias Fixture = OpenSegmentFixture

    private func usage(_ f: Fixture) throws -> UsageRecord {
        try f.ledger.audit.withState { try $0.usage(credential: f.credential) }
    }

    /// The live projections equal a rebuild from the log, byte for byte.
    private func assertLiveEqualsRebuild(_ f: Fixture, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let report = try f.ledger.audit.verify()
        XCTAssertTrue(report.ok, "\(message): \(report.projections.filter { !$0.matches }.map(\.name))", file: file, line: line)
    }

    func testAWriterReopenedMidSegmentFoldsItFromTheLog() throws {
        let f = try Fixture("open-segment-reopen")
        defer { f.t.remove() }
        let before = f.ledger.head.seq
        let first = try f.record(through: Self.segmentEnd - 10)
        XCTAssertEqual(try f.foldedSegments(), [], "nothing is folded inside the first segment")
        // A new writer knows nothing of the open segment: its first fold reads segment 0 back from the log.
        try f.t.reopen()
        let second = try f.record(through: Self.segmentEnd + 25)
        XCTAssertEqual(try f.foldedSegments(), [0], "the batch that crossed the boundary folded segment 0")
        let u = try usage(f)
        XCTAssertEqual(u.used, first.0 + second.0)
        XCTAssertEqual(u.denied, first.1 + second.1)
        XCTAssertEqual(u.used + u.denied, Self.segmentEnd + 25 - before)
        try assertLiveEqualsRebuild(f, "after a fold read from the log")
        // The readers' open segment starts at the segment's first seq; the folded counters hold the rest.
        let open = try f.ledger.audit.withState { try $0.store.openSegment(.usage) }
        XCTAssertEqual(open, (Self.segmentEnd + 1)...(Self.segmentEnd + 25))
        // Reopened read-only: the same counters from the folded row and the log.
        try f.t.reopen(readOnly: true)
        XCTAssertEqual(try usage(f), u)
    }

    func testAFailedBatchAcrossTheBoundaryLeavesNothingHalfFolded() throws {
        let f = try Fixture("open-segment-failed-batch")
        defer { f.t.remove() }
        try f.record(through: Self.segmentEnd - 3)
        let before = try usage(f)
        // The batch that would cross the boundary fails at its commit: nothing of it stays, nor of its fold.
        f.ledger.environment.faultInjector = { call in call == .commit ? ENOSPC : nil }
        XCTAssertThrowsError(try f.ledger.access.record(batch: Array(repeating: f.allowed, count: 10)))
        f.ledger.environment.faultInjector = nil
        XCTAssertEqual(f.ledger.head.seq, Self.segmentEnd - 3)
        XCTAssertEqual(try f.foldedSegments(), [])
        XCTAssertEqual(try usage(f), before)
        // The writer forgot what the failed batch applied; the next crossing batch folds from the log.
        try f.ledger.access.record(batch: Array(repeating: f.allowed, count: 10))
        XCTAssertEqual(try f.foldedSegments(), [0])
        XCTAssertEqual(try usage(f).used, before.used + 10)
        try assertLiveEqualsRebuild(f, "after a failed crossing batch")
    }

    func testAnAdminCommandThatFailsInItsChildKeepsTheSegmentExact() throws {
        let f = try Fixture("open-segment-child")
        defer { f.t.remove() }
        try f.record(through: Self.segmentEnd - 1)
        // A refused command in the crossing batch writes nothing; the uses around it cross and fold.
        XCTAssertThrowsError(try f.ledger.administration.createProject(World.acme, project: "bridge", as: World.alice))
        try f.record(through: Self.segmentEnd + 2)
        try f.ledger.administration.createProject(World.acme, project: "tunnel", as: World.alice)
        XCTAssertEqual(try f.foldedSegments(), [0])
        try assertLiveEqualsRebuild(f, "after a command next to the boundary")
    }

    /// A ledger written by code version 2 kept the open segment in `usage_recent` / `ix_recent`: a read-only open
    /// refuses it, a read-write open rebuilds, the retired tables end empty and the answers are unchanged.
    func testAVersionTwoLedgerIsRebuiltAndItsRetiredTablesEmptied() throws {
        let f = try Fixture("open-segment-v2")
        defer { f.t.remove() }
        try f.record(through: 500)
        let u = try usage(f)
        let path = f.t.path
        f.t.close()
        do {
            let env = try Environment(path: path, configuration: { var c = Environment.Configuration(); c.maxDatabases = 64; return c }())
            defer { env.close() }
            let dbs = try env.openDatabases(["meta", "usage_recent", "ix_recent"], flags: [])
            try env.write { txn in
                for name in ["usage", "indexes"] {
                    let key = Array("projection/\(name)".utf8)
                    var checkpoint = try XCTUnwrap(try txn.get(dbs[0], key))
                    checkpoint.replaceSubrange(0..<4, with: UInt32(2).bigEndianBytes)
                    try txn.put(dbs[0], key, checkpoint)
                }
                // Rows as version 2 wrote them for a use at seq 9.
                try txn.put(dbs[1], UInt64(9).bigEndianBytes, hexBytes("00000003 00000004 00 0000000000000001"))
                try txn.put(dbs[2], UInt64(9).bigEndianBytes, hexBytes("00 03 43 00000002 4b 00000003 50 00000004"))
            }
        }
        var readOnly = f.t.options
        readOnly.readOnly = true
        XCTAssertThrowsError(try Ledger(path: path, options: readOnly)) { error in
            XCTAssertEqual((error as? LedgerError)?.code, "stale_projections", "\(error)")
        }
        try f.t.reopen()
        XCTAssertEqual(try usage(f), u)
        try assertLiveEqualsRebuild(f, "after the upgrade")
        try f.ledger.audit.withState { state in
            for table in [Table.usageRecent, .indexRecent] {
                var rows = 0
                try state.store.scan(table, from: []) { _, _ in rows += 1; return true }
                XCTAssertEqual(rows, 0, "\(table.rawValue) is retired: the rebuild empties it")
            }
        }
    }

    /// The in-place reading of a use record gives what decoding it gives, for every shape of use.
    func testUseRecordsReadInPlaceMatchTheCodec() throws {
        let uses: [(UInt32, CredentialUse)] = [
            (1, CredentialUse(credential: 7, project: 11, operation: .read, denial: nil)),
            (1, CredentialUse(credential: 7, project: 0, operation: .write, denial: .readOnlyScope)),
            (0, CredentialUse(credential: 0, project: 0, operation: .write, denial: .badChecksum)),
            (2, CredentialUse(credential: 0xFFFF_FFFE, project: 0xFFFF_FFFF, operation: .read, denial: .revoked)),
            (3, CredentialUse(credential: 9, project: 0, operation: .read, denial: .crossCompany, targetCompany: 4)),
        ]
        var previous = SHA256.hash([1])
        for (i, (company, use)) in uses.enumerated() {
            let event = Event(seq: UInt64(i + 1), timestamp: 1_767_225_600_000_000 + Int64(i), company: company,
                              actor: use.credential == 0 ? .system : .credential(use.credential), payload: .credentialUsed(use))
            var w = ByteWriter(capacity: 96)
            EventCodec.encodeBody(event, into: &w)
            let link = w.bytes.withUnsafeBytes { HashChain.link(previous: previous, seq: event.seq, body: $0) }
            let record = w.bytes + link.bytes
            previous = link
            let inPlace = try record.withUnsafeBytes { try LogEntry(seq: event.seq, record: $0) }
            let decoded = LogEntry(event)
            XCTAssertEqual(inPlace.seq, decoded.seq)
            XCTAssertEqual(inPlace.flag, decoded.flag, "use \(i)")
            XCTAssertEqual(inPlace.use, decoded.use, "use \(i)")
            XCTAssertEqual((0..<inPlace.count).map(inPlace.list), (0..<decoded.count).map(decoded.list), "use \(i)")
        }
        // A damaged record is refused by name, not read as a use.
        var damaged = Array(repeating: UInt8(0), count: 64)
        damaged[0] = 9
        XCTAssertThrowsError(try damaged.withUnsafeBytes { try LogEntry(seq: 1, record: $0) })
    }
}
