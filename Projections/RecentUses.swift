import CredLedgerCore

/// A use of a credential as the usage projection counts it (docs/FORMAT.md §6.4). The open segment's uses are read
/// from the log and folded into `usage` and `usage_daily` when a later event closes the segment; readers add them to
/// the folded counters (`StateReader.usage`), so counts are exact at every seq.
public struct RecentUse: Equatable, Sendable {
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

}

/// What the open segment adds to the folded usage rows, per credential: built once per reader from the log.
final class RecentUsage {
    private(set) var counters: [UInt32: UsageRecord] = [:]
    private(set) var daily: [UInt32: [DailyUsage.Key: DailyUsage]] = [:]

    init(_ store: some KeyValueStore) throws {
        guard let open = try store.openSegment(.usage) else { return }
        try store.visitLog(open, descending: false) { entry in
            guard let use = entry.use else { return true }
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
