import CredLedger
import CredLedgerCore
import CredLedgerServer
import CredLedgerTools
import Foundation

/// `credledger-bench http`: `credledger serve`'s front measured with `wrk` (keep-alive, closed loop) against
/// `/auth/forward` (each request decided and durably recorded) and, in the same run, `/healthz` (no engine call: the
/// baseline). Warm-up, then runs alternating the two endpoints; the median of the runs is reported per endpoint and
/// connection count, with the forward/healthz ratio and the issue's targets.
struct HTTPBench {
    struct Config {
        var connections = [64, 256]
        var runs = 3
        var seconds = 5
        var warmupSeconds = 2
        var wrkThreads = 1
        var directory: String?
        var keep = false
    }

    /// One wrk run's figures.
    struct WrkResult {
        var requests: Int
        var perSecond: Double
        /// Latency percentiles, in microseconds.
        var p50: Double
        var p99: Double
        var non2xx: Int
        var socketErrors: Int
    }

    /// The median of the runs of one endpoint at one connection count.
    struct Row {
        var endpoint: String
        var connections: Int
        var runs: [WrkResult]
        var perSecond: Double { HTTPBench.median(runs.map(\.perSecond)) }
        var p50: Double { HTTPBench.median(runs.map(\.p50)) }
        var p99: Double { HTTPBench.median(runs.map(\.p99)) }
        var non2xx: Int { runs.map(\.non2xx).reduce(0, +) }
        var errors: Int { runs.map(\.socketErrors).reduce(0, +) }

        var json: [String: Any] {
            ["endpoint": endpoint, "connections": connections, "req_per_s": BenchFormat.round(perSecond, 0),
             "p50_ms": BenchFormat.round(p50 / 1000, 3), "p99_ms": BenchFormat.round(p99 / 1000, 3), "non_2xx": non2xx, "socket_errors": errors,
             "runs_req_per_s": runs.map { BenchFormat.round($0.perSecond, 0) }]
        }
    }

    struct Report {
        var rows: [Row] = []
        var machine: [String: Any] = [:]
        var loadBefore: [Double] = []
        var loadAfter: [Double] = []
        /// `credential_used` events appended during the `/auth/forward` runs, and the requests wrk counted there.
        var recordedUses = 0
        var forwardRequests = 0
        var config = Config()

        func row(_ endpoint: String, _ connections: Int) -> Row? { rows.first { $0.endpoint == endpoint && $0.connections == connections } }

        func ratio(_ connections: Int) -> Double? {
            guard let f = row("/auth/forward", connections), let h = row("/healthz", connections), h.perSecond > 0 else { return nil }
            return f.perSecond / h.perSecond
        }

        /// The issue's targets: forward-auth ≥ 0.5× /healthz at each count; p99 ≤ 10 ms at 256 connections.
        var targets: [(name: String, met: Bool, measured: String)] {
            var out: [(String, Bool, String)] = []
            for c in config.connections {
                if let r = ratio(c) { out.append(("forward-auth ≥ 0.5× /healthz at \(c) connections", r >= 0.5, BenchFormat.fixed(r, 2) + "×")) }
            }
            if let f = row("/auth/forward", 256) {
                out.append(("forward-auth p99 ≤ 10 ms at 256 connections", f.p99 <= 10_000, BenchFormat.fixed(f.p99 / 1000, 2) + " ms"))
            }
            return out
        }

        var json: [String: Any] {
            ["machine": machine, "load_average_before": loadBefore, "load_average_after": loadAfter,
             "config": ["connections": config.connections, "runs": config.runs, "seconds": config.seconds, "warmup_seconds": config.warmupSeconds,
                        "wrk_threads": config.wrkThreads, "keep_alive": true],
             "results": rows.map(\.json),
             "ratio_forward_to_healthz": Dictionary(uniqueKeysWithValues: config.connections.compactMap { c in ratio(c).map { (String(c), BenchFormat.round($0, 3)) } }),
             "recorded_uses": recordedUses, "forward_requests_completed": forwardRequests,
             "targets": targets.map { ["target": $0.name, "met": $0.met, "measured": $0.measured] }]
        }

        func printTable() {
            let load = { (l: [Double]) in l.map { BenchFormat.fixed($0, 2) }.joined(separator: " ") }
            Output.line("credledger-bench http: wrk -t\(config.wrkThreads), keep-alive, \(config.warmupSeconds) s warm-up, median of \(config.runs) × \(config.seconds) s runs per row")
            Output.line("machine: \(machine["cpu"] ?? "?"), \(machine["cores"] ?? "?") cores, \(machine["build"] ?? "?"); load average \(load(loadBefore)) before, \(load(loadAfter)) after (a shared machine: other work competes)")
            Output.line("")
            Output.line("connections  endpoint        req/s      p50        p99        forward/healthz")
            for c in config.connections {
                for endpoint in ["/healthz", "/auth/forward"] {
                    guard let r = row(endpoint, c) else { continue }
                    let ratioText = endpoint == "/auth/forward" ? ratio(c).map { BenchFormat.fixed($0, 2) + "×" } ?? "-" : ""
                    let flags = (r.non2xx > 0 ? "  non-2xx \(r.non2xx)" : "") + (r.errors > 0 ? "  socket errors \(r.errors)" : "")
                    Output.line(pad(String(c), 13) + pad(endpoint, 16) + pad(BenchFormat.count(r.perSecond), 11) + pad(ms(r.p50), 11) + pad(ms(r.p99), 11)
                          + ratioText + flags)
                }
            }
            Output.line("")
            Output.line("recorded uses during the /auth/forward runs: \(BenchFormat.count(Double(recordedUses))) (wrk completed \(BenchFormat.count(Double(forwardRequests))); every answered request is recorded, so recorded ≥ completed)")
            for t in targets { print("target \(t.met ? "met   " : "MISSED") \(t.name): \(t.measured)") }
        }

        private func ms(_ micros: Double) -> String { BenchFormat.fixed(micros / 1000, 2) + " ms" }
        private func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count) }
    }

    let config: Config
    let progress: (String) -> Void

    func run() throws -> Report {
        guard let wrk = Self.findWrk() else {
            throw LedgerError("wrk_missing", "wrk is not installed: run Tools/test-deps.sh (apt-get install wrk)", kind: .badInput)
        }
        let directory = config.directory ?? NSTemporaryDirectory() + "credledger-http-bench-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if !config.keep { try? FileManager.default.removeItem(atPath: directory) } }
        let ledger = try Ledger(path: directory + "/ledger")
        defer { ledger.close() }
        let header = try Self.makeWorld(ledger)

        var settings = ServerSettings()
        settings.port = 0
        let server = try LedgerServer(ledger: ledger, settings: settings)
        try server.start()
        defer { server.shutdown(); server.wait() }

        var report = Report(config: config)
        report.machine = BenchMachine.describe(directory: directory)
        report.loadBefore = Self.loadAverage()
        let forwardHeaders = ["Authorization: \(header)", "X-Company: acme", "X-Project: bridge", "X-Forwarded-Method: GET"]
        for connections in config.connections {
            func wrkRun(_ path: String, seconds: Int) throws -> WrkResult {
                try Self.runWrk(wrk, url: server.url + path, connections: connections, threads: config.wrkThreads, seconds: seconds,
                                headers: path == "/healthz" ? [] : forwardHeaders)
            }
            progress("\(connections) connections: warm-up")
            _ = try wrkRun("/healthz", seconds: config.warmupSeconds)
            _ = try wrkRun("/auth/forward", seconds: config.warmupSeconds)
            var healthz = Row(endpoint: "/healthz", connections: connections, runs: [])
            var forward = Row(endpoint: "/auth/forward", connections: connections, runs: [])
            for run in 1...config.runs {
                progress("\(connections) connections: run \(run) of \(config.runs)")
                healthz.runs.append(try wrkRun("/healthz", seconds: config.seconds))
                let before = ledger.head.seq
                let result = try wrkRun("/auth/forward", seconds: config.seconds)
                // wrk stops when its time is up; requests it abandoned may still be recorded a moment later.
                usleep(200_000)
                report.recordedUses += Int(ledger.head.seq - before)
                report.forwardRequests += result.requests
                forward.runs.append(result)
            }
            report.rows += [healthz, forward]
        }
        report.loadAfter = Self.loadAverage()
        return report
    }

    /// acme with API module, project bridge, and a read-write key with an editor grant on it: its header.
    static func makeWorld(_ ledger: Ledger) throws -> String {
        let admin = ledger.administration
        try admin.registerCompany("acme", admin: "admin@acme.example", mailDomain: "acme.example")
        _ = try admin.setAPIModule("acme", enabled: true, as: "admin@acme.example")
        try admin.createProject("acme", project: "bridge", as: "admin@acme.example")
        let key = try admin.createCredential("acme", NewCredential(name: "bench", type: .staticKey, scope: .readWrite), as: "admin@acme.example")
        _ = try admin.grantAccess("acme", credential: key.id, project: "bridge", role: .editor, as: "admin@acme.example")
        return "Apikey " + (key.secret ?? "")
    }

    static func findWrk() -> String? {
        ["/usr/bin/wrk", "/usr/local/bin/wrk"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func loadAverage() -> [Double] {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) == 3 ? loads.map { BenchFormat.round($0, 2) } : []
    }

    /// Runs wrk once and parses its `--latency` report.
    static func runWrk(_ wrk: String, url: String, connections: Int, threads: Int, seconds: Int, headers: [String]) throws -> WrkResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrk)
        var arguments = ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--latency", "--timeout", "5s"]
        for h in headers { arguments += ["-H", h] }
        process.arguments = arguments + [url]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let result = parseWrk(text) else {
            throw LedgerError("wrk_failed", "wrk exited \(process.terminationStatus): \(text)", kind: .badInput)
        }
        return result
    }

    /// Requests, Requests/sec, the 50 % and 99 % latencies, non-2xx responses and socket errors of wrk's report.
    static func parseWrk(_ text: String) -> WrkResult? {
        var result = WrkResult(requests: 0, perSecond: 0, p50: 0, p99: 0, non2xx: 0, socketErrors: 0)
        var sawRate = false
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("Requests/sec:"), let v = fields.last.flatMap({ Double($0) }) {
                result.perSecond = v
                sawRate = true
            } else if line.hasPrefix("50%"), let v = fields.last.flatMap(micros) {
                result.p50 = v
            } else if line.hasPrefix("99%"), let v = fields.last.flatMap(micros) {
                result.p99 = v
            } else if line.contains(" requests in "), let v = fields.first.flatMap({ Int($0) }) {
                result.requests = v
            } else if line.hasPrefix("Non-2xx or 3xx responses:"), let v = fields.last.flatMap({ Int($0) }) {
                result.non2xx = v
            } else if line.hasPrefix("Socket errors:") {
                result.socketErrors = fields.compactMap { Int($0.trimmingCharacters(in: CharacterSet(charactersIn: ","))) }.reduce(0, +)
            }
        }
        return sawRate ? result : nil
    }

    /// `627.00us`, `3.41ms`, `1.02s` → microseconds.
    static func micros(_ text: Substring) -> Double? {
        for (unit, scale) in [("us", 1.0), ("ms", 1000.0), ("s", 1_000_000.0)] where text.hasSuffix(unit) {
            return Double(text.dropLast(unit.count)).map { $0 * scale }
        }
        return nil
    }

    /// The median of `values` (the mean of the middle two for an even count); 0 when empty.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
