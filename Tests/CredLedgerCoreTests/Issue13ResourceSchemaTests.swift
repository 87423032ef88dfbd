import XCTest

import CredLedgerCore
import CredLedgerProjections

/// Issue 13: the RFC 8707 resource on `consent_given` and `token_issued` (schema 2, a trailing string written only
/// when there is one), the `invalid_target` reason, and the code row that keeps the resource.
final class Issue13ResourceSchemaTests: XCTestCase {
    private let consent = ConsentGiven(credential: 3, user: 5, codeHash: sampleDigest(0x50), challenge: sampleDigest(0x60),
                                       redirectURI: "https://app.example/cb", expiresAt: 1_767_225_660_000_000)
    private let issued = TokenIssued(credential: 2, user: 0, grant: .clientCredentials, accessHash: sampleDigest(0x70),
                                     accessExpiresAt: 1_767_229_200_000_000, refreshHash: nil, refreshExpiresAt: 0, codeHash: nil)

    private func event(_ payload: EventPayload) -> Event {
        Event(seq: 4, timestamp: 1_767_225_600_000_000, company: 1, actor: .user(5), payload: payload)
    }

    func testReasonCodeAndSchemasAreStable() {
        XCTAssertEqual(DenialReason.invalidTarget.rawValue, 54)
        XCTAssertEqual(DenialReason.invalidTarget.code, "invalid_target")
        XCTAssertEqual(DenialReason(code: "invalid_target"), .invalidTarget)
        XCTAssertEqual(EventType.consentGiven.currentSchema, 2)
        XCTAssertEqual(EventType.tokenIssued.currentSchema, 2)
    }

    func testWithoutAResourceTheBytesAreSchemaOneAsBefore() throws {
        // The consent_given bytes every earlier writer produced (schema 1): unchanged.
        let old = hexBytes("""
            01 0e 01 01 00000005 0006474846204000 00000001 0068
            00000003 00000005
            505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f
            606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f
            0016 68747470733a2f2f6170702e6578616d706c652f6362
            0006474849b3c700
            """)
        XCTAssertEqual(body(event(.consentGiven(consent))), old)
        let stored = try decode(old + [UInt8](repeating: 0, count: 32), seq: 4)
        XCTAssertEqual(stored.event.payload, .consentGiven(consent))
        XCTAssertEqual(body(event(.tokenIssued(issued)))[2], 1)
    }

    func testAResourceIsSchemaTwoAndRoundTrips() throws {
        for payload in [EventPayload.consentGiven(ConsentGiven(credential: 3, user: 5, codeHash: consent.codeHash, challenge: consent.challenge,
                                                              redirectURI: consent.redirectURI, expiresAt: consent.expiresAt,
                                                              resource: "https://api.example/mcp")),
                        .tokenIssued(TokenIssued(credential: 2, user: 0, grant: .clientCredentials, accessHash: issued.accessHash,
                                                 accessExpiresAt: issued.accessExpiresAt, refreshHash: nil, refreshExpiresAt: 0, codeHash: nil,
                                                 resource: "https://api.example/mcp"))] {
            let without: [UInt8]
            switch payload {
            case .consentGiven: without = body(event(.consentGiven(consent)))
            default: without = body(event(.tokenIssued(issued)))
            }
            let bytes = body(event(payload))
            XCTAssertEqual(bytes[2], 2)
            // The schema-1 payload, then the resource as a string (u16 length + UTF-8).
            XCTAssertEqual(Array(bytes[22..<without.count]), Array(without[22...]))
            XCTAssertEqual(Array(bytes[without.count...]), [0, 23] + Array("https://api.example/mcp".utf8))
            let stored = try decode(record(event(payload)).record, seq: 4)
            XCTAssertEqual(stored.event.payload, payload)
        }
    }

    func testSchemaTwoWithoutAResourceOrAnEmptyOneIsRefused() {
        // Schema 2 exists only with a resource: the schema-1 payload under byte 2 = 2 lacks it.
        var missing = body(event(.consentGiven(consent)))
        missing[2] = 2
        XCTAssertEqual(decodeFailure(missing + [UInt8](repeating: 0, count: 32), seq: 4)?.reason, .truncated)
        // An empty resource would be a second encoding of "none".
        var empty = body(event(.tokenIssued(issued))) + [0, 0]
        empty[2] = 2
        empty[21] += 2
        XCTAssertEqual(decodeFailure(empty + [UInt8](repeating: 0, count: 32), seq: 4)?.reason, .badString)
        // Schema 1 never carries one: the same bytes under schema 1 are trailing bytes.
        var trailing = body(event(.tokenIssued(TokenIssued(credential: 2, user: 0, grant: .clientCredentials, accessHash: issued.accessHash,
                                                             accessExpiresAt: issued.accessExpiresAt, refreshHash: nil, refreshExpiresAt: 0,
                                                             codeHash: nil, resource: "urn:x"))))
        trailing[2] = 1
        XCTAssertEqual(decodeFailure(trailing + [UInt8](repeating: 0, count: 32), seq: 4)?.reason, .trailingBytes)
    }

    func testTheCodeRowKeepsItsResourceAndOldRowsReadAsBefore() throws {
        let plain = CodeRecord(credential: 3, user: 5, status: .unused, family: 0, expiresAt: 10, approvedAt: 1, challenge: sampleDigest(1),
                               hash: sampleDigest(2), redirectURI: "https://app.example/cb")
        var bound = plain
        bound.resource = "https://api.example/mcp"
        XCTAssertEqual(bound.bytes.count, plain.bytes.count + 2 + 23)
        XCTAssertEqual(Array(bound.bytes.prefix(plain.bytes.count)), plain.bytes)
        XCTAssertEqual(try CodeRecord.decode(plain.bytes).resource, nil)
        XCTAssertEqual(try CodeRecord.decode(bound.bytes).resource, "https://api.example/mcp")
        XCTAssertThrowsError(try CodeRecord.decode(plain.bytes + [0, 0]), "an empty trailing resource is no row this code writes")
    }

    func testResourceURIRule() {
        for good in ["https://api.example/mcp", "https://api.example:8443/v1?x=1", "urn:example:api", "http://127.0.0.1:9/"] {
            XCTAssertTrue(ResourceURI.isValid(good), good)
        }
        for bad in ["", "api.example/mcp", "/relative", "https://api.example/#frag", "https:///nohost", "https://a b.example/",
                    "1http://x.example/", "https://api.example/é", "urn:x:" + String(repeating: "b", count: 2043)] {
            XCTAssertFalse(ResourceURI.isValid(bad), bad)
        }
    }
}
