import CredLedger
import CredLedgerServer
import Foundation
import TestSupport
import XCTest

/// The assembled front: a `LedgerServer` on a test ledger answers `/healthz` and 404s what no route takes.
final class ServeSkeletonTests: XCTestCase {
    func testHealthzAndUnknownPath() throws {
        let test = try TestLedger("serve-skeleton")
        defer { test.remove() }
        var settings = ServerSettings()
        settings.port = 0
        let server = try LedgerServer(ledger: test.ledger, settings: settings)
        try server.start()
        defer { server.shutdown(); server.wait() }
        XCTAssertEqual(server.context.issuer, "http://127.0.0.1:\(server.port)")
        let ok = try ExternalOracle.status(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "\(server.url)/healthz"])
        XCTAssertEqual(ok.output, "200")
        let missing = try ExternalOracle.status(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "\(server.url)/nothing-here"])
        XCTAssertEqual(missing.output, "404")
    }
}
