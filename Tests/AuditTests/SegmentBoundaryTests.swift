@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Posting lists across segment boundaries (docs/FORMAT.md §6.6, `Projections/PostingIndex.swift`): a ledger of
/// ~150,000 events, so that segments 0 and 1 are folded into `ix` and segment 2 is still open in `ix_recent`.
/// Admin events sit right at the first boundary (seqs 65,535, 65,536 and 65,537: the fold of segment 0 is done
/// by a command batch) and on both sides of the second one, which a single batch of 3,000 uses straddles (the
/// fold of segment 1 happens in the middle of a `record(batch:)`). Every answer is checked against a model kept
/// from what was recorded (and checked once against a walk of the log).
final class SegmentBoundaryTests: XCTestCase {
    /// The ledger and its model, built once per process (every test method runs in its own process under
    /// `swift test --parallel`, so the build is kept short).
    static func world() throws -> SegmentWorld {
        try SegmentWorld.shared()
    }

    override class func tearDown() {
        SegmentWorld.removeShared()
        super.tearDown()
    }

    func testBuild() throws {
        let w = try Self.world()
        print("built \(w.recs.count) events in \(w.buildSeconds) s; marks \(w.marks.sorted { $0.value < $1.value })")
    }
}

// MARK: - The ledger and its model

/// One event as the model sees it (what the posting lists and audit filters depend on).
struct SegmentRec: Equatable {
    var seq: UInt64
    var time: Timestamp
    var company: UInt32
    var actor: Actor
    var type: EventType
    var credential: UInt32?
    var project: UInt32?
    var flag: PostingIndex.Flag

    init(seq: UInt64, time: Timestamp, company: UInt32, actor: Actor, type: EventType, credential: UInt32?, project: UInt32?,
         flag: PostingIndex.Flag) {
        self.seq = seq
        self.time = time
        self.company = company
        self.actor = actor
        self.type = type
        self.credential = credential
        self.project = project
        self.flag = flag
    }

    init(_ e: Event) {
        var flag = PostingIndex.Flag.other
        if case .credentialUsed(let use) = e.payload { flag = use.allowed ? .allowedUse : .deniedUse }
        self.init(seq: e.seq, time: e.timestamp, company: e.company, actor: e.actor, type: e.type, credential: e.payload.credential,
                  project: e.payload.project, flag: flag)
    }

    /// The lists the event belongs to, as docs/FORMAT.md §6.6 defines them (written independently of `PostingIndex.lists`).
    var lists: [PostingIndex.ListKey] {
        var out: [PostingIndex.ListKey] = []
        if type != .credentialUsed {
            out.append(.init(.type, UInt32(type.rawValue)))
            out.append(.init(.admin, 0))
            if case .user(let u) = actor { out.append(.init(.user, u)) }
        }
        if company != 0 { out.append(.init(.company, company)) }
        if let credential { out.append(.init(.credential, credential)) }
        if let project { out.append(.init(.project, project)) }
        return out
    }
}

final class SegmentWorld: @unchecked Sendable {
    static let b1: UInt64 = 65_536
    static let b2: UInt64 = 131_072

    let t: AuditLedger
    /// recs[seq − 1].
    private(set) var recs: [SegmentRec] = []
    var companies: [String: UInt32] = [:]
    /// "company/slug" → number.
    var projects: [String: UInt32] = [:]
    var users: [String: UInt32] = [:]
    /// Label → issued credential and its number.
    var keys: [String: IssuedCredential] = [:]
    var numbers: [String: UInt32] = [:]
    /// Credential number → seq of its creation / deletion.
    var createdAt: [UInt32: UInt64] = [:]
    var deletedAt: [UInt32: UInt64] = [:]
    /// Named seqs of the admin events placed on purpose.
    var marks: [String: UInt64] = [:]
    var buildSeconds = 0.0

    private var rng = TestRNG(20_260_101)
    /// What the uses are drawn from: (label, header, company, project, operation, weight).
    private var specs: [(label: String, header: String, company: String, project: String, op: CredLedgerCore.Operation, weight: Int)] = []
    private var pool: [Decision] = []

    var ledger: Ledger { t.ledger }
    var head: UInt64 { UInt64(recs.count) }

    // MARK: shared instance

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: Result<SegmentWorld, Error>?

    static func shared() throws -> SegmentWorld {
        lock.lock()
        defer { lock.unlock() }
        if cached == nil { cached = Result { try SegmentWorld() } }
        return try cached!.get()
    }

    static func removeShared() {
        lock.lock()
        defer { lock.unlock() }
        if case .success(let w)? = cached { w.t.remove() }
        cached = nil
    }

    // MARK: building

    private init() throws {
        let started = Date()
        t = try AuditLedger("segments", seed: 77) { options in
            options.initialMapSize = 256 << 20
            options.accessTokenLifetime = 1_000_000_000_000
        }
        do {
            try build()
        } catch {
            t.remove()
            throw error
        }
        buildSeconds = Date().timeIntervalSince(started)
    }

    private func build() throws {
        // Two companies, their projects and members.
        try admin { _ = try ledger.registerCompany(Names.acme, admin: Names.alice, mailDomain: "acme.example") }
        try admin { _ = try ledger.setAPIModule(Names.acme, enabled: true, as: Names.alice) }
        for p in ["bridge", "tunnel", "dock"] { try admin { try ledger.createProject(Names.acme, project: p, as: Names.alice) } }
        for u in [Names.bob, Names.carol] { try admin { try ledger.setMemberRole(Names.acme, email: u, role: .member, as: Names.alice) } }
        try admin { _ = try ledger.registerCompany(Names.beta, admin: Names.bea) }
        try admin { _ = try ledger.setAPIModule(Names.beta, enabled: true, as: Names.bea) }
        for p in ["pb", "pc"] { try admin { try ledger.createProject(Names.beta, project: p, as: Names.bea) } }
        try ledger.withState { state in
            for slug in [Names.acme, Names.beta] {
                let c = try state.company(slug: slug)!
                companies[slug] = c.number
                for p in try state.projects(company: c.number) { projects["\(slug)/\(p.slug)"] = p.number }
            }
            for email in [Names.alice, Names.bob, Names.carol, Names.bea] { users[email] = try state.user(email: email) }
        }

        // Credentials: a few hot ones used all along, and cold ones used only in segment 0 (more than 16, so that
        // as-of last-used lookups walk whole folded segments).
        try create("hotR", .staticKey, .read)
        try create("hotRW", .staticKey, .readWrite)
        try create("hotG", .staticKey, .global)
        try create("oauth", .oauth, .readWrite)
        for i in 0..<18 { try create("cold\(i)", .staticKey, .read) }
        try create("bK1", .staticKey, .readWrite, company: Names.beta, as: Names.bea)
        try create("bK2", .staticKey, .read, company: Names.beta, as: Names.bea)
        for i in 0..<2 { try create("bCold\(i)", .staticKey, .read, company: Names.beta, as: Names.bea) }
        try grant("hotR", "bridge", .viewer)
        try grant("hotRW", "bridge", .editor)
        try grant("hotRW", "tunnel", .viewer)
        try grant("oauth", "tunnel", .editor)
        for i in 0..<18 { try grant("cold\(i)", "bridge", .viewer) }
        try grant("bK1", "pb", .editor, company: Names.beta, as: Names.bea)
        for i in 0..<2 { try grant("bCold\(i)", "pb", .viewer, company: Names.beta, as: Names.bea) }
        var token = ""
        try admin {
            token = try ledger.clientCredentialsToken(clientID: keys["oauth"]!.clientID!, clientSecret: keys["oauth"]!.clientSecret!).accessToken
        }

        // What the uses are drawn from.
        func key(_ label: String) -> String { "Apikey " + keys[label]!.secret! }
        specs = [
            ("hotR", key("hotR"), Names.acme, "bridge", .read, 6),
            ("hotR", key("hotR"), Names.acme, "bridge", .write, 2),      // read_only_scope
            ("hotR", key("hotR"), Names.acme, "tunnel", .read, 2),       // granted at 65,535, revoked later
            ("hotRW", key("hotRW"), Names.acme, "bridge", .read, 6),
            ("hotRW", key("hotRW"), Names.acme, "bridge", .write, 3),
            ("hotRW", key("hotRW"), Names.acme, "tunnel", .write, 2),    // read_only_role
            ("hotRW", key("hotRW"), Names.acme, "dock", .read, 1),       // no access
            ("hotRW", key("hotRW"), Names.acme, "nope", .read, 1),       // unknown project: no project list
            ("hotG", key("hotG"), Names.acme, "dock", .write, 3),        // deleted later: revoked
            ("oauth", "Bearer " + token, Names.acme, "tunnel", .read, 3),
            ("oauth", "Bearer " + token, Names.acme, "tunnel", .write, 2),
            ("-", "Apikey cxk_notakeyatall", Names.acme, "bridge", .read, 1),   // no credential list
            ("-", key("hotR"), "nosuchcompany", "bridge", .read, 1),            // no list at all
            ("bK1", key("bK1"), Names.beta, "pb", .read, 4),
            ("bK1", key("bK1"), Names.beta, "pb", .write, 2),
            ("bK2", key("bK2"), Names.beta, "pc", .read, 2),             // granted at 129,499
            ("bK1", key("bK1"), Names.acme, "bridge", .read, 1),         // other company: in acme's list
        ]
        specs += (0..<18).map { ("cold\($0)", key("cold\($0)"), Names.acme, "bridge", $0 == 0 ? .write : .read, 1) }
        specs += (0..<2).map { ("bCold\($0)", key("bCold\($0)"), Names.beta, "pb", .read, 1) }
        try refreshPool()

        // Segment 0; the cold credentials stop being used at 40,000.
        try fill(to: 40_000)
        specs.removeAll { $0.label.hasPrefix("cold") || $0.label.hasPrefix("bCold") }
        try refreshPool()
        try fill(to: SegmentWorld.b1 - 2)
        // Right at the first boundary: 65,535 | 65,536 (closes segment 0: the fold is done by this command's batch) | 65,537.
        try grant("hotR", "tunnel", .viewer, mark: "grant@65535")
        try create("fresh", .staticKey, .readWrite, mark: "created@65536")
        try grant("fresh", "bridge", .editor, mark: "grant@65537")
        specs.append(("fresh", key("fresh"), Names.acme, "bridge", .read, 3))
        specs.append(("fresh", key("fresh"), Names.acme, "bridge", .write, 2))
        try refreshPool()
        try fill(to: 90_000)
        try admin(mark: "userRole") { try ledger.setUserProjectRole(Names.acme, project: "bridge", email: Names.bob, role: .editor, as: Names.alice) }
        try fill(to: 95_000)
        try admin(mark: "revoke") { try ledger.revokeAccess(Names.acme, credential: keys["hotR"]!.id, project: "tunnel", as: Names.alice) }
        try refreshPool()
        try fill(to: 110_000)
        try admin(mark: "deleteHotG") { try ledger.deleteCredential(Names.acme, credential: keys["hotG"]!.id, as: Names.alice) }
        try refreshPool()
        try fill(to: 129_498)
        try grant("bK2", "pc", .viewer, company: Names.beta, as: Names.bea, mark: "grant@129499")
        try refreshPool()
        // One batch of 3,000 uses straddles the second boundary: it closes segment 1 in the middle.
        try uses(3_000)
        try require(head == 132_499, "the straddling batch ends at \(head)")
        marks["straddle"] = 129_500
        try create("bNew", .staticKey, .read, company: Names.beta, as: Names.bea, mark: "created@132500")
        specs.append(("bNew", key("bNew"), Names.beta, "pb", .read, 2))   // never granted: denied
        try refreshPool()
        try fill(to: 145_000)
        try admin(mark: "deleteFresh") { try ledger.deleteCredential(Names.acme, credential: keys["fresh"]!.id, as: Names.alice) }
        try refreshPool()
        try fill(to: 150_000)
        try admin(mark: "last") { try ledger.setUserProjectRole(Names.acme, project: "tunnel", email: Names.carol, role: .viewer, as: Names.alice) }
        try require(ledger.head.seq == head, "ledger head \(ledger.head.seq), model \(head)")
        for (mark, seq) in [("grant@65535", 65_535), ("created@65536", 65_536), ("grant@65537", 65_537), ("grant@129499", 129_499),
                            ("created@132500", 132_500)] as [(String, UInt64)] {
            try require(marks[mark] == seq, "\(mark) landed at \(String(describing: marks[mark]))")
        }
    }

    private func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw LedgerError("segment_world", message(), kind: .integrity) }
    }

    /// Runs an admin command; appends its events (read back from the log) to the model.
    private func admin(mark: String? = nil, _ body: () throws -> Void) throws {
        t.tick()
        let before = head
        try body()
        let added = try ledger.events(from: before + 1)
        try require(!added.isEmpty && (mark == nil || added.count == 1), "admin command \(mark ?? "") appended \(added.count) events")
        for stored in added {
            try require(stored.event.seq == head + 1, "event \(stored.event.seq) after \(head)")
            recs.append(SegmentRec(stored.event))
            if case .credentialDeleted(let c) = stored.event.payload { deletedAt[c] = stored.event.seq }
        }
        if let mark { marks[mark] = before + 1 }
    }

    private func create(_ label: String, _ type: CredentialType, _ scope: Scope, company: String = Names.acme, as actor: String = Names.alice,
                        mark: String? = nil) throws {
        try admin(mark: mark) { keys[label] = try t.create(type, scope, name: label, company: company, as: actor) }
        numbers[label] = try ledger.withState { try $0.credential(publicID: keys[label]!.id)!.number }
        createdAt[numbers[label]!] = head
    }

    private func grant(_ label: String, _ project: String, _ role: ProjectRole, company: String = Names.acme, as actor: String = Names.alice,
                       mark: String? = nil) throws {
        try admin(mark: mark) { _ = try ledger.grantAccess(company, credential: keys[label]!.id, project: project, role: role, as: actor) }
    }

    /// Decides every spec on the current state (uses are recorded as decided).
    private func refreshPool() throws {
        pool = []
        for s in specs {
            let d = try ledger.authorize(header: s.header, company: s.company, project: s.project, operation: s.op)
            pool += Array(repeating: d, count: s.weight)
        }
    }

    /// Records `count` uses drawn from the pool in one `record(batch:)` (one write transaction).
    private func uses(_ count: Int) throws {
        t.tick()
        let now = t.clock.now()
        var batch: [Decision] = []
        batch.reserveCapacity(count)
        for _ in 0..<count { batch.append(pool[rng.int(pool.count)]) }
        try ledger.record(batch: batch)
        for d in batch {
            let u = d.use
            recs.append(SegmentRec(seq: head + 1, time: now, company: d.company, actor: u.credential == 0 ? .system : .credential(u.credential),
                                   type: .credentialUsed, credential: u.credential == 0 ? nil : u.credential,
                                   project: u.project == 0 ? nil : u.project, flag: d.allowed ? .allowedUse : .deniedUse))
        }
    }

    /// Uses in batches of 1,000–4,000 until the head is `target`.
    private func fill(to target: UInt64) throws {
        while head < target { try uses(min(1_000 + rng.int(3_001), Int(target - head))) }
    }
}
