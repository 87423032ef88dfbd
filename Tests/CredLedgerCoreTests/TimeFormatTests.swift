import XCTest

import CredLedgerCore

final class TimeFormatTests: XCTestCase {
    private let second: Int64 = 1_000_000
    private let day: Int64 = 86_400_000_000
    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in µs.
    private let minTime: Int64 = -62_135_596_800_000_000
    private let maxTime: Int64 = 253_402_300_799_999_999

    func testKnownInstants() {
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00.000000Z"),
            (-1, "1969-12-31T23:59:59.999999Z"),
            (1, "1970-01-01T00:00:00.000001Z"),
            (-1_000_000, "1969-12-31T23:59:59.000000Z"),
            (-1_000_001, "1969-12-31T23:59:58.999999Z"),
            (951_782_400_000_000, "2000-02-29T00:00:00.000000Z"),
            (1_709_210_096_123_456, "2024-02-29T12:34:56.123456Z"),
            (1_767_225_600_000_000, "2026-01-01T00:00:00.000000Z"),
            (-2_203_891_200_000_000, "1900-03-01T00:00:00.000000Z"),
            (minTime, "0001-01-01T00:00:00.000000Z"),
            (maxTime, "9999-12-31T23:59:59.999999Z"),
        ]
        for (t, text) in cases {
            XCTAssertEqual(TimeFormat.rfc3339(t), text)
            XCTAssertEqual(TimeFormat.parseRFC3339(text), t, text)
        }
    }

    func testSeededRoundTrips() {
        let random = SeededRandom(seed: 3339)
        let span = UInt64(maxTime - minTime)
        for i in 0..<10_000 {
            // Mostly the whole 0001…9999 range; some near the epoch and near leap days.
            let t: Int64
            switch i % 4 {
            case 0: t = minTime + Int64(random.next() % span)
            case 1: t = Int64(truncatingIfNeeded: random.next() % (200 * 365 * UInt64(day))) - 100 * 365 * day
            case 2:
                let leapYear = Int64([1904, 1968, 1972, 2000, 2024, 2400][Int(random.next() % 6)])
                let feb29 = TimeFormat.parseRFC3339("\(leapYear)-02-29T00:00:00Z")!
                t = feb29 - day + Int64(random.next() % UInt64(3 * day))
            default: t = Int64(random.next() % (2 * UInt64(second))) - second
            }
            let text = TimeFormat.rfc3339(t)
            XCTAssertEqual(TimeFormat.parseRFC3339(text), t, text)
        }
    }

    func testFormattingAgreesWithPythonDatetime() throws {
        let random = SeededRandom(seed: 1970)
        let span = UInt64(maxTime - minTime)
        let times = (0..<300).map { _ in minTime + Int64(random.next() % span) } + [0, -1, 951_782_400_000_000, minTime, maxTime]
        let script = """
            import sys, datetime
            epoch = datetime.datetime(1970, 1, 1)
            for line in sys.stdin.read().split():
                print((epoch + datetime.timedelta(microseconds=int(line))).isoformat(timespec='microseconds') + 'Z')
            """
        let expected = try ExternalOracle.python(script, input: times.map(String.init).joined(separator: "\n"))
        XCTAssertEqual(times.map(TimeFormat.rfc3339), expected)
    }

    func testOffsetsAndVariants() {
        let base = TimeFormat.parseRFC3339("2026-01-01T00:00:00Z")!
        XCTAssertEqual(base, 1_767_225_600_000_000)
        let cases: [(String, Int64)] = [
            ("2026-01-01T02:00:00+02:00", base),
            ("2025-12-31T19:00:00-05:00", base),
            ("2025-12-31T18:30:00-05:30", base),
            ("2026-01-01T05:45:00+05:45", base),
            ("2026-01-01T00:00:00+00:00", base),
            ("2026-01-01T00:00:00-00:00", base),
            ("2026-01-01t00:00:00z", base),
            ("2026-01-01 00:00:00Z", base),
            ("2026-01-01T00:00:00.5Z", base + 500_000),
            ("2026-01-01T00:00:00.000001Z", base + 1),
            ("2026-01-01T00:00:00.123456+01:00", base - 3_600 * second + 123_456),
            ("2024-02-29T23:59:59Z", TimeFormat.parseRFC3339("2024-03-01T00:00:00Z")! - second),
            ("2000-02-29T12:00:00Z", 951_825_600_000_000),
        ]
        for (text, t) in cases { XCTAssertEqual(TimeFormat.parseRFC3339(text), t, text) }
    }

    func testBadInputsAreRejected() {
        let bad = [
            "", "2026", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00Z", "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00ZZ", "2026-01-01T00:00:00Z ", " 2026-01-01T00:00:00Z", "2026/01/01T00:00:00Z",
            "2026-1-01T00:00:00Z", "26-01-01T00:00:00Z", "20260-01-01T00:00:00Z", "2026-00-01T00:00:00Z",
            "2026-13-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z", "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z", "2026-01-01T00:00:61Z", "2026-01-01X00:00:00Z", "2026-01-01T00:00:00+0200",
            "2026-01-01T00:00:00+02", "2026-01-01T00:00:00+02:0", "2026-01-01T00:00:00+2:00", "2026-01-01T00:00:00 +02:00",
            "2026-01-01T00:00:00UTC", "2026-01-01T0a:00:00Z", "２０２６-01-01T00:00:00Z", "2026-01-01T00:00:00.1a2Z",
            "-001-01-01T00:00:00Z", "+2026-01-01T00:00:00Z",
        ]
        for text in bad { XCTAssertNil(TimeFormat.parseRFC3339(text), text) }
    }

    /// Calendar-invalid dates and offsets must not silently map to another instant.
    func testImpossibleDatesAndOffsetsAreRejected() {
        let bad = [
            "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-02-30T00:00:00Z",
            "2026-04-31T00:00:00Z", "2026-06-31T00:00:00Z", "2026-09-31T00:00:00Z", "2026-11-31T00:00:00Z",
            "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+02:60", "2026-01-01T00:00:00-99:99",
        ]
        for text in bad { XCTAssertNil(TimeFormat.parseRFC3339(text), text) }
    }

    /// More than six fraction digits (nanoseconds, as many tools print) are truncated to µs, not a crash.
    func testLongFractionsDoNotTrap() {
        let ok = runsWithoutTrapping {
            let t = TimeFormat.parseRFC3339("2026-01-01T00:00:00.123456789Z")
            if t != 1_767_225_600_123_456 { _exit(3) }
        }
        XCTAssertTrue(ok, "parseRFC3339 trapped (or was wrong) on a 9-digit fraction")
    }

    func testParseDuration() {
        let cases: [(String, Int64)] = [
            ("0", 0), ("0s", 0), ("30s", 30 * second), ("15m", 15 * 60 * second), ("24h", day), ("7d", 7 * day),
            ("90d", 90 * day), ("3650d", 3_650 * day), ("1s", second),
        ]
        for (text, d) in cases { XCTAssertEqual(TimeFormat.parseDuration(text), d, text) }
        for text in ["", "s", "d", "5", "5x", "5S", "5D", "-5s", "1.5h", "5 s", " 5s", "5s ", "1h30m", "five d", "0x10s", "∞s"] {
            XCTAssertNil(TimeFormat.parseDuration(text), text)
        }
    }

    /// Large values are refused or exact, never an overflow trap (CLI input reaches this).
    func testHugeDurationsDoNotTrap() {
        for text in ["315360000d", "106751992d", "9223372036854775807d", "315360000h", "99999999999999999999s"] {
            let ok = runsWithoutTrapping {
                if let d = TimeFormat.parseDuration(text), d < 0 { _exit(3) }
            }
            XCTAssertTrue(ok, "parseDuration(\(text)) trapped or went negative")
        }
    }

    /// A decoded record may carry any i64 time (the codec accepts all); formatting it and bucketing it by day
    /// (use events are rolled up per day during a rebuild) must not trap.
    func testExtremeTimestampsDoNotTrap() {
        for t in [Int64.min, Int64.min + 1, Int64.min + 999_998, Int64.max] {
            XCTAssertTrue(runsWithoutTrapping { _ = TimeFormat.rfc3339(t) }, "rfc3339(\(t))")
            XCTAssertTrue(runsWithoutTrapping { _ = TimeFormat.day(t) }, "day(\(t))")
        }
    }

    func testDayNumber() {
        XCTAssertEqual(TimeFormat.day(0), 0)
        XCTAssertEqual(TimeFormat.day(day - 1), 0)
        XCTAssertEqual(TimeFormat.day(day), 1)
        XCTAssertEqual(TimeFormat.day(1_767_225_600_000_000), 20_454)
        XCTAssertEqual(TimeFormat.day(1_767_225_600_000_000 - 1), 20_453)
        XCTAssertEqual(TimeFormat.day(-1), 0, "days before 1970 clamp to 0")
        let random = SeededRandom(seed: 86_400)
        for _ in 0..<2_000 {
            let t = Int64(random.next() % UInt64(maxTime))
            let d = TimeFormat.day(t)
            XCTAssertEqual(Int64(d), t / day)
            // The day's midnight formats as that date at 00:00:00.
            let midnight = TimeFormat.rfc3339(Int64(d) * day)
            XCTAssertEqual(midnight.prefix(10), TimeFormat.rfc3339(t).prefix(10))
            XCTAssertTrue(midnight.hasSuffix("T00:00:00.000000Z"))
        }
    }
}
