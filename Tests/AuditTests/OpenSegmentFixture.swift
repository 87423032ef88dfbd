@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import TestSupport
import XCTest

/// The open-segment tests' ledger (docs/FORMAT.md §6.0): a company with one project and one static key, and two
/// decisions of that key to record — one allowed, one denied.
struct OpenSegmentFixture {
    /// The last seq of segment 0.
    static let segmentEnd = PostingIndex.firstSeq(of: 1) - 1

    let t: TestLedger
    let allowed: Decision
    let denied: Decision
    let credential: UInt32
    var ledger: Ledger { t.ledger }

    init(_ label: String) throws {
        let t = try TestLedger(label)
        let ledger = t.ledger!
        try ledger.administration.registerCompany(World.acme, admin: World.alice, mailDomain: "acme.example")
        try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        try ledger.administration.createProject(World.acme, project: "bridge", as: World.alice)
        let key = try ledger.administration.createCredential(World.acme, NewCredential(name: "k", type: .staticKey, scope: .global),
                                                             as: World.alice)
        let header = "Apikey " + (key.secret ?? "")
        allowed = try ledger.access.authorize(header: header, company: World.acme, project: "bridge", operation: .write)
        denied = try ledger.access.authorize(header: header, company: World.acme, project: "nowhere", operation: .read)
        XCTAssertTrue(allowed.allowed)
        XCTAssertFalse(denied.allowed)
        credential = try XCTUnwrap(try ledger.audit.withState { try $0.credential(publicID: key.id)?.number })
        self.t = t
    }

    /// The segments `ix` holds rows of (read raw): the folded ones.
    func foldedSegments() throws -> Set<UInt32> {
        try ledger.audit.withState { state in
            var segments = Set<UInt32>()
            try state.store.scan(.index, from: []) { key, _ in
                segments.insert(UInt32(bigEndianBytes: Array(key.prefix(4))) ?? .max)
                return true
            }
            return segments
        }
    }

    /// Records uses until the head is `seq` (every third one denied); returns how many of each it recorded.
    @discardableResult
    func record(through seq: UInt64) throws -> (allowed: UInt64, denied: UInt64) {
        var allowed: UInt64 = 0, denied: UInt64 = 0
        while ledger.head.seq < seq {
            let n = min(4_096, Int(seq - ledger.head.seq))
            let batch = (0..<n).map { i in (ledger.head.seq + UInt64(i)) % 3 == 0 ? self.denied : self.allowed }
            try ledger.access.record(batch: batch)
            for d in batch { if d.allowed { allowed += 1 } else { denied += 1 } }
        }
        XCTAssertEqual(ledger.head.seq, seq)
        return (allowed, denied)
    }
}
