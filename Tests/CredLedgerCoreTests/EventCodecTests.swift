import XCTest

import CredLedgerCore

/// The two hand-written records of docs/FORMAT.md §"Worked example" (seq 1 and 2 of one chain).
enum Fixture {
    /// seq 1: `company_registered` acme / "Acme AB" / acme.example, by the system, company 1, at 2026-01-01T00:00:00Z.
    static let companyRegisteredEvent = Event(
        seq: 1, timestamp: 1_767_225_600_000_000, company: 1, actor: .system,
        payload: .companyRegistered(slug: "acme", name: "Acme AB", mailDomain: "acme.example"))
    static let companyRegisteredBody = hexBytes("""
        01 01 01 00 00000000 0006474846204000 00000001 001d
        0004 61636d65 0007 41636d65204142 000c 61636d652e6578616d706c65
        """)
    static let companyRegisteredHash = "998c8e6596082617d47b184ee75a5a19340daf00569d1c617f13c53a6064cfe1"

    /// seq 2: `credential_used` by credential 3 on project 2, write, denied read_only_scope (31), 1.5 s later.
    static let credentialUsedEvent = Event(
        seq: 2, timestamp: 1_767_225_601_500_000, company: 1, actor: .credential(3),
        payload: .credentialUsed(CredentialUse(credential: 3, project: 2, operation: .write, denial: .readOnlyScope)))
    static let credentialUsedBody = hexBytes("""
        01 12 02 02 00000003 0006474846372360 00000001 000a
        00000003 00000002 02 1f
        """)
    static let credentialUsedHash = "6618ab108c158e2a948a53ced1ef35e4312e563670354528f9c72ab6d4826535"
}

final class EventCodecTests: XCTestCase {
    // MARK: round trips

    func testSamplesCoverEveryEventTypeAndEnumValue() {
        let types = Set(Samples.payloads.map(\.type))
        XCTAssertEqual(types.count, EventType.allCases.count)
        XCTAssertEqual(EventType.allCases.count, 21)
        for type in EventType.allCases { XCTAssertTrue(types.contains(type), "no sample for \(type.name)") }
    }

    func testEveryPayloadRoundTrips() throws {
        for event in Samples.events {
            let (bytes, hash) = record(event)
            let stored = try decode(bytes, seq: event.seq)
            XCTAssertEqual(stored.event, event, "\(event.type.name)")
            XCTAssertEqual(stored.hash, hash)
            XCTAssertEqual(bytes.count, EventCodec.headerSize + Int(UInt16(bytes[20]) << 8 | UInt16(bytes[21])) + EventCodec.hashSize)
            // Re-encoding the decoded event gives the same bytes.
            XCTAssertEqual(body(stored.event) + stored.hash.bytes, bytes)
        }
    }

    func testHeaderFieldsAreReadWithoutThePayload() throws {
        for event in Samples.events {
            let bytes = record(event).record
            let header = try bytes.withUnsafeBytes { raw throws(EventCodecError) in try EventCodec.decodeHeader(seq: event.seq, record: raw) }
            XCTAssertEqual(header.type, event.type)
            XCTAssertEqual(header.schema, event.payload.schema)
            XCTAssertEqual(header.actor, event.actor)
            XCTAssertEqual(header.timestamp, event.timestamp)
            XCTAssertEqual(header.company, event.company)
            XCTAssertEqual(header.bodyLength, bytes.count - 32)
        }
    }

    func testEventTypeCodesAndNamesAreStable() {
        let expected: [(UInt8, String)] = [
            (1, "company_registered"), (2, "api_module_enabled"), (3, "api_module_disabled"), (4, "member_role_set"),
            (5, "project_created"), (6, "project_archived"), (7, "credential_created"), (8, "secret_rotated"),
            (9, "credential_deleted"), (10, "project_access_granted"), (11, "project_access_changed"),
            (12, "project_access_revoked"), (13, "user_project_role_set"), (14, "consent_given"), (15, "token_issued"),
            (16, "token_refreshed"), (17, "token_revoked"), (18, "credential_used"), (19, "oauth_request_denied"),
            (20, "code_revoked"), (21, "log_accepted"),
        ]
        XCTAssertEqual(EventType.allCases.map { ($0.rawValue) }, expected.map(\.0))
        XCTAssertEqual(EventType.allCases.map(\.name), expected.map(\.1))
        for type in EventType.allCases { XCTAssertEqual(EventType(name: type.name), type) }
        XCTAssertNil(EventType(name: "CredentialUsed"))
    }

    // MARK: hand-made fixtures

    func testCredentialUsedFixtureBytes() throws {
        let event = Fixture.credentialUsedEvent
        XCTAssertEqual(Fixture.credentialUsedBody.count, 22 + 10)
        XCTAssertEqual(body(event), Fixture.credentialUsedBody)
        let previous = digest(Fixture.companyRegisteredHash)
        let (bytes, hash) = record(event, previous: previous)
        XCTAssertEqual(hash.hex, Fixture.credentialUsedHash)
        XCTAssertEqual(bytes, Fixture.credentialUsedBody + hexBytes(Fixture.credentialUsedHash))
        let stored = try decode(Fixture.credentialUsedBody + hexBytes(Fixture.credentialUsedHash), seq: 2)
        XCTAssertEqual(stored.event, event)
        XCTAssertEqual(stored.hash.hex, Fixture.credentialUsedHash)
    }

    func testCompanyRegisteredFixtureBytes() throws {
        let event = Fixture.companyRegisteredEvent
        XCTAssertEqual(Fixture.companyRegisteredBody.count, 22 + 29)
        XCTAssertEqual(body(event), Fixture.companyRegisteredBody)
        let (bytes, hash) = record(event)
        XCTAssertEqual(hash.hex, Fixture.companyRegisteredHash)
        XCTAssertEqual(bytes, Fixture.companyRegisteredBody + hexBytes(Fixture.companyRegisteredHash))
        let stored = try decode(bytes, seq: 1)
        XCTAssertEqual(stored.event, event)
    }

    func testOptionalDigestAndListFixtureBytes() throws {
        // token_issued with refresh present and code absent; credential_created with two redirect URIs.
        let a = sampleDigest(0), r = sampleDigest(0x20)
        let issued = Event(seq: 9, timestamp: 0, company: 0, actor: .system, payload: .tokenIssued(TokenIssued(
            credential: 2, user: 0, grant: .refreshToken, accessHash: a, accessExpiresAt: 16, refreshHash: r, refreshExpiresAt: -1, codeHash: nil)))
        let payload = hexBytes("00000002 00000000 03") + a.bytes + hexBytes("0000000000000010 01") + r.bytes
            + hexBytes("ffffffffffffffff 00")
        XCTAssertEqual(body(issued), hexBytes("01 0f 01 00 00000000 0000000000000000 00000000") + [0, UInt8(payload.count)] + payload)

        let created = Event(seq: 9, timestamp: 0, company: 0, actor: .user(7), payload: .credentialCreated(CredentialCreated(
            credential: 5, type: .pkcePublic, scope: .global, publicID: "p", name: "n", serviceUser: "", displayPrefix: "d",
            clientID: "c", secretHash: nil, expiresAt: 0, redirectURIs: ["u1", "u2"])))
        let createdPayload = hexBytes("00000005 04 03 0001 70 0001 6e 0000 0001 64 0001 63 00 0000000000000000 02 0002 7531 0002 7532")
        XCTAssertEqual(body(created), hexBytes("01 07 01 01 00000007 0000000000000000 00000000") + [0, UInt8(createdPayload.count)] + createdPayload)
    }

    // MARK: malformed input

    func testEveryTruncatedPrefixThrows() {
        for event in Samples.events.prefix(40) + [Fixture.companyRegisteredEvent, Fixture.credentialUsedEvent] {
            let bytes = record(event).record
            for n in 0..<bytes.count {
                let error = decodeFailure(Array(bytes[0..<n]), seq: event.seq)
                XCTAssertNotNil(error, "\(event.type.name): prefix of \(n) bytes decoded")
                if let error {
                    XCTAssertEqual(error.seq, event.seq)
                    XCTAssertEqual(error.reason, n < 22 ? .truncated : .lengthMismatch, "\(event.type.name) prefix \(n)")
                }
            }
        }
    }

    /// A payload cut short, with the length field made consistent: the payload decoder itself must notice.
    func testEveryTruncatedPayloadWithConsistentLengthThrows() {
        for event in Samples.events {
            let full = body(event)
            for cut in 22..<full.count {
                var bytes = Array(full[0..<cut])
                let length = UInt16(cut - 22)
                bytes[20] = UInt8(length >> 8); bytes[21] = UInt8(length & 0xFF)
                bytes += [UInt8](repeating: 0xAB, count: 32)
                let error = decodeFailure(bytes, seq: event.seq)
                XCTAssertNotNil(error, "\(event.type.name): payload cut at \(cut) decoded")
            }
        }
    }

    func testTrailingByteAfterTheHashIsALengthMismatch() {
        for event in Samples.events {
            let bytes = record(event).record + [0]
            XCTAssertEqual(decodeFailure(bytes)?.reason, .lengthMismatch)
        }
    }

    func testTrailingByteInsideThePayloadIsReported() {
        for event in Samples.events {
            var bytes = body(event) + [0x00]
            let length = UInt16(bytes.count - 22)
            bytes[20] = UInt8(length >> 8); bytes[21] = UInt8(length & 0xFF)
            let error = decodeFailure(bytes + [UInt8](repeating: 0, count: 32), seq: 5)
            XCTAssertEqual(error?.reason, .trailingBytes, "\(event.type.name)")
            XCTAssertEqual(error?.offset, bytes.count - 1)
        }
    }

    func testLengthFieldThatDisagreesIsALengthMismatch() {
        let bytes = record(Fixture.credentialUsedEvent).record
        for length: UInt16 in [0, 9, 11, 0xFFFF] {
            var patched = bytes
            patched[20] = UInt8(length >> 8); patched[21] = UInt8(length & 0xFF)
            let error = decodeFailure(patched, seq: 2)
            XCTAssertEqual(error?.reason, .lengthMismatch)
            XCTAssertEqual(error?.offset, 20)
        }
    }

    func testHeaderErrorsHaveSpecificReasons() {
        let good = record(Fixture.credentialUsedEvent).record
        func patched(_ changes: [Int: UInt8]) -> [UInt8] {
            var b = good
            for (i, v) in changes { b[i] = v }
            return b
        }
        XCTAssertNil(decodeFailure(good))
        for version: UInt8 in [0, 2, 0xFF] {
            XCTAssertEqual(decodeFailure(patched([0: version])), EventCodecError(.unknownFormatVersion, seq: 1, offset: 0))
        }
        for type: UInt8 in [0, 22, 0x7F, 0xFF] {
            XCTAssertEqual(decodeFailure(patched([1: type])), EventCodecError(.unknownType, seq: 1, offset: 1))
        }
        for schema: UInt8 in [0, 3, 0xFF] {   // credential_used is at schema 2 (docs/FORMAT.md §7)
            XCTAssertEqual(decodeFailure(patched([2: schema])), EventCodecError(.unknownSchemaVersion, seq: 1, offset: 2))
        }
        // kind 3; system with an id; user and credential without one.
        XCTAssertEqual(decodeFailure(patched([3: 3]))?.reason, .badActor)
        XCTAssertEqual(decodeFailure(patched([3: 0]))?.reason, .badActor)
        XCTAssertEqual(decodeFailure(patched([3: 1, 7: 0]))?.reason, .badActor)
        XCTAssertEqual(decodeFailure(patched([3: 2, 7: 0]))?.reason, .badActor)
        XCTAssertNil(decodeFailure(patched([3: 0, 7: 0])), "system actor with id 0 is valid")
    }

    func testBadEnumBytesAreReported() {
        let used = record(Fixture.credentialUsedEvent).record
        // operation at 22+8, denial at 22+9.
        for (offset, value) in [(30, 0), (30, 3), (31, 4), (31, 99), (31, 0xFF)] as [(Int, UInt8)] {
            var b = used
            b[offset] = value
            let error = decodeFailure(b)
            XCTAssertEqual(error?.reason, .badEnum, "byte \(offset) = \(value)")
            XCTAssertEqual(error?.offset, offset + 1, "offset just past the bad byte")
        }
        var allowed = used
        allowed[31] = 0
        XCTAssertNil(decodeFailure(allowed), "denial 0 means allowed")

        func mutated(_ payload: EventPayload, at payloadOffset: Int, to value: UInt8) -> EventCodecError? {
            var b = record(Event(seq: 1, timestamp: 0, company: 1, actor: .system, payload: payload)).record
            b[22 + payloadOffset] = value
            return decodeFailure(b)
        }
        let created = Samples.payloads.first { if case .credentialCreated = $0 { true } else { false } }!
        XCTAssertEqual(mutated(created, at: 4, to: 0)?.reason, .badEnum, "credential type 0")
        XCTAssertEqual(mutated(created, at: 4, to: 5)?.reason, .badEnum, "credential type 5")
        XCTAssertEqual(mutated(created, at: 5, to: 0)?.reason, .badEnum, "scope 0")
        XCTAssertEqual(mutated(created, at: 5, to: 4)?.reason, .badEnum, "scope 4")
        XCTAssertEqual(mutated(.memberRoleSet(user: 1, email: "a@b.c", role: .admin), at: 4 + 2 + 5, to: 3)?.reason, .badEnum)
        XCTAssertEqual(mutated(.projectAccessGranted(credential: 1, project: 2, role: .viewer), at: 8, to: 0)?.reason, .badEnum)
        XCTAssertEqual(mutated(.projectAccessChanged(credential: 1, project: 2, role: .viewer), at: 8, to: 4)?.reason, .badEnum)
        XCTAssertEqual(mutated(.userProjectRoleSet(user: 1, project: 2, role: nil), at: 8, to: 4)?.reason, .badEnum)
        let revoke = EventPayload.tokenRevoked(TokenRevoked(credential: 1, family: 2, tokenHash: .zero, wholeFamily: false, reason: .clientRequest))
        XCTAssertEqual(mutated(revoke, at: 44, to: 2)?.reason, .badEnum, "wholeFamily 2")
        XCTAssertEqual(mutated(revoke, at: 45, to: 0)?.reason, .badEnum, "reason 0")
        XCTAssertEqual(mutated(revoke, at: 45, to: 5)?.reason, .badEnum, "reason 5")
        XCTAssertNil(mutated(revoke, at: 45, to: 4), "reason 4 is user_removed")
        // code_revoked: credential, user, code hash, reason at 40.
        let codeRevoked = EventPayload.codeRevoked(CodeRevoked(credential: 1, user: 2, codeHash: .zero, reason: .userRemoved))
        XCTAssertEqual(mutated(codeRevoked, at: 40, to: 0)?.reason, .badEnum, "code_revoked reason 0")
        XCTAssertEqual(mutated(codeRevoked, at: 40, to: 5)?.reason, .badEnum, "code_revoked reason 5")
        let issued = EventPayload.tokenIssued(TokenIssued(credential: 1, user: 0, grant: .clientCredentials, accessHash: .zero,
                                                          accessExpiresAt: 0, refreshHash: nil, refreshExpiresAt: 0, codeHash: nil))
        XCTAssertEqual(mutated(issued, at: 8, to: 7)?.reason, .badEnum, "grant 7 (5 introspection and 6 revocation exist since issue 11)")
        XCTAssertEqual(mutated(issued, at: 49, to: 2)?.reason, .badEnum, "optional-digest flag 2")
        let denied = EventPayload.oauthRequestDenied(credential: 1, user: 2, grant: .authorize, reason: .accessDenied)
        XCTAssertEqual(mutated(denied, at: 8, to: 9)?.reason, .badEnum)
        XCTAssertEqual(mutated(denied, at: 9, to: 0)?.reason, .badEnum, "oauth_request_denied always has a reason")
    }

    func testBadUTF8IsABadString() {
        let good = record(Fixture.companyRegisteredEvent).record
        // slug "acme" at payload offset 2…5; put invalid sequences there.
        for bad: [UInt8] in [[0xFF, 0x61, 0x61, 0x61], [0xC3, 0x28, 0x61, 0x61], [0xED, 0xA0, 0x80, 0x61], [0xC0, 0xAF, 0x61, 0x61]] {
            var b = good
            b.replaceSubrange(24..<28, with: bad)
            let error = decodeFailure(b)
            XCTAssertEqual(error?.reason, .badString, "\(bad)")
            XCTAssertEqual(error?.offset, 22, "offset of the string's length prefix")
        }
    }

    /// A string whose length prefix runs past the end of the payload is a truncation, not bad UTF-8.
    func testStringCutShortIsTruncatedNotBadString() {
        // company_registered whose payload ends two bytes into the slug "acme".
        var bytes = Array(Fixture.companyRegisteredBody[0..<26])
        bytes[20] = 0; bytes[21] = 4
        let error = decodeFailure(bytes + [UInt8](repeating: 0, count: 32))
        XCTAssertEqual(error?.reason, .truncated)
    }

    // MARK: fuzz

    /// `record` after 1 to `most` seeded mutations (flip / insert / delete / overwrite), its length field sometimes
    /// fixed up to match.
    private func mutated(_ record: [UInt8], upTo most: UInt64, _ random: SeededRandom) -> [UInt8] {
        var b = record
        for _ in 0..<(1 + Int(random.next() % most)) {
            let at = Int(random.next() % UInt64(b.count))
            switch random.next() % 4 {
            case 0: b[at] ^= UInt8(1 << (random.next() % 8))
            case 1: b.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
            case 2: if b.count > 1 { b.remove(at: at) }
            default: b[at] = UInt8(truncatingIfNeeded: random.next())
            }
        }
        if random.next() % 2 == 0, b.count >= 22 + 32 {
            let length = UInt16(clamping: b.count - 22 - 32)
            b[20] = UInt8(length >> 8); b[21] = UInt8(length & 0xFF)
        }
        return b
    }

    /// 20,000 seeded mutations (flip / insert / delete / overwrite, sometimes with the length field fixed up):
    /// decoding throws, or returns an event that re-encodes to exactly the mutated bytes.
    func testRandomMutationsNeverDecodeToAWrongValue() {
        let random = SeededRandom(seed: 0xC0DEC)
        let originals = Samples.events.map { record($0).record }
        var decodedCount = 0
        for _ in 0..<20_000 {
            let b = mutated(originals[Int(random.next() % UInt64(originals.count))], upTo: 3, random)
            let seq = random.next() % 1000 + 1
            do {
                let stored = try decode(b, seq: seq)
                decodedCount += 1
                XCTAssertEqual(stored.event.seq, seq)
                // An older schema (credential_used 1) upcasts: its bytes are the current encoding but for byte 2.
                var current = b
                current[2] = stored.event.payload.schema
                XCTAssertEqual(body(stored.event) + stored.hash.bytes, current, "decoded to a value that is not these bytes")
            } catch {
                XCTAssertEqual(error.seq, seq)
                XCTAssertTrue((0...b.count).contains(error.offset), "offset \(error.offset) outside the record")
            }
        }
        // The loop must exercise both outcomes to mean anything.
        XCTAssertGreaterThan(decodedCount, 500)
        XCTAssertLessThan(decodedCount, 19_000)
    }

    // MARK: the replay's fast path for uses

    /// `decodeUse` against `decode` on every sample and 20,000 seeded mutations, most of them of use records: the
    /// same error (reason and offset), or nil exactly for another type (whose payload it does not read), or the
    /// header and use `decode` gives.
    func testTheUseFastPathAgreesWithDecode() {
        let random = SeededRandom(seed: 0x05E)
        let samples = Samples.events.map { record($0).record }
        let uses = Samples.events.filter { $0.type == .credentialUsed }.map { record($0).record }
        XCTAssertGreaterThan(uses.count, 1)
        var outcomes: [String: Int] = [:]
        func compare(_ b: [UInt8], seq: UInt64) {
            let expected = Result { () throws(EventCodecError) in try decode(b, seq: seq) }
            let fast: Result<(header: EventCodec.Header, use: CredentialUse)?, EventCodecError> = b.withUnsafeBytes { raw in
                Result { () throws(EventCodecError) in try EventCodec.decodeUse(seq: seq, record: raw) }
            }
            switch (expected, fast) {
            case (.failure(let e), .failure(let f)):
                XCTAssertEqual(e, f)
                outcomes["both threw", default: 0] += 1
            case (.failure, .success(nil)):
                // Another type with a bad payload: `decodeUse` read only its header, and the general decode (which the
                // replay runs next) reports it.
                let header = try? b.withUnsafeBytes { raw throws(EventCodecError) in try EventCodec.decodeHeader(seq: seq, record: raw) }
                XCTAssertNotNil(header)
                XCTAssertNotEqual(header?.type, .credentialUsed)
                outcomes["another type", default: 0] += 1
            case (.success(let stored), .success(nil)):
                XCTAssertNotEqual(stored.event.type, .credentialUsed)
                outcomes["another type", default: 0] += 1
            case (.success(let stored), .success(let decoded?)):
                guard case .credentialUsed(let use) = stored.event.payload else { return XCTFail("decodeUse decoded a \(stored.event.type.name)") }
                XCTAssertEqual(decoded.use, use)
                XCTAssertEqual(decoded.header.company, stored.event.company)
                XCTAssertEqual(decoded.header.timestamp, stored.event.timestamp)
                XCTAssertEqual(decoded.header.actor, stored.event.actor)
                outcomes["use", default: 0] += 1
            default:
                XCTFail("decode \(expected), decodeUse \(fast)")
            }
        }
        for (i, b) in samples.enumerated() { compare(b, seq: UInt64(i + 1)) }
        for _ in 0..<20_000 {
            let pool = random.next() % 4 == 0 ? samples : uses
            let b = mutated(pool[Int(random.next() % UInt64(pool.count))], upTo: 2, random)
            compare(b, seq: random.next() % 1000 + 1)
        }
        // Every outcome must occur for the comparison to mean anything.
        for outcome in ["both threw", "another type", "use"] { XCTAssertGreaterThan(outcomes[outcome, default: 0], 100, outcome) }
    }

    /// A use payload's errors, pinned (reason and offset in the record) for both decoders: `decodeUse` and `decode`
    /// share the payload code, so this is what holds them to the rules `decode` had before the fast path.
    func testUsePayloadErrorsArePinned() {
        let valid: [UInt8] = [0, 0, 0, 3, 0, 0, 0, 2, 0x02, 0x1F]   // credential 3, project 2, write, read_only_scope
        let cases: [(schema: UInt8, payload: [UInt8], reason: EventCodecError.Reason, offset: Int)] = [
            (2, [0, 0, 0], .truncated, 22),
            (2, Array(valid[0..<6]), .truncated, 26),
            (2, Array(valid[0..<8]), .truncated, 30),
            (2, Array(valid[0..<9]), .truncated, 31),
            (2, Array(valid[0..<8]) + [0xFF, 0x00], .badEnum, 31),            // no such operation
            (2, Array(valid[0..<9]) + [0xEE], .badEnum, 32),                  // no such denial reason
            (2, valid + [0, 0, 0, 0], .badEnum, 36),                          // a target company of 0
            (2, valid + [0, 0, 7], .trailingBytes, 32),                       // fewer than 4 bytes are no target
            (1, valid + [0, 0, 0, 7], .trailingBytes, 32),                    // schema 1 has no target
        ]
        for (i, c) in cases.enumerated() {
            var record: [UInt8] = [EventCodec.formatVersion, EventType.credentialUsed.rawValue, c.schema, 2, 0, 0, 0, 3,
                                   0, 0x06, 0x47, 0x48, 0x46, 0x37, 0x23, 0x60, 0, 0, 0, 1,
                                   UInt8(c.payload.count >> 8), UInt8(c.payload.count & 0xFF)]
            record += c.payload + [UInt8](repeating: 0xAB, count: 32)
            let expected = EventCodecError(c.reason, seq: 9, offset: c.offset)
            XCTAssertThrowsError(try decode(record, seq: 9), "case \(i)") { XCTAssertEqual($0 as? EventCodecError, expected, "case \(i)") }
            XCTAssertThrowsError(try record.withUnsafeBytes { raw throws(EventCodecError) in try EventCodec.decodeUse(seq: 9, record: raw) },
                                 "case \(i)") { XCTAssertEqual($0 as? EventCodecError, expected, "case \(i)") }
        }
        // The valid payload, and with a target company, decode to the same use both ways.
        for payload in [valid, valid + [0, 0, 0, 5]] {
            var record: [UInt8] = [EventCodec.formatVersion, EventType.credentialUsed.rawValue, 2, 2, 0, 0, 0, 3,
                                   0, 0x06, 0x47, 0x48, 0x46, 0x37, 0x23, 0x60, 0, 0, 0, 1, 0, UInt8(payload.count)]
            record += payload + [UInt8](repeating: 0xAB, count: 32)
            let fast = try? record.withUnsafeBytes { raw throws(EventCodecError) in try EventCodec.decodeUse(seq: 9, record: raw) }
            XCTAssertEqual(fast?.use, CredentialUse(credential: 3, project: 2, operation: .write, denial: .readOnlyScope,
                                                     targetCompany: payload.count == 14 ? 5 : 0))
            guard case .credentialUsed(let use)? = (try? decode(record, seq: 9))?.event.payload else { return XCTFail("no use") }
            XCTAssertEqual(fast?.use, use)
        }
    }
}
