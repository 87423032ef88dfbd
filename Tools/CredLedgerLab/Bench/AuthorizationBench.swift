import CredLedger
import CredLedgerCore
import Foundation

/// One API request as the auth layer sees it.
struct AuthRequest: Sendable {
    var header: String
    var company: String
    var project: String
    var operation: CredLedgerCore.Operation
    var isBearer: Bool
}

/// Builds request pools (Zipf over credentials) and times `Ledger.Access.authorize` one decision at a time.
enum AuthorizationBench {
    /// `count` requests of credentials chosen Zipf(1) over those that have a header of the wanted kind:
    /// mostly on projects the principal has a role on, some on other projects of the company, 3/4 reads,
    /// and a few well-formed unknown secrets.
    static func pool(_ fixture: LedgerFixture, count: Int, bearer: Bool?, seed: UInt64) throws -> [AuthRequest] {
        var random = BenchRandom(seed: seed)
        let usable = fixture.credentials.indices.filter { i in
            let c = fixture.credentials[i]
            return c.header != nil && (bearer == nil || c.isBearer == bearer!)
        }
        guard !usable.isEmpty else { return [] }
        let zipf = Zipf(count: usable.count, exponent: 1.0, random: &random)
        let unknownKey = try "Apikey " + SecretFormat.generate(.apiKey, using: SystemRandom())
        var out: [AuthRequest] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let c = fixture.credentials[usable[zipf.sample(&random)]]
            let company = fixture.companies[c.company]
            let project: Int = !c.projects.isEmpty && random.unit() < 0.85
                ? c.projects[random.below(c.projects.count)]
                : company.projects[random.below(company.projects.count)]
            let operation: CredLedgerCore.Operation = random.unit() < 0.75 ? .read : .write
            let unknown = !c.isBearer && random.unit() < 0.005
            out.append(AuthRequest(header: unknown ? unknownKey : c.header!, company: company.slug,
                                   project: fixture.projects[project].slug, operation: operation, isBearer: c.isBearer))
        }
        return out
    }

    struct Result {
        /// Every decision.
        var latency: LatencySummary
        /// p99 of each of `rounds` consecutive slices: their median shows the typical p99 when bursts of noise from
        /// other processes on the machine hit only some slices.
        var roundP99: [Double]
        var allowed: Int
        var denied: Int
        var seconds: Double
        /// p50 and p99 of each whole run when the figure is repeated (`--rounds`); this result is the median-p99 run.
        var runP50: [Double] = []
        var runP99: [Double] = []
        var medianRunP50: Double { runP50.isEmpty ? latency.p50 : runP50.sorted()[runP50.count / 2] }
        var medianRunP99: Double { runP99.isEmpty ? latency.p99 : runP99.sorted()[runP99.count / 2] }
        var perSecond: Double { seconds > 0 ? Double(latency.count) / seconds : 0 }
        var medianRoundP99: Double { roundP99.isEmpty ? latency.p99 : roundP99.sorted()[roundP99.count / 2] }

        var json: [String: Any] {
            var object = latency.json
            object["allowed"] = allowed
            object["denied"] = denied
            object["decisions_per_s"] = BenchFormat.round(perSecond, 0)
            object["round_p99_us"] = roundP99.map { BenchFormat.round($0, 3) }
            object["median_round_p99_us"] = BenchFormat.round(medianRoundP99, 3)
            object["run_p50_us"] = runP50.map { BenchFormat.round($0, 3) }
            object["run_p99_us"] = runP99.map { BenchFormat.round($0, 3) }
            return object
        }
    }

    /// Times `count` decisions cycling through `pool` on the calling thread (no write), in `rounds` slices;
    /// `fromTheMap`: each read from the map, the decision cache bypassed.
    static func run(_ ledger: Ledger, pool: [AuthRequest], count: Int, rounds: Int = 10, fromTheMap: Bool = false) throws -> Result {
        var all = LatencySamples(capacity: count)
        var roundP99: [Double] = []
        var allowed = 0
        let start = BenchClock.nanos()
        var i = 0
        let perRound = max(1, count / max(1, rounds))
        var done = 0
        while done < count {
            let n = min(perRound, count - done)
            var samples = LatencySamples(capacity: n)
            for _ in 0..<n {
                let r = pool[i]
                i += 1
                if i == pool.count { i = 0 }
                let t0 = BenchClock.nanos()
                let decision = fromTheMap
                    ? try ledger.access.authorizeFromTheMap(header: r.header, company: r.company, project: r.project, operation: r.operation)
                    : try ledger.access.authorize(header: r.header, company: r.company, project: r.project, operation: r.operation)
                let t1 = BenchClock.nanos()
                samples.add(nanos: t1 &- t0)
                if decision.allowed { allowed += 1 }
            }
            done += n
            if n == perRound { roundP99.append(samples.summary().p99) }
            all.merge(samples)
        }
        let seconds = BenchClock.seconds(since: start)
        return Result(latency: all.summary(), roundP99: roundP99, allowed: allowed, denied: count - allowed, seconds: seconds)
    }

    /// The decisions of `pool` (what the recording benchmarks record).
    static func decisions(_ ledger: Ledger, pool: [AuthRequest]) throws -> [Decision] {
        try pool.map { r in try ledger.access.authorize(header: r.header, company: r.company, project: r.project, operation: r.operation) }
    }
}
