import XCTest

import CredLedgerCore
import CredLedgerCrypto
@testable import CredLedgerProjections

/// `UsageFold` (sorted) against the per-use rule it replaces in the folds (`UsageRecord.count`, `DailyUsage.count`
/// over the uses in seq order, keyed in a dictionary, then sorted).
final class UsageFoldTests: XCTestCase {
    private struct Reference {
        var usage: [UInt32: UsageRecord] = [:]
        var daily: [[UInt32]: DailyUsage] = [:]

        mutating func count(_ use: RecentUse) {
            usage[use.credential, default: UsageRecord()].count(use)
            daily[[use.credential, TimeFormat.day(use.time), use.project], default: DailyUsage()].count(use)
        }
    }

    private func check(_ uses: [RecentUse], _ fold: inout UsageFold, file: StaticString = #filePath, line: UInt = #line) {
        var reference = Reference()
        fold.removeAll()
        for use in uses {
            reference.count(use)
            fold.add(use)
        }
        fold.finish()
        let credentials = reference.usage.keys.sorted()
        XCTAssertEqual(fold.credentials, credentials, file: file, line: line)
        XCTAssertEqual(fold.usage, credentials.map { reference.usage[$0]! }, file: file, line: line)
        let days = reference.daily.keys.sorted { $0.lexicographicallyPrecedes($1) }
        XCTAssertEqual(fold.dailyKeys.map { [$0.credential, $0.day, $0.project] }, days, file: file, line: line)
        XCTAssertEqual(fold.daily, days.map { reference.daily[$0]! }, file: file, line: line)
    }

    func testRandomSegmentsMatchThePerUseRule() {
        let random = SeededRandom(seed: 15)
        var fold = UsageFold()   // reused across segments, as the projector reuses it
        let day: Int64 = 86_400_000_000
        for round in 0..<40 {
            // Id ranges from one byte to the full width, so every byte position is sorted on in some round; times over
            // a few days, some 0 and some out of order (a damaged log's); segments of 0 to 5,000 uses.
            let credentialRange = UInt64([4, 300, 70_000, UInt64(UInt32.max)][round % 4])
            let projectRange = UInt64([3, 1_000, 1 << 20, UInt64(UInt32.max)][(round / 4) % 4])
            let count = round == 0 ? 0 : Int(random.next() % 5_000)
            var time = Int64(20_000) * day + Int64(random.next() % UInt64(day))
            var uses: [RecentUse] = []
            for i in 0..<count {
                let r = random.next()
                time += Int64(r % 50_000_000)
                let useTime: Int64 = r % 97 == 0 ? 0 : (r % 89 == 0 ? time - 3 * day : time)
                uses.append(RecentUse(seq: UInt64(i + 1), credential: UInt32(1 + (r >> 8) % credentialRange),
                                      project: UInt32((r >> 40) % projectRange), allowed: r % 3 != 0, time: useTime))
            }
            check(uses, &fold)
        }
    }

    func testOrderWithinAKeyIsSeqOrder() {
        // One credential, one project, one day: first, last and last-denied follow the uses' order, not their times;
        // a first allowed use at time 0 does not count as the first use (`count`'s rule).
        let base: Int64 = 20_000 * 86_400_000_000
        let uses = [RecentUse(seq: 1, credential: 9, project: 2, allowed: true, time: 0),
                    RecentUse(seq: 2, credential: 9, project: 2, allowed: true, time: base + 50),
                    RecentUse(seq: 3, credential: 9, project: 2, allowed: false, time: base + 70),
                    RecentUse(seq: 4, credential: 9, project: 2, allowed: true, time: base + 10),
                    RecentUse(seq: 5, credential: 9, project: 2, allowed: false, time: base + 5)]
        var fold = UsageFold()
        check(uses, &fold)
        XCTAssertEqual(fold.usage.first?.firstUsed, base + 50)
        XCTAssertEqual(fold.usage.first?.lastUsed, base + 10)
        XCTAssertEqual(fold.usage.first?.lastDenied, base + 5)
        XCTAssertEqual(fold.usage.first?.used, 3)
        XCTAssertEqual(fold.usage.first?.denied, 2)
    }

    func testKeysThatDifferOnlyInTheirHighBytes() {
        // Credentials 0x01000000 apart and projects 0x00010000 apart: only high bytes differ, so only those are sorted on.
        let base: Int64 = 20_000 * 86_400_000_000
        var uses: [RecentUse] = []
        for i in 0..<64 {
            uses.append(RecentUse(seq: UInt64(i + 1), credential: UInt32(7 - i % 8) << 24 | 5, project: UInt32(i % 3) << 16,
                                  allowed: i % 5 != 0, time: base + Int64(i)))
        }
        var fold = UsageFold()
        check(uses, &fold)
        XCTAssertEqual(fold.credentials.count, 8)
    }
}
