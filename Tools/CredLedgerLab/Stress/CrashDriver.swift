import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation
import LMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `stress record` children, SIGKILLs each at a seeded random moment, reopens the ledger with the library
/// and checks: every acknowledged use is there in order, every acknowledged command too, `verify()` is ok
/// (dense sequence, valid chain, projections equal to a rebuild).
enum CrashDriver {
    struct Config {
        var binary: String
        var directory: String
        var killPoints = 50
        var seed: UInt64 = 1
        var threads = 3
        var window = 16
        /// A fresh ledger every so many kills (bounds the verify cost, which grows with the log).
        var killsPerLedger = 10
        /// Kill delay after the child printed `ready` (seconds).
        var minDelay = 0.01
        var maxDelay = 0.30
        /// Share of kills at a random moment after spawn, before `ready` (during open, recovery).
        var earlyKillShare = 0.12
        var withAdmin = true
        /// Keep killing (up to `maxKillPoints`) until this many uses were acknowledged: a run that must reach a given
        /// log size (a segment fold) does so however busy the machine is, instead of depending on its speed.
        var untilAcknowledgedUses = 0
        var maxKillPoints = 0
        var log: ((String) -> Void)?

        init(binary: String, directory: String) {
            self.binary = binary
            self.directory = directory
        }
    }

    struct Summary {
        var killPoints = 0
        var killsWhileRecording = 0
        var killsBeforeReady = 0
        var acknowledgedUses = 0
        var acknowledgedCommands = 0
        /// Uses in the log beyond what was acknowledged (written, killed before the ack reached the parent).
        var unacknowledgedPresent = 0
        var eventsVerified: UInt64 = 0
        var ledgers = 0
        var seconds = 0.0
        var failures: [String] = []

        var json: [String: Any] {
            ["kill_points": killPoints, "kills_while_recording": killsWhileRecording, "kills_before_ready": killsBeforeReady,
             "acknowledged_uses": acknowledgedUses, "acknowledged_commands": acknowledgedCommands,
             "unacknowledged_present": unacknowledgedPresent, "events_verified": eventsVerified, "ledgers": ledgers,
             "seconds": seconds, "failures": failures]
        }

        var text: String {
            var s = "crash: \(killPoints) kill points (\(killsWhileRecording) while acknowledging, \(killsBeforeReady) before ready), "
            s += "\(ledgers) ledgers, \(acknowledgedUses) acknowledged uses and \(acknowledgedCommands) commands all present, "
            s += "\(unacknowledgedPresent) unacknowledged uses also committed, \(eventsVerified) events verified, "
            s += String(format: "%.1f s", seconds)
            s += failures.isEmpty ? " — ok" : "\nFAILURES (\(failures.count)):\n" + failures.prefix(30).joined(separator: "\n")
            return s
        }
    }

    static let company = "crash"
    static let admin = "admin@crash.example"

    static func options() -> Ledger.Options {
        var o = Ledger.Options()
        o.initialMapSize = 16 << 20
        return o
    }

    static func run(_ config: Config) -> Summary {
        let started = DispatchTime.now()
        var summary = Summary()
        var rng = StressRandom(seed: config.seed)
        var path = ""
        var header = ""
        var headBefore: UInt64 = 0
        var readyTime = 0.1  // seconds from spawn to `ready`, learned as the runs go
        var run = -1
        while true {
            run += 1
            let needMore = summary.acknowledgedUses < config.untilAcknowledgedUses && run < config.maxKillPoints
            guard run < config.killPoints || needMore else { break }
            if run % config.killsPerLedger == 0 || path.isEmpty {
                path = config.directory + "/ledger-\(run / config.killsPerLedger)"
                try? FileManager.default.removeItem(atPath: path)
                do {
                    let ledger = try Ledger(path: path, options: options())
                    defer { ledger.close() }
                    header = try StressSetup.prepare(ledger, company: company, admin: admin, projects: projects(run: run, config))
                    headBefore = ledger.head.seq
                    summary.ledgers += 1
                } catch {
                    summary.failures.append("run \(run): cannot set up a ledger at \(path): \(error)")
                    path = ""
                    continue
                }
            }
            let durability = run % 2 == 0 ? "sync" : "ack-before-sync"
            var arguments = ["stress", "record", "--db", path, "--company", company, "--header", header,
                             "--project-prefix", "r\(run)w", "--threads", String(config.threads), "--window", String(config.window),
                             "--count", "1000000000", "--durability", durability]
            if config.withAdmin { arguments += ["--admin", admin, "--tag", "r\(run)"] }
            let child: ChildProcess
            do {
                child = try ChildProcess(executable: config.binary, arguments: arguments)
            } catch {
                summary.failures.append("run \(run): cannot start \(config.binary): \(error)")
                return finish(summary, started)
            }
            let early = rng.chance(config.earlyKillShare)
            if early {
                // Somewhere between the spawn and the moment the child usually becomes ready (open, recovery).
                StressSupport.sleep(seconds: rng.unit() * readyTime)
            } else {
                guard child.waitForLine(timeout: 60, { $0.hasPrefix("ready") }) else {
                    child.kill()
                    child.waitForExit()
                    summary.failures.append("run \(run): the child never became ready; stderr: \(child.stderrText.prefix(500))")
                    continue
                }
                if let ready = child.stampedLines.first(where: { $0.text.hasPrefix("ready") }) {
                    let seconds = Double(ready.time - child.started.uptimeNanoseconds) / 1e9
                    readyTime = readyTime * 0.8 + seconds * 0.2
                }
                StressSupport.sleep(seconds: config.minDelay + rng.unit() * (config.maxDelay - config.minDelay))
            }
            child.kill(SIGKILL)
            child.waitForExit()
            summary.killPoints += 1
            let termination = child.termination
            if !termination.signaled {
                summary.failures.append("run \(run): the child exited by itself (status \(termination.status)) before the kill; stderr: \(child.stderrText.prefix(500))")
            }
            let lines = child.stdoutLines
            if !lines.contains(where: { $0.hasPrefix("ready") }) { summary.killsBeforeReady += 1 }
            let result = check(run: run, path: path, lines: lines, headBefore: headBefore, config: config)
            summary.failures += result.failures
            summary.acknowledgedUses += result.acknowledgedUses
            summary.acknowledgedCommands += result.acknowledgedCommands
            summary.unacknowledgedPresent += result.unacknowledgedPresent
            summary.eventsVerified += result.eventsVerified
            if result.acknowledgedUses > 0 { summary.killsWhileRecording += 1 }
            headBefore = result.head
            config.log?("kill point \(run + 1)/\(config.killPoints) [\(durability)\(early ? ", early" : "")]: "
                + "\(result.acknowledgedUses) uses + \(result.acknowledgedCommands) commands acknowledged, head \(result.head)"
                + (result.failures.isEmpty ? "" : " — \(result.failures.count) FAILURES"))
            if result.head == 0 { path = "" }  // could not reopen: start a new ledger
            if !result.failures.isEmpty && summary.failures.count > 50 { break }
        }
        return finish(summary, started)
    }

    private static func finish(_ summary: Summary, _ started: DispatchTime) -> Summary {
        var s = summary
        s.seconds = StressSupport.seconds(since: started)
        return s
    }

    static func projects(run: Int, _ config: Config) -> [String] {
        (0..<config.threads).map { "r\(run)w\($0)" }
    }

    struct RunCheck {
        var acknowledgedUses = 0
        var acknowledgedCommands = 0
        var unacknowledgedPresent = 0
        var eventsVerified: UInt64 = 0
        var head: UInt64 = 0
        var failures: [String] = []
    }

    /// Parses the child's acknowledgements, reopens the ledger and checks them; creates the next run's projects.
    static func check(run: Int, path: String, lines: [String], headBefore: UInt64, config: Config) -> RunCheck {
        var result = RunCheck()
        func fail(_ s: String) { result.failures.append("run \(run): \(s)") }
        // ack <worker> <ordinal> <head>; cmd <n> <id> <head>
        var acked = Array(repeating: [(ordinal: Int, head: UInt64)](), count: config.threads)
        var commands: [(n: Int, id: String, head: UInt64)] = []
        var maxHead: UInt64 = 0
        for line in lines {
            let parts = line.split(separator: " ")
            if parts.first == "ack", parts.count == 4, let w = Int(parts[1]), let k = Int(parts[2]), let h = UInt64(parts[3]), w < config.threads {
                acked[w].append((k, h))
                maxHead = max(maxHead, h)
            } else if parts.first == "cmd", parts.count == 4, let n = Int(parts[1]), let h = UInt64(parts[3]) {
                commands.append((n, String(parts[2]), h))
                maxHead = max(maxHead, h)
            } else if parts.first == "error" {
                fail("the child reported an error: \(line)")
            }
        }
        for (w, list) in acked.enumerated() {
            for (i, a) in list.enumerated() where a.ordinal != i {
                fail("worker \(w): acknowledgement \(i) has ordinal \(a.ordinal) (acks must arrive in submission order)")
                break
            }
        }
        for (i, c) in commands.enumerated() where c.n != i { fail("command acknowledgement \(i) has number \(c.n)"); break }
        result.acknowledgedUses = acked.reduce(0) { $0 + $1.count }
        result.acknowledgedCommands = commands.count

        let ledger: Ledger
        do {
            ledger = try Ledger(path: path, options: options())
        } catch {
            fail("the ledger does not reopen after kill -9: \(error)")
            return result
        }
        defer { ledger.close() }
        do {
            let report = try ledger.audit.verify()
            result.eventsVerified = report.events
            if let f = report.chainFailure { fail("verify: chain broken at \(f)") }
            for p in report.projections where !p.matches { fail("verify: projection \(p.name) differs from a rebuild") }
            let head = ledger.head.seq
            result.head = head
            if head < maxHead { fail("head \(head) is below an acknowledged head \(maxHead)") }

            var projectWorker: [UInt32: Int] = [:]
            try ledger.audit.withState { state in
                guard let c = try state.company(slug: company) else { return }
                for (w, p) in projects(run: run, config).enumerated() {
                    if let record = try state.project(company: c.number, slug: p) { projectWorker[record.number] = w }
                }
            }
            if projectWorker.count != config.threads { fail("the run's projects are missing") }
            var recorded = Array(repeating: [(seq: UInt64, operation: CredLedgerCore.Operation, allowed: Bool)](), count: config.threads)
            var created: Set<String> = []
            try ledger.audit.forEachEvent(from: headBefore + 1) { stored in
                switch stored.event.payload {
                case .credentialUsed(let use):
                    if let w = projectWorker[use.project] { recorded[w].append((stored.event.seq, use.operation, use.allowed)) }
                case .credentialCreated(let c) where c.name.hasPrefix("r\(run)-"):
                    created.insert(c.publicID)
                default:
                    break
                }
                return true
            }
            for w in 0..<config.threads {
                let got = recorded[w], want = acked[w]
                if got.count < want.count {
                    fail("worker \(w): \(want.count) uses acknowledged, only \(got.count) in the log (lost \(want.count - got.count))")
                }
                for (k, event) in got.enumerated() {
                    if event.operation != StressRecord.operation(worker: w, ordinal: k) || !event.allowed {
                        fail("worker \(w): the use at seq \(event.seq) is not its ordinal \(k) (operation \(event.operation), allowed \(event.allowed))")
                        break
                    }
                    if k < want.count, event.seq > want[k].head {
                        fail("worker \(w): ordinal \(k) was acknowledged with head \(want[k].head) but sits at seq \(event.seq)")
                        break
                    }
                }
                result.unacknowledgedPresent += max(0, got.count - want.count)
            }
            for c in commands where !created.contains(c.id) {
                fail("acknowledged credential \(c.id) (command \(c.n)) is missing after the restart")
            }
            // The next run's projects (same ledger) are created now, while it is open.
            if (run + 1) % config.killsPerLedger != 0 {
                try StressSetup.createProjects(ledger, company: company, admin: admin, projects(run: run + 1, config))
                result.head = ledger.head.seq
            }
        } catch {
            fail("checking the reopened ledger failed: \(error)")
        }
        return result
    }
}
