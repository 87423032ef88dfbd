import XCTest

import CredLedgerCore

/// Issue 11, item 11: `credential_used` schema 2 — an optional trailing target company (a use at another company,
/// recorded in the credential's own), and the upcast of schema-1 records.
final class Issue11UseSchemaTests: XCTestCase {
    private let crossUse = Event(seq: 7, timestamp: 1_767_225_601_500_000, company: 1, actor: .credential(3),
                                 payload: .credentialUsed(CredentialUse(credential: 3, project: 0, operation: .read,
                                                                        denial: .crossCompany, targetCompany: 2)))

    func testNewReasonCodesAreStable() {
        XCTAssertEqual(DenialReason.crossCompany.rawValue, 25)
        XCTAssertEqual(DenialReason.crossCompany.code, "cross_company")
        XCTAssertEqual(DenialReason.foreignCredential.rawValue, 26)
        XCTAssertEqual(DenialReason.foreignCredential.code, "foreign_credential")
        XCTAssertEqual(DenialReason(code: "foreign_credential"), .foreignCredential)
        XCTAssertEqual(EventType.credentialUsed.currentSchema, 2)
    }

    func testATargetCompanyIsFourMoreBytesAndRoundTrips() throws {
        let bytes = body(crossUse)
        XCTAssertEqual(Array(bytes[0..<3]), [1, 18, 2])
        XCTAssertEqual(bytes.count, 22 + 14)
        XCTAssertEqual(Array(bytes[22...]), hexBytes("00000003 00000000 01 19 00000002"))
        let stored = try decode(record(crossUse).record, seq: crossUse.seq)
        XCTAssertEqual(stored.event, crossUse)
    }

    func testTheCommonUseKeepsItsTenBytes() {
        var same = crossUse
        same.payload = .credentialUsed(CredentialUse(credential: 3, project: 4, operation: .write, denial: nil))
        let bytes = body(same)
        XCTAssertEqual(bytes.count, 22 + 10)
        XCTAssertEqual(bytes[2], 2)
    }

    func testSchemaOneRecordsUpcastToNoTarget() throws {
        // A record written before schema 2 (the old worked example's bytes): read with target 0.
        let old = hexBytes("""
            01 12 01 02 00000003 0006474846372360 00000001 000a
            00000003 00000002 02 1f
            """) + [UInt8](repeating: 0, count: 32)
        let stored = try decode(old, seq: 2)
        XCTAssertEqual(stored.event.payload, .credentialUsed(CredentialUse(credential: 3, project: 2, operation: .write, denial: .readOnlyScope)))
        // Schema 1 never had a target: 4 more bytes are trailing bytes there.
        var longer = Array(old[0..<32]) + [0, 0, 0, 2]
        longer[21] = 14
        XCTAssertEqual(decodeFailure(longer + [UInt8](repeating: 0, count: 32), seq: 2)?.reason, .trailingBytes)
    }

    func testAStoredTargetOfZeroOrAPartialTargetIsRefused() {
        var bytes = body(crossUse)
        bytes[32...35] = [0, 0, 0, 0]
        XCTAssertEqual(decodeFailure(bytes + [UInt8](repeating: 0, count: 32), seq: 7)?.reason, .badEnum)
        for extra in 1...3 {
            var partial = Array(body(crossUse)[0..<(32 + extra)])
            partial[21] = UInt8(10 + extra)
            XCTAssertEqual(decodeFailure(partial + [UInt8](repeating: 0, count: 32), seq: 7)?.reason, .trailingBytes, "\(extra) bytes")
        }
    }
}
