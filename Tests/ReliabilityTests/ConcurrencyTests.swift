import CredLedger
import CredLedgerCore
@testable import CredLedgerLab
@testable import CredLedgerTools
import Foundation
import XCTest

/// Many reader processes at once with one writer; the map grows when it fills (SPEC §7).
///
/// A `credledger-bench stress record` child keeps recording uses while reader processes (`verify --json`,
/// `verify --chain-only --json`, `log --json`, `key list --json`) run against the same ledger. Every reader must
/// succeed and see one consistent snapshot (log seqs dense from 1, every prev_hash the previous line's hash, verify
/// ok), and the writer must keep acknowledging while each reader runs (LMDB readers never block the writer).
final class ConcurrencyTests: ReliabilityTestCase {
    private struct Fixture {
        var path: String
        var header: String
        var admin: String
    }

    /// The scenario (so `key list` has rows) plus a GLOBAL key and projects w0… for `stress record`.
    private func makeLedger(threads: Int, extraUses: Int = 2_000, mapSize: Int? = nil) throws -> Fixture {
        let path = try makeDirectory("concurrency") + "/ledger"
        var options = testOptions()
        options.durability = .ackBeforeSync
        if let mapSize { options.initialMapSize = mapSize }
        let ledger = try Ledger(path: path, options: options)
        defer { ledger.close() }
        let scenario = try StressScenario.populate(ledger, company: "acme", extraUses: extraUses)
        let header = try StressSetup.prepare(ledger, company: "acme", admin: scenario.admin, projects: (0..<threads).map { "w\($0)" })
        return Fixture(path: path, header: header, admin: scenario.admin)
    }

    private func startWriter(_ binary: String, _ f: Fixture, prefix: String = "w", threads: Int = 2, count: Int = 1_000_000_000,
                             extra: [String] = []) throws -> ChildProcess {
        let child = try ChildProcess(executable: binary, arguments: [
            "stress", "record", "--db", f.path, "--company", "acme", "--header", f.header, "--project-prefix", prefix,
            "--threads", String(threads), "--window", "8", "--count", String(count),
        ] + extra)
        XCTAssertTrue(child.waitForLine(timeout: 60) { $0.hasPrefix("ready") }, "writer not ready: \(child.stderrText)")
        return child
    }

    /// Checks one `log --json` output: dense seqs from 1, each prev_hash equal to the previous line's hash.
    private func checkLog(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> Int {
        var expected: UInt64 = 1
        var previous = HashChain.genesis.hex
        for row in text.split(separator: "\n") {
            guard let data = row.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let seq = (object["seq"] as? NSNumber)?.uint64Value, let hash = object["hash"] as? String else {
                XCTFail("log --json printed a line that is not an event: \(row.prefix(200))", file: file, line: line)
                return 0
            }
            XCTAssertEqual(seq, expected, "log is not dense", file: file, line: line)
            XCTAssertEqual(object["prev_hash"] as? String, previous, "seq \(seq) does not link to the line before", file: file, line: line)
            if seq != expected { return 0 }
            previous = hash
            expected += 1
        }
        return Int(expected - 1)
    }

    func testReaderProcessesSeeASnapshotAndNeverBlockTheWriter() throws {
        let binary = try credledgerBinary()
        let f = try makeLedger(threads: 2)
        let writer = try startWriter(try benchBinary(), f)
        defer { writer.kill(); writer.waitForExit() }
        let readers: [(name: String, arguments: [String])] = [
            ("verify", ["verify", "--json"]),
            ("verify --chain-only", ["verify", "--chain-only", "--json"]),
            ("log", ["log", "--json", "--limit", "10000000"]),
            ("key list", ["key", "list", "acme", "--as", f.admin, "--json"]),
        ]
        var windows: [(name: String, start: UInt64, end: UInt64)] = []
        var lastVerified: [String: UInt64] = [:]
        for round in 0..<Self.budget("CREDLEDGER_READER_ROUNDS", 3) {
            let children = try readers.map { reader in
                (reader.name, try ChildProcess(executable: binary, arguments: reader.arguments + ["--db", f.path]))
            }
            for (name, child) in children {
                XCTAssertTrue(child.waitForExit(timeout: 120), "\(name) hung")
                let end = DispatchTime.now().uptimeNanoseconds
                windows.append((name, child.started.uptimeNanoseconds, end))
                let t = child.termination
                XCTAssertFalse(t.signaled, "\(name) crashed: \(child.stderrText)")
                XCTAssertEqual(t.status, 0, "round \(round) \(name): \(child.stdoutText.suffix(400)) \(child.stderrText)")
                switch name {
                case "log":
                    XCTAssertGreaterThan(checkLog(child.stdoutText), 2_000)
                case "key list":
                    let rows = (try? JSONSerialization.jsonObject(with: Data(child.stdoutText.utf8))) as? [[String: Any]]
                    XCTAssertGreaterThanOrEqual(rows?.count ?? 0, 5, child.stdoutText.prefix(300).description)
                default:
                    let report = lastJSON(child.stdoutText)
                    XCTAssertEqual(report?["ok"] as? Bool, true, "\(name) while writing: \(child.stdoutText.prefix(600))")
                    let events = (report?["events"] as? NSNumber)?.uint64Value ?? 0
                    XCTAssertGreaterThanOrEqual(events, lastVerified[name] ?? 0, "a later \(name) saw fewer events")
                    lastVerified[name] = events
                }
            }
        }
        // The writer acknowledged during every reader's lifetime.
        let acks = writer.stampedLines.filter { $0.text.hasPrefix("ack ") }.map(\.time)
        XCTAssertGreaterThan(acks.count, 100)
        for w in windows where w.end - w.start > 500_000_000 {
            let during = acks.filter { $0 > w.start && $0 < w.end }.count
            XCTAssertGreaterThan(during, 0, "no acknowledgement while \(w.name) ran for \(Double(w.end - w.start) / 1e9) s")
        }
        writer.kill()
        writer.waitForExit()
        let ledger = try Ledger(path: f.path, options: readOnlyOptions())
        defer { ledger.close() }
        XCTAssertTrue(try ledger.audit.verify().ok)
    }

    /// Two writer processes on one ledger (LMDB serializes them): every acknowledged use of each is in the log,
    /// in order, and the result verifies.
    func testTwoWriterProcessesShareOneLedger() throws {
        let binary = try benchBinary()
        let f = try makeLedger(threads: 2, extraUses: 0)
        do {
            let ledger = try Ledger(path: f.path, options: testOptions())
            defer { ledger.close() }
            try StressSetup.createProjects(ledger, company: "acme", admin: f.admin, ["v0", "v1"])
        }
        let before = try eventCount(f.path)
        let count = 400
        let a = try ChildProcess(executable: binary, arguments: ["stress", "record", "--db", f.path, "--company", "acme", "--header", f.header,
                                                                 "--project-prefix", "w", "--threads", "2", "--window", "8", "--count", String(count)])
        let b = try ChildProcess(executable: binary, arguments: ["stress", "record", "--db", f.path, "--company", "acme", "--header", f.header,
                                                                 "--project-prefix", "v", "--threads", "2", "--window", "8", "--count", String(count),
                                                                 "--durability", "ack-before-sync"])
        for (name, child) in [("a", a), ("b", b)] {
            XCTAssertTrue(child.waitForExit(timeout: 120), "writer \(name) hung")
            XCTAssertFalse(child.termination.signaled, "writer \(name) crashed: \(child.stderrText)")
            XCTAssertEqual(child.termination.status, 0, "writer \(name): \(child.stderrText)")
            XCTAssertEqual(child.stdoutLines.filter { $0.hasPrefix("ack ") }.count, 2 * count, "writer \(name)")
        }
        let ledger = try Ledger(path: f.path, options: readOnlyOptions())
        defer { ledger.close() }
        let report = try ledger.audit.verify()
        XCTAssertTrue(report.ok, "\(String(describing: report.chainFailure)) \(report.projections.filter { !$0.matches }.map(\.name))")
        XCTAssertEqual(report.events, before + UInt64(4 * count))
        var perProject: [UInt32: [CredLedgerCore.Operation]] = [:]
        try ledger.audit.forEachEvent(from: before + 1) { e in
            if case .credentialUsed(let u) = e.event.payload { perProject[u.project, default: []].append(u.operation) }
            return true
        }
        let numbers: [String: UInt32] = try ledger.audit.withState { state in
            let company = try state.company(slug: "acme")!.number
            var out: [String: UInt32] = [:]
            for p in ["w0", "w1", "v0", "v1"] { out[p] = try state.project(company: company, slug: p)?.number }
            return out
        }
        for (project, number) in numbers {
            let worker = Int(project.dropFirst())!
            let expected = (0..<count).map { StressRecord.operation(worker: worker, ordinal: $0) }
            XCTAssertEqual(perProject[number] ?? [], expected, "uses of \(project) are not its worker's, in order")
        }
    }

    /// A process with its own (idle) writer verifies while another process appends: the log legitimately runs
    /// ahead of this process's writer, which is not a chain failure.
    func testVerifyInOneWriterProcessWhileAnotherAppends() throws {
        let binary = try benchBinary()
        let f = try makeLedger(threads: 2, extraUses: 200)
        let ledger = try Ledger(path: f.path, options: testOptions())
        defer { ledger.close() }
        let writer = try startWriter(binary, f)
        defer { writer.kill(); writer.waitForExit() }
        for round in 0..<3 {
            let before = ledger.head.seq
            XCTAssertTrue(writer.waitForLine(timeout: 30) { $0.hasPrefix("ack ") }, "the other writer does not acknowledge")
            let report = try ledger.audit.verify(projections: round != 0)
            XCTAssertNil(report.chainFailure, "round \(round): \(String(describing: report.chainFailure)) (this writer's head \(before))")
            XCTAssertTrue(report.ok)
        }
    }

    /// The writer starts on a 1 MiB map and must grow it several times while reader processes hold snapshots
    /// (they adopt the new size on MDB_MAP_RESIZED).
    func testMapGrowsUnderAWriterWhileReadersRead() throws {
        let binary = try credledgerBinary()
        let f = try makeLedger(threads: 2, extraUses: 0, mapSize: 1 << 20)
        let writer = try ChildProcess(executable: try benchBinary(), arguments: [
            "stress", "record", "--db", f.path, "--company", "acme", "--header", f.header, "--project-prefix", "w",
            "--threads", "2", "--window", "32", "--count", "12000", "--durability", "ack-before-sync", "--map-size", String(1 << 20),
        ])
        var readerRuns = 0
        while writer.process.isRunning && readerRuns < 40 {
            let r = try ChildProcess.run(binary, ["log", "--json", "--limit", "10000000", "--db", f.path])
            XCTAssertFalse(r.signaled, "reader crashed: \(r.stderr)")
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertGreaterThan(checkLog(r.stdout), 0)
            readerRuns += 1
        }
        XCTAssertTrue(writer.waitForExit(timeout: 180))
        XCTAssertEqual(writer.termination.status, 0, writer.stderrText)
        XCTAssertGreaterThan(readerRuns, 0)
        let ledger = try Ledger(path: f.path, options: readOnlyOptions())
        defer { ledger.close() }
        XCTAssertTrue(try ledger.audit.verify().ok)
        let size = try FileManager.default.attributesOfItem(atPath: f.path + "/data.mdb")[.size] as? NSNumber
        XCTAssertGreaterThan(size?.intValue ?? 0, 1 << 20, "the data file should have outgrown the first 1 MiB map")
    }
}
