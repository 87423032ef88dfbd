import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation

/// `auth-lab`: only the authorization rows of `bench`, on its full-size fixture, with the Bearer pool also split into
/// client-credentials and PKCE tokens — a small driver to A/B the decision's latency per header kind.
enum AuthLabCommands {
    static let summary = """
        Authorization latency only (release build!): builds the bench's fixture (--companies 100, --projects 1000, \
        --credentials 10000; --fill N then records N uses as the bench's fill does), then per pool (--pools apikey,bearer,cc,pkce) (Apikey; Bearer; Bearer of client-credentials tokens; Bearer of PKCE tokens) \
        --rounds N (default 3) runs of --decisions D (default 300000) decisions on one thread; prints each run's p50 and \
        p99 and their medians. --from-map: every decision read from the map (the decision cache bypassed). --token-churn N: \
        meanwhile another thread has N client-credentials tokens issued per second (commands that append events, as a \
        server issuing tokens does). --dir DIR: where the temporary ledger goes (removed at the end).
        """

    static var all: [CommandSpec] {
        [
            CommandSpec("auth-lab", options: ["decisions", "rounds", "companies", "projects", "credentials", "fill", "pools", "dir", "token-churn"], flags: ["from-map"],
                        summary: AuthLabCommands.summary) { inv, ctx in
                let decisions = try inv.integer("decisions", default: 300_000, range: 1_000...100_000_000)
                let rounds = try inv.integer("rounds", default: 3, range: 1...20)
                let fill = try inv.integer("fill", default: 0, range: 0...100_000_000)
                let churn = try inv.integer("token-churn", default: 0, range: 0...10_000)
                // --pools apikey,bearer,cc,pkce: only those (default all); refused before anything is built.
                let keys = ["apikey", "bearer", "cc", "pkce"]
                let wanted = Set((inv.option("pools") ?? keys.joined(separator: ",")).split(separator: ",").map(String.init))
                guard !wanted.isEmpty, wanted.isSubset(of: keys) else {
                    throw UsageError("--pools takes a comma-separated list of apikey, bearer, cc, pkce")
                }
                let shape = LedgerFixture.Shape(companies: try inv.integer("companies", default: 100, range: 1...100_000),
                                                projects: try inv.integer("projects", default: 1_000, range: 1...1_000_000),
                                                credentials: try inv.integer("credentials", default: 10_000, range: 1...1_000_000),
                                                sequentialSample: 20)
                let root = inv.option("dir") ?? (NSTemporaryDirectory() + "credledger-auth-lab-\(getpid())")
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: root) }
                let ledger = try Ledger(path: root + "/ledger", options: ctx.options.forBenchmark)
                defer { ledger.close() }
                let fixture = LedgerFixture(ledger: ledger, shape: shape)
                try fixture.build { _ in }
                // --fill N: the bench's own fill first (N uses recorded through the writer), as on its full ledger.
                if fill > 0 {
                    let pool = try AuthorizationBench.pool(fixture, count: 65_536, bearer: nil, seed: 7)
                    let seconds = try RecordingBench.fill(ledger, count: fill, decisions: try AuthorizationBench.decisions(ledger, pool: pool)) { _ in }
                    if !ctx.json { print("filled: \(fill) uses in \(BenchFormat.fixed(seconds, 1)) s") }
                }

                // --token-churn N: a client of the first company gets N tokens a second while the rounds run.
                let churning = churn > 0 ? try TokenChurn(ledger, fixture: fixture, perSecond: churn) : nil
                defer { churning?.stop() }

                // The bench's own pools (same seeds), the Bearer one also split by the token's kind.
                let kinds = Dictionary(fixture.credentials.compactMap { c in c.header.map { ($0, c.type) } }, uniquingKeysWith: { a, _ in a })
                let apikey = try AuthorizationBench.pool(fixture, count: 65_536, bearer: false, seed: 13)
                let bearer = try AuthorizationBench.pool(fixture, count: 65_536, bearer: true, seed: 11)
                let pools: [(String, [AuthRequest])] = [
                    ("Apikey", apikey), ("Bearer", bearer),
                    ("Bearer client_credentials", bearer.filter { kinds[$0.header] == .oauth }),
                    ("Bearer PKCE", bearer.filter { kinds[$0.header]?.isUserDelegated == true }),
                ]
                var rows: [[String: Any]] = []
                let fromTheMap = inv.flag("from-map")
                for ((name, pool), key) in zip(pools, keys) where !pool.isEmpty && wanted.contains(key) {
                    _ = try AuthorizationBench.run(ledger, pool: pool, count: min(decisions, 20_000), fromTheMap: fromTheMap)
                    var p50: [Double] = [], p99: [Double] = []
                    // The process's cores busy over the rounds: above 1, something beside the timed thread ran.
                    let cpu = ProcessCPU.seconds(), start = BenchClock.nanos()
                    for _ in 1...rounds {
                        let r = try AuthorizationBench.run(ledger, pool: pool, count: decisions, fromTheMap: fromTheMap)
                        p50.append(r.latency.p50)
                        p99.append(r.latency.p99)
                    }
                    let cores = (ProcessCPU.seconds() - cpu) / BenchClock.seconds(since: start)
                    let median = { (values: [Double]) in values.sorted()[values.count / 2] }
                    rows.append(["pool": name, "requests": pool.count, "p50_us": p50.map { BenchFormat.round($0, 3) },
                                 "p99_us": p99.map { BenchFormat.round($0, 3) }, "median_p50_us": BenchFormat.round(median(p50), 3),
                                 "median_p99_us": BenchFormat.round(median(p99), 3),
                                 "process_cores_busy": BenchFormat.round(cores, 3)])
                    if !ctx.json {
                        let f = BenchFormat.fixed
                        print("\(name) (\(pool.count) requests): p50 \(f(median(p50), 3)) µs (\(p50.map { f($0, 2) }.joined(separator: ", ")))  "
                              + "p99 \(f(median(p99), 3)) µs (\(p99.map { f($0, 2) }.joined(separator: ", ")))  process cores \(f(cores, 2))  (load \(LoadAverage.text(LoadAverage.now())))")
                    }
                }
                if let churning {
                    let issued = churning.stop()
                    if ctx.json { rows.append(["tokens_issued": issued]) } else { print("tokens issued meanwhile: \(issued)") }
                }
                if ctx.json { Output.json(["rows": rows]) }
                return ExitCode.ok
            },
        ]
    }
}

/// A thread that has a client-credentials token issued `perSecond` times a second until stopped.
final class TokenChurn: @unchecked Sendable {
    private let stopping = Locked(false)
    private let issued = Locked(0)
    private let done = DispatchSemaphore(value: 0)

    init(_ ledger: Ledger, fixture: LedgerFixture, perSecond: Int) throws {
        guard let company = fixture.companies.first else { throw UsageError("--token-churn: the fixture has no company") }
        let client = try ledger.administration.createCredential(company.slug, NewCredential(name: "churn", type: .oauth, scope: .read),
                                                                as: company.admin)
        guard let id = client.clientID, let secret = client.clientSecret else { throw UsageError("--token-churn: no client secret") }
        let interval = 1.0 / Double(perSecond)
        Thread.detachNewThread { [self] in
            var next = Date()
            while !stopping.withLock({ $0 }) {
                if (try? ledger.oauth.clientCredentialsToken(clientID: id, clientSecret: secret)) != nil { issued.withLock { $0 += 1 } }
                next += interval
                let wait = next.timeIntervalSinceNow
                if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            }
            done.signal()
        }
    }

    /// Stops the thread (once) and returns how many tokens it had issued.
    @discardableResult
    func stop() -> Int {
        let first = stopping.withLock { was in defer { was = true }; return !was }
        if first { done.wait() }
        return issued.withLock { $0 }
    }
}
