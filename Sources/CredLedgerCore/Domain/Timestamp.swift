import Foundation

/// Microseconds since the Unix epoch, UTC. The log's only notion of time.
public typealias Timestamp = Int64

/// Source of time; injectable so tests and replays are deterministic.
public protocol LedgerClock: Sendable {
    func now() -> Timestamp
}

/// Wall-clock time.
public struct SystemClock: LedgerClock {
    public init() {}
    public func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }
}

/// A clock tests move by hand.
public final class ManualClock: LedgerClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Timestamp

    public init(_ start: Timestamp = 1_767_225_600_000_000) { current = start }  // 2026-01-01T00:00:00Z

    public func now() -> Timestamp { lock.withLock { current } }
    public func advance(seconds: Double) { lock.withLock { current += Int64(seconds * 1_000_000) } }
    public func set(_ t: Timestamp) { lock.withLock { current = t } }
}

public enum TimeFormat {
    /// RFC 3339 UTC with microseconds, e.g. 2026-01-01T00:00:00.000000Z.
    public static func rfc3339(_ t: Timestamp) -> String {
        let (q, r) = t.quotientAndRemainder(dividingBy: 1_000_000)
        let seconds = r < 0 ? q - 1 : q
        let micros = r < 0 ? r + 1_000_000 : r
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(micros))
    }

    /// Parses RFC 3339 (`Z` or ±hh:mm offset, optional fraction); nil when malformed.
    public static func parseRFC3339(_ text: String) -> Timestamp? {
        let s = Array(text.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= s.count else { return nil }
            var v = 0
            for c in s[from..<(from + len)] {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard s.count >= 20, let y = num(0, 4), s[4] == 45, let mo = num(5, 2), s[7] == 45, let d = num(8, 2),
              s[10] == 84 || s[10] == 116 || s[10] == 32, let h = num(11, 2), s[13] == 58, let mi = num(14, 2),
              s[16] == 58, let sec = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, sec < 61
        else { return nil }
        var i = 19
        var micros = 0
        if i < s.count, s[i] == 46 {
            i += 1
            var digits = 0
            while i < s.count, s[i] >= 48, s[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(s[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 6 { for _ in digits..<6 { micros *= 10 } }
        }
        var offset = 0
        guard i < s.count else { return nil }
        if s[i] == 90 || s[i] == 122 {
            i += 1
        } else if s[i] == 43 || s[i] == 45, let oh = num(i + 1, 2), s.count > i + 3, s[i + 3] == 58, let om = num(i + 4, 2),
                  oh < 24, om < 60 {
            offset = (oh * 60 + om) * 60 * (s[i] == 43 ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == s.count else { return nil }
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        guard d <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1] else { return nil }
        // Days from civil (Howard Hinnant's algorithm): no locale or calendar objects involved.
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let secs = days * 86_400 + h * 3_600 + mi * 60 + sec - offset
        return Int64(secs) * 1_000_000 + Int64(micros)
    }

    /// Parses durations like `30s`, `15m`, `24h`, `7d`, `0`; returns microseconds.
    public static func parseDuration(_ text: String) -> Int64? {
        if text == "0" { return 0 }
        guard let unit = text.last, let value = Int64(text.dropLast()), value >= 0 else { return nil }
        let scale: Int64
        switch unit {
        case "s": scale = 1_000_000
        case "m": scale = 60_000_000
        case "h": scale = 3_600_000_000
        case "d": scale = 86_400_000_000
        default: return nil
        }
        let (micros, overflow) = value.multipliedReportingOverflow(by: scale)
        guard !overflow, micros <= 3_650 * 86_400_000_000 else { return nil }
        return micros
    }

    /// Day number since the epoch (UTC), used for daily rollups.
    public static func day(_ t: Timestamp) -> UInt32 {
        let (q, r) = t.quotientAndRemainder(dividingBy: 86_400_000_000)
        return UInt32(clamping: r < 0 ? q - 1 : q)
    }
}
