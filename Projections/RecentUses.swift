import CredLedgerCore

/// The open segment's uses of credentials (`usage_recent`, docs/FORMAT.md §6.4): one row per use, appended with
/// the event and folded into `usage` and `usage_daily` when the segment closes (see `SegmentStep`). Readers add
/// these rows to the folded counters (`StateReader.usage`), so counts are exact at every seq.
public struct RecentUse: Equatable, Sendable {
    /// Bytes of a value: credential u32 ‖ project u32 ‖ outcome u8 (0 allowed, 1 denied) ‖ time i64.
    public static let valueLength = 17

    public var seq: UInt64
    public var credential: UInt32
    public var project: UInt32
    public var allowed: Bool
    public var time: Timestamp

    public init(seq: UInt64, credential: UInt32, project: UInt32, allowed: Bool, time: Timestamp) {
        self.seq = seq
        self.credential = credential
        self.project = project
        self.allowed = allowed
        self.time = time
    }

    /// Reads a row in place; nil when the key or value is malformed.
    public init?(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        guard key.count == 8, value.count == Self.valueLength, value[8] <= 1 else { return nil }
        seq = UInt64(bigEndian: key.loadUnaligned(as: UInt64.self))
        credential = UInt32(bigEndian: value.loadUnaligned(as: UInt32.self))
        project = UInt32(bigEndian: value.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        allowed = value[8] == 0
        time = Int64(bigEndian: value.loadUnaligned(fromByteOffset: 9, as: Int64.self))
        guard credential != 0 else { return nil }
    }

    /// Writes the key (8 bytes) and the value (17 bytes).
    func encode(key: UnsafeMutableRawPointer, value: UnsafeMutableRawPointer) {
        key.storeBytes(of: seq.bigEndian, as: UInt64.self)
        value.storeBytes(of: credential.bigEndian, as: UInt32.self)
        value.storeBytes(of: project.bigEndian, toByteOffset: 4, as: UInt32.self)
        value.storeBytes(of: allowed ? 0 : 1, toByteOffset: 8, as: UInt8.self)
        value.storeBytes(of: time.bigEndian, toByteOffset: 9, as: Int64.self)
    }

    /// Visits every stored row (ascending) until `body` returns false.
    static func scan(_ store: some KeyValueStore, _ body: (RecentUse) throws -> Bool) throws {
        try store.scan(.usageRecent, from: []) { key, value in
            let row = key.withUnsafeBytes { k in value.withUnsafeBytes { RecentUse(key: k, value: $0) } }
            guard let row else { throw ProjectionError(.usageRecent, "malformed row \(key)") }
            return try body(row)
        }
    }
}

/// What the open segment adds to the folded usage rows, per credential: built once per reader from `usage_recent`.
final class RecentUsage {
    private(set) var counters: [UInt32: UsageRecord] = [:]
    private(set) var daily: [UInt32: [DailyUsage.Key: DailyUsage]] = [:]

    init(_ store: some KeyValueStore) throws {
        try RecentUse.scan(store) { use in
            let day = DailyUsage.Key(day: TimeFormat.day(use.time), project: use.project)
            counters[use.credential, default: UsageRecord()].count(use)
            daily[use.credential, default: [:]][day, default: DailyUsage()].count(use)
            return true
        }
    }
}

extension DailyUsage {
    /// A daily rollup's place within one credential: day, then project.
    public struct Key: Hashable, Comparable, Sendable {
        public var day: UInt32
        public var project: UInt32
        public static func < (a: Key, b: Key) -> Bool { (a.day, a.project) < (b.day, b.project) }
    }
}
