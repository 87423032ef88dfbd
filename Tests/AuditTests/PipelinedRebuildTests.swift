@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB
import TestSupport
import XCTest

/// The pipelined live rebuild (`RebuildProjections`: a reading thread checks and decodes the log and makes the tree's
/// nodes, the writer applies and puts) against the one-thread reference path: every projection table and every
/// checkpoint byte-identical, at sizes that put the pipeline's boundaries (its batches, the projector's flushes)
/// anywhere; a broken chain fails with the first bad event named and changes nothing; a map growth in the middle of
/// the rebuild re-runs it cleanly.
final class PipelinedRebuildTests: XCTestCase {
    /// Every projection table's rows and the `meta` table, as stored.
    struct Snapshot: Equatable {
        var tables: [[[UInt8]]]
        var meta: [[UInt8]]
    }

    static func snapshot(_ ledger: Ledger) throws -> Snapshot {
        let schema = ledger.maintenance.schema
        return try ledger.maintenance.environment.read { txn in
            func rows(_ db: Database) throws -> [[UInt8]] {
                var out: [[UInt8]] = []
                try txn.withCursor(db) { cursor in
                    var entry = try cursor.first()
                    while let e = entry {
                        out.append(UInt32(e.key.count).bigEndianBytes + Array(e.key) + Array(e.value))
                        entry = try cursor.next()
                    }
                }
                return out
            }
            // Registered tables are held by name in a dictionary: sort them by name so the order is stable.
            let names = schema.extensions.flatMap(\.tableNames).sorted()
            var tables = try schema.tables.map(rows)
            for name in names { tables.append(try rows(try schema.database(named: name))) }
            return Snapshot(tables: tables, meta: try rows(schema.meta))
        }
    }

    /// The reference rebuild, then the pipelined one with each batch / flush size: identical tables, meta and result.
    static func assertPipelinedMatchesReference(_ ledger: Ledger, sizes: [(batch: Int, flush: Int)],
                                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let live = try Self.snapshot(ledger)
        let reference = try ledger.maintenance.rebuildProjections(pipelined: false)
        let referenceTables = try Self.snapshot(ledger)
        // The live projections, written batch by batch, already are what a rebuild writes.
        XCTAssertEqual(live.tables, referenceTables.tables, "live tables differ from the reference rebuild", file: file, line: line)
        XCTAssertEqual(reference.events, ledger.head.seq, file: file, line: line)
        for (batch, flush) in sizes {
            let result = try ledger.maintenance.rebuildProjections(pipelined: true, batchEvents: batch, flushEvery: flush)
            XCTAssertEqual(result.events, reference.events, "batch \(batch), flush \(flush)", file: file, line: line)
            XCTAssertEqual(result.digests, reference.digests, "batch \(batch), flush \(flush)", file: file, line: line)
            XCTAssertNil(result.accepted, file: file, line: line)
            let rebuilt = try Self.snapshot(ledger)
            XCTAssertEqual(rebuilt.tables.map(\.count), referenceTables.tables.map(\.count), "batch \(batch), flush \(flush)", file: file, line: line)
            XCTAssertTrue(rebuilt == referenceTables, "batch \(batch), flush \(flush): tables or checkpoints differ", file: file, line: line)
        }
        // The stored tables digest to what the rebuild recorded (the tree's digest was streamed, not read back).
        let stored = try ledger.maintenance.environment.read { txn in
            let store = LMDBStore(txn: txn, schema: ledger.maintenance.schema)
            return try ledger.maintenance.schema.checkpointKeys.map { ($0.projection.name, try ProjectionDigest.compute($0.projection, in: store)) }
        }
        for (name, digest) in stored { XCTAssertEqual(reference.digests[name], digest, name, file: file, line: line) }
        XCTAssertTrue(try ledger.audit.verify().ok, file: file, line: line)
    }

    func testEmptyAndOneEventLedgers() throws {
        let t = try TestLedger("rebuild-pipeline-small")
        defer { t.remove() }
        XCTAssertEqual(t.ledger.head.seq, 0)
        try Self.assertPipelinedMatchesReference(t.ledger, sizes: [(1, 1), (4096, 200_000)])
        XCTAssertNil(try t.ledger.environment.read { txn in try txn.get(try t.ledger.maintenance.schema.database(named: MerkleTreeProjection.tailTable), MerkleTreeProjection.tailKey) },
                     "an empty log leaves no tree tail")
        // One event (the system's own kind, so no company is needed), then a company (its first two events).
        try t.ledger.perform(AppendEvents(company: 0, .logAccepted(LogAccepted(logHead: 0, checkpoints: 0))))
        XCTAssertEqual(t.ledger.head.seq, 1)
        try Self.assertPipelinedMatchesReference(t.ledger, sizes: [(1, 1), (2, 1), (4096, 200_000)])
        _ = try t.ledger.administration.registerCompany(World.acme, admin: World.alice, mailDomain: "acme.example")
        XCTAssertEqual(t.ledger.head.seq, 3)
        try Self.assertPipelinedMatchesReference(t.ledger, sizes: [(1, 1), (2, 1), (3, 2), (4, 200_000)])
    }

    /// A random history (every event kind): batch and flush boundaries on every event, on odd sizes, at the head.
    func testRandomHistoryAtEveryBoundary() throws {
        let t = try TestLedger("rebuild-pipeline-random")
        defer { t.remove() }
        try RandomHistory(t, seed: 41).run(steps: 150)
        let head = Int(t.ledger.head.seq)
        XCTAssertGreaterThan(head, 100)
        try Self.assertPipelinedMatchesReference(t.ledger, sizes: [(1, 1), (1, 200_000), (7, 3), (64, 100), (head - 1, 50),
                                                             (head, head), (head + 1, head - 1), (4096, 200_000)])
    }

    /// A link broken in the middle (on a batch boundary and off one): both paths refuse with the same first bad event,
    /// and nothing changes.
    func testBrokenChainFailsNamingTheEventAndChangesNothing() throws {
        let t = try TestLedger("rebuild-pipeline-broken")
        defer { t.remove() }
        try RandomHistory(t, seed: 42).run(steps: 80)
        let ledger = t.ledger!
        let schema = ledger.maintenance.schema
        let bad = ledger.head.seq / 2
        try ledger.environment.write { txn in
            guard var record = try txn.get(schema.events, bad.bigEndianBytes) else { return XCTFail("no event \(bad)") }
            record[record.count - EventCodec.hashSize - 1] ^= 0x01   // the body's last byte: the link no longer matches
            try txn.put(schema.events, bad.bigEndianBytes, record)
        }
        let before = try Self.snapshot(ledger)
        func failure(_ body: () throws -> Void) -> LedgerError? {
            do {
                try body()
                return nil
            } catch {
                return error as? LedgerError
            }
        }
        let reference = failure { try ledger.maintenance.rebuildProjections(pipelined: false) }
        XCTAssertEqual(reference?.code, "chain_broken")
        XCTAssertTrue(reference?.message.contains("event \(bad):") ?? false, "\(String(describing: reference))")
        for batch in [1, Int(bad) - 1, Int(bad), 4096] {
            let pipelined = failure { try ledger.maintenance.rebuildProjections(pipelined: true, batchEvents: batch) }
            XCTAssertEqual(pipelined?.code, "chain_broken", "batch \(batch)")
            XCTAssertEqual(pipelined?.message, reference?.message, "batch \(batch)")
            XCTAssertTrue(try Self.snapshot(ledger) == before, "batch \(batch): a failed rebuild changed the tables")
        }
    }

    /// `MDB_MAP_FULL` in the middle of the writer's puts: the map grows (which waits for the reading thread's
    /// transaction to end) and the rebuild runs again from the start, with the same bytes.
    func testMapGrowthDuringTheRebuildRunsItAgain() throws {
        let t = try TestLedger("rebuild-pipeline-grow")
        defer { t.remove() }
        try RandomHistory(t, seed: 43).run(steps: 100)
        let ledger = t.ledger!
        let reference = try ledger.maintenance.rebuildProjections(pipelined: false)
        let expected = try Self.snapshot(ledger)
        let mapBefore = ledger.environment.mapSize
        let puts = Locked(0)
        ledger.environment.faultInjector = { call in
            guard call == .put else { return nil }
            let n = puts.withLock { n -> Int in
                n += 1
                return n
            }
            return n == 40 ? -30792 /* MDB_MAP_FULL */ : nil
        }
        defer { ledger.environment.faultInjector = nil }
        let result = try ledger.maintenance.rebuildProjections(pipelined: true, batchEvents: 16)
        ledger.environment.faultInjector = nil
        XCTAssertGreaterThan(puts.current, 40, "the rebuild ran again after the injected failure")
        XCTAssertGreaterThan(ledger.environment.mapSize, mapBefore, "the map grew")
        XCTAssertEqual(result.digests, reference.digests)
        XCTAssertTrue(try Self.snapshot(ledger) == expected)
    }
}
