@testable import CredLedger
@testable import CredLedgerCore
import CredLedgerCrypto
import Foundation
import XCTest

/// Issue 15 (perf-decide2): the decision reads through a renewed reader taken from a pool, with its thread's
/// bookkeeping kept thread-local, and checks the secret's checksum in place. A renewed reader must still see the
/// latest commit: a revoke committed before a decision starts is seen by that decision, on this thread and on others
/// that were deciding all along.
final class DecisionSnapshotTests: XCTestCase {
    func testARevokeCommittedBeforeADecisionIsSeenByItOnEveryThread() throws {
        let t = try TestLedger("decision-snapshot")
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .readWrite)
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice)
        let other = try t.create(.staticKey, .readWrite, name: "stays")
        try t.ledger.administration.grantAccess(World.acme, credential: other.id, project: World.bridge, role: .editor, as: World.alice)
        let header = try t.header(for: key), otherHeader = try t.header(for: other)
        let access = t.ledger.access

        // Readers are kept warm: many decisions on this thread before each change.
        func warm() throws {
            for _ in 0..<50 {
                XCTAssertEqual(try access.authorize(header: header, company: World.acme, project: World.bridge, operation: .write).code, "allowed")
                XCTAssertEqual(try access.authorize(header: otherHeader, company: World.acme, project: World.bridge, operation: .write).code, "allowed")
            }
        }

        // On this thread: the role taken away, then the credential deleted; each decision right after sees it.
        try warm()
        try t.ledger.administration.revokeAccess(World.acme, credential: key.id, project: World.bridge, as: World.alice)
        XCTAssertEqual(try access.authorize(header: header, company: World.acme, project: World.bridge, operation: .read).code,
                       "project_access_missing")
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .editor, as: World.alice)
        XCTAssertEqual(try access.authorize(header: header, company: World.acme, project: World.bridge, operation: .write).code, "allowed")

        // On four threads deciding all along: once the delete has returned (committed), every decision that starts
        // after it answers `revoked`; the other credential keeps its answer throughout.
        struct Progress { var committed = false, stop = false, failures: [String] = [], decidedAfter = 0, decidedBefore = 0 }
        let progress = Locked(Progress())
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while true {
                    let (wasCommitted, stopping) = progress.withLock { ($0.committed, $0.stop) }
                    do {
                        let code = try access.authorize(header: header, company: World.acme, project: World.bridge, operation: .read).code
                        let otherCode = try access.authorize(header: otherHeader, company: World.acme, project: World.bridge, operation: .read).code
                        progress.withLock {
                            if wasCommitted { $0.decidedAfter += 1 } else { $0.decidedBefore += 1 }
                            if wasCommitted && code != "revoked" { $0.failures.append("after the delete: \(code)") }
                            if !wasCommitted && code != "allowed" && code != "revoked" { $0.failures.append("before the delete: \(code)") }
                            if otherCode != "allowed" { $0.failures.append("the other credential: \(otherCode)") }
                        }
                    } catch {
                        progress.withLock { $0.failures.append("\(error)") }
                    }
                    if stopping { return }
                }
            }
        }
        // Let the threads decide for a while, delete, let them decide after it, stop.
        while progress.withLock({ $0.decidedBefore }) < 200 { usleep(1_000) }
        try t.ledger.administration.deleteCredential(World.acme, credential: key.id, as: World.alice)
        progress.withLock { $0.committed = true }
        while progress.withLock({ $0.decidedAfter }) < 200 { usleep(1_000) }
        progress.withLock { $0.stop = true }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(progress.current.failures, [])
        // And this thread, whose readers were renewed throughout, sees it too.
        XCTAssertEqual(try access.authorize(header: header, company: World.acme, project: World.bridge, operation: .read).code, "revoked")
    }

    /// The checksum compared in place (`SecretFormat.checksumMatches`) is `Base62.encode(crc, width: 6)` compared as
    /// a string, on the edges of every digit count and on random values; one digit changed anywhere fails it.
    func testTheInPlaceChecksumIsTheEncodedOne() {
        var values: [UInt32] = [0, 1, 61, 62, 63, UInt32.max, UInt32.max - 1]
        var power: UInt64 = 62
        while power < UInt64(UInt32.max) {
            values.append(UInt32(power - 1))
            values.append(UInt32(power))
            power *= 62
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2_000 { values.append(random.next()) }
        for crc in values {
            let encoded = Array(Base62.encode(crc, width: SecretFormat.checksumLength).utf8)
            XCTAssertEqual(encoded.count, SecretFormat.checksumLength)
            XCTAssertTrue(encoded.withUnsafeBytes { SecretFormat.checksumMatches(crc, $0) }, "crc \(crc)")
            XCTAssertFalse(encoded.dropLast().withUnsafeBytes { SecretFormat.checksumMatches(crc, $0) }, "crc \(crc): one digit short")
            XCTAssertFalse((encoded + [0x30]).withUnsafeBytes { SecretFormat.checksumMatches(crc, $0) }, "crc \(crc): one digit more")
            for i in encoded.indices {
                var changed = encoded
                changed[i] = changed[i] == 0x30 ? 0x31 : 0x30
                XCTAssertFalse(changed.withUnsafeBytes { SecretFormat.checksumMatches(crc, $0) }, "crc \(crc): digit \(i) changed")
            }
        }
    }

    /// `validate` on secrets of every kind against every kind (as a list and as the one kind the decision passes):
    /// accepted only for its own kind, and a changed checksum character (to every other base62 character) is
    /// `bad_checksum`.
    func testValidateAcceptsOnlyTheRightKindAndChecksum() throws {
        for (index, kind) in SecretKind.allCases.enumerated() {
            let secret = Array(try SecretFormat.generate(kind, using: SeededRandom(seed: UInt64(40 + index))).utf8)
            for expected in SecretKind.allCases {
                let check = secret.withUnsafeBytes { SecretFormat.validate($0, expecting: [expected]) }
                let single = secret.withUnsafeBytes { SecretFormat.validate($0, expecting: expected) }
                XCTAssertEqual(single.kind, check.kind, "\(kind) as \(expected): one kind answers as the list of it")
                XCTAssertEqual(single.problem, check.problem, "\(kind) as \(expected)")
                if expected == kind {
                    XCTAssertEqual(check.kind, kind)
                    XCTAssertNil(check.problem, "\(kind)")
                } else {
                    XCTAssertNil(check.kind)
                    XCTAssertEqual(check.problem, .malformedHeader, "\(kind) presented as \(expected)")
                }
            }
            for position in (SecretFormat.prefixLength + SecretFormat.bodyLength)..<SecretFormat.length {
                for character in Base62.alphabet where character != secret[position] {
                    var changed = secret
                    changed[position] = character
                    let check = changed.withUnsafeBytes { SecretFormat.validate($0, expecting: [kind]) }
                    XCTAssertEqual(check.problem, .badChecksum, "\(kind): checksum digit \(position) → \(character)")
                    XCTAssertEqual(changed.withUnsafeBytes { SecretFormat.validate($0, expecting: kind) }.problem, .badChecksum)
                }
            }
        }
    }
}
