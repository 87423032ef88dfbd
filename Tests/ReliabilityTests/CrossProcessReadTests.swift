import CredLedger
import CredLedgerCore
@testable import CredLedgerLab
import Foundation
import XCTest

/// A long-running writer process (a server) reads what another process committed: its audit reads are pinned to the
/// log's committed head, not to its own writer's, which moves only with its own batches.
final class CrossProcessReadTests: ReliabilityTestCase {
    func testAuditReadsOfAWriterSeeAnotherProcessesCommits() throws {
        let binary = try credledgerBinary()
        let path = try makeDirectory("cross-process") + "/ledger"
        let ledger = try Ledger(path: path, options: testOptions())
        defer { ledger.close() }
        XCTAssertEqual(try ledger.audit.auditEvents(AuditQuery()).events.count, 0)
        let created = try ChildProcess.run(binary, ["company", "create", "acme", "--admin", "alice@acme.example", "--mail-domain", "acme.example",
                                                    "--db", path])
        XCTAssertEqual(created.status, 0, created.stderr)
        let project = try ChildProcess.run(binary, ["project", "create", "acme", "bridge", "--as", "alice@acme.example", "--db", path])
        XCTAssertEqual(project.status, 0, project.stderr)
        // The events the CLI wrote, seen at once by this process (which has written nothing since).
        let events = try ledger.audit.auditEvents(AuditQuery()).events
        XCTAssertEqual(events.count, try ledger.audit.events().count)
        XCTAssertGreaterThanOrEqual(events.count, 2)
        XCTAssertEqual(Set(events.map(\.event.type)).isSuperset(of: [.companyRegistered, .projectCreated]), true, "\(events.map(\.event.type))")
    }
}
