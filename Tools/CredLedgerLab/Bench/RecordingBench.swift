import CredLedger
import CredLedgerCore
import Foundation

/// Durable use recording through the group-commit writer, by concurrent callers of several kinds.
enum RecordingBench {
    enum Mode: Sendable {
        /// Threads each calling `Ledger.Access.record(_:)` (blocking until durable) in a loop.
        case threads
        /// Swift tasks each awaiting `Ledger.Access.record(_:) async` in a loop (no thread blocked per caller).
        case tasks
        /// Threads each recording `size` decisions per call with one acknowledgement (`Ledger.Access.record(batch:)`).
        case batch(size: Int)
        /// Swift tasks each awaiting `Ledger.Access.check(…) async`: decide + record, end to end.
        case checkTasks
        /// `checkTasks` whose decisions read the map even when their facts are kept (`Ledger.Options.cachesDecisions`):
        /// the same run's figure of a check that misses the decision cache.
        case checkTasksFromMap
        /// Swift tasks each calling `Ledger.Access.authorize` (the decision alone, no record), yielding every
        /// `decideSlice` decisions so every task runs: the decide part of a `check` row's CPU.
        case decideTasks
        /// Swift tasks each awaiting a continuation resumed by the `NullWriter` (no ledger work): the limit of the
        /// per-request async shape on this machine.
        case nullWriterTasks
        /// Swift tasks each deciding (`authorize`, as `check` does) and then awaiting the `NullWriter`: `check` with
        /// everything but the ledger's recording — the most a `check` row could do at that many tasks with a writer that
        /// cost nothing beyond one small synced write per batch.
        case decideNullWriterTasks
        /// Threads each blocking in `NullWriter.submitAndWait` (no ledger work), woken as the ledger's blocking
        /// `record` is: the limit of the blocking per-request shape at that many threads.
        case nullWriterThreads

        var name: String {
            switch self {
            case .threads: "record, threads"
            case .tasks: "record async, tasks"
            case .batch(let size): "record(batch: \(size)), threads"
            case .checkTasks: "check async (decide+record), tasks"
            case .checkTasksFromMap: "check async, decision read from the map, tasks"
            case .decideTasks: "decide alone (authorize), tasks"
            case .nullWriterTasks: "null writer (no ledger), tasks"
            case .decideNullWriterTasks: "decide + null writer (no recording), tasks"
            case .nullWriterThreads: "null writer (no ledger), threads"
            }
        }

        var key: String {
            switch self {
            case .threads: "threads"
            case .tasks: "tasks"
            case .batch(let size): "batch\(size)"
            case .checkTasks: "check_tasks"
            case .checkTasksFromMap: "check_map_tasks"
            case .decideTasks: "decide_tasks"
            case .nullWriterTasks: "null_writer_tasks"
            case .decideNullWriterTasks: "decide_null_writer_tasks"
            case .nullWriterThreads: "null_writer_threads"
            }
        }

        var decisionsPerCall: Int {
            if case .batch(let size) = self { return size }
            return 1
        }

        /// Whether a run waits for durable commits (and so gets a same-batch raw baseline).
        var isDurable: Bool {
            if case .decideTasks = self { return false }
            return true
        }
    }

    /// Decisions a `decideTasks` task makes between two yields (the yield's cost spread thin, every task scheduled).
    static let decideSlice = 64

    struct Result {
        var mode: Mode
        var callers: Int
        var uses: Int
        var calls: Int
        var seconds: Double
        var batches: Int
        /// Writer counters over the run (time building batches, committing, acknowledging).
        var writer: WriterStatistics
        var latency: LatencySummary
        /// Bytes written by the process during the run (the commits' dirty pages).
        var bytesWritten: UInt64
        /// CPU time of the whole process (callers, writer, acknowledgements; user + system) during the run.
        var cpuSeconds: Double
        var baseline: RawAppendBaseline.Result?
        /// Uses/s of every round when the figure is repeated (`--rounds`); this result is the median round.
        var roundRates: [Double] = []
        /// Ratio to the same-batch baseline of every round (each round has its own baseline).
        var roundRatios: [Double] = []
        /// The median of `roundRatios` (the ratio targets are judged on it), else this round's ratio.
        var medianRatio: Double? { roundRatios.isEmpty ? ratio : Rounds.medianValue(roundRatios) }

        var bytesWrittenPerUse: Double { uses > 0 ? Double(bytesWritten) / Double(uses) : 0 }
        var pagesWrittenPerBatch: Double { batches > 0 ? Double(bytesWritten) / 4096 / Double(batches) : 0 }

        var usesPerSecond: Double { seconds > 0 ? Double(uses) / seconds : 0 }
        var batchMean: Double { batches > 0 ? Double(uses) / Double(batches) : 0 }
        var ratio: Double? { baseline.map { $0.eventsPerSecond > 0 ? usesPerSecond / $0.eventsPerSecond : 0 } }
        /// Writer time building the transaction, per event (µs).
        var applyMicrosPerEvent: Double { writer.events > 0 ? Double(writer.applyNanos) / 1000 / Double(writer.events) : 0 }
        /// Commit (with fsync) per batch (ms).
        var commitMillisPerBatch: Double { writer.batches > 0 ? Double(writer.commitNanos) / 1e6 / Double(writer.batches) : 0 }
        /// What the writer thread alone allows per second: the batch over build + commit back to back (today), and over
        /// the longer of the two (a writer that built batch N+1 while N's commit is in fsync). Their ratio is the most a
        /// pipeline could gain at this batch size.
        var serialCeiling: Double {
            let t = batchMean * applyMicrosPerEvent / 1e6 + commitMillisPerBatch / 1e3
            return t > 0 ? batchMean / t : 0
        }
        var pipelinedCeiling: Double {
            let t = max(batchMean * applyMicrosPerEvent / 1e6, commitMillisPerBatch / 1e3)
            return t > 0 ? batchMean / t : 0
        }
        /// CPU per use, all threads (µs), and the cores the process kept busy: near the cores it may use, the run is
        /// CPU-bound, and overlapping the fsync with the next batch's build could not make it faster.
        var cpuMicrosPerUse: Double { uses > 0 ? cpuSeconds * 1e6 / Double(uses) : 0 }
        var coresBusy: Double { seconds > 0 ? cpuSeconds / seconds : 0 }
        /// Acknowledgement thread time per event (µs).
        var ackMicrosPerEvent: Double { writer.events > 0 ? Double(writer.ackNanos) / 1000 / Double(writer.events) : 0 }

        var json: [String: Any] {
            var object: [String: Any] = [
                "mode": mode.key, "description": mode.name, "callers": callers, "decisions_per_call": mode.decisionsPerCall,
                "uses": uses, "calls": calls, "seconds": BenchFormat.round(seconds, 4),
                "uses_per_s": BenchFormat.round(usesPerSecond, 0), "batches": batches,
                "batch_mean": BenchFormat.round(batchMean, 1), "ack_latency": latency.json,
                "writer_apply_us_per_event": BenchFormat.round(applyMicrosPerEvent, 3),
                "writer_commit_ms_per_batch": BenchFormat.round(commitMillisPerBatch, 3),
                "ack_us_per_event": BenchFormat.round(ackMicrosPerEvent, 3),
                "bytes_written_per_use": BenchFormat.round(bytesWrittenPerUse, 1),
                "pages_written_per_batch": BenchFormat.round(pagesWrittenPerBatch, 1),
                "round_uses_per_s": roundRates.map { BenchFormat.round($0, 0) },
                "round_ratios": roundRatios.map { BenchFormat.round($0, 3) },
                "writer_serial_ceiling_per_s": BenchFormat.round(serialCeiling, 0),
                "cpu_us_per_use": BenchFormat.round(cpuMicrosPerUse, 3), "cores_busy": BenchFormat.round(coresBusy, 2),
                "writer_pipelined_ceiling_per_s": BenchFormat.round(pipelinedCeiling, 0),
            ]
            if let baseline {
                object["baseline_batch"] = baseline.batch
                object["baseline_events_per_s"] = BenchFormat.round(baseline.eventsPerSecond, 0)
                object["ratio_to_baseline"] = BenchFormat.round(ratio ?? 0, 3)
            }
            return object
        }
    }

    /// Runs `callers` callers of `mode` for about `seconds`; latency is per call (submit → durable ack).
    /// `scratch`: a directory for the null writer modes' synced file.
    static func run(_ ledger: Ledger, mode: Mode, callers: Int, seconds: Double, decisions: [Decision],
                    requests: [AuthRequest], scratch: String = NSTemporaryDirectory()) throws -> Result {
        let nullWriter: NullWriter? = switch mode {
        case .nullWriterTasks, .nullWriterThreads, .decideNullWriterTasks: try NullWriter(path: scratch + "/null-writer-\(getpid())")
        default: nil
        }
        nullWriter?.start()
        defer { nullWriter?.stop() }
        var before = WriterStatistics()
        var written: UInt64 = 0
        var cpuBefore = 0.0
        let window = RunWindow()
        // The measured window opens once every caller exists: creating 4,096 threads under load can take longer than
        // the run itself, and it is neither the callers' work nor the writer's.
        func open() {
            before = nullWriter?.statistics ?? ledger.maintenance.writerStatistics
            written = ProcessIO.bytesWritten()
            cpuBefore = ProcessCPU.seconds()
            window.open(seconds: seconds)
        }
        let merged = Locked((samples: LatencySamples(), calls: 0, uses: 0, error: String?.none))
        switch mode {
        case .threads, .batch, .nullWriterThreads:
            let perCall = mode.decisionsPerCall
            BenchParallel.run(threads: callers, beforeStart: open) { t in
                let deadline = window.deadline
                var samples = LatencySamples(capacity: 4096)
                let decisions = ownCopies(decisions, caller: t, callers: callers)
                var i = 0
                var calls = 0
                var failure: String?
                var chunk: [Decision] = []
                chunk.reserveCapacity(perCall)
                // At least one call per caller: on a loaded machine a thread can start after a short window closed.
                repeat {
                    do {
                        if perCall == 1 {
                            let d = decisions[i]
                            i = i + 1 == decisions.count ? 0 : i + 1
                            let t0 = BenchClock.nanos()
                            if let nullWriter {
                                // The shape of the blocking `Ledger.Access.record(_:)`, with no ledger work.
                                try nullWriter.submitAndWait()
                            } else {
                                try ledger.access.record(d)
                            }
                            samples.add(nanos: BenchClock.nanos() &- t0)
                        } else {
                            chunk.removeAll(keepingCapacity: true)
                            for _ in 0..<perCall {
                                chunk.append(decisions[i])
                                i = i + 1 == decisions.count ? 0 : i + 1
                            }
                            let t0 = BenchClock.nanos()
                            try ledger.access.record(batch: chunk)
                            samples.add(nanos: BenchClock.nanos() &- t0)
                        }
                        calls += 1
                    } catch {
                        failure = "\(error)"
                        break
                    }
                } while BenchClock.nanos() < deadline
                let done = calls
                let finalSamples = samples
                let finalFailure = failure
                merged.withLock {
                    $0.samples.merge(finalSamples)
                    $0.calls += done
                    $0.uses += done * perCall
                    if $0.error == nil { $0.error = finalFailure }
                }
            }
        case .tasks, .checkTasks, .checkTasksFromMap, .decideTasks, .nullWriterTasks, .decideNullWriterTasks:
            // Each task's own decisions or requests are made before the window opens (hundreds of thousands of strings
            // at 4,096 tasks); tasks are cheap to create (microseconds each): the window opens before they are.
            let ownDecisions: [[Decision]] = switch mode {
            case .tasks: (0..<callers).map { ownCopies(decisions, caller: $0, callers: callers) }
            default: []
            }
            let ownRequests: [[AuthRequest]] = switch mode {
            case .checkTasks, .checkTasksFromMap, .decideTasks, .decideNullWriterTasks: (0..<callers).map { ownCopies(requests, caller: $0, callers: callers) }
            default: []
            }
            open()
            let deadline = window.deadline
            let finished = DispatchSemaphore(value: 0)
            Task.detached {
                await withTaskGroup(of: Void.self) { group in
                    for t in 0..<callers {
                        group.addTask {
                            var samples = LatencySamples(capacity: 1024)
                            let mine = ownDecisions.isEmpty ? [] : ownDecisions[t]
                            let asked = ownRequests.isEmpty ? [] : ownRequests[t]
                            var k = 0
                            var calls = 0
                            var failure: String?
                            repeat {  // at least one call per task (see the threads' loop)
                                let t0 = BenchClock.nanos()
                                do {
                                    switch mode {
                                    case .checkTasks:
                                        let r = asked[k]
                                        k = k + 1 == asked.count ? 0 : k + 1
                                        _ = try await ledger.access.check(header: r.header, company: r.company, project: r.project, operation: r.operation)
                                    case .checkTasksFromMap:
                                        let r = asked[k]
                                        k = k + 1 == asked.count ? 0 : k + 1
                                        _ = try await ledger.access.checkFromTheMap(header: r.header, company: r.company, project: r.project,
                                                                                    operation: r.operation)
                                    case .decideTasks:
                                        let r = asked[k]
                                        k = k + 1 == asked.count ? 0 : k + 1
                                        _ = try ledger.access.authorize(header: r.header, company: r.company, project: r.project, operation: r.operation)
                                    case .decideNullWriterTasks:
                                        // `check`'s shape: the decision lives across the wait and is returned after it.
                                        let r = asked[k]
                                        k = k + 1 == asked.count ? 0 : k + 1
                                        let decision = try ledger.access.authorize(header: r.header, company: r.company, project: r.project,
                                                                                   operation: r.operation)
                                        guard let writer = nullWriter else { break }
                                        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, Error>) in
                                            writer.submit(continuation)
                                        }
                                        withExtendedLifetime(decision) {}
                                    case .nullWriterTasks:
                                        // The shape of `Ledger.Access.record(_:) async`: the continuation itself is
                                        // queued and resumed on the acknowledgement thread.
                                        guard let writer = nullWriter else { break }
                                        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, Error>) in
                                            writer.submit(continuation)
                                        }
                                    default:
                                        try await ledger.access.record(mine[k])
                                        k = k + 1 == mine.count ? 0 : k + 1
                                    }
                                } catch {
                                    failure = "\(error)"
                                    break
                                }
                                samples.add(nanos: BenchClock.nanos() &- t0)
                                calls += 1
                                if case .decideTasks = mode, calls % decideSlice == 0 { await Task.yield() }
                            } while BenchClock.nanos() < deadline
                            let done = calls
                            let finalSamples = samples
                            let finalFailure = failure
                            merged.withLock {
                                $0.samples.merge(finalSamples)
                                $0.calls += done
                                $0.uses += done
                                if $0.error == nil { $0.error = finalFailure }
                            }
                        }
                    }
                }
                finished.signal()
            }
            finished.wait()
        }
        let elapsed = BenchClock.seconds(since: window.start)
        let writer = (nullWriter?.statistics ?? ledger.maintenance.writerStatistics).since(before)
        let bytesWritten = ProcessIO.bytesWritten() &- written
        let cpu = ProcessCPU.seconds() - cpuBefore
        let result = merged.withLock { $0 }
        if let error = result.error { throw LedgerError("bench_failed", "recording (\(mode.name)) failed: \(error)", kind: .badInput) }
        return Result(mode: mode, callers: callers, uses: result.uses, calls: result.calls, seconds: elapsed,
                      batches: writer.batches, writer: writer, latency: result.samples.summary(),
                      bytesWritten: bytesWritten, cpuSeconds: cpu, baseline: nil)
    }

    /// When a run's measured window opened and when its callers stop: written before the callers are let go
    /// (`BenchParallel.run`'s gate or the task's creation), read by them after.
    final class RunWindow: @unchecked Sendable {
        private(set) var start: UInt64 = 0
        private(set) var deadline: UInt64 = 0

        func open(seconds: Double) {
            start = BenchClock.nanos()
            deadline = start + UInt64(seconds * 1e9)
        }
    }

    /// The decisions one caller records: its share of `decisions` whose strings have storage of their own. A server's
    /// decision is made fresh per request; callers all passing elements of one shared array would make the bench
    /// measure reference-count traffic between the cores on shared strings, which no server has.
    static func ownCopies(_ decisions: [Decision], caller: Int, callers: Int) -> [Decision] {
        share(of: decisions, caller: caller, callers: callers) { d in
            d.credentialID = d.credentialID.map(ownString)
            d.principal = d.principal.map(ownString)
        }
    }

    /// The requests one caller makes: its share of `requests` with strings of their own, as a server's are (parsed
    /// from each request), for the same reason.
    static func ownCopies(_ requests: [AuthRequest], caller: Int, callers: Int) -> [AuthRequest] {
        share(of: requests, caller: caller, callers: callers) { r in
            r.header = ownString(r.header)
            r.company = ownString(r.company)
            r.project = ownString(r.project)
        }
    }

    /// A caller's share of `items` (at least 64, from a start that differs per caller), each passed through `own`.
    private static func share<T>(of items: [T], caller: Int, callers: Int, _ own: (inout T) -> Void) -> [T] {
        guard !items.isEmpty else { return [] }
        let count = min(items.count, max(64, items.count / max(1, callers)))
        let start = (caller &* 7919) % items.count
        return (0..<count).map { k in
            var item = items[(start + k) % items.count]
            own(&item)
            return item
        }
    }

    /// A copy of `text` with storage of its own.
    private static func ownString(_ text: String) -> String { String(decoding: Array(text.utf8), as: UTF8.self) }

    /// Appends `count` uses as fast as the writer takes them: callers of the async callback API keep up to
    /// `window` decisions in flight (how a server's event loop would record). Returns the seconds taken.
    static func fill(_ ledger: Ledger, count: Int, decisions: [Decision], chunk: Int = 1024, window: Int = 65_536,
                     progress: (Int) -> Void) throws -> Double {
        guard count > 0 else { return 0 }
        let inFlight = DispatchSemaphore(value: max(1, window / chunk))
        let failure = Locked(String?.none)
        let start = BenchClock.nanos()
        var submitted = 0
        var i = 0
        var nextReport = count / 10
        while submitted < count {
            let n = min(chunk, count - submitted)
            var batch: [Decision] = []
            batch.reserveCapacity(n)
            for _ in 0..<n {
                batch.append(decisions[i])
                i = i + 1 == decisions.count ? 0 : i + 1
            }
            inFlight.wait()
            if let error = failure.withLock({ $0 }) {
                throw LedgerError("bench_failed", "filling the ledger failed: \(error)", kind: .badInput)
            }
            ledger.access.record(batch: batch) { error in
                if let error { failure.withLock { if $0 == nil { $0 = "\(error)" } } }
                inFlight.signal()
            }
            submitted += n
            if submitted >= nextReport {
                progress(submitted)
                nextReport += max(1, count / 10)
            }
        }
        let slots = max(1, window / chunk)
        for _ in 0..<slots { inFlight.wait() }
        // libdispatch traps when a semaphore is released below its initial value: give the slots back.
        for _ in 0..<slots { inFlight.signal() }
        if let error = failure.withLock({ $0 }) {
            throw LedgerError("bench_failed", "filling the ledger failed: \(error)", kind: .badInput)
        }
        return BenchClock.seconds(since: start)
    }
}
