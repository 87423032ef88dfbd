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

// Testing helpers (issue 6, docs/RELIABILITY.md): `credledger-bench stress …` (the lab executable, not the product CLI).
//
// - `stress setup`   a company, projects and a GLOBAL static key for `stress record` (prints the header once).
// - `stress record`  records uses through the real group-commit writer from several threads and prints every
//                    acknowledged use (`ack <worker> <ordinal> <head seq>`) to stdout, unbuffered, so that a parent
//                    that SIGKILLs it knows exactly what was acknowledged.
// - `stress crash`   the kill -9 driver: runs `stress record` children, kills them at seeded random moments,
//                    reopens the ledger with the library and checks every acknowledged use.
// - `stress tamper`  flips bytes in stored events (LMDB API and raw file), deletes, swaps, truncates: verify must
//                    name the first bad event every time.
// - `stress fuzz`    seeded fuzzing of the event decoder, header parser, secret format, base64url/PKCE and the CLI.
//
// The drivers are internal types so that Tests/ReliabilityTests runs the same code with small budgets.

/// `stress` commands: crash, tamper and fuzz drivers for the reliability suite.
enum StressCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("stress setup", options: ["company", "admin", "project-prefix", "threads"], required: ["company", "admin"],
                        summary: "(testing helper) Company, API module, projects <prefix>0… and a GLOBAL static key; prints the Authorization header once.") { inv, ctx in
                let company = try inv.required("company"), admin = try inv.required("admin")
                let prefix = inv.option("project-prefix") ?? "w"
                let threads = try inv.integer("threads", default: 3, range: 1...256)
                let header = try StressSetup.prepare(try ctx.creatingLedger(), company: company, admin: admin,
                                                     projects: (0..<threads).map { "\(prefix)\($0)" })
                if ctx.json { Output.json(["company": company, "header": header]) } else { Output.line(header) }
                return ExitCode.ok
            },
            CommandSpec("stress record",
                        options: ["company", "header", "project-prefix", "threads", "window", "count", "durability", "map-size",
                                  "max-map-size", "admin", "tag"],
                        required: ["company", "header"], secrets: ["header"],
                        summary: "(testing helper) Record uses from --threads workers (--window in flight each) on projects <prefix><worker>; prints `ack <worker> <ordinal> <head>` per durable use.") { inv, ctx in
                try StressRecord.run(inv, ctx)
            },
            CommandSpec("stress crash", options: ["kills", "seed", "threads", "window", "kills-per-ledger", "binary", "work"], flags: ["keep"],
                        summary: "(testing helper) SIGKILL `stress record` children at seeded random moments and check every acknowledged use after each reopen.") { inv, ctx in
                var config = CrashDriver.Config(binary: try inv.option("binary") ?? StressSupport.selfExecutable(),
                                                directory: try StressSupport.workDirectory(inv.option("work"), label: "crash"))
                config.killPoints = try inv.integer("kills", default: 50, range: 1...1_000_000)
                config.seed = UInt64(try inv.integer("seed", default: 1))
                config.threads = try inv.integer("threads", default: config.threads, range: 1...32)
                config.window = try inv.integer("window", default: config.window, range: 1...4096)
                config.killsPerLedger = try inv.integer("kills-per-ledger", default: config.killsPerLedger, range: 1...1_000_000)
                config.log = { Output.error($0) }
                let summary = CrashDriver.run(config)
                if !inv.flag("keep") { try? FileManager.default.removeItem(atPath: config.directory) }
                if ctx.json { Output.json(summary.json) } else { Output.line(summary.text) }
                return summary.failures.isEmpty ? ExitCode.ok : ExitCode.integrity
            },
            CommandSpec("stress tamper", options: ["trials", "seed", "uses", "binary", "work"], flags: ["keep"],
                        summary: "(testing helper) Flip, delete, swap and truncate stored events; verify must name the first bad event every time "
                            + "(--binary: the credledger executable for `verify` in a child, default the one beside credledger-bench).") { inv, ctx in
                var config = TamperDriver.Config(directory: try StressSupport.workDirectory(inv.option("work"), label: "tamper"))
                config.binary = inv.option("binary") ?? StressSupport.productExecutable()
                config.trialsPerKind = try inv.integer("trials", default: 100, range: 1...10_000_000)
                config.seed = UInt64(try inv.integer("seed", default: 1))
                config.extraUses = try inv.integer("uses", default: 300, range: 0...10_000_000)
                config.log = { Output.error($0) }
                let summary = TamperDriver.run(config)
                if !inv.flag("keep") { try? FileManager.default.removeItem(atPath: config.directory) }
                if ctx.json { Output.json(summary.json) } else { Output.line(summary.text) }
                return summary.failures.isEmpty ? ExitCode.ok : ExitCode.integrity
            },
            CommandSpec("stress fuzz", options: ["inputs", "seed", "targets", "work", "export-verifier"],
                        summary: "(testing helper) Seeded fuzzing: codec, header, secret, base64, pkce, cli-parse, cli-run, export (comma-separated --targets, default all; export needs --export-verifier, default Tools/verify_export.py).") { inv, ctx in
                var config = FuzzEngine.Config(directory: try StressSupport.workDirectory(inv.option("work"), label: "fuzz"))
                config.exportVerifier = inv.option("export-verifier") ?? "Tools/verify_export.py"
                config.inputs = try inv.integer("inputs", default: 100_000, range: 1...Int.max)
                config.seed = UInt64(try inv.integer("seed", default: 1))
                if let list = inv.option("targets") {
                    var targets: [FuzzEngine.Target] = []
                    for name in list.split(separator: ",") {
                        guard let t = FuzzEngine.Target(rawValue: String(name)) else {
                            throw UsageError("--targets: unknown target '\(name)'; known: \(FuzzEngine.Target.allCases.map(\.rawValue).joined(separator: ","))")
                        }
                        targets.append(t)
                    }
                    config.targets = targets
                }
                config.log = { Output.error($0) }
                let summary = FuzzEngine.run(config)
                try? FileManager.default.removeItem(atPath: config.directory)
                if ctx.json { Output.json(summary.json) } else { Output.line(summary.text) }
                return summary.failures.isEmpty ? ExitCode.ok : ExitCode.integrity
            },
        ]
    }
}

// MARK: - Support

/// Small shared pieces: seeded randomness, unbuffered output, paths, locks.
enum StressSupport {
    /// The running executable (`/proc/self/exe` on Linux): `credledger-bench`, which runs `stress record` children.
    static func selfExecutable() throws -> String {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return resolved }
        guard let first = CommandLine.arguments.first else { throw LedgerError("no_binary", "cannot locate the credledger-bench binary: pass --binary", kind: .badInput) }
        return URL(fileURLWithPath: first).standardizedFileURL.path
    }

    /// The product `credledger` executable beside this one (the build puts both in one directory), for drivers that
    /// run product commands (`verify`) in a child; nil when there is none.
    static func productExecutable() -> String? {
        guard let own = try? selfExecutable() else { return nil }
        let sibling = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("credledger").path
        return FileManager.default.isExecutableFile(atPath: sibling) ? sibling : nil
    }

    /// `given`, created, or a fresh directory under the temporary directory.
    static func workDirectory(_ given: String?, label: String) throws -> String {
        if let given {
            try FileManager.default.createDirectory(atPath: given, withIntermediateDirectories: true)
            return given
        }
        return try makeTemporaryDirectory(label)
    }

    static func makeTemporaryDirectory(_ label: String) throws -> String {
        var template = Array((NSTemporaryDirectory() + "/credledger-\(label).XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
        guard let made else { throw LedgerError("tmp", "mkdtemp failed (errno \(errno))", kind: .badInput) }
        return String(cString: made)
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        usleep(UInt32(min(seconds, 4000) * 1_000_000))
    }
}

/// SplitMix64: deterministic, fast, good enough to drive tests. Not cryptographic.
struct StressRandom: RandomNumberGenerator {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x632B_E59B_D9B4_E019) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
    mutating func chance(_ p: Double) -> Bool { unit() < p }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in byte() } }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0..<items.count)] }
}

/// The stress drivers share the bench's lock-guarded box.
typealias StressLocked = Locked

extension Locked {
    var current: Value { withLock { $0 } }
}

/// Lines to standard output, one `write(2)` each (atomic on pipes below PIPE_BUF), never buffered:
/// a line that was printed reached the parent before the next instruction ran.
enum StressOutput {
    private static let lock = NSLock()

    static func line(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        lock.lock()
        defer { lock.unlock() }
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(1, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }
}

/// Runs the product CLI in this process with its output captured.
enum CapturedCLI {
    struct Result {
        var code: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    static func run(_ arguments: [String], database: String, options: Ledger.Options = Ledger.Options()) -> Result {
        // In-process runs never read the process's standard input: a fuzzed `--token -` finds it empty.
        let captured = OutputCapture.run {
            CommandLineTool.run(arguments + ["--db", database], environment: ["CREDLEDGER_DB": database], options: options,
                                standardInput: { nil })
        }
        return Result(code: captured.result, stdout: captured.stdout, stderr: captured.stderr)
    }
}

// MARK: - Child processes

/// `kill(2)`.
private func sendSignal(_ pid: pid_t, _ signal: Int32) {
    _ = kill(pid, signal)
}

/// A child process with its stdout lines time-stamped as they arrive, and its stderr kept.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let condition = NSCondition()
    private var pendingOut = Data()
    private var lines: [(time: UInt64, text: String)] = []
    private var errData = Data()
    private var openStreams = 2
    let started = DispatchTime.now()

    /// Starts `executable` with `arguments`; stdin is /dev/null.
    init(executable: String, arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        startReader(out.fileHandleForReading, isStdout: true)
        startReader(err.fileHandleForReading, isStdout: false)
    }

    private func startReader(_ handle: FileHandle, isStdout: Bool) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                condition.lock()
                if chunk.isEmpty {
                    openStreams -= 1
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                if isStdout {
                    pendingOut.append(chunk)
                    let now = DispatchTime.now().uptimeNanoseconds
                    while let newline = pendingOut.firstIndex(of: 0x0A) {
                        let line = String(decoding: pendingOut[pendingOut.startIndex..<newline], as: UTF8.self)
                        lines.append((now, line))
                        pendingOut = Data(pendingOut[(newline + 1)...])
                    }
                } else {
                    errData.append(chunk)
                }
                condition.broadcast()
                condition.unlock()
            }
        }
        thread.start()
    }

    /// Waits until a stdout line satisfies `match` (true) or the timeout / end of output (false).
    func waitForLine(timeout: Double, _ match: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var checked = 0
        condition.lock()
        defer { condition.unlock() }
        while true {
            while checked < lines.count {
                if match(lines[checked].text) { return true }
                checked += 1
            }
            if openStreams < 2 && !process.isRunning { return false }
            if !condition.wait(until: min(deadline, Date().addingTimeInterval(0.05))) && Date() >= deadline { return false }
        }
    }

    func kill(_ signal: Int32 = SIGKILL) {
        sendSignal(process.processIdentifier, signal)
    }

    /// Waits for exit (SIGKILL after `timeout`), then for the pipes to drain (briefly).
    @discardableResult
    func waitForExit(timeout: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() >= deadline {
                timedOut = true
                kill(SIGKILL)
                break
            }
            usleep(2_000)
        }
        process.waitUntilExit()
        let drain = Date().addingTimeInterval(3)
        condition.lock()
        while openStreams > 0 && Date() < drain { _ = condition.wait(until: min(drain, Date().addingTimeInterval(0.05))) }
        condition.unlock()
        return !timedOut
    }

    /// Time-stamped complete stdout lines so far (uptime nanoseconds).
    var stampedLines: [(time: UInt64, text: String)] { condition.withLock { lines } }
    var stdoutLines: [String] { condition.withLock { lines.map(\.text) } }
    var stdoutText: String { stdoutLines.joined(separator: "\n") }
    var stderrText: String { condition.withLock { String(decoding: errData, as: UTF8.self) } }

    /// Whether the process ended by a signal, and the exit status or signal number.
    var termination: (signaled: Bool, status: Int32) {
        (process.terminationReason == .uncaughtSignal, process.terminationStatus)
    }

    /// Runs to completion and returns (signaled, status, stdout, stderr).
    static func run(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> (signaled: Bool, status: Int32, stdout: String, stderr: String, timedOut: Bool) {
        let child = try ChildProcess(executable: executable, arguments: arguments)
        let finished = child.waitForExit(timeout: timeout)
        let t = child.termination
        return (t.signaled, t.status, child.stdoutText, child.stderrText, !finished)
    }
}

// MARK: - Setup and scenario

enum StressSetup {
    /// Company (registered if missing), API module on, the projects, and a new GLOBAL static key: returns `Apikey <key>`.
    static func prepare(_ ledger: Ledger, company: String, admin: String, projects: [String]) throws -> String {
        let exists = try ledger.withState { try $0.company(slug: company) } != nil
        if !exists { try ledger.registerCompany(company, admin: admin) }
        try ledger.setAPIModule(company, enabled: true, as: admin)
        try createProjects(ledger, company: company, admin: admin, projects)
        // Names are unique per company (issue 11): a second setup of the same ledger gets "stress key 2", ….
        let existing = try ledger.credentialTable(company, as: admin, includeDeleted: true).count
        let name = existing == 0 ? "stress key" : "stress key \(existing + 1)"
        let issued = try ledger.createCredential(company, NewCredential(name: name, type: .staticKey, scope: .global), as: admin)
        guard let secret = issued.secret else { throw LedgerError("internal", "a static key came back without a secret", kind: .integrity) }
        return "Apikey \(secret)"
    }

    static func createProjects(_ ledger: Ledger, company: String, admin: String, _ projects: [String]) throws {
        for p in projects {
            let exists = try ledger.withState { state -> Bool in
                guard let c = try state.company(slug: company) else { return false }
                return try state.project(company: c.number, slug: p) != nil
            }
            if !exists { try ledger.createProject(company, project: p, as: admin) }
        }
    }
}

/// Every event type, through the public API: companies, members, projects, credentials of each type, grants,
/// uses, all OAuth flows, rotation, deletion, archive. Collects every plaintext secret it was shown.
enum StressScenario {
    struct Result {
        var company: String
        var admin: String
        var member: String
        /// A GLOBAL static key header, still valid at the end.
        var header: String
        /// Every plaintext secret, token and code that was issued.
        var secrets: [String]
    }

    static let redirect = "https://app.example/callback"
    static let loopback = "http://localhost:8080/cb"

    static func populate(_ ledger: Ledger, company: String = "acme", extraUses: Int = 0) throws -> Result {
        let admin = "alice@\(company).example", member = "bob@\(company).example"
        var secrets: [String] = []
        func keep(_ s: String?) { if let s { secrets.append(s) } }
        try ledger.registerCompany(company, admin: admin, name: "Scenario \(company)", mailDomain: "\(company).example")
        try ledger.setAPIModule(company, enabled: true, as: admin)
        try ledger.setMemberRole(company, email: member, role: .member, as: admin)
        for p in ["bridge", "tunnel", "attic"] { try ledger.createProject(company, project: p, as: admin) }
        try ledger.setUserProjectRole(company, project: "bridge", email: member, role: .editor, as: admin)

        let readKey = try ledger.createCredential(company, NewCredential(name: "Nightly sync", type: .staticKey, scope: .read), as: admin)
        let global = try ledger.createCredential(company, NewCredential(name: "Reporting", type: .staticKey, scope: .global), as: admin)
        let oauth = try ledger.createCredential(company, NewCredential(name: "ERP", type: .oauth, scope: .readWrite), as: admin)
        let pkce = try ledger.createCredential(company, NewCredential(name: "MCP", type: .pkce, scope: .readWrite, redirectURIs: [redirect]), as: admin)
        let publicClient = try ledger.createCredential(company, NewCredential(name: "CLI app", type: .pkcePublic, scope: .read, redirectURIs: [loopback]), as: admin)
        let doomed = try ledger.createCredential(company, NewCredential(name: "Old key", type: .staticKey, scope: .readWrite), as: admin)
        for c in [readKey, global, oauth, pkce, publicClient, doomed] { keep(c.secret); keep(c.clientSecret) }

        try ledger.grantAccess(company, credential: readKey.id, project: "bridge", role: .viewer, as: admin)
        try ledger.grantAccess(company, credential: oauth.id, project: "bridge", role: .viewer, as: admin)
        try ledger.grantAccess(company, credential: oauth.id, project: "bridge", role: .editor, as: admin)  // changed
        try ledger.grantAccess(company, credential: readKey.id, project: "tunnel", role: .viewer, as: admin)
        try ledger.revokeAccess(company, credential: readKey.id, project: "tunnel", as: admin)

        _ = try ledger.check(header: "Apikey \(readKey.secret!)", company: company, project: "bridge", operation: .read)
        _ = try ledger.check(header: "Apikey \(readKey.secret!)", company: company, project: "bridge", operation: .write)
        _ = try ledger.check(header: "Apikey not-a-key", company: company, project: "bridge", operation: .read)

        // client_credentials
        let cc = try ledger.clientCredentialsToken(clientID: oauth.clientID!, clientSecret: oauth.clientSecret!)
        keep(cc.accessToken)
        _ = try ledger.check(header: "Bearer \(cc.accessToken)", company: company, project: "bridge", operation: .write)
        do { _ = try ledger.clientCredentialsToken(clientID: oauth.clientID!, clientSecret: global.secret!) } catch is OAuthError {}

        // authorization code + PKCE, confidential client; refresh; refresh reuse revokes the family
        let verifier = String(repeating: "v", count: 20) + "-._~" + String(repeating: "Q", count: 30)
        let challenge = PKCE.challenge(for: verifier)
        let grant = try ledger.authorize(company: company, clientID: pkce.clientID!, user: member, redirectURI: redirect,
                                         codeChallenge: challenge, codeChallengeMethod: "S256", state: "xyz")
        keep(grant.code)
        let pair = try ledger.exchangeCode(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, code: grant.code,
                                           codeVerifier: verifier, redirectURI: redirect)
        keep(pair.accessToken); keep(pair.refreshToken)
        _ = try ledger.check(header: "Bearer \(pair.accessToken)", company: company, project: "bridge", operation: .write)
        let next = try ledger.refresh(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, refreshToken: pair.refreshToken!)
        keep(next.accessToken); keep(next.refreshToken)
        do { _ = try ledger.refresh(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, refreshToken: pair.refreshToken!) } catch is OAuthError {}

        // public client: code + PKCE without a secret, then revocation by the client
        let publicGrant = try ledger.authorize(company: company, clientID: publicClient.clientID!, user: member, redirectURI: loopback,
                                               codeChallenge: challenge, codeChallengeMethod: "S256", state: nil)
        keep(publicGrant.code)
        let publicPair = try ledger.exchangeCode(clientID: publicClient.clientID!, clientSecret: nil, code: publicGrant.code,
                                                 codeVerifier: verifier, redirectURI: loopback)
        keep(publicPair.accessToken); keep(publicPair.refreshToken)
        try ledger.revokeToken(publicPair.refreshToken!, clientID: publicClient.clientID!, clientSecret: nil)

        // a member with tokens and an unredeemed code is removed: both end (token_revoked, code_revoked)
        let leaver = "carol@\(company).example"
        try ledger.setMemberRole(company, email: leaver, role: .member, as: admin)
        try ledger.setUserProjectRole(company, project: "bridge", email: leaver, role: .viewer, as: admin)
        for redeem in [true, false] {
            let leaverGrant = try ledger.authorize(company: company, clientID: publicClient.clientID!, user: leaver, redirectURI: loopback,
                                                   codeChallenge: challenge, codeChallengeMethod: "S256", state: nil)
            keep(leaverGrant.code)
            guard redeem else { continue }
            let leaverPair = try ledger.exchangeCode(clientID: publicClient.clientID!, clientSecret: nil, code: leaverGrant.code,
                                                     codeVerifier: verifier, redirectURI: loopback)
            keep(leaverPair.accessToken); keep(leaverPair.refreshToken)
        }
        try ledger.setMemberRole(company, email: leaver, role: .removed, as: admin)

        // rotation, deletion, archive, module off and on
        let rotated = try ledger.rotateSecret(company, credential: readKey.id, grace: 0, as: admin)
        keep(rotated.secret)
        let rotatedClient = try ledger.rotateSecret(company, credential: oauth.id, grace: 3_600_000_000, as: admin)
        keep(rotatedClient.clientSecret)
        try ledger.deleteCredential(company, credential: doomed.id, as: admin)
        try ledger.archiveProject(company, project: "attic", as: admin)
        try ledger.setAPIModule(company, enabled: false, as: admin)
        try ledger.setAPIModule(company, enabled: true, as: admin)

        let header = "Apikey \(global.secret!)"
        for i in 0..<extraUses {
            _ = try ledger.check(header: header, company: company, project: i % 3 == 0 ? "tunnel" : "bridge", operation: i % 2 == 0 ? .read : .write)
        }
        return Result(company: company, admin: admin, member: member, header: header, secrets: secrets)
    }
}

// MARK: - stress record

enum StressRecord {
    /// The operation of a worker's ordinal-th use: a fixed pseudo-random pattern, so that the checker can tell
    /// that the k-th recorded use of a worker's project is its k-th submitted one (not just that the counts match).
    static func operation(worker: Int, ordinal: Int) -> CredLedgerCore.Operation {
        var r = StressRandom(seed: UInt64(worker) << 40 ^ UInt64(ordinal))
        return r.next() & 1 == 0 ? .read : .write
    }

    static func run(_ inv: Invocation, _ ctx: ToolContext) throws -> Int32 {
        let company = try inv.required("company"), header = try inv.requiredSecret("header")
        let prefix = inv.option("project-prefix") ?? "w"
        let threads = try inv.integer("threads", default: 3, range: 1...64)
        let window = try inv.integer("window", default: 8, range: 1...4096)
        let count = try inv.integer("count", default: 1_000, range: 0...Int.max)
        switch inv.option("durability") ?? "sync" {
        case "sync": ctx.options.durability = .sync
        case "ack-before-sync": ctx.options.durability = .ackBeforeSync
        case let other: throw UsageError("--durability must be sync or ack-before-sync, not '\(other)'")
        }
        if inv.option("map-size") != nil { ctx.options.initialMapSize = try inv.integer("map-size", default: 0, range: 4096...Int.max) }
        if inv.option("max-map-size") != nil { ctx.options.maxMapSize = try inv.integer("max-map-size", default: 0, range: 4096...Int.max) }
        let admin = inv.option("admin")
        let tag = inv.option("tag") ?? "stress"
        let ledger = try ctx.ledger()
        StressOutput.line("ready \(ledger.head.seq)")

        let failed = StressLocked<String?>(nil)
        let group = DispatchGroup()
        for worker in 0..<threads {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                let inFlight = DispatchSemaphore(value: window)
                let project = "\(prefix)\(worker)"
                for ordinal in 0..<count {
                    inFlight.wait()
                    if failed.current != nil { inFlight.signal(); break }
                    let decision: Decision
                    do {
                        decision = try ledger.authorize(header: header, company: company, project: project,
                                                        operation: operation(worker: worker, ordinal: ordinal))
                    } catch {
                        failed.withLock { $0 = $0 ?? "authorize: \(error)" }
                        inFlight.signal()
                        break
                    }
                    ledger.record(decision) { error in
                        if let error {
                            StressOutput.line("error \(worker) \(ordinal) \(error)")
                            failed.withLock { $0 = $0 ?? "record: \(error)" }
                        } else {
                            StressOutput.line("ack \(worker) \(ordinal) \(ledger.head.seq)")
                        }
                        inFlight.signal()
                    }
                }
                // Wait for every use in flight, then give the semaphore back its initial value
                // (libdispatch traps when a semaphore is released below the value it was created with).
                for _ in 0..<window { inFlight.wait() }
                for _ in 0..<window { inFlight.signal() }
            }
            thread.start()
        }
        if let admin {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                var n = 0
                while failed.current == nil && n < count {
                    do {
                        let issued = try ledger.createCredential(company, NewCredential(name: "\(tag)-\(n)", type: .staticKey, scope: .read), as: admin)
                        StressOutput.line("cmd \(n) \(issued.id) \(ledger.head.seq)")
                    } catch {
                        StressOutput.line("error admin \(n) \(error)")
                        failed.withLock { $0 = $0 ?? "admin: \(error)" }
                    }
                    n += 1
                }
            }
            thread.start()
        }
        group.wait()
        if let failure = failed.current {
            Output.error("error: stress record stopped: \(failure)")
            return ExitCode.usage
        }
        StressOutput.line("done \(ledger.head.seq)")
        return ExitCode.ok
    }
}

// MARK: - Crash driver

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
        for run in 0..<config.killPoints {
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
            let report = try ledger.verify()
            result.eventsVerified = report.events
            if let f = report.chainFailure { fail("verify: chain broken at \(f)") }
            for p in report.projections where !p.matches { fail("verify: projection \(p.name) differs from a rebuild") }
            let head = ledger.head.seq
            result.head = head
            if head < maxHead { fail("head \(head) is below an acknowledged head \(maxHead)") }

            var projectWorker: [UInt32: Int] = [:]
            try ledger.withState { state in
                guard let c = try state.company(slug: company) else { return }
                for (w, p) in projects(run: run, config).enumerated() {
                    if let record = try state.project(company: c.number, slug: p) { projectWorker[record.number] = w }
                }
            }
            if projectWorker.count != config.threads { fail("the run's projects are missing") }
            var recorded = Array(repeating: [(seq: UInt64, operation: CredLedgerCore.Operation, allowed: Bool)](), count: config.threads)
            var created: Set<String> = []
            try ledger.forEachEvent(from: headBefore + 1) { stored in
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

// MARK: - Tamper driver

/// Changes stored events in a copy of a compacted ledger and checks that verify names the first bad event.
enum TamperDriver {
    enum Kind: String, CaseIterable {
        case lmdbValueFlip = "lmdb-value-flip"   // one byte of a value, rewritten through the LMDB API
        case rawValueFlip = "raw-value-flip"     // one byte inside a record, in data.mdb
        case rawKeyFlip = "raw-key-flip"         // one byte of a record's 8-byte key, in data.mdb
        case deleteMiddle = "delete-middle"      // an event (not the last) deleted through the LMDB API
        case deleteTail = "delete-tail"          // the last event deleted
        case swap = "swap"                       // two events' values exchanged
        case truncate = "truncate"               // data.mdb truncated (verify runs in a child process)
    }

    struct Config {
        var directory: String
        var binary: String?
        var trialsPerKind = 100
        var kinds = Kind.allCases
        var seed: UInt64 = 1
        var extraUses = 300
        /// Every n-th trial runs the full verify (projections too) and the CLI; the others `verify --chain-only`.
        var fullVerifyEvery = 10
        var log: ((String) -> Void)?

        init(directory: String) { self.directory = directory }
    }

    struct Summary {
        var trials: [String: Int] = [:]
        var detected: [String: Int] = [:]
        var events = 0
        var fileBytes = 0
        var seconds = 0.0
        var failures: [String] = []

        var totalTrials: Int { trials.values.reduce(0, +) }
        var totalDetected: Int { detected.values.reduce(0, +) }

        var json: [String: Any] {
            ["trials": trials, "detected": detected, "events": events, "file_bytes": fileBytes, "seconds": seconds, "failures": failures]
        }

        var text: String {
            var s = "tamper: \(totalDetected)/\(totalTrials) detected on a \(events)-event ledger (\(fileBytes) bytes): "
            s += Kind.allCases.compactMap { k in trials[k.rawValue].map { "\(k.rawValue) \(detected[k.rawValue] ?? 0)/\($0)" } }.joined(separator: ", ")
            s += String(format: " — %.1f s", seconds)
            s += failures.isEmpty ? " — ok" : "\nFAILURES (\(failures.count)):\n" + failures.prefix(30).joined(separator: "\n")
            return s
        }
    }

    /// A compacted pristine ledger: its data file and every record with its file offset.
    struct Pristine {
        var data: [UInt8]
        var records: [(seq: UInt64, bytes: [UInt8], fileOffset: Int)]
        var path: String
    }

    static func readOnlyOptions() -> Ledger.Options {
        var o = Ledger.Options()
        o.readOnly = true
        return o
    }

    /// Builds the scenario ledger (plus `extraUses` uses), compacts it into `directory/pristine`, locates records.
    static func makePristine(directory: String, extraUses: Int, seed: UInt64) throws -> Pristine {
        let source = directory + "/source", pristine = directory + "/pristine"
        try? FileManager.default.removeItem(atPath: source)
        try? FileManager.default.removeItem(atPath: pristine)
        var options = Ledger.Options()
        options.clock = ManualClock()
        options.random = SeededRandom(seed: seed)
        options.durability = .ackBeforeSync
        do {
            let ledger = try Ledger(path: source, options: options)
            defer { ledger.close() }
            _ = try StressScenario.populate(ledger, extraUses: extraUses)
            try ledger.backup(to: pristine)
        }
        try? FileManager.default.removeItem(atPath: source)
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: pristine + "/data.mdb")))
        var records: [(UInt64, [UInt8], Int)] = []
        let ledger = try Ledger(path: pristine, options: readOnlyOptions())
        defer { ledger.close() }
        var stored: [(UInt64, [UInt8])] = []
        try ledger.forEachEvent { e in
            var w = ByteWriter(capacity: 256)
            EventCodec.encodeBody(e.event, into: &w)
            e.hash.withUnsafeBytes { w.write(bytes: $0) }
            stored.append((e.event.seq, w.bytes))
            return true
        }
        for (seq, bytes) in stored {
            let offsets = occurrences(of: bytes, in: data)
            guard offsets.count == 1 else {
                throw LedgerError("tamper_setup", "event \(seq) occurs \(offsets.count) times in the compacted data file", kind: .integrity)
            }
            records.append((seq, bytes, offsets[0]))
        }
        try? FileManager.default.removeItem(atPath: pristine + "/lock.mdb")
        return Pristine(data: data, records: records.map { (seq: $0.0, bytes: $0.1, fileOffset: $0.2) }, path: pristine)
    }

    /// Every offset where `needle` occurs in `haystack` (memchr for the first byte, memcmp for the rest).
    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        guard let first = needle.first, needle.count <= haystack.count else { return [] }
        var found: [Int] = []
        haystack.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in
                var start = 0
                while start + n.count <= h.count,
                      let p = memchr(h.baseAddress! + start, Int32(first), h.count - start - n.count + 1) {
                    let offset = h.baseAddress!.distance(to: UnsafeRawPointer(p))
                    if memcmp(p, n.baseAddress!, n.count) == 0 { found.append(offset) }
                    start = offset + 1
                }
            }
        }
        return found
    }

    /// What verify made of a tampered copy.
    enum Outcome: CustomStringConvertible {
        case named(UInt64, String)          // verify reported the chain broken at this seq
        case refused(String, Bool)          // open/verify threw a clear error (message, integrity kind)
        case passed(String)                 // nothing found: a miss
        case crashed(String)                // the child verify died on a signal or hung

        var description: String {
            switch self {
            case .named(let s, let r): "verify names event \(s) (\(r))"
            case .refused(let m, _): "refused: \(m)"
            case .passed(let m): "NOT DETECTED: \(m)"
            case .crashed(let m): "CRASHED: \(m)"
            }
        }
    }

    /// Opens the copy read-only and verifies it with the library.
    static func verifyInProcess(_ path: String, projections: Bool) -> Outcome {
        do {
            let ledger = try Ledger(path: path, options: readOnlyOptions())
            defer { ledger.close() }
            let report = try ledger.verify(projections: projections)
            if let f = report.chainFailure { return .named(f.seq, f.reason) }
            let differing = report.projections.filter { !$0.matches }.map(\.name)
            return .passed("chain ok with \(report.events) events; projections differing: \(differing)")
        } catch let error as LedgerError {
            return .refused(error.description, error.kind == .integrity)
        } catch {
            return .refused("\(error)", false)
        }
    }

    /// Runs `credledger verify --json` on the copy in a child process (a crash cannot take the driver down).
    static func verifyInChild(_ binary: String, _ path: String) -> Outcome {
        do {
            let r = try ChildProcess.run(binary, ["verify", "--json", "--db", path], timeout: 60)
            if r.timedOut { return .crashed("verify hung for 60 s") }
            if r.signaled { return .crashed("verify died on signal \(r.status); stderr: \(r.stderr.prefix(300))") }
            let text = (r.stdout + "\n" + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            if r.status == 0 { return .passed("exit 0: \(text.prefix(300))") }
            if let line = r.stdout.split(separator: "\n").last, let data = line.data(using: .utf8),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                if let seq = (object["first_bad_seq"] as? NSNumber)?.uint64Value { return .named(seq, object["reason"] as? String ?? "") }
                if let code = object["error"] as? String { return .refused("\(code): \(object["message"] as? String ?? "")", r.status == ExitCode.integrity) }
            }
            return .refused("exit \(r.status): \(text.prefix(300))", r.status == ExitCode.integrity)
        } catch {
            return .crashed("cannot start \(binary): \(error)")
        }
    }

    /// Runs the CLI in process: `verify --json`.
    static func verifyThroughCLI(_ path: String) -> Outcome {
        let r = CapturedCLI.run(["verify", "--json"], database: path)
        if r.code == 0 { return .passed("credledger verify exit 0: \(r.stdout.prefix(200))") }
        if let data = r.stdout.split(separator: "\n").last.flatMap({ $0.data(using: .utf8) }),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let seq = (object["first_bad_seq"] as? NSNumber)?.uint64Value { return .named(seq, object["reason"] as? String ?? "") }
            if let code = object["error"] as? String { return .refused("\(code): \(object["message"] as? String ?? "")", r.code == ExitCode.integrity) }
        }
        return .refused("exit \(r.code): \(r.all.prefix(200))", r.code == ExitCode.integrity)
    }

    /// Whether an outcome counts as detected with `expected` as the first bad event.
    static func accepts(_ outcome: Outcome, expected: UInt64?) -> Bool {
        switch outcome {
        case .named(let seq, _): return expected == nil || seq == expected
        case .refused(let message, let integrity):
            guard let expected else { return true }
            // An open that fails on the damaged record must still name it.
            return integrity && (message.contains("event \(expected):") || message.contains("event \(expected) "))
        case .passed, .crashed: return false
        }
    }

    static func writeCopy(_ bytes: [UInt8], to path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path + "/data.mdb"))
    }

    /// Opens the copy's environment directly and runs `body` on the `events` database in a write transaction.
    static func rewriteEvents(_ path: String, _ body: (borrowing Transaction, Database) throws -> Void) throws {
        var configuration = Environment.Configuration()
        configuration.mapSize = 64 << 20
        let environment = try Environment(path: path, configuration: configuration)
        defer { environment.close() }
        let events = try environment.openDatabases(["events"], flags: [])[0]
        try environment.write { txn in try body(txn, events) }
    }

    static func run(_ config: Config) -> Summary {
        let started = DispatchTime.now()
        var summary = Summary()
        let pristine: Pristine
        do {
            pristine = try makePristine(directory: config.directory, extraUses: config.extraUses, seed: config.seed)
        } catch {
            summary.failures.append("cannot build the pristine ledger: \(error)")
            return summary
        }
        summary.events = pristine.records.count
        summary.fileBytes = pristine.data.count
        var rng = StressRandom(seed: config.seed ^ 0x7A3B)
        let trial = config.directory + "/trial"
        let records = pristine.records
        let n = records.count
        for kind in config.kinds {
            if kind == .truncate && config.binary == nil { continue }
            var trials = 0, detected = 0
            for t in 0..<config.trialsPerKind {
                var expected: UInt64?
                var what = ""
                do {
                    switch kind {
                    case .lmdbValueFlip:
                        let r = records[rng.int(0..<n)]
                        let offset = rng.int(0..<r.bytes.count), mask = UInt8(rng.int(1...255))
                        try writeCopy(pristine.data, to: trial)
                        try rewriteEvents(trial) { txn, events in
                            var value = try txn.get(events, r.seq.bigEndianBytes) ?? []
                            value[offset] ^= mask
                            try txn.put(events, r.seq.bigEndianBytes, value)
                        }
                        expected = r.seq
                        what = "event \(r.seq) byte \(offset) ^ \(mask) (LMDB API)"
                    case .rawValueFlip:
                        let r = records[rng.int(0..<n)]
                        let offset = rng.int(0..<r.bytes.count), mask = UInt8(rng.int(1...255))
                        var bytes = pristine.data
                        bytes[r.fileOffset + offset] ^= mask
                        try writeCopy(bytes, to: trial)
                        expected = r.seq
                        what = "event \(r.seq) byte \(offset) (file offset \(r.fileOffset + offset)) ^ \(mask)"
                    case .rawKeyFlip:
                        let r = records[rng.int(0..<n)]
                        let keyStart = r.fileOffset - 8
                        guard keyStart >= 0, Array(pristine.data[keyStart..<r.fileOffset]) == r.seq.bigEndianBytes else {
                            summary.failures.append("\(kind.rawValue): the key of event \(r.seq) is not right before its value in data.mdb")
                            continue
                        }
                        let offset = rng.int(0..<8), mask = UInt8(rng.int(1...255))
                        var bytes = pristine.data
                        bytes[keyStart + offset] ^= mask
                        try writeCopy(bytes, to: trial)
                        expected = r.seq
                        what = "key of event \(r.seq) byte \(offset) ^ \(mask)"
                    case .deleteMiddle:
                        let r = records[rng.int(0..<(n - 1))]
                        try writeCopy(pristine.data, to: trial)
                        try rewriteEvents(trial) { txn, events in _ = try txn.delete(events, r.seq.bigEndianBytes) }
                        expected = r.seq
                        what = "event \(r.seq) deleted"
                    case .deleteTail:
                        let count = t % 3 + 1
                        try writeCopy(pristine.data, to: trial)
                        try rewriteEvents(trial) { txn, events in
                            for r in records.suffix(count) { _ = try txn.delete(events, r.seq.bigEndianBytes) }
                        }
                        expected = records[n - count].seq
                        what = "the last \(count) events deleted"
                    case .swap:
                        var i = rng.int(0..<n), j = rng.int(0..<n)
                        while j == i { j = rng.int(0..<n) }
                        if i > j { swap(&i, &j) }
                        let a = records[i], b = records[j]
                        try writeCopy(pristine.data, to: trial)
                        try rewriteEvents(trial) { txn, events in
                            try txn.put(events, a.seq.bigEndianBytes, b.bytes)
                            try txn.put(events, b.seq.bigEndianBytes, a.bytes)
                        }
                        expected = a.seq
                        what = "events \(a.seq) and \(b.seq) swapped"
                    case .truncate:
                        let page = 4096
                        let size = pristine.data.count
                        let choices = [0, 1, 100, page, 2 * page, 2 * page + 7, size - page, size - 1, size / 2, rng.int(0..<size), (rng.int(2..<max(3, size / page))) * page]
                        let length = max(0, min(size - 1, choices[t % choices.count]))
                        try writeCopy(Array(pristine.data[0..<length]), to: trial)
                        expected = nil
                        what = "data.mdb truncated to \(length) of \(size) bytes"
                    }
                } catch {
                    summary.failures.append("\(kind.rawValue) trial \(t): tampering failed: \(error)")
                    continue
                }
                let full = t % config.fullVerifyEvery == 0
                var outcomes: [Outcome] = []
                if kind == .truncate, let binary = config.binary {
                    outcomes.append(verifyInChild(binary, trial))
                } else {
                    outcomes.append(verifyInProcess(trial, projections: full))
                    if full { outcomes.append(verifyThroughCLI(trial)) }
                }
                trials += 1
                let misses = outcomes.filter { !accepts($0, expected: expected) }
                if misses.isEmpty {
                    detected += 1
                } else {
                    summary.failures.append("\(kind.rawValue): \(what): \(misses.map(\.description).joined(separator: "; "))")
                }
            }
            summary.trials[kind.rawValue] = trials
            summary.detected[kind.rawValue] = detected
            config.log?("tamper \(kind.rawValue): \(detected)/\(trials) detected")
        }
        try? FileManager.default.removeItem(atPath: trial)
        summary.seconds = StressSupport.seconds(since: started)
        return summary
    }
}

// MARK: - Fuzzing

/// Seeded fuzzing of every parser that takes outside input. Each target checks properties, not just "no crash":
/// a rejected input gets a specific error, an accepted one is exactly what a valid input gives.
enum FuzzEngine {
    enum Target: String, CaseIterable {
        case codec, header, secret, base64, pkce, cliParse = "cli-parse", cliRun = "cli-run", export

        /// Share of the input budget.
        var weight: Double {
            switch self {
            case .codec: 0.35
            case .header: 0.2
            case .secret: 0.1
            case .base64: 0.1
            case .pkce: 0.05
            case .cliParse: 0.185
            case .cliRun: 0.01
            case .export: 0.005
            }
        }
    }

    struct Config {
        var directory: String
        var inputs = 100_000
        var seed: UInt64 = 1
        var targets = Target.allCases
        /// `Tools/verify_export.py` (the export reader); the `export` target is skipped without it.
        var exportVerifier: String?
        var log: ((String) -> Void)?
        init(directory: String) { self.directory = directory }
    }

    struct Summary {
        var inputs: [String: Int] = [:]
        var accepted: [String: Int] = [:]
        /// Longest single input, per target (seconds).
        var slowest: [String: Double] = [:]
        var seconds = 0.0
        var failures: [String] = []
        var skipped: [String] = []
        /// Target-specific counts (e.g. the export reader's detected / crashed).
        var notes: [String: Int] = [:]
        var total: Int { inputs.values.reduce(0, +) }

        var json: [String: Any] {
            ["inputs": inputs, "accepted": accepted, "slowest_seconds": slowest, "total": total, "seconds": seconds, "failures": failures,
             "skipped": skipped, "notes": notes]
        }

        var text: String {
            var s = "fuzz: \(total) inputs — "
            s += Target.allCases.compactMap { t in
                inputs[t.rawValue].map { "\(t.rawValue) \($0) (\(accepted[t.rawValue] ?? 0) accepted, slowest \(String(format: "%.1f", (slowest[t.rawValue] ?? 0) * 1000)) ms)" }
            }.joined(separator: ", ")
            s += String(format: " — %.1f s", seconds)
            if !notes.isEmpty { s += " — " + notes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
            if !skipped.isEmpty { s += " — skipped: " + skipped.joined(separator: "; ") }
            s += failures.isEmpty ? " — ok" : "\nFAILURES (\(failures.count)):\n" + failures.prefix(30).joined(separator: "\n")
            return s
        }
    }

    /// Collects a target's counts and failures (at most 20 failures kept per target).
    final class Tally {
        var inputs = 0
        var accepted = 0
        var slowest = 0.0
        var failures: [String] = []
        var notes: [String: Int] = [:]
        func fail(_ s: String) { if failures.count < 20 { failures.append(s) } }
        func timed(_ body: () -> Void) {
            let start = DispatchTime.now()
            body()
            slowest = max(slowest, StressSupport.seconds(since: start))
            inputs += 1
        }
    }

    static func run(_ config: Config) -> Summary {
        let started = DispatchTime.now()
        var summary = Summary()
        let weights = config.targets.reduce(0) { $0 + $1.weight }
        var corpus: [[UInt8]] = []
        var secrets: [String] = []
        if config.targets.contains(.codec) || config.targets.contains(.header) || config.targets.contains(.cliRun) {
            do {
                (corpus, secrets) = try makeCorpus(config.directory + "/corpus", seed: config.seed)
            } catch {
                summary.failures.append("cannot build the corpus: \(error)")
                return summary
            }
        }
        for (index, target) in config.targets.enumerated() {
            let budget = max(1, Int(Double(config.inputs) * target.weight / weights))
            var rng = StressRandom(seed: config.seed &+ UInt64(index) &* 0x1000_0001)
            let tally = Tally()
            switch target {
            case .codec: fuzzCodec(corpus, budget, &rng, tally)
            case .header: fuzzHeader(secrets, budget, &rng, tally)
            case .secret: fuzzSecret(budget, &rng, tally)
            case .base64: fuzzBase64(budget, &rng, tally)
            case .pkce: fuzzPKCE(budget, &rng, tally)
            case .cliParse: fuzzCLIParse(budget, &rng, tally)
            case .cliRun: fuzzCLIRun(config.directory + "/cli", secrets, budget, &rng, tally)
            case .export:
                guard let verifier = config.exportVerifier, FileManager.default.fileExists(atPath: verifier) else {
                    summary.skipped.append("export: no export reader (Tools/verify_export.py) given or found")
                    continue
                }
                fuzzExport(config.directory + "/export", verifier: verifier, budget, &rng, tally)
            }
            summary.inputs[target.rawValue] = tally.inputs
            summary.accepted[target.rawValue] = tally.accepted
            summary.slowest[target.rawValue] = tally.slowest
            summary.failures += tally.failures.map { "\(target.rawValue): \($0)" }
            for (k, v) in tally.notes { summary.notes["\(target.rawValue).\(k)"] = v }
            config.log?("fuzz \(target.rawValue): \(tally.inputs) inputs, \(tally.accepted) accepted, \(tally.failures.count) failures")
        }
        summary.seconds = StressSupport.seconds(since: started)
        return summary
    }

    /// Every record of the scenario ledger (all 19 event types), and the secrets it issued.
    static func makeCorpus(_ path: String, seed: UInt64) throws -> ([[UInt8]], [String]) {
        try? FileManager.default.removeItem(atPath: path)
        var options = Ledger.Options()
        options.clock = ManualClock()
        options.random = SeededRandom(seed: seed)
        options.durability = .ackBeforeSync
        let ledger = try Ledger(path: path, options: options)
        defer {
            ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let scenario = try StressScenario.populate(ledger, extraUses: 5)
        var records: [[UInt8]] = []
        try ledger.forEachEvent { e in
            var w = ByteWriter(capacity: 256)
            EventCodec.encodeBody(e.event, into: &w)
            e.hash.withUnsafeBytes { w.write(bytes: $0) }
            records.append(w.bytes)
            return true
        }
        return (records, scenario.secrets)
    }

    // MARK: codec

    /// Mutates `bytes` in one of several ways (bit flip, byte set, insert, delete, truncate, splice, length field).
    static func mutate(_ bytes: [UInt8], _ rng: inout StressRandom, corpus: [[UInt8]]) -> [UInt8] {
        var b = bytes
        let rounds = rng.chance(0.7) ? 1 : rng.int(2...6)
        for _ in 0..<rounds {
            switch rng.int(0..<10) {
            case 0, 1:
                if !b.isEmpty { b[rng.int(0..<b.count)] ^= UInt8(1) << UInt8(rng.int(0..<8)) }
            case 2:
                if !b.isEmpty { b[rng.int(0..<b.count)] = rng.pick([0, 1, 0x7F, 0x80, 0xFF, rng.byte()]) }
            case 3:
                b.insert(rng.byte(), at: rng.int(0...b.count))
            case 4:
                if !b.isEmpty { b.remove(at: rng.int(0..<b.count)) }
            case 5:
                b = Array(b.prefix(rng.int(0...b.count)))
            case 6:
                let other = rng.pick(corpus)
                let cut = rng.int(0...min(b.count, other.count))
                b = Array(b.prefix(cut)) + Array(other.dropFirst(cut))
            case 7:
                if b.count >= 22 {  // payload length field
                    let v = rng.pick([0, 1, 0xFFFF, rng.int(0...0xFFFF), max(0, b.count - 54 + rng.int(-3...3))])
                    b[20] = UInt8((v >> 8) & 0xFF); b[21] = UInt8(v & 0xFF)
                }
            case 8:
                if b.count >= 4 { b[rng.int(0..<4)] = rng.byte() }  // version, type, schema, actor kind
            default:
                if !b.isEmpty {  // a string length prefix somewhere in the payload
                    let at = rng.int(0..<b.count)
                    b[at] = rng.pick([0, 0xFF, rng.byte()])
                    if at + 1 < b.count { b[at + 1] = rng.byte() }
                }
            }
        }
        return b
    }

    static func reencode(_ stored: StoredEvent) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        EventCodec.encodeBody(stored.event, into: &w)
        stored.hash.withUnsafeBytes { w.write(bytes: $0) }
        return w.bytes
    }

    /// Properties: decode never traps; an error names the seq and an offset inside the record; a success
    /// re-encodes to exactly the input (the encoding is canonical; an older schema only changes byte 2); a changed
    /// record never passes the chain check.
    static func fuzzCodec(_ corpus: [[UInt8]], _ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        guard !corpus.isEmpty else { tally.fail("empty corpus"); return }
        // Every truncated prefix of every record must be rejected (SwiftNIO decoder-verifier style).
        for (i, record) in corpus.enumerated() where tally.inputs < budget / 4 {
            for cut in 0..<record.count {
                tally.timed {
                    let prefix = Array(record.prefix(cut))
                    let result: Result<StoredEvent, EventCodecError> = prefix.withUnsafeBytes { raw in
                        do throws(EventCodecError) { return .success(try EventCodec.decode(seq: UInt64(i + 1), record: raw)) } catch { return .failure(error) }
                    }
                    if case .success = result { tally.fail("a \(cut)-byte prefix of record \(i + 1) decoded") }
                }
            }
        }
        while tally.inputs < budget {
            let index = rng.int(0..<corpus.count)
            let original = corpus[index]
            let seq = UInt64(index + 1)
            let input: [UInt8] = rng.chance(0.03) ? rng.bytes(rng.int(0...300)) : mutate(original, &rng, corpus: corpus)
            tally.timed {
                input.withUnsafeBytes { raw in
                    do throws(EventCodecError) {
                        let stored = try EventCodec.decode(seq: seq, record: raw)
                        tally.accepted += 1
                        if stored.event.seq != seq { tally.fail("decoded seq \(stored.event.seq) for \(seq)") }
                        let again = reencode(stored)
                        // A record of an older schema upcasts: it re-encodes with the current schema in byte 2 (FORMAT §7).
                        var canonical = input
                        canonical[2] = stored.event.type.currentSchema
                        if again != canonical { tally.fail("non-canonical: \(hex(input)) decodes but re-encodes to \(hex(again))") }
                    } catch {
                        if error.seq != seq || error.offset < 0 || error.offset > input.count {
                            tally.fail("error \(error) for a \(input.count)-byte record \(seq)")
                        }
                        if error.description.isEmpty { tally.fail("empty error description") }
                    }
                    if input != original {
                        // The chain rule: with the true predecessor hash, the original links and any change does not.
                        let previous = previousHash(corpus, index)
                        if case .success = HashChain.check(seq: seq, record: raw, previous: previous) {
                            tally.fail("a changed record passes the chain check: \(hex(input))")
                        }
                    }
                }
            }
        }
    }

    /// The stored hash of the record before `index` (the corpus is the log in order from seq 1).
    static func previousHash(_ corpus: [[UInt8]], _ index: Int) -> SHA256Digest {
        guard index > 0 else { return HashChain.genesis }
        return SHA256Digest(bytes: Array(corpus[index - 1].suffix(32))) ?? HashChain.genesis
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(80).map { String(format: "%02x", $0) }.joined()
        return bytes.count > 80 ? shown + "…(\(bytes.count) bytes)" : shown
    }

    // MARK: header and secret

    static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Properties: parse never traps; a failure is one of the three header reasons; a success carries a secret that
    /// validates for the scheme's kind; every single-character typo in a valid secret is rejected without a lookup.
    static func fuzzHeader(_ secrets: [String], _ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        let valid = secrets.filter { $0.hasPrefix("cxk_") || $0.hasPrefix("cxa_") }
        let seeds = valid.isEmpty ? [SecretFormat.generate(.apiKey, using: SeededRandom(seed: 1))] : valid
        let allowedFailures: Set<DenialReason> = [.malformedHeader, .unsupportedScheme, .badChecksum]
        let alphabet = Array(" \t\r\n\0AaBbKkEeYy_-=:.,;/+%\"'\\éß€🙂\u{7F}\u{85}\u{2028}".unicodeScalars)
        while tally.inputs < budget {
            let secret = rng.pick(seeds)
            let scheme = secret.hasPrefix("cxk_") ? rng.pick(["Apikey", "APIKEY", "apikey", "ApiKey"]) : rng.pick(["Bearer", "bearer", "BEARER"])
            var text = scheme + String(repeating: " ", count: rng.int(1...3)) + secret
            let mode = rng.int(0..<8)
            var typo = false
            switch mode {
            case 0:  // one typo in the secret's random part or checksum, with another base62 character
                var chars = Array(text.utf8)
                let at = chars.count - SecretFormat.length + SecretFormat.prefixLength + rng.int(0..<(SecretFormat.bodyLength + SecretFormat.checksumLength))
                var replacement = rng.pick(base62)
                while replacement == chars[at] { replacement = rng.pick(base62) }
                chars[at] = replacement
                text = String(decoding: chars, as: UTF8.self)
                typo = true
            case 1:  // adjacent transposition inside the secret
                var chars = Array(text.utf8)
                let at = chars.count - SecretFormat.length + SecretFormat.prefixLength + rng.int(0..<(SecretFormat.bodyLength + SecretFormat.checksumLength - 1))
                if chars[at] != chars[at + 1] {
                    chars.swapAt(at, at + 1)
                    typo = true
                }
                text = String(decoding: chars, as: UTF8.self)
            case 2:  // random scalars inserted, deleted or replaced
                var scalars = Array(text.unicodeScalars)
                for _ in 0..<rng.int(1...4) {
                    switch rng.int(0..<3) {
                    case 0: scalars.insert(rng.pick(alphabet), at: rng.int(0...scalars.count))
                    case 1: if !scalars.isEmpty { scalars.remove(at: rng.int(0..<scalars.count)) }
                    default: if !scalars.isEmpty { scalars[rng.int(0..<scalars.count)] = rng.pick(alphabet) }
                    }
                }
                var s = ""
                s.unicodeScalars.append(contentsOf: scalars)
                text = s
            case 3:  // length games
                text = rng.pick(["", " ", scheme, scheme + " ", text + " " + secret, String(repeating: "A", count: rng.int(200...400)),
                                 scheme + " " + String(repeating: "x", count: rng.int(0...300)), text + String(repeating: " ", count: rng.int(0...260))])
            case 4:  // wrong kind for the scheme
                let other = SecretFormat.generate(rng.pick(SecretKind.allCases), using: SeededRandom(seed: rng.next()))
                text = scheme + " " + other
            case 5:  // random printable bytes
                text = String(decoding: (0..<rng.int(0...80)).map { _ in UInt8(rng.int(0x20...0x7E)) }, as: UTF8.self)
            case 6:  // random bytes, including invalid UTF-8 (repaired by String) and controls
                text = String(decoding: rng.bytes(rng.int(0...80)), as: UTF8.self)
            default:
                break  // the valid header itself
            }
            let input = text
            tally.timed {
                switch AuthorizationHeader.parse(input) {
                case .success(let parsed):
                    tally.accepted += 1
                    if typo { tally.fail("a typo'd secret was accepted: \(input.prefix(12))…") }
                    let (secretText, kind): (String, SecretKind) = {
                        switch parsed {
                        case .apiKey(let s): return (s, .apiKey)
                        case .bearer(let s): return (s, .accessToken)
                        }
                    }()
                    if SecretFormat.validate(secretText, expecting: [kind]).problem != nil { tally.fail("accepted an invalid secret") }
                    if !input.contains(secretText) { tally.fail("the parsed secret is not in the header") }
                case .failure(let reason):
                    if !allowedFailures.contains(reason) { tally.fail("unexpected reason \(reason.code)") }
                    if typo && reason != .badChecksum { tally.fail("a typo gave \(reason.code), expected bad_checksum") }
                    if mode == 7 { tally.fail("a valid header was refused: \(reason.code)") }
                }
            }
        }
    }

    /// Properties: validate never traps on any bytes; it accepts exactly the generated secrets and their kinds.
    static func fuzzSecret(_ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        while tally.inputs < budget {
            let kind = rng.pick(SecretKind.allCases)
            let genuine = SecretFormat.generate(kind, using: SeededRandom(seed: rng.next()))
            var bytes = Array(genuine.utf8)
            let mode = rng.int(0..<5)
            switch mode {
            case 0: bytes = rng.bytes(rng.int(0...60))
            case 1: bytes[rng.int(0..<bytes.count)] = rng.byte()
            case 2: bytes = Array(bytes.prefix(rng.int(0..<bytes.count))) + (rng.chance(0.5) ? rng.bytes(rng.int(0...3)) : [])
            case 3: bytes[rng.int(4..<bytes.count)] = rng.pick(base62)
            default: break
            }
            let input = bytes
            let expectKinds = rng.chance(0.8) ? [kind] : SecretKind.allCases
            tally.timed {
                let result = input.withUnsafeBytes { SecretFormat.validate($0, expecting: expectKinds) }
                if result.problem == nil {
                    tally.accepted += 1
                    if input.count != SecretFormat.length { tally.fail("accepted \(input.count) bytes") }
                    guard let k = result.kind, expectKinds.contains(k), input.starts(with: Array(k.prefix.utf8)) else {
                        tally.fail("accepted with the wrong kind"); return
                    }
                    // The checksum was recomputed independently by regenerating the text: a match means same CRC.
                } else if mode == 4 {
                    tally.fail("a generated \(kind) secret was refused: \(result.problem!.code)")
                }
                if mode == 3 && input != Array(genuine.utf8) && result.problem == nil {
                    tally.fail("a one-character change was accepted")
                }
            }
        }
    }

    // MARK: base64url and PKCE

    /// Properties: encode/decode round-trip for any bytes; decode of any text never traps, returns nil for
    /// characters outside the alphabet and impossible lengths, and otherwise ⌊6n/8⌋ bytes.
    static func fuzzBase64(_ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let noise = Array("=+/ .\n\0é".utf8)
        while tally.inputs < budget {
            if rng.chance(0.5) {
                let bytes = rng.bytes(rng.int(0...70))
                tally.timed {
                    let text = Base64URL.encode(bytes)
                    if Base64URL.decode(text) != bytes { tally.fail("round trip failed for \(hex(bytes))") } else { tally.accepted += 1 }
                    if text.contains("=") { tally.fail("padding in output") }
                }
            } else {
                var chars = (0..<rng.int(0...70)).map { _ in rng.pick(alphabet) }
                if rng.chance(0.3), !chars.isEmpty { chars[rng.int(0..<chars.count)] = rng.pick(noise) }
                let text = String(decoding: chars, as: UTF8.self)
                tally.timed {
                    let decoded = Base64URL.decode(text)
                    let valid = text.utf8.allSatisfy { alphabet.contains($0) } && text.utf8.count % 4 != 1
                    if let decoded {
                        tally.accepted += 1
                        if !valid { tally.fail("decoded invalid text '\(text)'") }
                        if decoded.count != text.utf8.count * 6 / 8 { tally.fail("'\(text)' decoded to \(decoded.count) bytes") }
                    } else if valid {
                        tally.fail("refused valid text '\(text)'")
                    }
                }
            }
        }
    }

    /// Properties: a verifier is valid exactly when 43…128 unreserved characters; a challenge decodes only from
    /// 43 base64url characters, and the challenge of a verifier always decodes to SHA-256 of the verifier.
    static func fuzzPKCE(_ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        let unreserved = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        let other = Array("+/= %é\0\n!".utf8)
        while tally.inputs < budget {
            var chars = (0..<rng.int(0...140)).map { _ in rng.pick(unreserved) }
            if rng.chance(0.2), !chars.isEmpty { chars[rng.int(0..<chars.count)] = rng.pick(other) }
            let verifier = String(decoding: chars, as: UTF8.self)
            tally.timed {
                let expected = (43...128).contains(verifier.utf8.count) && verifier.utf8.allSatisfy { unreserved.contains($0) }
                if PKCE.isValidVerifier(verifier) != expected { tally.fail("isValidVerifier wrong for '\(verifier)'") }
                let challenge = PKCE.challenge(for: verifier)
                guard let digest = PKCE.decodeChallenge(challenge), digest == SHA256.hash(verifier) else {
                    tally.fail("challenge of '\(verifier)' does not decode to its SHA-256"); return
                }
                tally.accepted += 1
                var mangled = Array(challenge.utf8)
                mangled[rng.int(0..<mangled.count)] = rng.pick(other)
                if PKCE.decodeChallenge(String(decoding: mangled, as: UTF8.self)) != nil { tally.fail("a challenge with a bad character decoded") }
                if PKCE.decodeChallenge(String(challenge.dropLast())) != nil { tally.fail("a 42-character challenge decoded") }
            }
        }
    }

    // MARK: command line

    /// A random word for an argv: option-looking, flag-looking, separators, junk, long, unicode, empty.
    static func randomWord(_ rng: inout StressRandom, spec: CommandSpec?) -> String {
        let names = (spec?.options ?? []) + (spec?.flags ?? []) + ["json", "help", "db", "x", ""]
        switch rng.int(0..<12) {
        case 0: return "--" + rng.pick(names)
        case 1: return "--" + rng.pick(names) + "=" + rng.pick(["", "v", "=", "--x", "a=b"])
        case 2: return rng.pick(["--", "-", "---", "-h", "--=", "--=x", "=", "-x"])
        case 3: return ""
        case 4: return String(repeating: rng.pick(["a", "-", "é", "🙂"]), count: rng.int(1...300))
        case 5: return String(decoding: rng.bytes(rng.int(1...12)), as: UTF8.self)
        case 6: return String(rng.int(-5...1_000_000_000))
        case 7: return rng.pick(["0", "-1", "99999999999999999999", "1e9", "0x10", " 1", "NaN", "9223372036854775807"])
        case 8: return rng.pick(CommandLineTool.commands).path.joined(separator: " ")
        default: return rng.pick(["acme", "bridge", "alice@acme.example", "cred_x", "read", "write", "static", "global", "oauth", "pkce",
                                  "viewer", "24h", "0", "S256", "plain", "https://app.example/callback", "authorization_code"])
        }
    }

    /// Properties of `CommandSpec.parse`: it never traps; it either throws a UsageError with a message or returns an
    /// invocation with exactly the declared positionals and only declared options and flags.
    static func fuzzCLIParse(_ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        let specs = CommandLineTool.commands
        guard !specs.isEmpty else { tally.fail("no commands"); return }
        while tally.inputs < budget {
            let spec = rng.pick(specs)
            var words: [String] = []
            for _ in 0..<rng.int(0...8) {
                switch rng.int(0..<4) {
                case 0 where !spec.options.isEmpty:
                    let name = rng.pick(spec.options)
                    if rng.chance(0.5) { words += ["--" + name, randomWord(&rng, spec: spec)] } else { words.append("--\(name)=\(randomWord(&rng, spec: spec))") }
                case 1 where !spec.flags.isEmpty:
                    words.append("--" + rng.pick(spec.flags))
                default:
                    words.append(randomWord(&rng, spec: spec))
                }
            }
            if rng.chance(0.5) { words.shuffle(using: &rng) }
            let input = words
            tally.timed {
                do {
                    let invocation = try spec.parse(input)
                    tally.accepted += 1
                    if invocation.positionals.count != spec.positionals.count { tally.fail("\(spec.path): wrong positional count for \(input)") }
                    if !Set(invocation.options.keys).isSubset(of: Set(spec.options)) { tally.fail("\(spec.path): undeclared option from \(input)") }
                    if !invocation.flags.isSubset(of: Set(spec.flags)) { tally.fail("\(spec.path): undeclared flag from \(input)") }
                } catch let error as UsageError {
                    if error.message.isEmpty { tally.fail("\(spec.path): empty usage message for \(input)") }
                } catch {
                    tally.fail("\(spec.path): unexpected error type \(type(of: error)): \(error)")
                }
            }
        }
    }

    /// Command groups that the in-process CLI fuzzer never runs: they write files where they are told (their parsers
    /// are still covered by `cli-parse`). The stress and bench commands are not in the product CLI.
    static let unsafeGroups: Set<String> = ["export"]

    /// Properties of `CommandLineTool.run` with random argv on a populated ledger: never traps, exit code is one of
    /// 0…3, a non-zero exit always prints a message, no random command ever reports an integrity failure, and the
    /// ledger still verifies at the end.
    static func fuzzCLIRun(_ path: String, _ secrets: [String], _ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        try? FileManager.default.removeItem(atPath: path)
        var scenario: StressScenario.Result
        do {
            var options = Ledger.Options()
            options.clock = ManualClock()
            options.random = SeededRandom(seed: rng.next())
            options.durability = .ackBeforeSync
            let ledger = try Ledger(path: path, options: options)
            defer { ledger.close() }
            scenario = try StressScenario.populate(ledger, extraUses: 3)
        } catch {
            tally.fail("cannot populate the CLI ledger: \(error)")
            return
        }
        let specs = CommandLineTool.commands.filter { !unsafeGroups.contains($0.path[0]) }
        let values = ["acme", "bridge", "tunnel", "attic", "nope", scenario.admin, scenario.member, "eve@acme.example", "read", "write",
                      "read-write", "global", "static", "oauth", "pkce", "pkce-public", "viewer", "editor", "project-admin", "none",
                      "admin", "member", "removed", "0", "24h", "-1", "31d", "S256", "plain", StressScenario.redirect, "https://evil.example/cb",
                      "authorization_code", "refresh_token", "client_credentials", "x", "", String(repeating: "n", count: 120)]
            + secrets.prefix(6) + [scenario.header]
        // Values that fit an option's name, so that most generated commands get past the parser into the ledger.
        let fitting: [String: [String]] = [
            "as": [scenario.admin, scenario.admin, scenario.member, "eve@acme.example"], "admin": [scenario.admin, "new@fz.example"],
            "type": ["static", "oauth", "pkce", "pkce-public", "bogus"], "scope": ["read", "read-write", "global", "all"],
            "role": ["viewer", "editor", "project-admin", "admin", "member", "removed", "none"], "op": ["read", "write", "delete"],
            "project": ["bridge", "tunnel", "attic", "nope"], "grace": ["0", "1h", "24h", "31d", "-1", "x"],
            "header": [scenario.header, "Apikey x", "Bearer " + (secrets.first ?? "x"), ""], "name": ["fuzz key", "", String(repeating: "n", count: 120)],
            "redirect-uri": [StressScenario.redirect, StressScenario.loopback, "https://evil.example/cb", "ftp://x"],
            "code-challenge-method": ["S256", "plain"], "grant": ["authorization_code", "refresh_token", "client_credentials", "password"],
            "limit": ["1", "5", "0", "-3", "100000000"], "from": ["1", "3", "0", "999999"], "expires-in": ["90d", "1h", "0", "-1d"],
            "mail-domain": ["fz.example", "bad domain"], "token": Array(secrets.prefix(4)) + ["x"], "client-secret": Array(secrets.prefix(4)),
        ]
        var options = Ledger.Options()
        options.durability = .ackBeforeSync
        let interactive = isatty(0) == 1
        while tally.inputs < budget {
            var words: [String]
            if rng.chance(0.1) || specs.isEmpty {
                words = (0..<rng.int(0...5)).map { _ in randomWord(&rng, spec: nil) }
            } else {
                let spec = rng.pick(specs)
                words = spec.path
                if rng.chance(0.1) { words.removeLast() }
                for p in spec.positionals where rng.chance(0.95) {
                    words.append(p == "company" && rng.chance(0.8) ? scenario.company : rng.pick(values))
                }
                for o in spec.options where rng.chance(0.7) {
                    let value = rng.chance(0.8) ? (fitting[o].map { rng.pick($0) } ?? rng.pick(values)) : (rng.chance(0.7) ? rng.pick(values) : randomWord(&rng, spec: spec))
                    words += ["--" + o, value]
                }
                for f in spec.flags where rng.chance(0.5) { words.append("--" + f) }
                if rng.chance(0.2) { words.append(randomWord(&rng, spec: spec)) }
                if rng.chance(0.3) { words.append("--json") }
            }
            words = words.filter { !$0.hasPrefix("--db") }
            if words.contains(where: { unsafeGroups.contains($0) }) { continue }
            if interactive && words.contains("delete") && !words.contains("--yes") { words.append("--yes") }
            let input = words
            tally.timed {
                let r = CapturedCLI.run(input, database: path, options: options)
                if !(0...3).contains(r.code) { tally.fail("exit \(r.code) for \(input)") }
                if r.code != 0 && r.all.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { tally.fail("exit \(r.code) without a message for \(input)") }
                if r.code == ExitCode.integrity { tally.fail("integrity failure from \(input): \(r.all.prefix(300))") }
                if r.code == 0 { tally.accepted += 1 }
            }
        }
        do {
            var readOnly = Ledger.Options()
            readOnly.readOnly = true
            let ledger = try Ledger(path: path, options: readOnly)
            defer { ledger.close() }
            let report = try ledger.verify()
            if !report.ok { tally.fail("the CLI-fuzzed ledger does not verify: \(report.chainFailure?.description ?? "projections differ")") }
        } catch {
            tally.fail("the CLI-fuzzed ledger does not reopen: \(error)")
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    // MARK: export reader

    /// The export reader (`Tools/verify_export.py`) on mutated exports of a scenario ledger, in one Python process:
    /// flips with and without re-digesting the manifest, truncations, deleted/swapped/duplicated lines, edited fields
    /// (re-digested), mutated manifests, garbage. Properties: never an uncaught exception (a traceback), never a hang;
    /// every change to a hashed or checked field is refused with a FAIL line.
    static func fuzzExport(_ path: String, verifier: String, _ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        try? FileManager.default.removeItem(atPath: path)
        do {
            var options = Ledger.Options()
            options.clock = ManualClock()
            options.random = SeededRandom(seed: rng.next())
            options.durability = .ackBeforeSync
            let ledger = try Ledger(path: path + "/ledger", options: options)
            _ = try StressScenario.populate(ledger, extraUses: 20)
            ledger.close()
        } catch {
            tally.fail("cannot populate the export ledger: \(error)")
            return
        }
        for format in ["jsonl", "csv"] {
            let out = path + "/export-\(format)"
            let r = CapturedCLI.run(["export", "--all", "--format", format, "--out", out], database: path + "/ledger")
            guard r.code == 0 else {
                tally.fail("export --all --format \(format) failed (exit \(r.code)): \(r.all.prefix(300))")
                continue
            }
            let harness = path + "/harness.py"
            do {
                try exportHarness.write(toFile: harness, atomically: true, encoding: .utf8)
                let start = DispatchTime.now()
                let run = try ChildProcess.run("/usr/bin/env", ["python3", harness, verifier, out, path + "/work-\(format)",
                                                                String(max(1, budget / 2)), String(rng.next() >> 1)],
                                               timeout: 600)
                tally.slowest = max(tally.slowest, StressSupport.seconds(since: start) / Double(max(1, budget / 2)))
                if run.timedOut { tally.fail("\(format): the export reader harness hung"); continue }
                guard let line = run.stdout.split(separator: "\n").last, let data = line.data(using: .utf8),
                      let stats = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    tally.fail("\(format): harness output unreadable (exit \(run.status)): \(run.stdout.suffix(300)) \(run.stderr.suffix(500))")
                    continue
                }
                let inputs = (stats["inputs"] as? Int) ?? 0
                tally.inputs += inputs
                tally.accepted += (stats["accepted"] as? Int) ?? 0
                for key in ["detected", "crashed", "missed", "derived_field_edits_accepted"] {
                    tally.notes[key, default: 0] += (stats[key] as? Int) ?? 0
                }
                for problem in (stats["problems"] as? [String]) ?? [] { tally.fail("\(format): \(problem)") }
            } catch {
                tally.fail("\(format): cannot run the harness: \(error)")
            }
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The Python side of `fuzzExport` (standard library only). argv: verifier export-dir work-dir count seed.
    static let exportHarness = #"""
    import copy, hashlib, importlib.util, json, os, random, shutil, sys, traceback
    spec = importlib.util.spec_from_file_location("verify_export", sys.argv[1])
    ve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ve)
    source, work, count, seed = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    rng = random.Random(seed)
    files = {n: open(os.path.join(source, n), "rb").read() for n in os.listdir(source)}
    manifest = json.loads(files["manifest.json"])
    events = "events." + manifest["event_format"]
    csv_mode = events.endswith(".csv")
    stats = {"inputs": 0, "accepted": 0, "detected": 0, "crashed": 0, "missed": 0, "derived_field_edits_accepted": 0, "problems": []}

    seen = set()

    def problem(text, signature=None):
        signature = signature or text
        if signature not in seen and len(stats["problems"]) < 20:
            seen.add(signature)
            stats["problems"].append(text)

    def redigest(contents, m):
        for entry in m.get("files", []):
            if isinstance(entry, dict) and entry.get("name") in contents:
                data = contents[entry["name"]]
                entry["sha256"] = hashlib.sha256(data).hexdigest()
                entry["bytes"] = len(data)
                entry["lines"] = data.count(b"\n")
        contents["manifest.json"] = json.dumps(m).encode()

    def lines_of(data):
        parts = data.split(b"\n")
        return parts[:-1] if parts and parts[-1] == b"" else parts

    def edit_field(data):
        """Edits one field of one event line; returns (bytes, field)."""
        rows = lines_of(data)
        first = 1 if csv_mode else 0
        if len(rows) <= first:
            return data, None
        i = rng.randrange(first, len(rows))
        field = rng.choice(["seq", "time", "type", "prev_hash", "hash", "record", "payload", "company", "actor"])
        if csv_mode:
            import csv, io
            row = next(csv.reader(io.StringIO(rows[i].decode())))
            names = ve.EVENT_FIELDS
            k = names.index(field)
            value = row[k]
        else:
            obj = json.loads(rows[i])
            value = obj.get(field)
        if field == "seq":
            new = int(value) + rng.choice([-1, 1, 2, 1 << 20])
        elif field in ("prev_hash", "hash", "record"):
            s = list(value)
            j = rng.randrange(len(s))
            s[j] = rng.choice([c for c in "0123456789abcdef" if c != s[j]])
            new = "".join(s)
        elif field == "time":
            new = value.replace(value[-3], str((int(value[-3]) + 1) % 10)) if value[-3].isdigit() else value + "0"
        elif field == "type":
            new = rng.choice([t for t in ve.EVENT_TYPES.values() if t != value])
        elif field == "payload":
            if csv_mode:
                p = json.loads(value)
            else:
                p = value
            p = dict(p) if isinstance(p, dict) else {}
            p["injected"] = "x"
            new = json.dumps(p) if csv_mode else p
        else:
            new = str(value) + "x"
        if new == value:
            return data, None
        if csv_mode:
            import csv, io
            row[k] = str(new)
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(row)
            rows[i] = out.getvalue().encode()
        else:
            obj[field] = new
            rows[i] = json.dumps(obj, separators=(",", ":")).encode()
        return b"\n".join(rows) + b"\n", field

    def mutate_manifest(m):
        keys = ["format", "format_version", "event_format", "files", "chain", "counts", "range"]
        junk_values = [None, [], {}, [1], "x", 1, -1, 1 << 70, 1.5, True, {"a": 1}, [{"name": 3}], [None], ["events.jsonl"]]
        junk = lambda: copy.deepcopy(rng.choice(junk_values))
        for _ in range(rng.randint(1, 3)):
            choice = rng.randrange(4)
            if choice == 0:
                m[rng.choice(keys)] = junk()
            elif choice == 1:
                m.pop(rng.choice(keys), None)
            elif choice == 2 and isinstance(m.get("files"), list) and m["files"]:
                entry = rng.choice(m["files"])
                if isinstance(entry, dict):
                    entry[rng.choice(["name", "sha256", "bytes", "lines", "kind"])] = rng.choice([junk(), "../x", "manifest.json", events])
            else:
                for section in ("chain", "counts", "range"):
                    if isinstance(m.get(section), dict) and m[section]:
                        key = rng.choice(list(m[section]))
                        m[section][key] = junk()
        return m

    for n in range(count):
        contents = dict(files)
        m = json.loads(files["manifest.json"])
        data = bytearray(contents[events])
        mode = rng.randrange(9)
        must_fail = True
        derived = False
        if mode == 0:  # a flipped byte, manifest untouched
            data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
            contents[events] = bytes(data)
        elif mode == 1:  # truncated, with or without a re-digested manifest
            contents[events] = bytes(data[: rng.randrange(len(data))])
            if rng.random() < 0.5:
                redigest(contents, m)
        elif mode in (2, 3):  # a deleted, swapped or duplicated line, re-digested
            rows = lines_of(bytes(data))
            first = 1 if csv_mode else 0
            i = rng.randrange(first, len(rows))
            j = rng.randrange(first, len(rows))
            op = rng.randrange(3)
            if op == 0:
                del rows[i]
            elif op == 1:
                if i == j:
                    continue
                rows[i], rows[j] = rows[j], rows[i]
            else:
                rows.insert(i, rows[j])
            contents[events] = b"\n".join(rows) + b"\n"
            redigest(contents, m)
        elif mode in (4, 5):  # one field edited, re-digested
            new, field = edit_field(bytes(data))
            if field is None:
                continue
            contents[events] = new
            redigest(contents, m)
            derived = field in ("payload", "company", "actor")
            must_fail = not derived
        elif mode == 6:  # a mutated manifest: no crash is all we ask
            contents["manifest.json"] = json.dumps(mutate_manifest(m)).encode()
            must_fail = False
        elif mode == 7:  # garbage (invalid UTF-8, NULs, long lines), re-digested
            at = rng.randrange(len(data))
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            contents[events] = bytes(data[:at]) + junk + bytes(data[at:])
            redigest(contents, m)
        else:  # a byte flip, re-digested (a consistent attacker without the chain)
            data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
            contents[events] = bytes(data)
            redigest(contents, m)
            must_fail = False  # a flip in a derived field (payload, names) is not covered by the chain
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        for name, blob in contents.items():
            with open(os.path.join(work, name), "wb") as f:
                f.write(blob)
        stats["inputs"] += 1
        try:
            ve.verify(work)
            stats["accepted"] += 1
            if derived:
                stats["derived_field_edits_accepted"] += 1
            elif must_fail:
                stats["missed"] += 1
                problem("mode %d: a changed export was accepted" % mode)
        except ve.Failure as e:
            stats["detected"] += 1
            if not str(e):
                problem("mode %d: a failure without a message" % mode)
        except OSError:
            stats["detected"] += 1
        except Exception as e:
            stats["crashed"] += 1
            frames = [f for f in traceback.extract_tb(e.__traceback__) if os.path.basename(f.filename) == os.path.basename(sys.argv[1])]
            where = "%s:%d" % (os.path.basename(sys.argv[1]), frames[-1].lineno) if frames else "?"
            problem("mode %d: uncaught %s at %s: %s" % (mode, type(e).__name__, where, str(e)[:160]), (type(e).__name__, where))
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(stats))
    """#
}
