@testable import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// The transparency service's async forms run the blocking reads on the reader pool: the same heads, proofs, audits,
/// proven answers and signatures, and the same errors.
final class TransparencyAsyncTests: XCTestCase {
    /// Runs `body` in a synchronous closure, where a call picks the blocking overload (in an async context Swift picks
    /// the async one).
    private func blocking<R>(_ body: () throws -> R) rethrows -> R { try body() }

    func testAsyncFormsAnswerAsTheBlockingOnes() async throws {
        let t = try TestLedger("transparency-async")
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .global)
        try blocking {
            for _ in 0..<40 {
                _ = try t.ledger.access.check(header: "Apikey " + key.secret!, company: World.acme, project: World.bridge, operation: .read)
                t.tick()
            }
        }
        let tree = t.ledger.transparency
        let size = t.head.seq
        XCTAssertGreaterThan(size, 30)

        let head = try await tree.treeHead()
        XCTAssertEqual(head, try blocking { try tree.treeHead() })
        XCTAssertEqual(head.size, size)
        let head10 = try await tree.treeHead(size: 10)
        XCTAssertEqual(head10, try blocking { try tree.treeHead(size: 10) })
        let inclusion = try await tree.inclusionProof(seq: 5, size: 20)
        XCTAssertEqual(inclusion, try blocking { try tree.inclusionProof(seq: 5, size: 20) })
        let consistency = try await tree.consistencyProof(old: 10, new: size)
        XCTAssertEqual(consistency, try blocking { try tree.consistencyProof(old: 10, new: size) })
        XCTAssertNoThrow(try consistency.verify(oldRoot: head10.root, newRoot: head.root))

        let audit = try await tree.audit(checkpoint: head10)
        XCTAssertTrue(audit.ok, "\(audit.findings)")
        XCTAssertEqual(audit.logSize, size)
        let (provenHead, proven) = try await tree.provenEvents([1, 2, 3], size: 20)
        let sync = try blocking { try tree.provenEvents([1, 2, 3], size: 20) }
        XCTAssertEqual(provenHead, sync.0)
        XCTAssertEqual(proven, sync.1)
        let access = try await tree.provenAccess(company: World.acme, project: World.bridge, operation: .read, at: .head)
        let accessBlocking = try blocking { try tree.provenAccess(company: World.acme, project: World.bridge, operation: .read, at: .head) }
        XCTAssertEqual(access.events, accessBlocking.events)
        XCTAssertFalse(access.events.isEmpty)

        // Ed25519 is deterministic: the same head signed with the same key gives the same note either way.
        let signer = try Ed25519NoteSigner(name: "example.com/ledger", privateKey: try Ed25519.PrivateKey(seed: [UInt8](repeating: 7, count: 32)))
        let lastSigned = t.directory.appending("last-signed")
        let signed = try await tree.signCheckpoint(key: signer, lastSigned: lastSigned)
        XCTAssertEqual(signed.note, try blocking { try tree.signCheckpoint(key: signer, lastSigned: lastSigned).note })
        XCTAssertEqual(signed.checkpoint.size, size)

        // Errors come back as the blocking form throws them.
        do {
            _ = try await tree.inclusionProof(seq: size + 100)
            XCTFail("an event past the head has no inclusion proof")
        } catch {
            try blocking { XCTAssertThrowsError(try tree.inclusionProof(seq: size + 100)) { XCTAssertEqual("\($0)", "\(error)") } }
        }
    }
}
