import CredLedger
import CredLedgerCore
import Foundation

/// Monotonic time for measurements (`clock_gettime(CLOCK_MONOTONIC)`), in nanoseconds.
enum BenchClock {
    @inline(__always)
    static func nanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Seconds elapsed since `start` (a `nanos()` value).
    static func seconds(since start: UInt64) -> Double {
        Double(nanos() &- start) / 1e9
    }

    /// Runs `body` and returns its result and the seconds it took.
    static func time<R>(_ body: () throws -> R) rethrows -> (R, Double) {
        let start = nanos()
        let result = try body()
        return (result, seconds(since: start))
    }
}

/// Bytes this process has passed to write(2)/pwrite(2) so far (`wchar` in /proc/self/io): LMDB writes every
/// dirty page of a commit that way, so a difference over a run is the commits' write volume.
enum ProcessIO {
    static func bytesWritten() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("wchar:") {
            return UInt64(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }
}

/// CPU time this process has used (every thread, user + system: `getrusage(RUSAGE_SELF)`), in seconds.
enum ProcessCPU {
    static func seconds() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }
}

/// CPU time the calling thread has used (user + system: `CLOCK_THREAD_CPUTIME_ID`), in nanoseconds.
enum ThreadCPU {
    static func nanos() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}

/// CPU time the whole machine spent busy (every core, every process and kernel thread: `/proc/stat`), in seconds:
/// what an export shares with the kernel's page-cache copy and writeback, which the process's own CPU leaves out.
enum MachineCPU {
    static let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    /// Busy seconds summed over the cores since boot (all `cpu` time but idle and iowait), or nil without /proc.
    static func busySeconds() -> Double? {
        busyAndSteal().map { $0.busy + $0.steal }
    }

    /// Seconds since boot, summed over the cores: busy apart from steal, and steal (time the hypervisor gave this
    /// machine's virtual cores to something else), or nil without /proc.
    static func busyAndSteal() -> (busy: Double, steal: Double)? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let f = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard f.count >= 8 else { return nil }
        let tick = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
        return (Double(f[0] + f[1] + f[2] + f[5] + f[6]) / tick, Double(f[7]) / tick)  // user nice system irq softirq; steal
    }
}

/// What else the machine did while a section ran: the cores other processes and kernel threads kept busy, and the
/// share of the cores' time the hypervisor stole. A CPU-bound figure of a section with either high moved with them.
struct SectionContention {
    var otherCores: Double
    var stealShare: Double

    /// A reading to take before the section; `since` turns it into the section's contention.
    struct Mark {
        var wall = BenchClock.nanos()
        var process = ProcessCPU.seconds()
        var machine = MachineCPU.busyAndSteal()
    }

    init?(since mark: Mark) {
        guard let before = mark.machine, let after = MachineCPU.busyAndSteal() else { return nil }
        let seconds = BenchClock.seconds(since: mark.wall)
        guard seconds > 0 else { return nil }
        let own = ProcessCPU.seconds() - mark.process
        otherCores = max(0, (after.busy - before.busy) - own) / seconds
        stealShare = max(0, after.steal - before.steal) / (seconds * Double(MachineCPU.cores))
    }

    var text: String {
        "other processes and the kernel's threads \(BenchFormat.fixed(otherCores, 2)) cores, steal \(BenchFormat.fixed(stealShare * 100, 1)) %"
    }
}

/// Latency samples in nanoseconds (a preallocated buffer; appending never allocates until full).
struct LatencySamples {
    private(set) var values: [UInt32] = []

    init(capacity: Int = 0) { values.reserveCapacity(capacity) }

    var count: Int { values.count }

    @inline(__always)
    mutating func add(nanos: UInt64) {
        values.append(UInt32(clamping: nanos))
    }

    mutating func merge(_ other: LatencySamples) { values.append(contentsOf: other.values) }

    /// Percentiles (nearest rank) in microseconds.
    func summary() -> LatencySummary {
        guard !values.isEmpty else { return LatencySummary(count: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0) }
        let sorted = values.sorted()
        func rank(_ q: Double) -> Double {
            let index = min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
            return Double(sorted[index]) / 1000
        }
        var total: UInt64 = 0
        for v in sorted { total &+= UInt64(v) }
        return LatencySummary(count: sorted.count, p50: rank(0.50), p99: rank(0.99), p999: rank(0.999),
                              max: Double(sorted[sorted.count - 1]) / 1000, mean: Double(total) / Double(sorted.count) / 1000)
    }
}

/// Latency percentiles in microseconds.
struct LatencySummary {
    var count: Int
    var p50: Double
    var p99: Double
    var p999: Double
    var max: Double
    var mean: Double

    var json: [String: Any] {
        ["count": count, "p50_us": BenchFormat.round(p50, 3), "p99_us": BenchFormat.round(p99, 3),
         "p999_us": BenchFormat.round(p999, 3), "max_us": BenchFormat.round(max, 3), "mean_us": BenchFormat.round(mean, 3)]
    }
}

/// SplitMix64: a tiny deterministic generator so every run builds the same shapes. Not cryptographic.
struct BenchRandom: RandomNumberGenerator {
    private var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    /// Uniform in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// Zipf(s) over `count` items: item k (0-based rank) has weight 1/(k+1)^s. Ranks map to items
/// through a shuffled permutation so that popular items are spread over the id space.
struct Zipf {
    private let cumulative: [Double]
    private let items: [Int]

    init(count: Int, exponent: Double = 1.0, random: inout BenchRandom) {
        precondition(count > 0)
        var total = 0.0
        var cumulative: [Double] = []
        cumulative.reserveCapacity(count)
        for k in 0..<count {
            total += 1 / pow(Double(k + 1), exponent)
            cumulative.append(total)
        }
        self.cumulative = cumulative.map { $0 / total }
        var items = Array(0..<count)
        items.shuffle(using: &random)
        self.items = items
    }

    func sample(_ random: inout BenchRandom) -> Int {
        let u = random.unit()
        var low = 0, high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] < u { low = mid + 1 } else { high = mid }
        }
        return items[low]
    }

    /// The item of rank `rank` (0 = most popular).
    func item(rank: Int) -> Int { items[rank] }
}

/// Runs `body(i)` for i in 0..<count on `workers` threads (blocking calls such as durable admin
/// commands need more threads than cores for group commit to batch them). Rethrows the first error.
enum BenchParallel {
    static func forEach(_ count: Int, workers: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        guard count > 0 else { return }
        let state = SharedCounter()
        let threads = max(1, min(workers, count))
        let group = DispatchGroup()
        for _ in 0..<threads {
            group.enter()
            let thread = Thread {
                while let i = state.take(limit: count) {
                    do { try body(i) } catch {
                        state.fail(error)
                        break
                    }
                }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        if let error = state.error { throw error }
    }

    /// Starts `threads` threads running `body(thread index)` together and waits for all. `beforeStart` runs on the
    /// calling thread once every thread exists, right before they are let go.
    static func run(threads: Int, beforeStart: () -> Void = {}, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        let gate = DispatchSemaphore(value: 0)
        for t in 0..<threads {
            group.enter()
            let thread = Thread {
                gate.wait()
                body(t)
                group.leave()
            }
            thread.stackSize = 512 << 10
            thread.start()
        }
        beforeStart()
        for _ in 0..<threads { gate.signal() }
        group.wait()
    }
}

/// A locked counter handing out work items, remembering the first error.
final class SharedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var firstError: Error?

    func take(limit: Int) -> Int? {
        lock.withLock {
            guard firstError == nil, next < limit else { return nil }
            defer { next += 1 }
            return next
        }
    }

    func fail(_ error: Error) { lock.withLock { if firstError == nil { firstError = error } } }
    var error: Error? { lock.withLock { firstError } }
}

/// A value shared between threads under a lock (collecting per-thread results).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

enum BenchFormat {
    static func round(_ value: Double, _ digits: Int) -> Double {
        guard value.isFinite else { return 0 }
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }

    /// 1234567 → "1,234,567"; fractional rates are rounded.
    static func count(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let n = Int(value.rounded())
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "-" }
        return String(format: "%.\(digits)f", value)
    }

    static func micros(_ value: Double) -> String {
        value >= 100 ? fixed(value, 0) : value >= 10 ? fixed(value, 1) : fixed(value, 2)
    }

    static func bytes(_ value: Int) -> String {
        let v = Double(value)
        let kib = 1024.0, mib = kib * 1024, gib = mib * 1024
        if v >= gib { return fixed(v / gib, 2) + " GiB" }
        if v >= mib { return fixed(v / mib, 1) + " MiB" }
        if v >= kib { return fixed(v / kib, 1) + " KiB" }
        return "\(value) B"
    }
}

/// Repeating a figure: the machine is shared, so one run says little; the median of a few runs, with their range,
/// says what is typical and how much the noise moved it.
enum Rounds {
    /// Runs `body` `count` times and returns the run whose `key` is the median, and every run's key in run order.
    static func median<R>(_ count: Int, key: (R) -> Double, _ body: (Int) throws -> R) rethrows -> (R, [Double]) {
        var runs: [R] = []
        for round in 0..<max(1, count) { runs.append(try body(round)) }
        let order = runs.indices.sorted { key(runs[$0]) < key(runs[$1]) }
        return (runs[order[order.count / 2]], runs.map(key))
    }

    /// The median of `values` as `median(_:key:_:)` picks it (the upper middle of an even count); 0 when empty.
    static func medianValue(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.sorted()[values.count / 2]
    }

    /// "min–max" of a list of figures, formatted by `format` ("" when fewer than two).
    static func range(_ values: [Double], _ format: (Double) -> String) -> String {
        guard values.count > 1, let low = values.min(), let high = values.max() else { return "" }
        return format(low) + "–" + format(high)
    }
}

/// The 1-, 5- and 15-minute load averages (`getloadavg`): printed around each section, since every CPU-bound
/// figure moves with what else runs on the machine.
enum LoadAverage {
    static func now() -> [Double] {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return [] }
        return loads.map { BenchFormat.round($0, 2) }
    }

    static func text(_ loads: [Double]) -> String {
        loads.isEmpty ? "?" : loads.map { BenchFormat.fixed($0, 2) }.joined(separator: " ")
    }
}

extension Ledger.Options {
    /// A measured ledger's options: durable commits, and a map large enough that growth never interrupts a run.
    var forBenchmark: Ledger.Options {
        var options = self
        options.durability = .sync
        options.initialMapSize = max(options.initialMapSize, 4 << 30)
        options.maxMapSize = max(options.maxMapSize, options.initialMapSize)
        return options
    }
}
