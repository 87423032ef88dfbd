import XCTest

import CredLedgerCore
@testable import CredLedgerProjections

final class PostingIndexTests: XCTestCase {
    typealias Entry = PostingIndex.Entry
    typealias ListKey = PostingIndex.ListKey

    /// Lists whose keys sit next to each other in the `ix` table, to catch a scan crossing into a neighbour.
    private let lists: [ListKey] = [
        ListKey(.company, 1), ListKey(.company, 2), ListKey(.company, 0xFFFF_FFFF), ListKey(.credential, 1),
        ListKey(.project, 0), ListKey(.type, 5), ListKey(.type, 6), ListKey(.type, 255), ListKey(.admin, 0), ListKey(.user, 7),
    ]

    /// Ascending seqs with random gaps: mostly small, sometimes ≥ 2^30 so the offset limit splits blocks too.
    private func randomEntries(_ count: Int, _ random: SeededRandom, start: UInt64 = 1) -> [Entry] {
        var seq = start
        var out: [Entry] = []
        for _ in 0..<count {
            let r = random.next()
            seq += r % 50 == 0 ? (1 << 30) - 1 + r % 3 : 1 + r % 4
            out.append(Entry(seq: seq, flag: [.allowedUse, .deniedUse, .other][Int(r >> 60) % 3]))
        }
        return out
    }

    private func collect(_ list: ListKey, _ store: MemoryStore, range: ClosedRange<UInt64> = 1...UInt64.max,
                         descending: Bool = false, limit: Int = .max) throws -> [Entry] {
        var out: [Entry] = []
        try PostingIndex.visit(list, in: store, range: range, descending: descending) { e in
            out.append(e)
            return out.count < limit
        }
        return out
    }

    func testBlockBytesMatchTheDocumentedLayout() throws {
        let store = MemoryStore()
        try PostingIndex.append([Entry(seq: 5, flag: .allowedUse), Entry(seq: 6, flag: .deniedUse), Entry(seq: 9, flag: .other)],
                                to: ListKey(.company, 1), in: store)
        try PostingIndex.append([Entry(seq: 300, flag: .other)], to: ListKey(.type, 18), in: store)
        XCTAssertEqual(store.tables[.index], [
            hexBytes("43 00000001 0000000000000005"): hexBytes("0003 00000000 40000001 80000004"),
            hexBytes("54 12 000000000000012c"): hexBytes("0001 80000000"),
        ])
    }

    /// Core guarantee: live writes (many small appends) and a rebuild (one append) give byte-identical rows.
    func testBatchedAppendsEqualOneAppend() throws {
        for seed: UInt64 in [1, 2, 3] {
            let random = SeededRandom(seed: seed)
            var all: [ListKey: [Entry]] = [:]
            for list in lists { all[list] = randomEntries(1_000, random) }

            let once = MemoryStore()
            for list in lists { try PostingIndex.append(all[list]!, to: list, in: once) }

            let batched = MemoryStore()
            var cursor: [ListKey: Int] = [:]
            // Interleave lists, each in random batch sizes (1 … 300), as a live writer would.
            while cursor.values.reduce(0, +) < 1_000 * lists.count {
                let list = lists[Int(random.next() % UInt64(lists.count))]
                let from = cursor[list, default: 0]
                guard from < 1_000 else { continue }
                let size = random.next() % 4 == 0 ? 1 : 1 + Int(random.next() % 300)
                let to = min(1_000, from + size)
                try PostingIndex.append(Array(all[list]![from..<to]), to: list, in: batched)
                cursor[list] = to
            }
            XCTAssertEqual(batched.tables[.index], once.tables[.index], "seed \(seed)")
            XCTAssertEqual(try ProjectionDigest.compute(.indexes, in: batched), try ProjectionDigest.compute(.indexes, in: once))

            for list in lists { XCTAssertEqual(try collect(list, batched), all[list]!, "\(list)") }
            try checkBlockInvariants(once)
        }
    }

    private func checkBlockInvariants(_ store: MemoryStore) throws {
        var blocks = 0
        for (key, value) in store.tables[.index] ?? [:] {
            blocks += 1
            let prefixLength = key[0] == PostingIndex.Kind.type.rawValue ? 2 : 5
            XCTAssertEqual(key.count, prefixLength + 8)
            let first = UInt64(bigEndianBytes: Array(key.suffix(8)))!
            let count = Int(value[0]) << 8 | Int(value[1])
            XCTAssertGreaterThan(count, 0)
            XCTAssertLessThanOrEqual(count, PostingIndex.capacity)
            XCTAssertLessThanOrEqual(count, 128)
            XCTAssertEqual(value.count, 2 + 4 * count)
            var previous: UInt32? = nil
            for i in 0..<count {
                let w = UInt32(bigEndianBytes: Array(value[(2 + 4 * i)..<(6 + 4 * i)]))!
                let offset = w & 0x3FFF_FFFF
                XCTAssertNotEqual(w >> 30, 3, "flag 3 is not defined")
                if i == 0 { XCTAssertEqual(offset, 0, "a block's key is its first seq") }
                if let previous { XCTAssertGreaterThan(offset, previous) }
                previous = offset
                XCTAssertLessThan(first + UInt64(offset), first + (1 << 30))
            }
        }
        XCTAssertGreaterThan(blocks, lists.count * 1_000 / 128, "lists span many blocks")
    }

    func testFullBlocksHoldExactly128Entries() throws {
        let store = MemoryStore()
        let list = ListKey(.credential, 9)
        let entries = (1...1_000).map { Entry(seq: UInt64($0), flag: .allowedUse) }
        for chunk in stride(from: 0, to: 1_000, by: 7) { try PostingIndex.append(Array(entries[chunk..<min(chunk + 7, 1_000)]), to: list, in: store) }
        let counts = (store.tables[.index] ?? [:]).sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { Int($0.value[0]) << 8 | Int($0.value[1]) }
        XCTAssertEqual(counts, [128, 128, 128, 128, 128, 128, 128, 104])
    }

    func testVisitRangesAscendingAndDescending() throws {
        let random = SeededRandom(seed: 99)
        let store = MemoryStore()
        var all: [ListKey: [Entry]] = [:]
        for list in lists {
            all[list] = randomEntries(700, random)
            try PostingIndex.append(all[list]!, to: list, in: store)
        }
        for _ in 0..<250 {
            let list = lists[Int(random.next() % UInt64(lists.count))]
            let entries = all[list]!
            let maxSeq = entries.last!.seq
            // Bounds anywhere, often exactly on an entry or a block edge.
            func bound() -> UInt64 {
                switch random.next() % 4 {
                case 0: return entries[Int(random.next() % UInt64(entries.count))].seq
                case 1: return entries[min(entries.count - 1, Int(random.next() % 6) * 128)].seq &- (random.next() % 2)
                default: return 1 + random.next() % (maxSeq + 10)
                }
            }
            var (a, b) = (bound(), bound())
            if a > b { swap(&a, &b) }
            let range = max(a, 1)...b
            let expected = entries.filter { range.contains($0.seq) }
            XCTAssertEqual(try collect(list, store, range: range), expected, "\(list) \(range)")
            XCTAssertEqual(try collect(list, store, range: range, descending: true), expected.reversed(), "\(list) \(range) desc")
            let limit = 1 + Int(random.next() % 20)
            XCTAssertEqual(try collect(list, store, range: range, limit: limit), Array(expected.prefix(limit)))
            XCTAssertEqual(try collect(list, store, range: range, descending: true, limit: limit), Array(expected.reversed().prefix(limit)))
        }
        // Whole list, both directions; an empty list; a range before / after every entry.
        for list in lists {
            XCTAssertEqual(try collect(list, store), all[list]!)
            XCTAssertEqual(try collect(list, store, descending: true), all[list]!.reversed())
            let first = all[list]!.first!.seq, last = all[list]!.last!.seq
            XCTAssertEqual(try collect(list, store, range: 1...(first - 1)), [])
            XCTAssertEqual(try collect(list, store, range: 1...(first - 1), descending: true), [])
            XCTAssertEqual(try collect(list, store, range: (last + 1)...UInt64.max), [])
            XCTAssertEqual(try collect(list, store, range: (last + 1)...UInt64.max, descending: true), [])
            XCTAssertEqual(try collect(list, store, range: first...first), [all[list]!.first!])
            XCTAssertEqual(try collect(list, store, range: last...last, descending: true), [all[list]!.last!])
        }
        XCTAssertEqual(try collect(ListKey(.company, 3), store), [])
        XCTAssertEqual(try collect(ListKey(.type, 7), store, descending: true), [])
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
