@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Posting lists across segment boundaries (docs/FORMAT.md §6.6, `Projections/PostingIndex.swift`): a ledger of
/// 140,001 events, so that segments 0 and 1 are folded into `ix` and segment 2 is still open (read from the log).
/// Admin events sit right at the first boundary (seqs 65,535, 65,536 and 65,537: the fold of segment 0 is done
/// by a command batch) and on both sides of the second one, which a single batch of 1,200 uses straddles (the
/// fold of segment 1 happens in the middle of a `record(batch:)`). Every answer is checked against a model kept
/// from what was recorded (and checked once against a walk of the log).
final class SegmentBoundaryTests: XCTestCase {
    private typealias Kind = PostingIndex.Kind
    private typealias ListKey = PostingIndex.ListKey
    private static let b1 = SegmentWorld.b1, b2 = SegmentWorld.b2

    override class func tearDown() {
        SegmentWorld.removeShared()
        super.tearDown()
    }

    /// Runs `body`, printing how long it took.
    @discardableResult
    private func timed<R>(_ label: String, _ body: () throws -> R) rethrows -> R {
        let started = Date()
        defer { print(String(format: "SegmentBoundaryTests: %@ took %.2f s", label, Date().timeIntervalSince(started))) }
        return try body()
    }

    private func world() throws -> SegmentWorld {
        let w = try timed("building the ledger") { try SegmentWorld.shared() }
        XCTAssertGreaterThan(w.head, 2 * Self.b1, "the history must reach the third segment")
        return w
    }

    // MARK: 1. audit events

    func testAuditEventsAcrossSegmentBoundaries() throws {
        let w = try world()
        // The model is what the log holds (walked once, every event).
        var walked: UInt64 = 0
        try timed("walking the log") { try w.ledger.audit.forEachEvent { stored in
            walked += 1
            let rec = SegmentRec(stored.event)
            if rec != w.recs[Int(stored.event.seq) - 1] {
                XCTFail("the model differs from the log at seq \(stored.event.seq): \(rec) vs \(w.recs[Int(stored.event.seq) - 1])")
                return false
            }
            return true
        } }
        XCTAssertEqual(walked, w.head)
        let checked = try timed("audit queries") { try checkAuditQueries(w, quick: false) }
        print("SegmentBoundaryTests: \(checked.queries) audit queries, \(checked.events) events")
        XCTAssertGreaterThan(checked.queries, 500)
        XCTAssertGreaterThan(checked.events, 30_000)
    }

    // MARK: 2. as-of state

    /// Counters at 0/1, around both boundaries, mid-segment, head − 1 and head: seqs ≤ head/2 count forward from the
    /// start, later ones subtract the uses after the seq from the live counters; both cross folded segments.
    func testAsOfCountersAcrossSegmentBoundaries() throws {
        let w = try world()
        let checked = try checkAsOf(w, quick: false)
        XCTAssertGreaterThan(checked, 600)
    }

    // MARK: 3. replay, rebuild, reopen

    /// The pipelined live rebuild writes the reference path's bytes across two folded segments: its default batches,
    /// batches and flushes on the segment boundaries, and batches that straddle them.
    func testPipelinedRebuildWritesTheReferenceBytesAcrossSegments() throws {
        let w = try world()
        try timed("reference and pipelined rebuilds") {
            try PipelinedRebuildTests.assertPipelinedMatchesReference(w.ledger, sizes: [(4096, 200_000), (Int(Self.b1), Int(Self.b1)),
                                                                                        (Int(Self.b1) + 1, 10_000)])
        }
    }

    func testRebuildAndReopenGiveIdenticalAnswers() throws {
        let w = try world()
        let head = w.ledger.head
        // The live projections (written batch by batch, folded when a later segment began) equal a rebuild from the log.
        let report = try timed("replay") { try w.ledger.audit.replay() }
        XCTAssertNil(report.chainFailure, "\(report.chainFailure!)")
        XCTAssertTrue(report.ok)
        XCTAssertEqual(report.head, head)
        XCTAssertEqual(report.eventsVerified, head.seq)
        XCTAssertEqual(report.eventsProjected, head.seq)
        XCTAssertEqual(report.projections.map(\.name), ProjectionName.allCases.map(\.rawValue) + ["merkle"])
        for p in report.projections {
            XCTAssertEqual(p.live, p.rebuilt, "projection \(p.name): the live tables differ from their rebuild")
            XCTAssertEqual(p.lastSeq, head.seq)
        }
        // In place: same digests, and the same answers afterwards.
        let rebuilt = try timed("rebuild") { try w.ledger.maintenance.rebuildProjections() }
        XCTAssertEqual(rebuilt.events, head.seq)
        for p in report.projections { XCTAssertEqual(rebuilt.digests[p.name], p.rebuilt, "projection \(p.name) after the in-place rebuild") }
        XCTAssertEqual(w.ledger.head, head)
        try timed("readers after the rebuild") { try checkReaders(w, quick: true) }
        try timed("audit after the rebuild") { _ = try checkAuditQueries(w, quick: true) }
        try timed("as-of after the rebuild") { _ = try checkAsOf(w, quick: true) }

        // Reopened read-only (no writer; the head comes from the log): same answers.
        try w.t.reopen(readOnly: true)
        defer { try? w.t.reopen() }
        XCTAssertEqual(w.ledger.head, head)
        try timed("readers after a reopen") { try checkReaders(w, quick: true) }
        try timed("as-of after a reopen") { _ = try checkAsOf(w, quick: true) }
    }

    // MARK: 4. export

    func testSingleCompanyExportsAcrossBoundaries() throws {
        let w = try world()
        let acme = w.companies[World.acme]!, beta = w.companies[World.beta]!
        let cases: [(String, String, UInt32, Timestamp, Timestamp)] = [
            // beta from a batch in segment 0 to a batch in segment 1.
            ("beta-b1", World.beta, beta, w.time(60_000), w.time(72_000)),
            // acme: exactly the three admin events at 65,535…65,537.
            ("acme-b1", World.acme, acme, w.time(Self.b1 - 1), w.time(Self.b1 + 1)),
            // acme: the straddling batch and the admin events on either side of it.
            ("acme-b2", World.acme, acme, w.time(130_499), w.time(131_700)),
            // beta: the straddling batch and the admin events on either side of it.
            ("beta-b2", World.beta, beta, w.time(130_499), w.time(131_700)),
        ]
        for (name, slug, number, since, until) in cases {
            let dir = w.t.directory.path + "/export-" + name
            let summary = try timed("export \(name)") { try w.ledger.audit.export(ExportRequest(company: slug, format: .jsonl, directory: dir, since: since, until: until)) }
            let expected = w.recs.filter { $0.company == number && $0.time >= since && $0.time <= until }.map(\.seq)
            let boundary = name.hasSuffix("b2") ? Self.b2 : Self.b1
            XCTAssertTrue(expected.first! < boundary && expected.last! >= boundary, "\(name) should cross a boundary")
            let text = try String(contentsOfFile: dir + "/events.jsonl", encoding: .utf8)
            let seqs = try text.split(separator: "\n").map { line -> UInt64 in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                XCTAssertEqual(object["company"] as? String, slug)
                return (object["seq"] as! NSNumber).uint64Value
            }
            assertSeqs(seqs, expected, "export \(name)")
            XCTAssertEqual(summary.events, UInt64(expected.count), name)
            // The range in seqs is that of the times, whatever the company.
            XCTAssertEqual(summary.fromSeq, UInt64(w.recs.partitionPoint { $0.time < since } + 1), name)
            XCTAssertEqual(summary.toSeq, UInt64(w.recs.partitionPoint { $0.time <= until }), name)
            if name == "acme-b1" { XCTAssertEqual(seqs, [Self.b1 - 1, Self.b1, Self.b1 + 1]) }
            if name == "acme-b2" { XCTAssertTrue(seqs.contains(Self.b2 - 1) || seqs.contains(Self.b2) || seqs.contains(Self.b2 + 1)) }
            let verified = try timed("verify_export.py \(name)") { try runVerifier(dir) }
            XCTAssertEqual(verified.code, 0, "\(name): \(verified.output)")
        }
    }

    // MARK: 5. the readers themselves

    /// `PostingReader` (visit, countUses, bulk countUses, lastUses) and the generic `PostingIndex.visit`, on every
    /// list and on ranges that start and end at and around the boundaries.
    func testPostingReadersAcrossSegmentBoundaries() throws {
        let w = try world()
        try checkReaders(w, quick: false)
    }

    // MARK: - Checks shared by the tests

    /// Seq points around the boundaries.
    private func points(_ w: SegmentWorld) -> [UInt64] {
        let b1 = Self.b1, b2 = Self.b2, head = w.head
        return [0, 1, 2, 40_000, 40_001, b1 - 2, b1 - 1, b1, b1 + 1, b1 + 2, head / 2, head / 2 + 1, 100_000,
                b2 - 2, b2 - 1, b2, b2 + 1, 131_699, 131_700, head - 1, head]
    }

    /// Seq ranges for the readers: the whole log, each segment, and ranges that start or end at and around the boundaries
    /// (`short`: a few of them; `quick`: fewer still).
    private func ranges(_ w: SegmentWorld, short: Bool = false, quick: Bool = false) -> [ClosedRange<UInt64>] {
        let b1 = Self.b1, b2 = Self.b2, head = w.head, max = UInt64.max
        if short { return [1...max, (b1 - 1)...b1, b1...(b2 - 1), (b2 - 1)...(b2 + 1), (head - 1)...max] }
        if quick { return [1...max, (b1 - 1)...b1, (b2 - 1)...(b2 + 1)] }
        return [1...max, 1...(b1 - 1), b1...(b2 - 1), b2...max, (b1 - 1)...b1, b1...b1, (b1 - 1)...(b1 - 1), (b2 - 1)...(b2 + 1), b2...b2,
                (b1 + 1)...(b2 - 2), (b1 - 1)...b2, 40_000...135_000, head...max, (head + 1)...max, (head - 1)...head, 1...1, 0...0, 1...b1,
                (b1 - 2)...(b1 + 2), b1...max, (b2 - 1)...max, (b2 + 1)...(head - 1), 130_499...131_700]
    }

    /// The audit queries of test 1 (`quick`: a subset), each page by page, against the model.
    @discardableResult
    private func checkAuditQueries(_ w: SegmentWorld, quick: Bool) throws -> (queries: Int, events: Int) {
        let b1 = Self.b1, b2 = Self.b2
        func id(_ label: String) -> String { w.keys[label]!.id }
        // (label, filter, few events: also asked over the whole log)
        let filters: [(String, (inout AuditQuery) -> Void, Bool)] = [
            ("credential hotR", { $0.credential = id("hotR") }, false),
            ("credential hotRW denied", { $0.credential = id("hotRW"); $0.outcome = .denied }, false),
            ("credential fresh", { $0.credential = id("fresh") }, false),
            ("credential hotG", { $0.credential = id("hotG") }, false),
            ("credential cold5", { $0.credential = id("cold5") }, true),
            ("credential cold0 (denied only)", { $0.credential = id("cold0"); $0.outcome = .allowed }, true),
            ("credential bK2", { $0.credential = id("bK2") }, false),
            ("credential bNew", { $0.credential = id("bNew") }, true),
            ("actor alice", { $0.actor = World.alice }, true),
            ("actor bea", { $0.actor = World.bea }, true),
            ("actor hotRW", { $0.actor = id("hotRW") }, false),
            ("project acme/tunnel", { $0.company = World.acme; $0.project = "tunnel" }, false),
            ("project acme/bridge allowed", { $0.company = World.acme; $0.project = "bridge"; $0.outcome = .allowed }, false),
            ("project beta/pc", { $0.company = World.beta; $0.project = "pc" }, false),
            ("type project_access_granted", { $0.types = [.projectAccessGranted] }, true),
            ("type credential_deleted", { $0.types = [.credentialDeleted] }, true),
            ("company beta", { $0.company = World.beta }, false),
            ("company beta non-use type", { $0.company = World.beta; $0.types = [.projectAccessGranted] }, true),
            ("company acme uses allowed", { $0.company = World.acme; $0.types = [.credentialUsed]; $0.outcome = .allowed }, false),
            ("company acme denied", { $0.company = World.acme; $0.outcome = .denied }, false),
            ("no filter", { _ in }, false),
        ]
        // (label, range, few events)
        let ranges: [(String, (inout AuditQuery) -> Void, Bool)] = [
            ("seq from b1", { $0.after = b1 - 1; $0.before = b1 + 600 }, false),
            ("seq to b1 - 1", { $0.after = b1 - 600; $0.before = b1 }, false),
            ("seq to b1", { $0.after = b1 - 600; $0.before = b1 + 1 }, false),
            ("seq b1-1…b1+1", { $0.after = b1 - 2; $0.before = b1 + 2 }, true),
            ("seq around b2", { $0.after = b2 - 600; $0.before = b2 + 600 }, false),
            ("seq b2", { $0.after = b2 - 1; $0.before = b2 + 1 }, true),
            ("seq b2-40…b2+40", { $0.after = b2 - 41; $0.before = b2 + 41 }, true),
            ("time 65,535…65,537", { $0.since = w.time(b1 - 1); $0.until = w.time(b1 + 1) }, true),
            ("time from 65,536", { $0.since = w.time(b1); $0.before = b1 + 400 }, false),
            ("time to 65,535", { $0.until = w.time(b1 - 1); $0.after = b1 - 400 }, false),
            ("time 130,499…131,700", { $0.since = w.time(130_499); $0.until = w.time(131_700) }, false),
        ]
        var queries = 0, events = 0
        for (fi, (fname, filter, sparse)) in filters.enumerated() {
            var variants = ranges.enumerated().filter { !quick || ($0.offset + fi) % 4 == 0 }.map(\.element)
            if sparse { variants.append(("whole log", { _ in }, false)) }
            for (rname, range, tiny) in variants {
                for newestFirst in [false, true] {
                    // Small pages (the cursor crosses the boundaries) one way, large ones the other, alternating by filter.
                    let smallPages = newestFirst == (fi % 2 == 1)
                    let limits = tiny ? (smallPages ? [1, 3] : [1_000]) : rname == "whole log" ? [smallPages ? 4 : 1_000] : [smallPages ? 97 : 1_000]
                    for limit in limits {
                        if quick && !smallPages { continue }
                        var q = AuditQuery()
                        filter(&q)
                        range(&q)
                        q.newestFirst = newestFirst
                        q.limit = limit
                        let expected = w.select(q)
                        let got = try allPages(w, q)
                        assertSeqs(got.seqs, expected, "\(fname), \(rname), \(newestFirst ? "newest" : "oldest") first, limit \(limit)")
                        let indexed = q.credential != nil || q.project != nil || (q.actor != nil && q.actor != "system")
                            || q.types.count == 1 && q.types != [.credentialUsed] || q.company != nil
                        if indexed {
                            XCTAssertTrue(got.plans.allSatisfy { $0.hasPrefix("index") }, "\(fname), \(rname): \(got.plans)")
                        }
                        queries += 1
                        events += expected.count
                    }
                }
            }
        }
        return (queries, events)
    }

    /// All pages of a query, following the cursor.
    private func allPages(_ w: SegmentWorld, _ query: AuditQuery) throws -> (seqs: [UInt64], plans: Set<String>) {
        var q = query
        var seqs: [UInt64] = []
        var plans = Set<String>()
        for _ in 0..<100_000 {
            let page = try w.ledger.audit.auditEvents(q)
            XCTAssertLessThanOrEqual(page.events.count, q.limit)
            seqs += page.events.map(\.event.seq)
            plans.insert(page.plan)
            for (e, previous) in zip(page.events, page.previousHashes) where e.event.seq == Self.b1 || e.event.seq == Self.b2 {
                XCTAssertEqual(previous, try w.ledger.audit.event(e.event.seq - 1)!.hash, "prev_hash of \(e.event.seq)")
            }
            guard let next = page.next else { break }
            XCTAssertEqual(page.events.count, q.limit, "a page with a next cursor is full")
            if q.newestFirst { q.before = next } else { q.after = next }
        }
        return (seqs, plans)
    }

    /// As-of state at the points around the boundaries (`quick`: fewer points) against the model: which credentials
    /// exist and are deleted, their counters, and how many non-use events were replayed.
    private func checkAsOf(_ w: SegmentWorld, quick: Bool) throws -> Int {
        var checked = 0
        let all = quick ? [0, 1, Self.b1 - 1, Self.b1, w.head / 2, w.head / 2 + 1, Self.b2, w.head - 1, w.head] : points(w)
        let betaNumber = w.companies[World.beta]!
        for n in all {
            let state = try w.ledger.audit.state(asOf: .seq(n))
            XCTAssertEqual(state.seq, n)
            XCTAssertEqual(state.eventsReplayed, w.recs.prefix(Int(n)).filter { $0.type != .credentialUsed }.count, "non-use events replayed at \(n)")
            if n > 0 { XCTAssertEqual(state.time, w.time(n), "time at \(n)") }
            checked += try compareUsage(w, state.reader, at: n, label: "seq \(n)")
            // Counters limited to beta (few credentials: last uses are looked up row by row).
            let betaOnly = try w.ledger.audit.state(asOf: .seq(n), company: World.beta)
            checked += try compareUsage(w, betaOnly.reader, at: n, label: "seq \(n) (beta only)", only: betaNumber)
            // The same through the credential table of a company.
            let rows = try state.credentialRows(company: World.acme, includeDeleted: true)
            for row in rows {
                let number = w.numberOfID[row.id]!
                let u = w.usage(number, at: n)
                XCTAssertEqual(row.used, u.used, "\(w.label(number)) row at \(n)")
                XCTAssertEqual(row.denied, u.denied, "\(w.label(number)) row at \(n)")
                XCTAssertEqual(row.lastUsed, u.lastUsed == 0 ? nil : u.lastUsed, "\(w.label(number)) row at \(n)")
                XCTAssertEqual(row.deleted, w.deletedAt[number].map { $0 <= n } ?? false, "\(w.label(number)) row at \(n)")
            }
            XCTAssertEqual(rows.count, w.createdAt.filter { $0.value <= n && w.company(of: $0.key) == w.companies[World.acme]! }.count, "acme rows at \(n)")
        }
        // By time: after every event with a timestamp ≤ t.
        for n in quick ? [Self.b1, Self.b2] : [Self.b1 - 1, Self.b1, Self.b1 + 1, 100_000, Self.b2, 131_700, w.head] {
            let t = w.time(n)
            let last = w.recs.lastIndex { $0.time <= t }.map { UInt64($0 + 1) } ?? 0
            let state = try w.ledger.audit.state(asOf: .time(t))
            XCTAssertEqual(state.seq, last, "as of the time of \(n)")
            checked += try compareUsage(w, state.reader, at: last, label: "time of \(n)")
        }
        return checked
    }

    private func compareUsage(_ w: SegmentWorld, _ reader: StateReader<AsOfStore>, at n: UInt64, label: String, only company: UInt32? = nil) throws -> Int {
        var checked = 0
        for (name, number) in w.numbers.sorted(by: { $0.value < $1.value }) {
            let exists = w.createdAt[number]! <= n
            let record = try reader.credential(number)
            XCTAssertEqual(record != nil, exists, "\(name) exists at \(label)")
            guard let record else { continue }
            XCTAssertEqual(record.deleted, w.deletedAt[number].map { $0 <= n } ?? false, "\(name) deleted at \(label)")
            let expected = company == nil || company == w.company(of: number) ? w.usage(number, at: n) : UsageRecord()
            let got = try reader.usage(credential: number)
            XCTAssertEqual(got, expected, "usage of \(name) at \(label)")
            checked += 1
        }
        return checked
    }

    /// Checks every reader on every list of the model.
    private func checkReaders(_ w: SegmentWorld, quick: Bool) throws {
        let schema = w.ledger.schema
        let reader = PostingReader(schema: schema)
        let lists = w.lists
        XCTAssertGreaterThan(lists.count, 40)
        let ranges = self.ranges(w, quick: quick), short = self.ranges(w, short: true)
        let genericRanges: Set<ClosedRange<UInt64>> = quick ? [1...UInt64.max] : [1...UInt64.max, 0...0, (Self.b1 - 1)...Self.b1, Self.b1...(Self.b2 - 1),
                                                                                 (Self.b2 - 1)...(Self.b2 + 1), w.head...UInt64.max]
        // Every list on the short set of ranges; a few lists (of every kind, sparse and busy) on all of them. Both
        // readers: `PostingReader` (in place, in the read transaction) and `PostingIndex.visit` (through any store).
        let rich: Set<String> = ["admin", "company beta", "credential hotR", "credential cold3", "credential fresh", "credential bNew",
                                 "project acme/tunnel", "user alice@acme.example", "type credential_deleted", "type project_access_granted"]
        for (packed, entries) in lists.sorted(by: { $0.key < $1.key }) {
            let list = ListKey(packed: packed)!
            let name = w.listName(list)
            let isRich = rich.contains(name)
            if quick && !isRich { continue }
            for range in isRich ? ranges : short {
                let lo = entries.seqs.partitionPoint { $0 < range.lowerBound }
                let hi = entries.seqs.partitionPoint { $0 <= range.upperBound }
                let expectedSeqs = lo < hi ? Array(entries.seqs[lo..<hi]) : []
                let expectedFlags = lo < hi ? Array(entries.flags[lo..<hi]) : []
                for descending in [false, true] {
                    let wantSeqs = descending ? expectedSeqs.reversed() : expectedSeqs
                    let wantFlags = descending ? expectedFlags.reversed() : expectedFlags
                    var seqs: [UInt64] = [], flags: [PostingIndex.Flag] = []
                    try w.ledger.environment.read { txn in
                        try reader.visit(list, range: range, descending: descending, txn: txn) { seq, flag in
                            seqs.append(seq)
                            flags.append(flag)
                            return true
                        }
                    }
                    assertSeqs(seqs, wantSeqs, "PostingReader.visit \(name) \(range) \(descending ? "desc" : "asc")")
                    if seqs == wantSeqs { XCTAssertEqual(flags, wantFlags, "PostingReader.visit flags of \(name) \(range)") }
                    // The generic reader (through any store; it copies every row, so on a few lists and ranges).
                    if isRich && genericRanges.contains(range) {
                        var generic: [UInt64] = [], genericFlags: [PostingIndex.Flag] = []
                        try w.ledger.audit.withState { state in
                            try PostingIndex.visit(list, in: state.store, range: range, descending: descending) { entry in
                                generic.append(entry.seq)
                                genericFlags.append(entry.flag)
                                return true
                            }
                        }
                        assertSeqs(generic, wantSeqs, "PostingIndex.visit \(name) \(range) \(descending ? "desc" : "asc")")
                        if generic == wantSeqs { XCTAssertEqual(genericFlags, wantFlags, "PostingIndex.visit flags of \(name) \(range)") }
                    }
                    // Stopping early: the first 5 in that order.
                    guard !quick, short.contains(range) else { continue }
                    var firstFive: [UInt64] = []
                    try w.ledger.environment.read { txn in
                        try reader.visit(list, range: range, descending: descending, txn: txn) { seq, _ in
                            firstFive.append(seq)
                            return firstFive.count < 5
                        }
                    }
                    assertSeqs(firstFive, Array(wantSeqs.prefix(5)), "PostingReader.visit stopped after 5, \(name) \(range) \(descending ? "desc" : "asc")")
                }
            }
        }
        // Bulk counts per kind, all ids and a few.
        for kind in [Kind.credential, .project, .company] {
            let ids = Set(lists.keys.compactMap { ListKey(packed: $0) }.filter { $0.kind == kind }.map(\.id))
            let few = Set(ids.sorted().enumerated().filter { $0.offset % 3 == 0 }.map(\.element)).union([999_999])
            for range in ranges {
                for subset in [ids, few] {
                    let counts = try w.ledger.environment.read { txn in try reader.countUses(kind, ids: subset, range: range, txn: txn) }
                    for id in subset {
                        let e = lists[ListKey(kind, id).packed]
                        var allowed: UInt64 = 0, denied: UInt64 = 0
                        if let e {
                            let lo = e.seqs.partitionPoint { $0 < range.lowerBound }, hi = e.seqs.partitionPoint { $0 <= range.upperBound }
                            for i in lo..<max(lo, hi) {
                                if e.flags[i] == .allowedUse { allowed += 1 } else if e.flags[i] == .deniedUse { denied += 1 }
                            }
                        }
                        let got = counts[id] ?? (0, 0)
                        XCTAssertTrue(got.allowed == allowed && got.denied == denied,
                                      "bulk countUses \(kind) \(w.listName(ListKey(kind, id))) \(range) (\(subset.count) ids): got \(got), expected \((allowed, denied))")
                    }
                    XCTAssertTrue(Set(counts.keys).isSubset(of: subset), "bulk countUses returns only asked ids")
                }
            }
        }
        // Last allowed / denied use ≤ n: many ids (one walk per folded segment) and few (row by row).
        let credentials = Set(w.numbers.values)
        let hot = Set(["hotR", "cold3", "cold0", "bCold1", "fresh", "bNew"].map { w.numbers[$0]! })
        let seqs = (quick ? [Self.b1 - 1, Self.b2] : points(w).filter { $0 > 0 } + [UInt64.max])
        for n in seqs {
            for ids in [credentials, hot] {
                for (wantAllowed, wantDenied) in [(ids, ids), (ids, Set()), (Set(), ids)] {
                    let found = try w.ledger.environment.read { txn in
                        try reader.lastUses(.credential, ids: ids, atMost: n, wantAllowed: wantAllowed, wantDenied: wantDenied, txn: txn)
                    }
                    for id in ids {
                        let e = lists[ListKey(.credential, id).packed]
                        let upTo = e.map { $0.seqs.partitionPoint { $0 <= n } } ?? 0
                        let lastAllowed = wantAllowed.contains(id) ? (0..<upTo).reversed().first { e!.flags[$0] == .allowedUse }.map { e!.seqs[$0] } : nil
                        let lastDenied = wantDenied.contains(id) ? (0..<upTo).reversed().first { e!.flags[$0] == .deniedUse }.map { e!.seqs[$0] } : nil
                        let got = found[id]
                        XCTAssertTrue(got?.allowed == lastAllowed && got?.denied == lastDenied,
                                      "lastUses \(w.label(id)) ≤ \(n) (\(ids.count) ids, want \(wantAllowed.count)/\(wantDenied.count)): got \(String(describing: got)), expected \(String(describing: (lastAllowed, lastDenied)))")
                    }
                }
            }
        }
    }

    /// Equal seq lists, reported by their first difference.
    private func assertSeqs(_ got: [UInt64], _ expected: [UInt64], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        guard got != expected else { return }
        let i = (0..<min(got.count, expected.count)).first { got[$0] != expected[$0] } ?? min(got.count, expected.count)
        XCTFail("\(label): \(got.count) seqs, expected \(expected.count); first difference at index \(i): got \(got.dropFirst(i).prefix(5).map { $0 }), expected \(expected.dropFirst(i).prefix(5).map { $0 })",
                file: file, line: line)
    }
}

// MARK: - The ledger and its model

/// One event as the model sees it (what the posting lists and audit filters depend on).
struct SegmentRec: Equatable {
    var seq: UInt64
    var time: Timestamp
    var company: UInt32
    var actor: Actor
    var type: EventType
    var credential: UInt32?
    var project: UInt32?
    var flag: PostingIndex.Flag

    init(seq: UInt64, time: Timestamp, company: UInt32, actor: Actor, type: EventType, credential: UInt32?, project: UInt32?,
         flag: PostingIndex.Flag) {
        self.seq = seq
        self.time = time
        self.company = company
        self.actor = actor
        self.type = type
        self.credential = credential
        self.project = project
        self.flag = flag
    }

    init(_ e: Event) {
        var flag = PostingIndex.Flag.other
        if case .credentialUsed(let use) = e.payload { flag = use.allowed ? .allowedUse : .deniedUse }
        self.init(seq: e.seq, time: e.timestamp, company: e.company, actor: e.actor, type: e.type, credential: e.payload.credential,
                  project: e.payload.project, flag: flag)
    }

    /// The lists the event belongs to, as docs/FORMAT.md §6.6 defines them (written independently of `PostingIndex.lists`).
    var lists: [PostingIndex.ListKey] {
        var out: [PostingIndex.ListKey] = []
        if type != .credentialUsed {
            out.append(.init(.type, UInt32(type.rawValue)))
            out.append(.init(.admin, 0))
            if case .user(let u) = actor { out.append(.init(.user, u)) }
        }
        if company != 0 { out.append(.init(.company, company)) }
        if let credential { out.append(.init(.credential, credential)) }
        if let project { out.append(.init(.project, project)) }
        return out
    }
}

final class SegmentWorld: @unchecked Sendable {
    static let b1: UInt64 = 65_536
    static let b2: UInt64 = 131_072

    let t: TestLedger
    /// recs[seq − 1].
    private(set) var recs: [SegmentRec] = []
    var companies: [String: UInt32] = [:]
    /// "company/slug" → number.
    var projects: [String: UInt32] = [:]
    var users: [String: UInt32] = [:]
    /// Label → issued credential and its number.
    var keys: [String: IssuedCredential] = [:]
    var numbers: [String: UInt32] = [:]
    /// Credential number → seq of its creation / deletion.
    var createdAt: [UInt32: UInt64] = [:]
    var deletedAt: [UInt32: UInt64] = [:]
    /// Named seqs of the admin events placed on purpose.
    var marks: [String: UInt64] = [:]
    fileprivate var cachedLists: [UInt64: Entries]?

    private var rng = TestRNG(20_260_101)
    /// What the uses are drawn from: (label, header, company, project, operation, weight).
    private var specs: [(label: String, header: String, company: String, project: String, op: CredLedgerCore.Operation, weight: Int)] = []
    private var pool: [Decision] = []

    var ledger: Ledger { t.ledger }
    var head: UInt64 { UInt64(recs.count) }

    // MARK: shared instance

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: Result<SegmentWorld, Error>?

    static func shared() throws -> SegmentWorld {
        lock.lock()
        defer { lock.unlock() }
        if cached == nil { cached = Result { try SegmentWorld() } }
        return try cached!.get()
    }

    static func removeShared() {
        lock.lock()
        defer { lock.unlock() }
        if case .success(let w)? = cached { w.t.remove() }
        cached = nil
    }

    // MARK: building

    private init() throws {
        t = try TestLedger("segments", seed: 77) { options in
            options.initialMapSize = 256 << 20
            options.accessTokenLifetime = 1_000_000_000_000
        }
        do {
            try build()
        } catch {
            t.remove()
            throw error
        }
    }

    private func build() throws {
        // Two companies, their projects and members.
        try admin { _ = try ledger.administration.registerCompany(World.acme, admin: World.alice, mailDomain: "acme.example") }
        try admin { _ = try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice) }
        for p in ["bridge", "tunnel", "dock"] { try admin { try ledger.administration.createProject(World.acme, project: p, as: World.alice) } }
        for u in [World.bob, World.carol] { try admin { try ledger.administration.setMemberRole(World.acme, email: u, role: .member, as: World.alice) } }
        try admin { _ = try ledger.administration.registerCompany(World.beta, admin: World.bea) }
        try admin { _ = try ledger.administration.setAPIModule(World.beta, enabled: true, as: World.bea) }
        for p in ["pb", "pc"] { try admin { try ledger.administration.createProject(World.beta, project: p, as: World.bea) } }
        try ledger.audit.withState { state in
            for slug in [World.acme, World.beta] {
                let c = try state.company(slug: slug)!
                companies[slug] = c.number
                for p in try state.projects(company: c.number) { projects["\(slug)/\(p.slug)"] = p.number }
            }
            for email in [World.alice, World.bob, World.carol, World.bea] { users[email] = try state.user(email: email) }
        }

        // Credentials: a few hot ones used all along, and cold ones used only in segment 0 (more than 16, so that
        // as-of last-used lookups walk whole folded segments).
        try create("hotR", .staticKey, .read)
        try create("hotRW", .staticKey, .readWrite)
        try create("hotG", .staticKey, .global)
        try create("oauth", .oauth, .readWrite)
        for i in 0..<18 { try create("cold\(i)", .staticKey, .read) }
        try create("bK1", .staticKey, .readWrite, company: World.beta, as: World.bea)
        try create("bK2", .staticKey, .read, company: World.beta, as: World.bea)
        for i in 0..<2 { try create("bCold\(i)", .staticKey, .read, company: World.beta, as: World.bea) }
        try grant("hotR", "bridge", .viewer)
        try grant("hotRW", "bridge", .editor)
        try grant("hotRW", "tunnel", .viewer)
        try grant("oauth", "tunnel", .editor)
        for i in 0..<18 { try grant("cold\(i)", "bridge", .viewer) }
        try grant("bK1", "pb", .editor, company: World.beta, as: World.bea)
        for i in 0..<2 { try grant("bCold\(i)", "pb", .viewer, company: World.beta, as: World.bea) }
        var token = ""
        try admin {
            token = try ledger.oauth.clientCredentialsToken(clientID: keys["oauth"]!.clientID!, clientSecret: keys["oauth"]!.clientSecret!).accessToken
        }

        // What the uses are drawn from.
        func key(_ label: String) -> String { "Apikey " + keys[label]!.secret! }
        specs = [
            ("hotR", key("hotR"), World.acme, "bridge", .read, 6),
            ("hotR", key("hotR"), World.acme, "bridge", .write, 2),      // read_only_scope
            ("hotR", key("hotR"), World.acme, "tunnel", .read, 2),       // granted at 65,535, revoked later
            ("hotRW", key("hotRW"), World.acme, "bridge", .read, 6),
            ("hotRW", key("hotRW"), World.acme, "bridge", .write, 3),
            ("hotRW", key("hotRW"), World.acme, "tunnel", .write, 2),    // read_only_role
            ("hotRW", key("hotRW"), World.acme, "dock", .read, 1),       // no access
            ("hotRW", key("hotRW"), World.acme, "nope", .read, 1),       // unknown project: no project list
            ("hotG", key("hotG"), World.acme, "dock", .write, 3),        // deleted later: revoked
            ("oauth", "Bearer " + token, World.acme, "tunnel", .read, 3),
            ("oauth", "Bearer " + token, World.acme, "tunnel", .write, 2),
            ("-", "Apikey cxk_notakeyatall", World.acme, "bridge", .read, 1),   // no credential list
            ("-", key("hotR"), "nosuchcompany", "bridge", .read, 1),            // no list at all
            ("bK1", key("bK1"), World.beta, "pb", .read, 4),
            ("bK1", key("bK1"), World.beta, "pb", .write, 2),
            ("bK2", key("bK2"), World.beta, "pc", .read, 2),             // granted at 130,499
            ("bK1", key("bK1"), World.acme, "bridge", .read, 1),         // other company: in beta's list, anonymous in acme's
        ]
        specs += (0..<18).map { ("cold\($0)", key("cold\($0)"), World.acme, "bridge", $0 == 0 ? .write : .read, 1) }
        specs += (0..<2).map { ("bCold\($0)", key("bCold\($0)"), World.beta, "pb", .read, 1) }
        try refreshPool()

        // Segment 0; the cold credentials stop being used at 40,000.
        try fill(to: 40_000)
        specs.removeAll { $0.label.hasPrefix("cold") || $0.label.hasPrefix("bCold") }
        try refreshPool()
        try fill(to: SegmentWorld.b1 - 2)
        // Right at the first boundary: 65,535 | 65,536 (closes segment 0: the fold is done by this command's batch) | 65,537.
        try grant("hotR", "tunnel", .viewer, mark: "grant@65535")
        try create("fresh", .staticKey, .readWrite, mark: "created@65536")
        try grant("fresh", "bridge", .editor, mark: "grant@65537")
        specs.append(("fresh", key("fresh"), World.acme, "bridge", .read, 3))
        specs.append(("fresh", key("fresh"), World.acme, "bridge", .write, 2))
        try refreshPool()
        try fill(to: 90_000)
        try admin(mark: "userRole") { try ledger.administration.setUserProjectRole(World.acme, project: "bridge", email: World.bob, role: .editor, as: World.alice) }
        try fill(to: 95_000)
        try admin(mark: "revoke") { try ledger.administration.revokeAccess(World.acme, credential: keys["hotR"]!.id, project: "tunnel", as: World.alice) }
        try refreshPool()
        try fill(to: 110_000)
        try admin(mark: "deleteHotG") { try ledger.administration.deleteCredential(World.acme, credential: keys["hotG"]!.id, as: World.alice) }
        try refreshPool()
        try fill(to: 130_498)
        try grant("bK2", "pc", .viewer, company: World.beta, as: World.bea, mark: "grant@130499")
        try refreshPool()
        // One batch of 1,200 uses straddles the second boundary: it closes segment 1 in the middle.
        try uses(1_200)
        try require(head == 131_699, "the straddling batch ends at \(head)")
        marks["straddle"] = 130_500
        try create("bNew", .staticKey, .read, company: World.beta, as: World.bea, mark: "created@131700")
        specs.append(("bNew", key("bNew"), World.beta, "pb", .read, 2))   // never granted: denied
        try refreshPool()
        try fill(to: 138_000)
        try admin(mark: "deleteFresh") { try ledger.administration.deleteCredential(World.acme, credential: keys["fresh"]!.id, as: World.alice) }
        try refreshPool()
        try fill(to: 140_000)
        try admin(mark: "last") { try ledger.administration.setUserProjectRole(World.acme, project: "tunnel", email: World.carol, role: .viewer, as: World.alice) }
        try require(ledger.head.seq == head, "ledger head \(ledger.head.seq), model \(head)")
        for (mark, seq) in [("grant@65535", 65_535), ("created@65536", 65_536), ("grant@65537", 65_537), ("grant@130499", 130_499),
                            ("created@131700", 131_700)] as [(String, UInt64)] {
            try require(marks[mark] == seq, "\(mark) landed at \(String(describing: marks[mark]))")
        }
    }

    private func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw LedgerError("segment_world", message(), kind: .integrity) }
    }

    /// Runs an admin command; appends its events (read back from the log) to the model.
    private func admin(mark: String? = nil, _ body: () throws -> Void) throws {
        t.tick()
        let before = head
        try body()
        let added = try ledger.audit.events(from: before + 1)
        try require(!added.isEmpty && (mark == nil || added.count == 1), "admin command \(mark ?? "") appended \(added.count) events")
        for stored in added {
            try require(stored.event.seq == head + 1, "event \(stored.event.seq) after \(head)")
            recs.append(SegmentRec(stored.event))
            if case .credentialDeleted(let c) = stored.event.payload { deletedAt[c] = stored.event.seq }
        }
        if let mark { marks[mark] = before + 1 }
    }

    private func create(_ label: String, _ type: CredentialType, _ scope: Scope, company: String = World.acme, as actor: String = World.alice,
                        mark: String? = nil) throws {
        try admin(mark: mark) { keys[label] = try t.create(type, scope, name: label, company: company, as: actor) }
        numbers[label] = try ledger.audit.withState { try $0.credential(publicID: keys[label]!.id)!.number }
        createdAt[numbers[label]!] = head
    }

    private func grant(_ label: String, _ project: String, _ role: ProjectRole, company: String = World.acme, as actor: String = World.alice,
                       mark: String? = nil) throws {
        try admin(mark: mark) { _ = try ledger.administration.grantAccess(company, credential: keys[label]!.id, project: project, role: role, as: actor) }
    }

    /// Decides every spec on the current state (uses are recorded as decided).
    private func refreshPool() throws {
        pool = []
        for s in specs {
            let d = try ledger.access.authorize(header: s.header, company: s.company, project: s.project, operation: s.op)
            pool += Array(repeating: d, count: s.weight)
        }
    }

    /// Records `count` uses drawn from the pool in one `record(batch:)` (one write transaction).
    private func uses(_ count: Int) throws {
        t.tick()
        let now = t.clock.now()
        var batch: [Decision] = []
        batch.reserveCapacity(count)
        // `count` events: a use at another company records two (issue 11), so near the end only one-event uses fit.
        var events = 0
        while events < count {
            let d = pool[rng.int(pool.count)]
            let weight = d.notice == nil ? 1 : 2
            guard events + weight <= count else { continue }
            batch.append(d)
            events += weight
        }
        try ledger.access.record(batch: batch)
        var entries: [(company: UInt32, use: CredentialUse)] = []
        for d in batch { d.entries(into: &entries) }
        for (company, u) in entries {
            recs.append(SegmentRec(seq: head + 1, time: now, company: company, actor: u.credential == 0 ? .system : .credential(u.credential),
                                   type: .credentialUsed, credential: u.credential == 0 ? nil : u.credential,
                                   project: u.project == 0 ? nil : u.project, flag: u.allowed ? .allowedUse : .deniedUse))
        }
    }

    /// Uses in batches of 1,000–4,000 until the head is `target`.
    private func fill(to target: UInt64) throws {
        while head < target { try uses(min(1_000 + rng.int(3_001), Int(target - head))) }
    }
}

// MARK: - Expected answers from the model

extension SegmentWorld {
    struct Entries {
        var seqs: [UInt64] = []
        var flags: [PostingIndex.Flag] = []
    }

    /// Every posting list of the model (ListKey.packed → entries, ascending).
    var lists: [UInt64: Entries] {
        if let cachedLists { return cachedLists }
        var out: [UInt64: Entries] = [:]
        for r in recs {
            for list in r.lists {
                out[list.packed, default: Entries()].seqs.append(r.seq)
                out[list.packed, default: Entries()].flags.append(r.flag)
            }
        }
        cachedLists = out
        return out
    }

    func time(_ seq: UInt64) -> Timestamp { recs[Int(seq) - 1].time }

    var numberOfID: [String: UInt32] { Dictionary(uniqueKeysWithValues: keys.map { ($0.value.id, numbers[$0.key]!) }) }

    func label(_ number: UInt32) -> String { numbers.first { $0.value == number }?.key ?? "#\(number)" }

    func company(of credential: UInt32) -> UInt32 {
        recs.first { $0.type == .credentialCreated && $0.credential == credential }!.company
    }

    func listName(_ list: PostingIndex.ListKey) -> String {
        switch list.kind {
        case .credential: "credential \(label(list.id))"
        case .company: "company \(companies.first { $0.value == list.id }?.key ?? "#\(list.id)")"
        case .project: "project \(projects.first { $0.value == list.id }?.key ?? "#\(list.id)")"
        case .user: "user \(users.first { $0.value == list.id }?.key ?? "#\(list.id)")"
        case .type: "type \(EventType(rawValue: UInt8(list.id)).map(\.name) ?? "#\(list.id)")"
        case .admin: "admin"
        }
    }

    /// A credential's counters after event `n`, counted from the model.
    func usage(_ credential: UInt32, at n: UInt64) -> UsageRecord {
        var u = UsageRecord()
        guard let e = lists[PostingIndex.ListKey(.credential, credential).packed] else { return u }
        for i in 0..<e.seqs.partitionPoint({ $0 <= n }) {
            switch e.flags[i] {
            case .allowedUse:
                u.used += 1
                u.lastUsed = time(e.seqs[i])
                if u.firstUsed == 0 { u.firstUsed = u.lastUsed }
            case .deniedUse:
                u.denied += 1
                u.lastDenied = time(e.seqs[i])
            case .other:
                break
            }
        }
        return u
    }

    /// The seqs an audit query must return: every event of the log filtered (independently of the planner).
    func select(_ q: AuditQuery) -> [UInt64] {
        let company = q.company.map { companies[$0]! }
        let credential = q.credential.map { numberOfID[$0]! }
        let project = q.project.map { projects["\(q.company!)/\($0)"]! }
        var actor: Actor?
        if let a = q.actor {
            if a == "system" { actor = .system } else if let u = users[a] { actor = .user(u) } else { actor = .credential(numberOfID[a]!) }
        }
        var low: UInt64 = 1, high = head
        if let after = q.after { low = max(low, after + 1) }
        if let before = q.before { high = min(high, before - 1) }
        guard low <= high else { return [] }
        var out: [UInt64] = []
        for r in recs[Int(low - 1)..<Int(high)] {
            if let company, r.company != company { continue }
            if let credential, r.credential != credential { continue }
            if let project, r.project != project { continue }
            if let actor, r.actor != actor { continue }
            if !q.types.isEmpty, !q.types.contains(r.type) { continue }
            if let since = q.since, r.time < since { continue }
            if let until = q.until, r.time > until { continue }
            switch q.outcome {
            case .allowed?: if r.flag != .allowedUse { continue }
            case .denied?: if r.flag != .deniedUse && r.type != .oauthRequestDenied { continue }
            case nil: break
            }
            out.append(r.seq)
        }
        return q.newestFirst ? out.reversed() : out
    }
}

fileprivate extension Array {
    /// The first index whose element fails `belongsBefore` (the array is partitioned by it).
    func partitionPoint(_ belongsBefore: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if belongsBefore(self[mid]) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
