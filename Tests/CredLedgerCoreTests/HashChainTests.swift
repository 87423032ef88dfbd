import XCTest

import CredLedgerCore

final class HashChainTests: XCTestCase {
    func testGenesisIs32ZeroBytes() {
        XCTAssertEqual(HashChain.genesis.bytes, [UInt8](repeating: 0, count: 32))
        XCTAssertEqual(HashChain.domainByte, 0x45)
    }

    /// The link is SHA-256 over the explicit concatenation prev ‖ 0x45 ‖ seq (u64 BE) ‖ body.
    func testLinkIsSHA256OfTheExplicitConcatenation() {
        let random = SeededRandom(seed: 17)
        for event in Samples.events {
            let previous = SHA256Digest(bytes: random.bytes(32))!
            for seq: UInt64 in [1, event.seq, 0x0102_0304_0506_0708, UInt64.max] {
                let b = body(event)
                var message = previous.bytes
                message.append(0x45)
                message += [UInt8((seq >> 56) & 0xFF), UInt8((seq >> 48) & 0xFF), UInt8((seq >> 40) & 0xFF), UInt8((seq >> 32) & 0xFF),
                            UInt8((seq >> 24) & 0xFF), UInt8((seq >> 16) & 0xFF), UInt8((seq >> 8) & 0xFF), UInt8(seq & 0xFF)]
                message += b
                let expected = SHA256.hash(message, implementation: .portable)
                let link = b.withUnsafeBytes { HashChain.link(previous: previous, seq: seq, body: $0) }
                XCTAssertEqual(link, expected, "\(event.type.name) seq \(seq)")
            }
        }
    }

    /// Bodies of every length from 0 to 300 bytes: the padded one-call path (up to `paddedBodyLimit`, across every block
    /// boundary of its padding) and the streaming path after it give the portable hash of the concatenation.
    func testLinkOfEveryBodyLength() {
        let random = SeededRandom(seed: 41)
        let previous = SHA256Digest(bytes: random.bytes(32))!
        let seq: UInt64 = 0x0A0B_0C0D_0E0F_1011
        for length in 0...300 {
            let b = random.bytes(length)
            var message = previous.bytes
            message.append(0x45)
            message += withUnsafeBytes(of: seq.bigEndian) { Array($0) }
            message += b
            let link = b.withUnsafeBytes { HashChain.link(previous: previous, seq: seq, body: $0) }
            XCTAssertEqual(link, SHA256.hash(message, implementation: .portable), "body of \(length) bytes")
        }
    }

    /// A chain of three events re-verified by python3's hashlib from the record bytes alone (what a third party does).
    func testChainOfThreeMatchesPythonHashlib() throws {
        let third = Event(seq: 3, timestamp: 1_767_225_602_000_000, company: 1, actor: .user(1),
                          payload: .projectCreated(project: 2, slug: "site-a", name: "Site A"))
        let events = [Fixture.companyRegisteredEvent, Fixture.credentialUsedEvent, third]
        var previous = HashChain.genesis
        var records: [[UInt8]] = []
        var hashes: [String] = []
        for event in events {
            let (r, h) = record(event, previous: previous)
            records.append(r)
            hashes.append(h.hex)
            previous = h
        }
        let script = """
            import sys, hashlib, struct
            prev = bytes(32)
            for line in sys.stdin.read().split():
                seq, rec = line.split(':')
                seq = int(seq); rec = bytes.fromhex(rec)
                length = struct.unpack('>H', rec[20:22])[0]
                body, stored = rec[:22 + length], rec[22 + length:]
                assert len(stored) == 32 and rec[0] == 1
                h = hashlib.sha256(prev + b'\\x45' + struct.pack('>Q', seq) + body).digest()
                print(h.hex(), 'ok' if h == stored else 'BAD')
                prev = h
            """
        let input = zip(events, records).map { "\($0.seq):\($1.hex)" }.joined(separator: "\n")
        let lines = try ExternalOracle.python(script, input: input)
        XCTAssertEqual(lines, hashes.map { "\($0) ok" })
        XCTAssertEqual(hashes[0], Fixture.companyRegisteredHash)
        XCTAssertEqual(hashes[1], Fixture.credentialUsedHash)
    }

    func testCheckAcceptsACorrectRecordAndReturnsItsHash() {
        var previous = HashChain.genesis
        for event in Samples.events {
            let (r, h) = record(event, previous: previous)
            let result = r.withUnsafeBytes { HashChain.check(seq: event.seq, record: $0, previous: previous) }
            XCTAssertEqual(result, .success(h))
            previous = h
        }
    }

    func testWrongPredecessorOrSequenceIsAMismatch() {
        let previous = digest(Fixture.companyRegisteredHash)
        let (r, _) = record(Fixture.credentialUsedEvent, previous: previous)
        r.withUnsafeBytes { raw in
            XCTAssertEqual(HashChain.check(seq: 2, record: raw, previous: .zero), .failure(.hashMismatch(seq: 2)))
            XCTAssertEqual(HashChain.check(seq: 3, record: raw, previous: previous), .failure(.hashMismatch(seq: 3)))
            XCTAssertEqual(HashChain.check(seq: 1, record: raw, previous: previous), .failure(.hashMismatch(seq: 1)))
            XCTAssertEqual(HashChain.check(seq: 2, record: raw, previous: previous), .success(digest(Fixture.credentialUsedHash)))
        }
    }

    /// Every byte position, every single-bit flip and a whole-byte flip: never accepted. Where the header
    /// still decodes the break is `.hashMismatch`, otherwise `.undecodable`.
    func testEverySingleByteChangeIsDetected() {
        for event in [Fixture.credentialUsedEvent, Fixture.companyRegisteredEvent] {
            let (good, _) = record(event, previous: sampleDigest(1))
            for position in 0..<good.count {
                for mask: UInt8 in [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF] {
                    var bad = good
                    bad[position] ^= mask
                    let result = bad.withUnsafeBytes { HashChain.check(seq: event.seq, record: $0, previous: sampleDigest(1)) }
                    let headerDecodes = (try? bad.withUnsafeBytes { raw throws(EventCodecError) in
                        try EventCodec.decodeHeader(seq: event.seq, record: raw)
                    }) != nil
                    switch result {
                    case .success:
                        XCTFail("byte \(position) ^ \(mask) accepted")
                    case .failure(.hashMismatch(let seq)):
                        XCTAssertEqual(seq, event.seq)
                        XCTAssertTrue(headerDecodes)
                    case .failure(.undecodable(let error)):
                        XCTAssertFalse(headerDecodes)
                        XCTAssertEqual(error.seq, event.seq)
                    case .failure(let other):
                        XCTFail("unexpected \(other)")
                    }
                    // Timestamp, company, payload and the hash itself: always a plain mismatch.
                    if (8..<20).contains(position) || position >= 22 {
                        XCTAssertEqual(result, .failure(.hashMismatch(seq: event.seq)), "byte \(position) ^ \(mask)")
                    }
                }
            }
        }
    }

    func testTruncatedRecordIsUndecodable() {
        let (good, _) = record(Fixture.companyRegisteredEvent)
        for n in 0..<good.count {
            let result = Array(good[0..<n]).withUnsafeBytes { HashChain.check(seq: 1, record: $0, previous: .zero) }
            guard case .failure(.undecodable(let error)) = result else {
                XCTFail("prefix \(n): \(result)")
                continue
            }
            XCTAssertEqual(error.reason, n < 22 ? .truncated : .lengthMismatch)
        }
        let extended = good + [0]
        let result = extended.withUnsafeBytes { HashChain.check(seq: 1, record: $0, previous: .zero) }
        XCTAssertEqual(result, .failure(.undecodable(EventCodecError(.lengthMismatch, seq: 1, offset: 20))))
    }
}
