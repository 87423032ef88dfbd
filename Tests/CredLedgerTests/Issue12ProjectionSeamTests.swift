@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// A toy registered projection: events per type (table `seam_event_counts`, key: type code u8, value: count u64 BE),
/// accumulated per batch, and the last event's seq and record hash (table `seam_last_hash`, key 0: seq u64 + hash).
/// `bias` makes a variant that counts wrongly (a projection whose code changed without a version bump).
struct SeamEventCounts: Projection {
    var name = "seam_event_counts"
    var codeVersion: UInt32 = 1
    var tableNames: [String] { ["seam_event_counts", "seam_last_hash"] }
    var bias: UInt64 = 0
    /// The batch's event types, unflushed (an array, so `rollBack` can cut it at a mark).
    private var pending: [UInt8] = []

    init(codeVersion: UInt32 = 1, bias: UInt64 = 0) {
        self.codeVersion = codeVersion
        self.bias = bias
    }

    mutating func apply(_ event: Event, hash: SHA256Digest, to store: some KeyValueStore) throws {
        pending.append(event.type.rawValue)
        try store.put(named: "seam_last_hash", [0], event.seq.bigEndianBytes + Array(hash.withUnsafeBytes { Array($0) }))
    }

    mutating func flush(to store: some KeyValueStore) throws {
        for type in Set(pending).sorted() {
            let added = UInt64(pending.count { $0 == type }) + bias
            let stored = try store.get(named: "seam_event_counts", [type]).flatMap { UInt64(bigEndianBytes: $0) } ?? 0
            try store.put(named: "seam_event_counts", [type], (stored + added).bigEndianBytes)
        }
        pending.removeAll()
    }

    var mark: Int { pending.count }
    mutating func rollBack(to mark: Int) { pending.removeSubrange(mark...) }
    mutating func discard() { pending.removeAll() }
}

final class Issue12ProjectionSeamTests: XCTestCase {
    /// Events per type code and the head's (seq, hash), from the log itself.
    private func expected(_ ledger: Ledger) throws -> (counts: [UInt8: UInt64], last: [UInt8]) {
        let events = try ledger.audit.events()
        var counts: [UInt8: UInt64] = [:]
        for e in events { counts[e.event.type.rawValue, default: 0] += 1 }
        let last = events.last.map { $0.event.seq.bigEndianBytes + Array($0.hash.withUnsafeBytes { Array($0) }) } ?? []
        return (counts, last)
    }

    private func stored(_ ledger: Ledger) throws -> (counts: [UInt8: UInt64], last: [UInt8]) {
        try ledger.audit.withState { state in
            var counts: [UInt8: UInt64] = [:]
            try state.store.scan(named: "seam_event_counts", from: []) { key, value in
                counts[key[0]] = UInt64(bigEndianBytes: value)
                return true
            }
            return (counts, try state.store.get(named: "seam_last_hash", [0]) ?? [])
        }
    }

    private func toyDigest(_ ledger: Ledger) throws -> SHA256Digest {
        try ledger.audit.withState { try ProjectionDigest.compute(SeamEventCounts() as any ProjectionDescription, in: $0.store) }
    }

    private func someWrites(_ t: TestLedger, _ ledger: Ledger, name: String) throws {
        let key = try ledger.administration.createCredential(World.acme, NewCredential(name: name, type: .staticKey, scope: .global), as: World.alice)
        for _ in 0..<5 { try ledger.access.check(header: "Apikey " + key.secret!, company: World.acme, project: World.bridge, operation: .read) }
        try ledger.access.check(header: "Apikey nonsense", company: World.acme, project: World.bridge, operation: .read)
        t.clock.advance(seconds: 1)
    }

    /// A projection registered later is built from the whole log at the next read-write open, applied live (uses
    /// included, with each record's hash), rebuilt identically, checked by `verify`, and changes no other digest.
    func testRegisteredProjectionIsAppliedLiveRebuiltAndVerified() throws {
        let t = try TestLedger("seam")
        defer { t.remove() }
        try t.makeWorld()
        try someWrites(t, t.ledger, name: "before")
        let builtInBefore = try liveDigests(t.ledger)
        let headBefore = t.head
        t.close()

        var options = t.options
        options.projections = [SeamEventCounts()]
        var ledger = try Ledger(path: t.path, options: options)
        // The first open with it registered built it from the log, appending nothing.
        XCTAssertEqual(ledger.head, headBefore)
        XCTAssertEqual(try liveDigests(ledger), builtInBefore, "registering a projection changed a built-in one")
        var want = try expected(ledger)
        var have = try stored(ledger)
        XCTAssertEqual(have.counts, want.counts)
        XCTAssertEqual(have.last, want.last)

        // Live: the writer applies it (command events and recorded uses) and moves its checkpoint with the others.
        try someWrites(t, ledger, name: "after")
        want = try expected(ledger)
        have = try stored(ledger)
        XCTAssertEqual(have.counts, want.counts)
        XCTAssertEqual(have.last, want.last)
        XCTAssertGreaterThan(want.counts[EventType.credentialUsed.rawValue] ?? 0, 5)

        // Verify rebuilds it with the others and compares.
        let report = try ledger.audit.verify()
        XCTAssertTrue(report.ok, "\(report.projections)")
        XCTAssertEqual(report.projections.map(\.name), ProjectionName.allCases.map(\.rawValue) + ["merkle", "seam_event_counts"])
        XCTAssertEqual(report.projections.last?.lastSeq, ledger.head.seq)

        // A rebuild gives the live bytes back, its own and every other projection's.
        let live = try liveDigests(ledger), liveToy = try toyDigest(ledger)
        let rebuilt = try ledger.maintenance.rebuildProjections()
        XCTAssertEqual(rebuilt.digests["seam_event_counts"], liveToy)
        for (name, digest) in live { XCTAssertEqual(rebuilt.digests[name], digest, name) }
        XCTAssertEqual(try toyDigest(ledger), liveToy)
        ledger.close()

        // Its code changed without a version bump: verify names it, and only it.
        options.projections = [SeamEventCounts(bias: 1)]
        ledger = try Ledger(path: t.path, options: options)
        let wrong = try ledger.audit.verify()
        XCTAssertFalse(wrong.ok)
        XCTAssertEqual(wrong.projections.filter { !$0.matches }.map(\.name), ["seam_event_counts"])
        ledger.close()

        // With the version bumped, the read-write open rebuilds it (from the log; the built-in ones come out the same).
        options.projections = [SeamEventCounts(codeVersion: 2, bias: 1)]
        ledger = try Ledger(path: t.path, options: options)
        defer { ledger.close() }
        XCTAssertTrue(try ledger.audit.verify().ok)
        XCTAssertEqual(try liveDigests(ledger), live)
        try ledger.environment.read { txn in
            let raw = try XCTUnwrap(txn.get(ledger.schema.meta, Meta.projectionKey("seam_event_counts")))
            let checkpoint = try XCTUnwrap(Meta.Checkpoint(raw))
            XCTAssertEqual(checkpoint.codeVersion, 2)
            XCTAssertEqual(checkpoint.lastSeq, ledger.head.seq)
        }
    }

    /// A command whose events are undone (its child transaction failed) leaves nothing in a registered projection's
    /// accumulation either: the projector's mark covers registered projections.
    func testRollBackReachesRegisteredProjections() throws {
        var projector = Projector(extensions: [SeamEventCounts()])
        let store = MemoryStore()
        let event = { (seq: UInt64) in
            Event(seq: seq, timestamp: 1, company: 1, actor: .system, payload: .credentialUsed(CredentialUse(
                credential: 0, project: 0, operation: .read, denial: .unknownCredential)))
        }
        try projector.apply(event(1), hash: .zero, to: store)
        let mark = projector.mark
        try projector.apply(event(2), hash: .zero, to: store)
        projector.rollBack(to: mark)
        try projector.flush(to: store)
        XCTAssertEqual(try store.get(named: "seam_event_counts", [EventType.credentialUsed.rawValue]), UInt64(1).bigEndianBytes)
        // A registered projection's rows live in its own tables, never in a built-in one.
        XCTAssertNil(store.tables[.counters])
    }

    /// A registered projection cannot take a built-in projection's name or table, nor another's.
    func testRegisteredProjectionCannotTakeAnotherName() throws {
        let t = try TestLedger("seam-names")
        defer { t.remove() }
        t.close()
        struct Renamed: Projection {
            var name: String
            var codeVersion: UInt32 = 1
            var tableNames: [String]
            mutating func apply(_ event: Event, hash: SHA256Digest, to store: some KeyValueStore) throws {}
        }
        let cases: [([any Projection], String)] = [
            ([Renamed(name: "registry", tableNames: ["mine"])], "projection_name_taken"),
            ([Renamed(name: "mine", tableNames: ["usage"])], "projection_table_taken"),
            ([Renamed(name: "mine", tableNames: ["events"])], "projection_table_taken"),
            ([Renamed(name: "a", tableNames: ["t"]), Renamed(name: "b", tableNames: ["t"])], "projection_table_taken"),
            ([Renamed(name: "a", tableNames: ["t1"]), Renamed(name: "a", tableNames: ["t2"])], "projection_name_taken"),
        ]
        for (projections, code) in cases {
            var options = t.options
            options.projections = projections
            XCTAssertThrowsError(try Ledger(path: t.path, options: options)) { error in
                XCTAssertEqual((error as? LedgerError)?.code, code)
            }
        }
    }
}
