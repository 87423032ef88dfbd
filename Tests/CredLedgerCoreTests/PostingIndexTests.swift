import XCTest

import CredLedgerCore
@testable import CredLedgerProjections

final class PostingIndexTests: XCTestCase {
    typealias Entry = PostingIndex.Entry
    typealias ListKey = PostingIndex.ListKey

    private static let segmentSize = Int(PostingIndex.firstSeq(of: 1))

    /// A synthetic log crossing a segment boundary: uses (allowed and denied, some of no company or
    /// project) over 5 companies, 300 credentials and 40 projects, with grants by users in between.
    private static let events: [Event] = {
        let random = SeededRandom(seed: 77)
        var out: [Event] = []
        let count = segmentSize + 9_000
        out.reserveCapacity(count)
        for i in 1...count {
            let r = random.next()
            let company: UInt32 = r % 97 == 0 ? 0 : UInt32(r % 5) + 1
            let credential = UInt32((r >> 8) % 300 + 1)
            let project = UInt32((r >> 20) % 41)
            let payload: EventPayload
            var actor = Actor.credential(credential)
            if (r >> 40) % 33 == 0 {
                payload = .projectAccessGranted(credential: credential, project: max(project, 1), role: .viewer)
                actor = .user(UInt32((r >> 50) % 7 + 1))
            } else {
                let denial: DenialReason? = (r >> 32) % 5 == 0 ? .badChecksum : nil
                payload = .credentialUsed(CredentialUse(credential: r % 211 == 0 ? 0 : credential, project: project, operation: .read, denial: denial))
            }
            out.append(Event(seq: UInt64(i), timestamp: t2026 + Int64(i) * 1_000, company: company, actor: actor, payload: payload))
        }
        return out
    }()

    /// Every list's entries, straight from the events.
    private static let expected: [ListKey: [Entry]] = {
        var lists: [ListKey: [Entry]] = [:]
        var scratch: [(ListKey, PostingIndex.Flag)] = []
        for e in events {
            scratch.removeAll()
            PostingIndex.lists(for: e, into: &scratch)
            for (list, flag) in scratch { lists[list, default: []].append(Entry(seq: e.seq, flag: flag)) }
        }
        return lists
    }()

    private func project(_ events: ArraySlice<Event>, into store: MemoryStore = MemoryStore(), freshProjector: Bool = false,
                         flushAfter: (Int) -> Bool) throws -> MemoryStore {
        var projector = Projector()
        for (i, event) in events.enumerated() {
            store.log.append(event)
            try projector.apply(event, to: store)
            if flushAfter(i) {
                try projector.flush(to: store)
                if freshProjector { projector = Projector() }
            }
        }
        try projector.flush(to: store)
        return store
    }

    nonisolated(unsafe) private static let once: MemoryStore = {   // built once, then only read
        var projector = Projector()
        let store = MemoryStore()
        for e in events {
            store.log.append(e)
            try! projector.apply(e, to: store)
        }
        try! projector.flush(to: store)
        return store
    }()

    private func collect(_ list: ListKey, _ store: MemoryStore, range: ClosedRange<UInt64> = 1...UInt64.max,
                         descending: Bool = false, limit: Int = .max) throws -> [Entry] {
        var out: [Entry] = []
        try PostingIndex.visit(list, in: store, range: range, descending: descending) { e in
            out.append(e)
            return out.count < limit
        }
        return out
    }

    func testRowBytesMatchTheDocumentedLayout() throws {
        // docs/FORMAT.md §6.6: company 1 with seq 5 (allowed use), 6 (denied use), 9 (other); type 18 at seq 300.
        var buffer = PostingBuffer()
        buffer.startEvent(5, .allowedUse); buffer.addList(ListKey(.company, 1))
        buffer.startEvent(6, .deniedUse); buffer.addList(ListKey(.company, 1))
        buffer.startEvent(9, .other); buffer.addList(ListKey(.company, 1))
        buffer.startEvent(300, .other); buffer.addList(ListKey(.type, 18))
        var rows: [[UInt8]: [UInt8]] = [:]
        var order: [[UInt8]] = []
        var scratch = PostingIndex.FoldScratch()
        try PostingIndex.foldRows(buffer, segment: 0, scratch: &scratch) { key, value in
            rows[Array(key)] = Array(value)
            order.append(Array(key))
        }
        XCTAssertEqual(rows, [
            hexBytes("00000000 43 00000001"): hexBytes("00000003 0005 0006 0009 18"),
            hexBytes("00000000 54 00000012"): hexBytes("00000001 012c 80"),
        ])
        XCTAssertEqual(order, order.sorted { $0.lexicographicallyPrecedes($1) }, "rows come in key order")

        // The open segment: nothing is written; readers take its entries from the log (a denied use: flag 1).
        let store = MemoryStore()
        var projector = Projector()
        let use = Event(seq: 1, timestamp: t2026, company: 2, actor: .credential(3),
                        payload: .credentialUsed(CredentialUse(credential: 3, project: 4, operation: .read, denial: .badChecksum)))
        store.log.append(use)
        try projector.apply(use, to: store)
        try projector.flush(to: store)
        XCTAssertEqual(store.tables[.index] ?? [:], [:], "nothing is folded while the first segment is open")
        XCTAssertEqual(try collect(ListKey(.credential, 3), store), [Entry(seq: 1, flag: .deniedUse)])
    }

    /// A fold reuses its scratch from segment to segment, and lists with huge ids take the hash-table path: rows must
    /// equal a plain group-and-sort of the postings either way.
    func testFoldRowsEqualAGroupAndSortWithReusedScratch() throws {
        let random = SeededRandom(seed: 41)
        var scratch = PostingIndex.FoldScratch()
        for round in 0..<6 {
            let segment = UInt32(round % 3)
            var buffer = PostingBuffer()
            var expected: [UInt64: [(UInt64, UInt8)]] = [:]
            var seq = PostingIndex.firstSeq(of: segment) + (segment == 0 ? 1 : 0)
            for _ in 0..<2_000 {
                seq += 1 + random.next() % 20
                guard PostingIndex.segment(of: seq) == segment else { break }
                let flag = PostingIndex.Flag(rawValue: UInt8(random.next() % 3))!
                buffer.startEvent(seq, flag)
                var used: Set<UInt64> = []
                for _ in 0..<(1 + random.next() % 4) {
                    let kind = PostingIndex.Kind.allCases[Int(random.next() % 6)]
                    let id: UInt32 = random.next() % 5 == 0 ? UInt32.max - UInt32(random.next() % 4) : UInt32(random.next() % 300)
                    let list = ListKey(kind, id)
                    guard used.insert(list.packed).inserted else { continue }
                    buffer.addList(list)
                    expected[list.packed, default: []].append((seq - PostingIndex.firstSeq(of: segment), flag.rawValue))
                }
            }
            var rows: [([UInt8], [UInt8])] = []
            try PostingIndex.foldRows(buffer, segment: segment, scratch: &scratch) { rows.append((Array($0), Array($1))) }
            var fresh = PostingIndex.FoldScratch()
            var freshRows: [([UInt8], [UInt8])] = []
            try PostingIndex.foldRows(buffer, segment: segment, scratch: &fresh) { freshRows.append((Array($0), Array($1))) }
            XCTAssertEqual(rows.map(\.0), freshRows.map(\.0), "round \(round)")
            XCTAssertEqual(rows.map(\.1), freshRows.map(\.1), "round \(round)")
            XCTAssertEqual(rows.map(\.0), expected.keys.sorted().map { PostingIndex.segmentKey(ListKey(packed: $0)!, segment) }, "round \(round)")
            for (key, value) in rows {
                let list = ListKey(PostingIndex.Kind(rawValue: key[4])!, UInt32(bigEndianBytes: Array(key[5..<9]))!)
                let row = try XCTUnwrap(value.withUnsafeBytes { PostingIndex.SegmentRow(segment: segment, value: $0) })
                let got = (0..<row.count).map { (row.seq($0) - PostingIndex.firstSeq(of: segment), row.rawFlag($0)) }
                XCTAssertEqual(got.map(\.0), expected[list.packed]!.map(\.0), "round \(round) \(list)")
                XCTAssertEqual(got.map(\.1), expected[list.packed]!.map(\.1), "round \(round) \(list)")
            }
        }
    }

    /// docs/FORMAT.md §6.0: a projection's open segment is the segment of its last applied seq, up to that seq.
    func testOpenSegmentOfAHead() {
        let S = PostingIndex.firstSeq(of: 1)
        XCTAssertNil(PostingIndex.openSegment(head: 0))
        XCTAssertEqual(PostingIndex.openSegment(head: 1), 1...1)
        XCTAssertEqual(PostingIndex.openSegment(head: S - 1), 1...(S - 1), "segment 0 has no seq 0")
        XCTAssertEqual(PostingIndex.openSegment(head: S), S...S, "the first event of a segment closes the one before")
        XCTAssertEqual(PostingIndex.openSegment(head: 3 * S + 5), (3 * S)...(3 * S + 5))
        XCTAssertEqual(PostingIndex.seqs(of: 0), 1...(S - 1))
        XCTAssertEqual(PostingIndex.seqs(of: 2), (2 * S)...(3 * S - 1))
    }

    /// docs/FORMAT.md §6.4: the open segment's uses are not stored — an allowed use of credential 3 in project 4 at
    /// time 1, seq 9, writes no row; readers count it from the log.
    func testTheOpenSegmentIsNotStored() throws {
        let store = MemoryStore()
        var projector = Projector()
        let event = Event(seq: 9, timestamp: 1, company: 2, actor: .credential(3),
                          payload: .credentialUsed(CredentialUse(credential: 3, project: 4, operation: .read, denial: nil)))
        store.log.append(event)
        try projector.apply(event, to: store)
        try projector.flush(to: store)
        XCTAssertEqual(store.tables.values.map(\.count).reduce(0, +), 0, "no table holds the open segment")
        var expected = UsageRecord()
        expected.used = 1
        expected.lastUsed = 1
        expected.firstUsed = 1
        XCTAssertEqual(try StateReader(store).usage(credential: 3), expected)
        XCTAssertEqual(try collect(ListKey(.project, 4), store), [Entry(seq: 9, flag: .allowedUse)])
        let entry = LogEntry(event)
        XCTAssertEqual(entry.use, RecentUse(seq: 9, credential: 3, project: 4, allowed: true, time: 1))
        XCTAssertEqual((0..<entry.count).map(entry.list), [ListKey(.company, 2), ListKey(.credential, 3), ListKey(.project, 4)].map(\.packed))
    }

    /// Core guarantee: however events are batched (and whether the projector survives between batches), the
    /// folded rows are byte-identical (a fresh projector reads the closing segment's earlier events from the log).
    func testBatchingNeverChangesTheRows() throws {
        let events = Self.events[...]
        let random = SeededRandom(seed: 3)
        let variants: [(String, MemoryStore)] = [
            ("every 1,000", try project(events) { $0 % 1_000 == 999 }),
            ("random sizes, fresh projector", try project(events, freshProjector: true) { _ in random.next() % 1_500 == 0 }),
            ("flush just before and after each boundary", try project(events) {
                let seq = $0 + 1
                return [Self.segmentSize - 2, Self.segmentSize - 1, Self.segmentSize].contains(seq)
            }),
        ]
        let reference = Self.once
        XCTAssertEqual(Set((reference.tables[.index] ?? [:]).keys.map { $0[0..<4] }).count, 1, "the first segment is folded")
        XCTAssertFalse((reference.tables[.usage] ?? [:]).isEmpty, "the first segment's uses are folded into counters")
        for (name, store) in variants {
            for table in [Table.index, .usage, .usageDaily] {
                XCTAssertEqual(store.tables[table], reference.tables[table], "\(name): \(table)")
            }
            for projection in [ProjectionName.indexes, .usage] {
                XCTAssertEqual(try ProjectionDigest.compute(projection, in: store), try ProjectionDigest.compute(projection, in: reference), name)
            }
        }
    }

    /// Counters and daily rollups read through `StateReader` are exact across the fold: folded rows plus the open
    /// segment's uses from the log; the folded rows alone hold exactly the closed segment's uses.
    func testUsageAcrossTheBoundaryIsExact() throws {
        var all: [UInt32: UsageRecord] = [:], closed: [UInt32: UsageRecord] = [:]
        var daily: [UInt32: [DailyUsage.Key: DailyUsage]] = [:]
        var recentUses = 0
        for e in Self.events {
            guard case .credentialUsed(let use) = e.payload, use.credential != 0 else { continue }
            let key = DailyUsage.Key(day: TimeFormat.day(e.timestamp), project: use.project)
            for isClosed in [false, true] where !isClosed || PostingIndex.segment(of: e.seq) == 0 {
                var record = (isClosed ? closed : all)[use.credential] ?? UsageRecord()
                if use.allowed {
                    record.used += 1
                    record.lastUsed = e.timestamp
                    if record.firstUsed == 0 { record.firstUsed = e.timestamp }
                } else {
                    record.denied += 1
                    record.lastDenied = e.timestamp
                }
                if isClosed { closed[use.credential] = record } else { all[use.credential] = record }
            }
            if use.allowed { daily[use.credential, default: [:]][key, default: DailyUsage()].allowed += 1 } else {
                daily[use.credential, default: [:]][key, default: DailyUsage()].denied += 1
            }
            if PostingIndex.segment(of: e.seq) == 1 { recentUses += 1 }
        }
        let store = Self.once
        let reader = StateReader(store)
        for (credential, expected) in all {
            XCTAssertEqual(try reader.usage(credential: credential), expected, "credential \(credential)")
            let days = try reader.dailyUsage(credential: credential)
            XCTAssertEqual(days.map { DailyUsage.Key(day: $0.day, project: $0.project) }, daily[credential]!.keys.sorted())
            for d in days { XCTAssertEqual(d.usage, daily[credential]![DailyUsage.Key(day: d.day, project: d.project)]) }
        }
        XCTAssertEqual(try reader.usage(credential: 9_999), UsageRecord())
        // The folded `usage` rows are the closed segment's counts exactly; the rest is only in the log.
        XCTAssertEqual(store.tables[.usage]?.count, closed.count)
        for (credential, expected) in closed {
            XCTAssertEqual(try store.get(.usage, Keys.credential(credential)).map(UsageRecord.decode), expected)
        }
        var logged = 0
        if let open = store.openSegment(.usage) {
            try store.visitLog(open, descending: false) { entry in
                if entry.use != nil { logged += 1 }
                return true
            }
        }
        XCTAssertEqual(logged, recentUses)
    }

    func testRowInvariants() throws {
        let store = Self.once
        let open = PostingIndex.segment(of: Self.events.last!.seq)
        var entries = 0
        for (key, value) in store.tables[.index] ?? [:] {
            XCTAssertEqual(key.count, PostingIndex.segmentKeyLength)
            XCTAssertNotNil(PostingIndex.Kind(rawValue: key[4]))
            let segment = UInt32(bigEndianBytes: Array(key[0..<4]))!
            XCTAssertLessThan(segment, open, "only closed segments are folded")
            let row = try XCTUnwrap(value.withUnsafeBytes { PostingIndex.SegmentRow(segment: segment, value: $0) })
            XCTAssertEqual(PostingIndex.segment(of: row.lastSeq), segment)
            entries += row.count
        }
        let openRange = try XCTUnwrap(store.openSegment(.indexes))
        XCTAssertEqual(PostingIndex.segment(of: openRange.lowerBound), open)
        try store.visitLog(openRange, descending: false) { entry in
            entries += entry.count
            return true
        }
        XCTAssertEqual(entries, Self.expected.values.map(\.count).reduce(0, +), "every posting is stored exactly once")
    }

    func testVisitMatchesTheEventsInBothDirections() throws {
        let store = Self.once
        let random = SeededRandom(seed: 99)
        let lists = Array(Self.expected.keys).sorted { $0.packed < $1.packed }
        let maxSeq = UInt64(Self.events.count)
        let boundaries = [UInt64(Self.segmentSize), UInt64(Self.segmentSize)]
        for _ in 0..<300 {
            let list = lists[Int(random.next() % UInt64(lists.count))]
            let entries = Self.expected[list]!
            // Bounds anywhere, often on an entry or next to a segment boundary.
            func bound() -> UInt64 {
                switch random.next() % 4 {
                case 0: return entries[Int(random.next() % UInt64(entries.count))].seq
                case 1: return boundaries[Int(random.next() % 2)] &+ random.next() % 3 &- 1
                default: return 1 + random.next() % (maxSeq + 10)
                }
            }
            var (a, b) = (bound(), bound())
            if a > b { swap(&a, &b) }
            let range = max(a, 1)...b
            let inRange = entries.filter { range.contains($0.seq) }
            XCTAssertEqual(try collect(list, store, range: range), inRange, "\(list) \(range)")
            XCTAssertEqual(try collect(list, store, range: range, descending: true), inRange.reversed(), "\(list) \(range) desc")
            let limit = 1 + Int(random.next() % 20)
            XCTAssertEqual(try collect(list, store, range: range, limit: limit), Array(inRange.prefix(limit)))
            XCTAssertEqual(try collect(list, store, range: range, descending: true, limit: limit), Array(inRange.reversed().prefix(limit)))
        }
        for list in lists {
            XCTAssertEqual(try collect(list, store), Self.expected[list]!, "\(list)")
            XCTAssertEqual(try collect(list, store, descending: true), Self.expected[list]!.reversed(), "\(list) desc")
        }
        XCTAssertEqual(try collect(ListKey(.company, 99), store), [])
        XCTAssertEqual(try collect(ListKey(.type, 7), store, descending: true), [])
        XCTAssertEqual(try collect(ListKey(.company, 1), store, range: (maxSeq + 1)...UInt64.max), [])
    }

    func testMalformedRowsAreRejected() {
        func segmentRow(_ hex: String) -> Bool {
            hexBytes(hex).withUnsafeBytes { PostingIndex.SegmentRow(segment: 0, value: $0) != nil }
        }
        XCTAssertTrue(segmentRow("00000002 0001 0002 00"))
        XCTAssertFalse(segmentRow("00000000"), "empty row")
        XCTAssertFalse(segmentRow("00000002 0001 0002"), "flags missing")
        XCTAssertFalse(segmentRow("00000002 0002 0001 00"), "offsets not ascending")
        XCTAssertFalse(segmentRow("00000002 0001 0001 00"), "offset repeated")
        XCTAssertFalse(segmentRow("00000001 0001 c0"), "flag 3")
        XCTAssertFalse(segmentRow("000000"), "short")
    }

    func testListsForAnEvent() {
        var out: [(ListKey, PostingIndex.Flag)] = []
        let use = Event(seq: 5, timestamp: 0, company: 2, actor: .credential(3),
                        payload: .credentialUsed(CredentialUse(credential: 3, project: 4, operation: .read, denial: nil)))
        PostingIndex.lists(for: use, into: &out)
        XCTAssertEqual(out.map(\.0), [ListKey(.company, 2), ListKey(.credential, 3), ListKey(.project, 4)])
        XCTAssertTrue(out.allSatisfy { $0.1 == .allowedUse })

        out.removeAll()
        let denied = Event(seq: 6, timestamp: 0, company: 0, actor: .system,
                           payload: .credentialUsed(CredentialUse(credential: 0, project: 0, operation: .write, denial: .badChecksum)))
        PostingIndex.lists(for: denied, into: &out)
        XCTAssertEqual(out.count, 0, "an anonymous denied use of no company belongs to no list")

        out.removeAll()
        let grant = Event(seq: 7, timestamp: 0, company: 2, actor: .user(9),
                          payload: .projectAccessGranted(credential: 3, project: 4, role: .viewer))
        PostingIndex.lists(for: grant, into: &out)
        XCTAssertEqual(out.map(\.0), [ListKey(.type, 10), ListKey(.admin, 0), ListKey(.user, 9), ListKey(.company, 2),
                                      ListKey(.credential, 3), ListKey(.project, 4)])
        XCTAssertTrue(out.allSatisfy { $0.1 == .other })
    }
}
