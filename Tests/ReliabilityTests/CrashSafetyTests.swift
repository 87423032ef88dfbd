import CredLedger
import CredLedgerCore
@testable import CredLedgerLab
@testable import CredLedgerTools
import Foundation
import XCTest

/// kill -9 at any moment loses no acknowledged event, and the ledger reopens valid (SPEC §7).
///
/// `credledger-bench stress record` runs as a child process recording uses through the real group-commit writer
/// (3 workers, 16 uses in flight each, plus an admin thread creating credentials) and prints each acknowledgement
/// as it happens. The driver SIGKILLs it at seeded random moments — most while it acknowledges, some during open —
/// then reopens the ledger with the library and checks every acknowledged use (present, in its worker's order),
/// every acknowledged command, and `verify()` (dense sequence, valid chain, projections equal to a rebuild).
/// Runs alternate `Durability.sync` and `.ackBeforeSync`.
final class CrashSafetyTests: ReliabilityTestCase {
    func testKillNineAtRandomMomentsLosesNoAcknowledgedEvent() throws {
        let binary = try benchBinary()
        var config = CrashDriver.Config(binary: binary, directory: try makeDirectory("crash"))
        config.killPoints = Self.budget("CREDLEDGER_CRASH_KILLS", 50)
        config.seed = Self.seed
        let summary = CrashDriver.run(config)
        print(summary.text + " (seed \(config.seed))")
        XCTAssertEqual(summary.failures, [], "seed \(config.seed)")
        XCTAssertEqual(summary.killPoints, config.killPoints)
        XCTAssertGreaterThanOrEqual(summary.killPoints, 50)
        // Most kills must land while the child is acknowledging, or the test proves little.
        XCTAssertGreaterThanOrEqual(summary.killsWhileRecording, config.killPoints * 6 / 10, summary.text)
        XCTAssertGreaterThan(summary.acknowledgedUses, 1_000, summary.text)
        XCTAssertGreaterThan(summary.acknowledgedCommands, 10, summary.text)
    }

    /// The same on one ledger that grows past a segment boundary (65,536 seqs), so kills also land around the fold of
    /// the usage and index projections' open segment (docs/FORMAT.md §6.0); `verify()` after every reopen compares
    /// the projections with a rebuild.
    func testKillNineAcrossASegmentFoldLosesNothing() throws {
        let binary = try benchBinary()
        var config = CrashDriver.Config(binary: binary, directory: try makeDirectory("crash-fold"))
        config.killPoints = 20
        // One ledger, killed until it crossed the first segment (65,536 seqs): on a busy machine that takes more kills.
        config.untilAcknowledgedUses = 70_000
        config.maxKillPoints = 150
        config.killsPerLedger = 150
        config.minDelay = 0.4
        config.maxDelay = 1.2
        config.earlyKillShare = 0.05
        config.seed = Self.seed
        let summary = CrashDriver.run(config)
        print(summary.text + " (seed \(config.seed))")
        XCTAssertEqual(summary.failures, [], "seed \(config.seed)")
        XCTAssertEqual(summary.ledgers, 1)
        XCTAssertGreaterThan(summary.acknowledgedUses, 70_000, "the ledger must cross seq 65,536: \(summary.text)")
    }

    /// The checker itself: an acknowledgement that is not in the log, or an out-of-order one, must be reported.
    func testCheckerReportsALostAcknowledgement() throws {
        let path = try makeDirectory("checker") + "/ledger"
        var config = CrashDriver.Config(binary: "/bin/false", directory: path)
        config.threads = 2
        config.killsPerLedger = 1
        let header: String
        do {
            let ledger = try Ledger(path: path, options: CrashDriver.options())
            defer { ledger.close() }
            header = try StressSetup.prepare(ledger, company: CrashDriver.company, admin: CrashDriver.admin,
                                             projects: CrashDriver.projects(run: 0, config))
            for ordinal in 0..<3 {
                _ = try ledger.access.check(header: header, company: CrashDriver.company, project: "r0w0",
                                     operation: StressRecord.operation(worker: 0, ordinal: ordinal))
            }
        }
        let head = try eventCount(path)
        let headBefore = head - 3
        let honest = CrashDriver.check(run: 0, path: path, lines: ["ready 0", "ack 0 0 \(head - 2)", "ack 0 1 \(head - 1)", "ack 0 2 \(head)"],
                                       headBefore: headBefore, config: config)
        XCTAssertEqual(honest.failures, [])
        XCTAssertEqual(honest.acknowledgedUses, 3)

        let lost = CrashDriver.check(run: 0, path: path, lines: ["ack 0 0 \(head)", "ack 0 1 \(head)", "ack 0 2 \(head)", "ack 0 3 \(head)", "ack 1 0 \(head)"],
                                     headBefore: headBefore, config: config)
        XCTAssertTrue(lost.failures.contains { $0.contains("worker 0") && $0.contains("lost 1") }, "\(lost.failures)")
        XCTAssertTrue(lost.failures.contains { $0.contains("worker 1") && $0.contains("lost 1") }, "\(lost.failures)")

        let early = CrashDriver.check(run: 0, path: path, lines: ["ack 0 0 1"], headBefore: headBefore, config: config)
        XCTAssertTrue(early.failures.contains { $0.contains("acknowledged with head 1") }, "\(early.failures)")

        let unordered = CrashDriver.check(run: 0, path: path, lines: ["ack 0 1 \(head)", "ack 0 0 \(head)"], headBefore: headBefore, config: config)
        XCTAssertTrue(unordered.failures.contains { $0.contains("submission order") }, "\(unordered.failures)")

        let beyond = CrashDriver.check(run: 0, path: path, lines: ["ack 0 0 \(head + 5)"], headBefore: headBefore, config: config)
        XCTAssertTrue(beyond.failures.contains { $0.contains("below an acknowledged head") }, "\(beyond.failures)")
    }

    /// A child that is not killed finishes its count and prints `done`; all its uses are in the log.
    func testRecordCommandAcknowledgesEveryUseItWasAskedFor() throws {
        let binary = try benchBinary()
        let path = try makeDirectory("record") + "/ledger"
        let header: String
        do {
            let ledger = try Ledger(path: path, options: CrashDriver.options())
            defer { ledger.close() }
            header = try StressSetup.prepare(ledger, company: "c", admin: "a@c.example", projects: ["p0", "p1"])
        }
        let before = try eventCount(path)
        let r = try ChildProcess.run(binary, ["stress", "record", "--db", path, "--company", "c", "--header", header,
                                              "--project-prefix", "p", "--threads", "2", "--window", "4", "--count", "250"])
        XCTAssertFalse(r.signaled)
        XCTAssertEqual(r.status, 0, r.stderr)
        let acks = r.stdout.split(separator: "\n").filter { $0.hasPrefix("ack ") }
        XCTAssertEqual(acks.count, 500)
        XCTAssertTrue(r.stdout.contains("done \(before + 500)"), r.stdout.suffix(200).description)
        XCTAssertEqual(try eventCount(path), before + 500)
    }
}
