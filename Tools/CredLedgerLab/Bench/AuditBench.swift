import CredLedger
import CredLedgerCore
import Foundation

/// Export and point-in-time questions on the big ledger, through the replay/audit library API.
enum AuditBench {
    struct Export {
        var format: String
        var events: UInt64
        var bytes: UInt64
        var seconds: Double
        /// Events/s of every run when the figure is repeated (`--rounds`); this result is the median run.
        var rates: [Double] = []
        /// The disk's work for the same bytes, right beside this run: `HardwareLimits.syncedWrite` of `bytes`
        /// (1 MiB chunks, then `fsync`), run before the export when `probeFirst`, else after it. `probeBytes`: what it
        /// wrote (a probe run first is sized by the round before's export, which a ledger that grew meanwhile exceeds).
        var probeSeconds: Double?
        var probeBytes: UInt64 = 0
        var probeFirst = false
        /// Every round's same-bytes probe as events/s at its export's bytes per event, its order, and the round's
        /// export ÷ probe, in run order.
        var probeRates: [Double] = []
        var probeOrder: [Bool] = []
        var probeRatios: [Double] = []
        /// The same export with the events' bytes hashed and dropped (`export(_:discardingEvents:)`): its CPU side alone.
        var discardSeconds: Double?

        var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }
        var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / 1_048_576 / seconds : 0 }
        var bytesPerEvent: Double { events > 0 ? Double(bytes) / Double(events) : 0 }
        /// The same-bytes write + fsync as events/s at this export's bytes per event.
        var probeEventsPerSecond: Double? {
            probeSeconds.map { $0 > 0 && bytesPerEvent > 0 ? Double(probeBytes) / bytesPerEvent / $0 : 0 }
        }
        var probeMegabytesPerSecond: Double? { probeSeconds.map { $0 > 0 ? Double(probeBytes) / 1_048_576 / $0 : 0 } }
        /// Export ÷ the disk's write + fsync of the same bytes: the median of the rounds' ratios, else this run's.
        var probeRatio: Double? {
            if !probeRatios.isEmpty { return Rounds.medianValue(probeRatios) }
            return probeEventsPerSecond.map { $0 > 0 ? eventsPerSecond / $0 : 0 }
        }
        var discardEventsPerSecond: Double? { discardSeconds.map { $0 > 0 ? Double(events) / $0 : 0 } }
        /// The machine's cores busy during the export (every process and kernel thread, `/proc/stat`), and this
        /// process's CPU per event: whether the two cores, not the disk, were the limit.
        var machineCoresBusy: Double?
        var processCPUSeconds: Double = 0
        var processCPUMicrosPerEvent: Double { events > 0 ? processCPUSeconds * 1e6 / Double(events) : 0 }

        var json: [String: Any] {
            func opt(_ v: Double?, _ places: Int) -> Any { v.map { BenchFormat.round($0, places) as Any } ?? NSNull() }
            return ["format": format, "events": events, "bytes": bytes, "seconds": BenchFormat.round(seconds, 4),
                    "events_per_s": BenchFormat.round(eventsPerSecond, 0), "mb_per_s": BenchFormat.round(megabytesPerSecond, 1),
                    "run_events_per_s": rates.map { BenchFormat.round($0, 0) },
                    "same_bytes_write_fsync_events_per_s": opt(probeEventsPerSecond, 0),
                    "same_bytes_write_fsync_mb_per_s": opt(probeMegabytesPerSecond, 1),
                    "same_bytes_write_fsync_before_export": probeFirst, "same_bytes_probe_bytes": probeBytes,
                    "ratio_to_same_bytes_write_fsync": opt(probeRatio, 3),
                    "run_same_bytes_write_fsync_events_per_s": probeRates.map { BenchFormat.round($0, 0) },
                    "run_same_bytes_write_fsync_before_export": probeOrder,
                    "run_ratio_to_same_bytes_write_fsync": probeRatios.map { BenchFormat.round($0, 3) },
                    "discarded_bytes_events_per_s": opt(discardEventsPerSecond, 0),
                    "machine_cores_busy": opt(machineCoresBusy, 2), "machine_cores": MachineCPU.cores,
                    "process_cpu_us_per_event": BenchFormat.round(processCPUMicrosPerEvent, 3)]
        }
    }

    /// A whole-log export (every company) into `directory`, removed afterwards. `discardingEvents`: the events' bytes
    /// are formatted and hashed but not written (the CPU side alone).
    static func export(_ ledger: Ledger, format: ExportRequest.Format, directory: String, discardingEvents: Bool = false) throws -> Export {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (busyBefore, cpuBefore) = (MachineCPU.busySeconds(), ProcessCPU.seconds())
        let start = BenchClock.nanos()
        let summary = try ledger.audit.export(ExportRequest(company: nil, format: format, directory: directory), discardingEvents: discardingEvents)
        let seconds = BenchClock.seconds(since: start)
        var e = Export(format: format.rawValue, events: summary.events, bytes: summary.files.reduce(0) { $0 + $1.bytes }, seconds: seconds)
        e.processCPUSeconds = ProcessCPU.seconds() - cpuBefore
        if let busyBefore, let busyAfter = MachineCPU.busySeconds(), seconds > 0 { e.machineCoresBusy = (busyAfter - busyBefore) / seconds }
        return e
    }

    /// One export round with the disk's work for the same bytes beside it: the probe runs first when `probeFirst`
    /// (sized by `expectedBytes`, the previous round's export: the ledger does not change during the section), else
    /// right after the export (the first round's, whose size is not known before). The probe's rate is converted to
    /// events/s at the export's own bytes per event, so a probe-first round stays exact if the sizes differ.
    static func exportBesideDisk(_ ledger: Ledger, format: ExportRequest.Format, directory: String, probePath: String,
                                 probeFirst: Bool, expectedBytes: UInt64?) throws -> Export {
        if probeFirst, let expectedBytes {
            let seconds = try HardwareLimits.syncedWrite(path: probePath, bytes: expectedBytes)
            var e = try export(ledger, format: format, directory: directory)
            (e.probeSeconds, e.probeBytes, e.probeFirst) = (seconds, expectedBytes, true)
            return e
        }
        var e = try export(ledger, format: format, directory: directory)
        (e.probeSeconds, e.probeBytes, e.probeFirst) = (try HardwareLimits.syncedWrite(path: probePath, bytes: e.bytes), e.bytes, false)
        return e
    }

    struct PointInTime {
        /// Seconds per sample: building the state as of a random time, and answering who could act from it.
        var stateSeconds: [Double]
        var whoSeconds: [Double]
        var eventsReplayed: [Int]

        static func median(_ values: [Double]) -> Double {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            return sorted[sorted.count / 2]
        }

        var json: [String: Any] {
            ["samples": stateSeconds.count,
             "state_as_of_median_s": BenchFormat.round(PointInTime.median(stateSeconds), 5),
             "state_as_of_max_s": BenchFormat.round(stateSeconds.max() ?? 0, 5),
             "who_could_act_median_s": BenchFormat.round(PointInTime.median(whoSeconds), 5),
             "who_could_act_max_s": BenchFormat.round(whoSeconds.max() ?? 0, 5),
             "events_replayed_median": eventsReplayed.sorted()[eventsReplayed.count / 2]]
        }
    }

    /// `samples` times: the state of a company as of a random time between the first and the last event, then
    /// "who could write to project P then" (end to end, through `Ledger.whoCouldAct(…at:)`).
    static func pointInTime(_ ledger: Ledger, fixture: LedgerFixture, samples: Int) throws -> PointInTime {
        var random = BenchRandom(seed: 99)
        let first = try ledger.audit.event(1)?.event.timestamp ?? 0
        let last = ledger.head.timestamp
        var result = PointInTime(stateSeconds: [], whoSeconds: [], eventsReplayed: [])
        for _ in 0..<samples {
            let time = first + Int64(random.unit() * Double(max(1, last - first)))
            let company = fixture.companies[random.below(fixture.companies.count)]
            let project = fixture.projects[company.projects[random.below(company.projects.count)]].slug
            var start = BenchClock.nanos()
            let state = try ledger.audit.state(asOf: .time(time), company: company.slug)
            result.stateSeconds.append(BenchClock.seconds(since: start))
            result.eventsReplayed.append(state.eventsReplayed)
            start = BenchClock.nanos()
            _ = try ledger.audit.whoCouldAct(company: company.slug, project: project, operation: .write, at: .time(time))
            result.whoSeconds.append(BenchClock.seconds(since: start))
        }
        return result
    }
}
