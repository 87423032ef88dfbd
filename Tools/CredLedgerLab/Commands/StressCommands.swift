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
// The drivers (Tools/CredLedgerLab/Stress/) are internal types so that Tests/ReliabilityTests runs the same code with
// small budgets.

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
