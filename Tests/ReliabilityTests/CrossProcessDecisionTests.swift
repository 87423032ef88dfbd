@testable import CredLedger
import CredLedgerCore
@testable import CredLedgerLab
import Foundation
import XCTest

/// A server's decisions and a revoke made by another process: the server's read transactions are kept between
/// decisions with their snapshot held while it is the newest commit, so a commit of *another* process (which this
/// process's own commits cannot reset) must still be seen by the next decision.
final class CrossProcessDecisionTests: ReliabilityTestCase {
    func testARevokeCommittedByAnotherProcessIsSeenByTheNextDecision() throws {
        let binary = try credledgerBinary()
        let path = try makeDirectory("cross-process-decision") + "/ledger"
        var options = testOptions()
        options.clock = SystemClock()  // the CLI's events carry the real time
        let ledger = try Ledger(path: path, options: options)
        defer { ledger.close() }
        func cli(_ arguments: [String]) throws -> String {
            let result = try ChildProcess.run(binary, ["--json"] + arguments + ["--db", path])
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            return result.stdout
        }
        _ = try cli(["company", "create", "acme", "--admin", "alice@acme.example", "--mail-domain", "acme.example"])
        _ = try cli(["company", "enable-api", "acme", "--as", "alice@acme.example"])
        _ = try cli(["project", "create", "acme", "bridge", "--as", "alice@acme.example"])
        let created = try JSONSerialization.jsonObject(with: Data(try cli(["key", "create", "acme", "--name", "Sync", "--type", "static",
                                                                          "--scope", "read", "--as", "alice@acme.example"]).utf8))
        let fields = try XCTUnwrap(created as? [String: Any])
        let id = try XCTUnwrap(fields["id"] as? String), secret = try XCTUnwrap(fields["secret"] as? String)
        _ = try cli(["access", "grant", "acme", id, "bridge", "--role", "viewer", "--as", "alice@acme.example"])

        func decide() throws -> Decision {
            try ledger.access.authorize(header: "Apikey " + secret, company: "acme", project: "bridge", operation: .read)
        }
        // Several decisions in a row: after the first, each takes the held snapshot as it is.
        for _ in 0..<5 { XCTAssertEqual(try decide().code, "allowed") }
        _ = try cli(["access", "revoke", "acme", id, "bridge", "--as", "alice@acme.example"])
        XCTAssertEqual(try decide().code, DenialReason.projectAccessMissing.code, "the other process's revoke")
        _ = try cli(["access", "grant", "acme", id, "bridge", "--role", "viewer", "--as", "alice@acme.example"])
        for _ in 0..<3 { XCTAssertEqual(try decide().code, "allowed") }
        _ = try cli(["key", "delete", "acme", id, "--yes", "--as", "alice@acme.example"])
        XCTAssertEqual(try decide().code, DenialReason.revoked.code, "the other process's delete")

        // The server records a use (its writer accounts for the other process's commits): decisions are then
        // answered from memory, until the other process changes something.
        let second = try JSONSerialization.jsonObject(with: Data(try cli(["key", "create", "acme", "--name", "Second", "--type", "static",
                                                                         "--scope", "read", "--as", "alice@acme.example"]).utf8))
        let secondFields = try XCTUnwrap(second as? [String: Any])
        let secondID = try XCTUnwrap(secondFields["id"] as? String)
        let secondSecret = try XCTUnwrap(secondFields["secret"] as? String)
        _ = try cli(["access", "grant", "acme", secondID, "bridge", "--role", "viewer", "--as", "alice@acme.example"])
        func decideSecond() throws -> Decision {
            try ledger.access.authorize(header: "Apikey " + secondSecret, company: "acme", project: "bridge", operation: .read)
        }
        XCTAssertEqual(try ledger.access.check(header: "Apikey " + secondSecret, company: "acme", project: "bridge", operation: .read).code,
                       "allowed")
        XCTAssertEqual(try decideSecond().code, "allowed")
        // With every read transaction refused, only a decision kept in memory succeeds.
        ledger.environment.faultInjector = { $0 == .txnBegin ? EIO : nil }
        let fromMemory = try? decideSecond()
        ledger.environment.faultInjector = nil
        XCTAssertEqual(fromMemory?.code, "allowed", "kept in memory")
        _ = try cli(["access", "revoke", "acme", secondID, "bridge", "--as", "alice@acme.example"])
        XCTAssertEqual(try decideSecond().code, DenialReason.projectAccessMissing.code, "the other process's revoke, with a kept decision")
        _ = try cli(["access", "grant", "acme", secondID, "bridge", "--role", "viewer", "--as", "alice@acme.example"])
        XCTAssertEqual(try decideSecond().code, "allowed")
        _ = try cli(["key", "delete", "acme", secondID, "--yes", "--as", "alice@acme.example"])
        XCTAssertEqual(try decideSecond().code, DenialReason.revoked.code, "the other process's delete, with a kept decision")
    }
}
