import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// A batch that appends nothing — a successful introspection (which runs on the writer since issue 11, item 4, to
/// share client authentication with the token endpoint) or an admin command refused by a rule — changes no page of
/// the file: no checkpoint rewrite, so no LMDB commit write and no fsync for a read.
final class WriterNoOpBatchTests: XCTestCase {
    private func fileDigest(_ t: TestLedger) throws -> SHA256Digest {
        SHA256.hash([UInt8](try Data(contentsOf: URL(fileURLWithPath: t.path + "/data.mdb"))))
    }

    func testBatchesThatAppendNothingLeaveTheFileUntouched() throws {
        let t = try TestLedger("noop-batch", seed: 77)
        defer { t.remove() }
        try t.makeWorld()
        let api = try t.create(.oauth, .global)
        let token = try t.ledger.oauth.clientCredentialsToken(clientID: api.clientID!, clientSecret: api.clientSecret!)
        let head = t.ledger.head
        let before = try fileDigest(t)

        let seen = try t.ledger.oauth.introspect(token.accessToken, clientID: api.clientID!, clientSecret: api.clientSecret!)
        XCTAssertTrue(seen.active)
        XCTAssertThrowsError(try t.ledger.administration.createProject(World.acme, project: "refused", as: World.bob)) { error in
            XCTAssertEqual((error as? LedgerError)?.code, "not_company_admin")
        }
        XCTAssertEqual(t.ledger.head, head)
        XCTAssertEqual(try fileDigest(t), before, "a batch that appended nothing wrote to the file")

        // The control: a command that appends changes the file (so the comparison above can fail).
        try t.ledger.administration.createProject(World.acme, project: "accepted", as: World.alice)
        XCTAssertNotEqual(try fileDigest(t), before)
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }
}
