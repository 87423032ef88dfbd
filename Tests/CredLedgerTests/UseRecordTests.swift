@testable import CredLedger
import CredLedgerCore
import XCTest

/// The writer's stack-built `credential_used` record (`UseRecord`, padded in place and hashed in one two-block
/// compression) against the reference: `EventCodec.encodeBody` + `HashChain.link` (streaming SHA-256), over seeded
/// random uses, actors, times and previous hashes — field values at their extremes included.
final class UseRecordTests: XCTestCase {
    func testRandomUsesEqualTheCodecAndTheStreamingLink() {
        XCTAssertTrue(UseRecord.isExact, "the start-up self-check chose the stack record")
        var random = SplitMix64(seed: 0x5553_45)
        let edges: [UInt32] = [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF]
        func pick() -> UInt32 { Bool.random(using: &random) ? edges.randomElement(using: &random)! : UInt32.random(in: 0...UInt32.max, using: &random) }
        var previous = SHA256.hash([9])
        for i in 0..<2_000 {
            let credential = pick()
            let denial: DenialReason? = Bool.random(using: &random) ? nil : DenialReason.allCases.randomElement(using: &random)
            let use = CredentialUse(credential: credential, project: pick(), operation: Bool.random(using: &random) ? .read : .write, denial: denial)
            let seq = i % 3 == 0 ? UInt64.random(in: 1...UInt64.max, using: &random) : UInt64(i + 1)
            let time = Int64.random(in: 0...Int64.max, using: &random)
            let event = Event(seq: seq, timestamp: time, company: pick(), actor: credential == 0 ? .system : .credential(credential),
                              payload: .credentialUsed(use))
            var w = ByteWriter(capacity: 64)
            EventCodec.encodeBody(event, into: &w)
            let link = w.bytes.withUnsafeBytes { HashChain.link(previous: previous, seq: seq, body: $0) }
            UseRecord.withRecord(event, use, previous: previous) { record, hash in
                XCTAssertEqual(hash, link, "link of use \(i)")
                XCTAssertEqual(Array(record), w.bytes + link.bytes, "record of use \(i)")
            }
            previous = link
        }
    }
}
