import CredLedgerCore

/// One closed segment's uses counted into the deltas of its `usage` and `usage_daily` rows, each list in key order
/// (the order the flush writes them in, so consecutive rows are found from the cursor's page).
///
/// The uses are sorted, not hashed: a segment's tens of thousands of (credential, day, project) keys outgrow the
/// caches, and a hash table probed per use missed the cache on nearly every probe (with the sort of the keys after,
/// a fifth of a rebuild's applying thread). The sort is an LSD radix sort over the key bytes that differ within the
/// segment (typically 4–5 of 12), stable, from the uses in seq order, so equal keys keep seq order.
struct UsageFold {
    /// `usage_daily` key parts: credential, day, project.
    struct DailyKey {
        var credential: UInt32
        var day: UInt32
        var project: UInt32
    }

    /// Credentials with uses in the segment, ascending, and each one's delta (`UsageRecord.count` over its uses in
    /// seq order).
    private(set) var credentials: [UInt32] = []
    private(set) var usage: [UsageRecord] = []
    /// (credential, day, project) keys with uses, ascending, and each one's counts.
    private(set) var dailyKeys: [DailyKey] = []
    private(set) var daily: [DailyUsage] = []

    /// A use's sort key: credential ‖ day, then project ‖ ordinal ‖ allowed (the ordinal, its place in seq order,
    /// never reaches the sort: the input is already in that order and the sort is stable).
    private struct Key {
        var high: UInt64
        var low: UInt64
    }

    private var keys: [Key] = []
    private var spare: [Key] = []
    /// Each use's time, by ordinal.
    private var times: [Timestamp] = []

    var isEmpty: Bool { credentials.isEmpty }

    /// Forgets every use and result, keeping the storage.
    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        times.removeAll(keepingCapacity: true)
        credentials.removeAll(keepingCapacity: true)
        usage.removeAll(keepingCapacity: true)
        dailyKeys.removeAll(keepingCapacity: true)
        daily.removeAll(keepingCapacity: true)
    }

    /// Adds a use; uses come in seq order.
    mutating func add(_ use: RecentUse) {
        let ordinal = UInt64(times.count)
        precondition(ordinal < 1 << 31, "a segment holds fewer than 2^31 uses")
        keys.append(Key(high: UInt64(use.credential) << 32 | UInt64(TimeFormat.day(use.time)),
                        low: UInt64(use.project) << 32 | ordinal << 1 | (use.allowed ? 1 : 0)))
        times.append(use.time)
    }

    /// Sorts the uses added and counts them into `credentials`/`usage` and `dailyKeys`/`daily`.
    mutating func finish() {
        credentials.removeAll(keepingCapacity: true)
        usage.removeAll(keepingCapacity: true)
        dailyKeys.removeAll(keepingCapacity: true)
        daily.removeAll(keepingCapacity: true)
        guard !keys.isEmpty else { return }
        sort()
        keys.withUnsafeBufferPointer { keys in
            times.withUnsafeBufferPointer { times in
                var i = 0
                while i < keys.count {
                    let credential = UInt32(truncatingIfNeeded: keys[i].high >> 32)
                    var row = UsageRecord()
                    // By ordinal: the first allowed use with a time (`count` sets `firstUsed` once it is 0), the last
                    // allowed and the last denied use.
                    var firstUsed = Int.max, lastUsed = -1, lastDenied = -1
                    while i < keys.count, keys[i].high >> 32 == UInt64(credential) {
                        let dayKey = keys[i].high, project = keys[i].low >> 32
                        var counts = DailyUsage()
                        while i < keys.count, keys[i].high == dayKey, keys[i].low >> 32 == project {
                            let low = keys[i].low
                            let ordinal = Int(truncatingIfNeeded: (low & 0xFFFF_FFFF) >> 1), time = times[ordinal]
                            if low & 1 == 1 {
                                counts.allowed += 1
                                row.used += 1
                                if ordinal > lastUsed { lastUsed = ordinal; row.lastUsed = time }
                                if time != 0, ordinal < firstUsed { firstUsed = ordinal; row.firstUsed = time }
                            } else {
                                counts.denied += 1
                                row.denied += 1
                                if ordinal > lastDenied { lastDenied = ordinal; row.lastDenied = time }
                            }
                            i += 1
                        }
                        dailyKeys.append(DailyKey(credential: credential, day: UInt32(truncatingIfNeeded: dayKey),
                                                            project: UInt32(truncatingIfNeeded: project)))
                        daily.append(counts)
                    }
                    credentials.append(credential)
                    usage.append(row)
                }
            }
        }
    }

    /// Stable LSD radix sort of `keys` by (credential, day, project), one pass per key byte that is not the same in
    /// every key, least significant first.
    private mutating func sort() {
        let first = keys[0]
        var differs: (high: UInt64, project: UInt64) = (0, 0)
        for key in keys {
            differs.high |= key.high ^ first.high
            differs.project |= (key.low ^ first.low) >> 32
        }
        // (word, shift) of each varying byte, least significant first: the project's bytes, then day's and credential's.
        var passes: [(high: Bool, shift: UInt64)] = []
        for byte in 0..<4 where (differs.project >> (8 * UInt64(byte))) & 0xFF != 0 { passes.append((false, 32 + 8 * UInt64(byte))) }
        for byte in 0..<8 where (differs.high >> (8 * UInt64(byte))) & 0xFF != 0 { passes.append((true, 8 * UInt64(byte))) }
        guard !passes.isEmpty else { return }
        // Both buffers exactly as long as the input (their storage is kept from segment to segment).
        let n = keys.count
        if spare.count > n {
            spare.removeLast(spare.count - n)
        } else if spare.count < n {
            spare.append(contentsOf: repeatElement(Key(high: 0, low: 0), count: n - spare.count))
        }
        // Every pass's histogram in one read of the keys, then one scatter per pass.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 256 * passes.count) { counts in
            counts.initialize(repeating: 0)
            for key in keys {
                for (p, pass) in passes.enumerated() {
                    counts[p << 8 | Int(truncatingIfNeeded: ((pass.high ? key.high : key.low) >> pass.shift) & 0xFF)] += 1
                }
            }
            for (p, pass) in passes.enumerated() {
                var at = 0
                for digit in 0..<256 {
                    let n = counts[p << 8 | digit]
                    counts[p << 8 | digit] = at
                    at += n
                }
                keys.withUnsafeBufferPointer { source in
                    spare.withUnsafeMutableBufferPointer { target in
                        for key in source {
                            let bucket = p << 8 | Int(truncatingIfNeeded: ((pass.high ? key.high : key.low) >> pass.shift) & 0xFF)
                            target[counts[bucket]] = key
                            counts[bucket] += 1
                        }
                    }
                }
                swap(&keys, &spare)
            }
        }
    }
}
