@testable import CredLedger
import CredLedgerCore
@testable import CredLedgerProjections
import Foundation
import LMDB
import TestSupport
import XCTest

/// Review of the open segment read from the log (docs/FORMAT.md §6.0): paths the writer's memory of the open segment
/// does not cover, and readers at the segment boundary, each checked against a brute-force count over the log.
final class OpenSegmentReviewTests: XCTestCase {
    private static let segmentEnd = OpenSegmentFixture.segmentEnd   // 65,535

    private typealias Fixture = OpenSegmentFixture

    /// What the log says, brute force: the credential's counters and its posting list through `seq`.
    private func expected(_ f: Fixture, through seq: UInt64) throws -> (usage: UsageRecord, list: [PostingIndex.Entry], uses: [RecentUse]) {
        var usage = UsageRecord()
        var uses: [RecentUse] = []
        var list: [PostingIndex.Entry] = []
        var scratch: [(PostingIndex.ListKey, PostingIndex.Flag)] = []
        let key = PostingIndex.ListKey(.credential, f.credential)
        let schema = f.ledger.schema
        try f.ledger.environment.read { txn in
            try EventLog.scanRaw(from: 1, schema: schema, in: txn) { s, record in
                guard s <= seq else { return false }
                let event = try EventCodec.decode(seq: s, record: record).event
                if case .credentialUsed(let u) = event.payload, u.credential == f.credential {
                    let use = RecentUse(seq: s, credential: u.credential, project: u.project, allowed: u.allowed, time: event.timestamp)
                    usage.count(use)
                    uses.append(use)
                }
                scratch.removeAll()
                PostingIndex.lists(for: event, into: &scratch)
                if let hit = scratch.first(where: { $0.0 == key }) { list.append(PostingIndex.Entry(seq: s, flag: hit.1)) }
                return true
            }
        }
        return (usage, list, uses)
    }

    /// The credential's list through the LMDB reader (`PostingReader`) and the generic one (`PostingIndex.visit`).
    private func lists(_ f: Fixture, _ range: ClosedRange<UInt64>, descending: Bool)
        throws -> (reader: [PostingIndex.Entry], generic: [PostingIndex.Entry]) {
        let key = PostingIndex.ListKey(.credential, f.credential)
        let schema = f.ledger.schema
        return try f.ledger.environment.read { txn in
            var reader: [PostingIndex.Entry] = [], generic: [PostingIndex.Entry] = []
            try PostingReader(schema: schema).visit(key, range: range, descending: descending, txn: txn) { s, flag in
                reader.append(PostingIndex.Entry(seq: s, flag: flag))
                return true
            }
            try PostingIndex.visit(key, in: LMDBStore(txn: copy txn, schema: schema), range: range, descending: descending) {
                generic.append($0)
                return true
            }
            return (reader, generic)
        }
    }

    private func usage(_ f: Fixture) throws -> UsageRecord {
        try f.ledger.audit.withState { try $0.usage(credential: f.credential) }
    }

    private func assertLiveEqualsRebuild(_ f: Fixture, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let report = try f.ledger.audit.verify()
        XCTAssertTrue(report.ok, "\(message): \(report.projections.filter { !$0.matches }.map(\.name))", file: file, line: line)
    }

    /// Every reader agrees with the log, at every seq of `seqs` (as-of state) and over the whole list.
    private func assertReadersExact(_ f: Fixture, at seqs: [UInt64], _ message: String,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let head = f.ledger.head.seq
        let all = try expected(f, through: head)
        XCTAssertEqual(try usage(f), all.usage, "\(message): live usage", file: file, line: line)
        let daily = try f.ledger.audit.withState { try $0.dailyUsage(credential: f.credential) }
        XCTAssertEqual(daily.map { $0.usage.allowed }.reduce(0, +), all.usage.used, "\(message): daily allowed", file: file, line: line)
        XCTAssertEqual(daily.map { $0.usage.denied }.reduce(0, +), all.usage.denied, "\(message): daily denied", file: file, line: line)
        for descending in [false, true] {
            let l = try lists(f, 1...UInt64.max, descending: descending)
            let want = descending ? Array(all.list.reversed()) : all.list
            XCTAssertEqual(l.reader, want, "\(message): PostingReader, descending \(descending)", file: file, line: line)
            XCTAssertEqual(l.generic, want, "\(message): PostingIndex.visit, descending \(descending)", file: file, line: line)
        }
        for s in seqs where s <= head {
            // Ranges that end and start exactly at `s`.
            for range in [1...s, s...head, s...s] {
                let l = try lists(f, range, descending: false)
                let want = all.list.filter { range.contains($0.seq) }
                XCTAssertEqual(l.reader, want, "\(message): PostingReader \(range)", file: file, line: line)
                XCTAssertEqual(l.generic, want, "\(message): PostingIndex.visit \(range)", file: file, line: line)
            }
            let asOf = try f.ledger.audit.state(asOf: .seq(s))
            let u = try asOf.reader.usage(credential: f.credential)
            var e = UsageRecord()
            for use in all.uses where use.seq <= s { e.count(use) }
            XCTAssertEqual(u.used, e.used, "\(message): as-of used at \(s)", file: file, line: line)
            XCTAssertEqual(u.denied, e.denied, "\(message): as-of denied at \(s)", file: file, line: line)
            XCTAssertEqual(u.lastUsed, e.lastUsed, "\(message): as-of last used at \(s)", file: file, line: line)
            XCTAssertEqual(u.lastDenied, e.lastDenied, "\(message): as-of last denied at \(s)", file: file, line: line)
        }
    }

    /// Hands `jobs` to the writer in one call (so they can share a batch) and waits for them; the errors by job index.
    private func submitTogether(_ writer: GroupCommitWriter, _ jobs: [WriteRequest.Job]) throws -> [Int: Error] {
        final class Errors: @unchecked Sendable {
            let lock = NSLock()
            var all: [Int: Error] = [:]
        }
        let errors = Errors()
        let group = DispatchGroup()
        writer.submit(jobs.enumerated().map { i, job in
            group.enter()
            return WriteRequest(job) { error in
                if let error { errors.lock.withLock { errors.all[i] = error } }
                group.leave()
            }
        })
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        return errors.lock.withLock { errors.all }
    }

    // MARK: - The writer

    /// A writer reopened with its head exactly at the boundary's last seq (65,535), then exactly at the first seq of
    /// segment 1 (65,536): segment 0 is folded once, from the log, by the batch that writes 65,536.
    func testAWriterReopenedExactlyAtTheBoundary() throws {
        let f = try Fixture("review-reopen-boundary")
        defer { f.t.remove() }
        try f.record(through: Self.segmentEnd)
        XCTAssertEqual(try f.foldedSegments(), [])
        try f.t.reopen()
        try f.record(through: Self.segmentEnd + 1)
        XCTAssertEqual(try f.foldedSegments(), [0])
        try f.t.reopen()
        try f.record(through: Self.segmentEnd + 7)
        XCTAssertEqual(try f.foldedSegments(), [0])
        try assertLiveEqualsRebuild(f, "reopened at 65,535 and 65,536")
        try assertReadersExact(f, at: [Self.segmentEnd - 1, Self.segmentEnd, Self.segmentEnd + 1, Self.segmentEnd + 2], "at the boundary")
        try f.t.reopen(readOnly: true)
        try assertReadersExact(f, at: [Self.segmentEnd, Self.segmentEnd + 1], "read-only")
    }

    /// The crossing batch's commit reports MDB_MAP_FULL once: the environment grows the map and runs the batch closure
    /// again. The first run folded segment 0 and moved the projector's memory; the second must fold it again, once.
    func testMapFullAtTheCrossingCommitReRunsTheBatchExactly() throws {
        let f = try Fixture("review-map-full")
        defer { f.t.remove() }
        try f.record(through: Self.segmentEnd - 4)
        final class Once: @unchecked Sendable {
            private let lock = NSLock()
            private var fired = false
            func fire() -> Bool { lock.withLock { defer { fired = true }; return !fired } }
        }
        let once = Once()
        f.ledger.environment.faultInjector = { call in call == .commit && once.fire() ? -30792 /* MDB_MAP_FULL */ : nil }
        try f.ledger.access.record(batch: Array(repeating: f.allowed, count: 10))
        f.ledger.environment.faultInjector = nil
        XCTAssertFalse(once.fire(), "the fault fired")
        XCTAssertEqual(f.ledger.head.seq, Self.segmentEnd + 6)
        XCTAssertEqual(try f.foldedSegments(), [0])
        try f.record(through: Self.segmentEnd + 20)
        try assertLiveEqualsRebuild(f, "after a re-run crossing batch")
        try assertReadersExact(f, at: [Self.segmentEnd, Self.segmentEnd + 1], "after a re-run crossing batch")
    }

    /// A command reads usage and a posting list through the write transaction in the middle of a batch whose uses
    /// crossed the boundary (not folded yet: the checkpoint is the batch before's), then another crossing follows.
    func testACommandInTheMiddleOfACrossingBatchReadsEveryEntryOnce() throws {
        let f = try Fixture("review-mid-batch-read")
        defer { f.t.remove() }
        try f.record(through: Self.segmentEnd - 5)
        let writer = try XCTUnwrap(f.ledger.writer)
        let use = (f.allowed.company, f.allowed.use)
        let first = QueuedCommand(ReadInBatch(credential: f.credential))
        let second = QueuedCommand(ReadInBatch(credential: f.credential))
        let batchesBefore = f.ledger.maintenance.writerStatistics.batches
        let errors = try submitTogether(writer, [.uses(Array(repeating: use, count: 10)), .command(first),
                                                 .uses(Array(repeating: use, count: 3)), .command(second)])
        XCTAssertTrue(errors.isEmpty, "\(errors)")
        XCTAssertEqual(f.ledger.maintenance.writerStatistics.batches - batchesBefore, 1, "one batch")
        XCTAssertEqual(f.ledger.head.seq, Self.segmentEnd + 8)
        let a = try first.result(), b = try second.result()
        let atA = try expected(f, through: Self.segmentEnd + 5), atB = try expected(f, through: Self.segmentEnd + 8)
        XCTAssertEqual(a.usage, atA.usage, "first read (head 65,540 in the batch)")
        XCTAssertEqual(a.postings, atA.list.count, "first read")
        XCTAssertEqual(b.usage, atB.usage, "second read")
        XCTAssertEqual(b.postings, atB.list.count, "second read")
        XCTAssertEqual(try f.foldedSegments(), [0])
        try assertLiveEqualsRebuild(f, "after a batch read in its middle")
        try assertReadersExact(f, at: [Self.segmentEnd, Self.segmentEnd + 1], "after a batch read in its middle")
    }

    /// A command whose events are the ones that cross the boundary fails in its child transaction (the projector rolls
    /// back to its mark, taken exactly at 65,535); the uses after it cross instead.
    func testACrossingCommandUndoneInItsChildLeavesTheFoldExact() throws {
        let f = try Fixture("review-child-crossing")
        defer { f.t.remove() }
        try f.record(through: Self.segmentEnd - 2)
        let writer = try XCTUnwrap(f.ledger.writer)
        let acme = try XCTUnwrap(try f.ledger.audit.withState { try $0.company(slug: World.acme) }).number
        let alice = try XCTUnwrap(try f.ledger.audit.withState { try $0.user(email: World.alice) })
        let use = (f.allowed.company, f.allowed.use)
        let errors = try submitTogether(writer, [.uses(Array(repeating: use, count: 2)),
                                                 .command(QueuedCommand(CrossingThenFailing(company: acme, actor: alice))),
                                                 .uses(Array(repeating: use, count: 4))])
        XCTAssertEqual(Set(errors.keys), [1], "\(errors)")
        XCTAssertEqual(f.ledger.head.seq, Self.segmentEnd + 4)
        XCTAssertEqual(try f.foldedSegments(), [0])
        try assertLiveEqualsRebuild(f, "after a crossing command undone")
        try assertReadersExact(f, at: [Self.segmentEnd, Self.segmentEnd + 1], "after a crossing command undone")
    }

    /// An operator's rebuild inside the writer (it discards the writer's projector), then uses that cross the boundary.
    func testARebuildThenUsesAcrossTheBoundary() throws {
        let f = try Fixture("review-rebuild")
        defer { f.t.remove() }
        try f.record(through: Self.segmentEnd - 3)
        _ = try f.ledger.maintenance.rebuildProjections()
        try f.record(through: Self.segmentEnd + 3)
        XCTAssertEqual(try f.foldedSegments(), [0])
        _ = try f.ledger.maintenance.rebuildProjections()
        XCTAssertEqual(try f.foldedSegments(), [0])
        try f.record(through: Self.segmentEnd + 9)
        try assertLiveEqualsRebuild(f, "rebuilds around the boundary")
        try assertReadersExact(f, at: [Self.segmentEnd, Self.segmentEnd + 1, Self.segmentEnd + 4], "rebuilds around the boundary")
    }

    // MARK: - A tail cut across the boundary

    /// Events removed from the end of the log across the boundary (the checkpoints, at 65,545, are ahead of the head,
    /// 65,535: what `verify` reports as a cut tail). A read-only open may still read. `LMDBStore.openSegment` starts the
    /// open segment at segment(min(checkpoint, head)) = 0, while segment 0 is folded in `usage` and `ix`: the usage
    /// counters and `PostingReader` (which takes the folded segments from the last `ix` row) count segment 0 twice;
    /// the generic `PostingIndex.visit` (folded segments before the open one only) counts it once.
    func testATailCutAcrossTheBoundaryIsNotCountedTwice() throws {
        let f = try Fixture("review-tail-cut")
        defer { f.t.remove() }
        try f.record(through: Self.segmentEnd + 10)
        XCTAssertEqual(try f.foldedSegments(), [0])
        let path = f.t.path
        f.t.close()
        do {
            let env = try Environment(path: path, configuration: { var c = Environment.Configuration(); c.maxDatabases = 64; return c }())
            defer { env.close() }
            let events = try env.openDatabases(["events"], flags: [])[0]
            try env.write { txn in
                for s in (Self.segmentEnd + 1)...(Self.segmentEnd + 10) { XCTAssertTrue(try txn.delete(events, s.bigEndianBytes)) }
            }
        }
        try f.t.reopen(readOnly: true)
        XCTAssertEqual(f.ledger.head.seq, Self.segmentEnd)
        let all = try expected(f, through: Self.segmentEnd)
        let l = try lists(f, 1...UInt64.max, descending: false)
        XCTAssertEqual(l.generic, all.list, "PostingIndex.visit")
        XCTAssertEqual(l.reader.count, l.generic.count, "PostingReader agrees with PostingIndex.visit")
        XCTAssertEqual(Set(l.reader.map(\.seq)).count, l.reader.count, "PostingReader visits no seq twice")
        let u = try usage(f)
        XCTAssertLessThanOrEqual(u.used + u.denied, all.usage.used + all.usage.denied + 10,
                                 "usage counts at most the log's uses plus the cut ones, not segment 0 twice")
    }

    // MARK: - The projector over any store

    /// A projector that begins mid-segment (a reopened writer) and applies one batch crossing two boundaries: segment
    /// 0 is folded from the log and memory, segment 1 from memory; the tables equal a one-shot projection's, and the
    /// readers (generic `visit`, `StateReader.usage`) see every entry once. Then the same projector goes on.
    func testOneBatchAcrossTwoBoundariesAfterAReopen() throws {
        let events: [Event] = (1...UInt64(2 * 65_536 + 50)).map { s in
            let use = CredentialUse(credential: s % 5 == 0 ? 0 : 1 + UInt32(s % 2), project: UInt32(s % 3), operation: .read,
                                    denial: s % 7 == 0 ? .revoked : nil)
            return Event(seq: s, timestamp: 1_767_225_600_000_000 + Int64(s) * 1_000_000, company: 1,
                         actor: use.credential == 0 ? .system : .credential(use.credential), payload: .credentialUsed(use))
        }
        func project(_ cuts: [Int], freshAt: Set<Int>) throws -> MemoryStore {
            let store = MemoryStore()
            var projector = Projector()
            var start = 0
            for cut in cuts + [events.count] {
                if freshAt.contains(start) { projector = Projector() }
                for e in events[start..<cut] {
                    store.log.append(e)
                    try projector.apply(e, to: store)
                }
                try projector.flush(to: store)
                start = cut
            }
            return store
        }
        let once = try project([], freshAt: [])
        // Batches: up to 60,000, then a fresh projector with one batch to 131,100 (two boundaries), then the rest.
        let live = try project([60_000, 131_100], freshAt: [60_000])
        for table in Table.allCases {
            XCTAssertEqual(live.tables[table] ?? [:], once.tables[table] ?? [:], table.rawValue)
        }
        for credential: UInt32 in [1, 2] {
            var want = UsageRecord()
            for e in events {
                if case .credentialUsed(let u) = e.payload, u.credential == credential {
                    want.count(RecentUse(seq: e.seq, credential: credential, project: u.project, allowed: u.allowed, time: e.timestamp))
                }
            }
            XCTAssertEqual(try StateReader(live).usage(credential: credential), want, "credential \(credential)")
            var seqs: [UInt64] = []
            try PostingIndex.visit(PostingIndex.ListKey(.credential, credential), in: live) { seqs.append($0.seq); return true }
            XCTAssertEqual(seqs, events.filter { $0.payload.credential == credential }.map(\.seq), "credential \(credential)")
        }
    }

    // MARK: - LogEntry against the codec

    /// The in-place reading of a 64-byte use record is documented as "checked as the codec checks it": a record the
    /// codec refuses must not be read as a use. The actor (kind, id) is not checked in place.
    func testAUseRecordTheCodecRefusesIsNotReadInPlace() throws {
        let use = CredentialUse(credential: 7, project: 11, operation: .read, denial: nil)
        let event = Event(seq: 1, timestamp: 1_767_225_600_000_000, company: 1, actor: .credential(7), payload: .credentialUsed(use))
        var w = ByteWriter(capacity: 96)
        EventCodec.encodeBody(event, into: &w)
        let link = w.bytes.withUnsafeBytes { HashChain.link(previous: SHA256.hash([1]), seq: 1, body: $0) }
        let good = w.bytes + link.bytes
        XCTAssertEqual(good.count, 64)
        XCTAssertNoThrow(try good.withUnsafeBytes { try LogEntry(seq: 1, record: $0) })
        // Actor kind 9 (no such kind), and kind 2 (credential) with id 0: both refused by the codec (`badActor`).
        for (kind, id) in [(UInt8(9), UInt32(7)), (2, 0), (0, 7)] {
            var bad = good
            bad[3] = kind
            bad.replaceSubrange(4..<8, with: id.bigEndianBytes)
            XCTAssertThrowsError(try bad.withUnsafeBytes { try EventCodec.decode(seq: 1, record: $0) }, "the codec refuses actor \(kind)/\(id)")
            XCTAssertThrowsError(try bad.withUnsafeBytes { try LogEntry(seq: 1, record: $0) },
                                 "LogEntry read a use with actor \(kind)/\(id) that the codec refuses")
        }
    }
}

/// Reads the credential's usage and posting list through the batch's write transaction; stages nothing.
private struct ReadInBatch: LedgerCommand {
    struct Reading: Sendable {
        var usage: UsageRecord
        var postings: Int
    }
    let credential: UInt32

    func decide(_ ctx: inout BatchContext) throws -> Reading {
        let usage = try ctx.state.usage(credential: credential)
        var postings = 0
        try PostingIndex.visit(PostingIndex.ListKey(.credential, credential), in: ctx.store) { _ in
            postings += 1
            return true
        }
        return Reading(usage: usage, postings: postings)
    }
}

/// Stages a good project (the event that crosses the boundary), then one whose slug key LMDB refuses (> 511 bytes):
/// the child transaction fails and undoes both.
private struct CrossingThenFailing: LedgerCommand {
    let company: UInt32
    let actor: UInt32

    func decide(_ ctx: inout BatchContext) throws {
        let number = try ctx.state.counter(.project) + 1
        ctx.emit(company: company, actor: .user(actor), .projectCreated(project: number, slug: "crossing", name: "crossing"))
        ctx.emit(company: company, actor: .user(actor), .projectCreated(project: number + 1, slug: String(repeating: "x", count: 600), name: "long"))
    }
}
