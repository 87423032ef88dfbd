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
        var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }
        var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / 1_048_576 / seconds : 0 }

        var json: [String: Any] {
            ["format": format, "events": events, "bytes": bytes, "seconds": BenchFormat.round(seconds, 4),
             "events_per_s": BenchFormat.round(eventsPerSecond, 0), "mb_per_s": BenchFormat.round(megabytesPerSecond, 1),
             "run_events_per_s": rates.map { BenchFormat.round($0, 0) }]
        }
    }

    /// A whole-log export (every company) into `directory`, removed afterwards.
    static func export(_ ledger: Ledger, format: ExportRequest.Format, directory: String) throws -> Export {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start = BenchClock.nanos()
        let summary = try ledger.audit.export(ExportRequest(company: nil, format: format, directory: directory))
        let seconds = BenchClock.seconds(since: start)
        return Export(format: format.rawValue, events: summary.events, bytes: summary.files.reduce(0) { $0 + $1.bytes }, seconds: seconds)
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
