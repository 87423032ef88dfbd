@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Issue 5, `audit events`: every combination of filters returns exactly the events a plain scan of the whole
/// log selects, in the asked order, page by page; filters with a posting list are answered from it.
final class AuditQueryTests: XCTestCase {
    /// The reference: filter every event of the log, written independently of the query planner.
    private struct Reference {
        var events: [StoredEvent]
        var companies: [String: UInt32]
        var projects: [String: UInt32]   // "company/slug"
        var credentials: [String: UInt32]
        var users: [String: UInt32]

        func select(_ q: AuditQuery) -> [UInt64] {
            let company = q.company.map { companies[$0]! }
            let credential = q.credential.map { credentials[$0]! }
            let project = q.project.map { projects["\(q.company!)/\($0)"]! }
            var actor: Actor?
            if let a = q.actor {
                if a == "system" { actor = .system } else if let u = users[a] { actor = .user(u) } else { actor = .credential(credentials[a]!) }
            }
            var out: [UInt64] = []
            for stored in events {
                let e = stored.event
                if let company, e.company != company { continue }
                if let actor, e.actor != actor { continue }
                if !q.types.isEmpty, !q.types.contains(e.type) { continue }
                if let since = q.since, e.timestamp < since { continue }
                if let until = q.until, e.timestamp > until { continue }
                if let after = q.after, e.seq <= after { continue }
                if let before = q.before, e.seq >= before { continue }
                var aboutCredential: UInt32?, aboutProject: UInt32?, outcome: String?
                switch e.payload {
                case .credentialCreated(let c): aboutCredential = c.credential
                case .secretRotated(let c, _, _, _), .credentialDeleted(let c): aboutCredential = c
                case .projectAccessGranted(let c, let p, _), .projectAccessChanged(let c, let p, _), .projectAccessRevoked(let c, let p):
                    aboutCredential = c; aboutProject = p
                case .projectCreated(let p, _, _), .projectArchived(let p), .userProjectRoleSet(_, let p, _): aboutProject = p
                case .consentGiven(let c): aboutCredential = c.credential
                case .tokenIssued(let x): aboutCredential = x.credential
                case .tokenRefreshed(let x): aboutCredential = x.credential
                case .tokenRevoked(let x): aboutCredential = x.credential
                case .credentialUsed(let u):
                    aboutCredential = u.credential; aboutProject = u.project
                    outcome = u.allowed ? "allowed" : "denied"
                case .oauthRequestDenied(let c, _, _, _):
                    aboutCredential = c; outcome = "denied"
                default: break
                }
                if let credential, aboutCredential != credential { continue }
                if let project, aboutProject != project { continue }
                if let o = q.outcome, outcome != o.rawValue { continue }
                out.append(e.seq)
            }
            return q.newestFirst ? out.reversed() : out
        }
    }

    private func reference(_ t: TestLedger) throws -> Reference {
        var r = Reference(events: try t.ledger.audit.events(), companies: [:], projects: [:], credentials: [:], users: [:])
        try t.ledger.audit.withState { state in
            for slug in [World.acme, World.beta] {
                let c = try state.company(slug: slug)!
                r.companies[slug] = c.number
                for p in try state.projects(company: c.number) { r.projects["\(slug)/\(p.slug)"] = p.number }
                for k in try state.credentials(company: c.number) { r.credentials[k.publicID] = k.number }
            }
            for email in [World.alice, World.bob, World.carol, World.dave, World.bea] { r.users[email] = try state.user(email: email) }
        }
        return r
    }

    /// All pages of a query, following the cursor.
    private func allPages(_ t: TestLedger, _ query: AuditQuery) throws -> (seqs: [UInt64], plans: Set<String>) {
        var q = query
        var seqs: [UInt64] = []
        var plans = Set<String>()
        for _ in 0..<10_000 {
            let page = try t.ledger.audit.auditEvents(q)
            XCTAssertLessThanOrEqual(page.events.count, q.limit)
            XCTAssertEqual(page.previousHashes.count, page.events.count)
            seqs += page.events.map(\.event.seq)
            plans.insert(page.plan.components(separatedBy: ",").first ?? "")
            guard let next = page.next else { break }
            if q.newestFirst { q.before = next } else { q.after = next }
        }
        return (seqs, plans)
    }

    func testFiltersReturnExactlyTheExpectedEvents() throws {
        let t = try TestLedger("query", seed: 6)
        defer { t.remove() }
        let history = try RandomHistory(t, seed: 6)
        try history.run(steps: 350)
        let ref = try reference(t)
        let times = ref.events.map(\.event.timestamp)
        var rng = TestRNG(99)
        let credentialIDs = Array(ref.credentials.keys).sorted()
        let acmeProjects = ref.projects.keys.filter { $0.hasPrefix("acme/") }.map { String($0.dropFirst(5)) }.sorted()
        var nonEmpty = 0
        for round in 0..<220 {
            var q = AuditQuery()
            q.newestFirst = rng.chance(50)
            q.limit = rng.pick([1, 3, 7, 50, 1000])
            if rng.chance(40) { q.company = rng.pick([World.acme, World.beta]) }
            if rng.chance(35) { q.credential = rng.pick(credentialIDs) }
            if rng.chance(30) {
                q.company = World.acme
                q.project = rng.pick(acmeProjects)
            }
            if rng.chance(25) { q.actor = rng.pick([World.alice, World.bob, World.bea, "system", rng.pick(credentialIDs)]) }
            if rng.chance(30) {
                q.types = rng.chance(70) ? [rng.pick(EventType.allCases)] : [rng.pick(EventType.allCases), rng.pick(EventType.allCases)]
            }
            if rng.chance(30) { q.since = rng.pick(times) + Int64(rng.int(3)) - 1 }
            if rng.chance(30) { q.until = rng.pick(times) + Int64(rng.int(3)) - 1 }
            if rng.chance(30) { q.outcome = rng.pick([.allowed, .denied]) }
            let expected = ref.select(q)
            let got = try allPages(t, q)
            XCTAssertEqual(got.seqs, expected, "round \(round): \(q)")
            if !expected.isEmpty { nonEmpty += 1 }
            // A filter with a posting list never reads the log by range.
            if q.credential != nil || q.project != nil || q.company != nil || (q.actor != nil && q.actor != "system") {
                XCTAssertFalse(got.plans.contains { $0.hasPrefix("log scan") }, "round \(round): \(got.plans)")
            }
        }
        XCTAssertGreaterThan(nonEmpty, 80, "the random queries should mostly find something")
    }

    func testIndexesAreUsedAndFlagsAvoidReadingEvents() throws {
        let t = try TestLedger("query-plan", seed: 2)
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .read, name: "K")
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: "bridge", role: .viewer, as: World.alice)
        for i in 0..<40 {
            t.tick()
            try t.use("Apikey " + key.secret!, "bridge", i % 4 == 0 ? .write : .read)
        }
        var q = AuditQuery()
        q.credential = key.id
        q.outcome = .denied
        q.limit = 1000
        let page = try t.ledger.audit.auditEvents(q)
        XCTAssertEqual(page.events.count, 10)
        XCTAssertTrue(page.plan.hasPrefix("index credential"), page.plan)
        XCTAssertLessThanOrEqual(page.examined, 10 + 2, "allowed uses are skipped by their flag, unread")
        q = AuditQuery()
        q.company = World.acme
        q.types = [.credentialUsed]
        q.outcome = .allowed
        let allowed = try t.ledger.audit.auditEvents(q)
        XCTAssertEqual(allowed.events.count, 30)
        XCTAssertEqual(allowed.examined, 30)
        // Time bounds become a seq range.
        let times = try t.ledger.audit.events().map(\.event.timestamp)
        q = AuditQuery()
        q.since = times[times.count - 5]
        let recent = try t.ledger.audit.auditEvents(q)
        XCTAssertEqual(recent.events.count, 5)
        XCTAssertEqual(recent.examined, 5)
        XCTAssertTrue(recent.plan.hasPrefix("log scan of seq \(times.count - 4)…\(times.count)"), recent.plan)
        // Unknown names are bad input.
        for (field, value) in [("credential", "cred_nope"), ("actor", "nobody@x"), ("company", "nope")] {
            var bad = AuditQuery()
            switch field {
            case "credential": bad.credential = value
            case "actor": bad.actor = value
            default: bad.company = value
            }
            XCTAssertThrowsError(try t.ledger.audit.auditEvents(bad)) { XCTAssertEqual(($0 as? LedgerError)?.kind, .badInput) }
        }
        var projectOnly = AuditQuery()
        projectOnly.project = "bridge"
        XCTAssertThrowsError(try t.ledger.audit.auditEvents(projectOnly))
    }

    func testAuditEventsCommand() throws {
        let t = try TestLedger("query-cli", seed: 4)
        defer { t.remove() }
        try RandomHistory(t, seed: 4).run(steps: 120)
        let ref = try reference(t)
        t.close()
        var q = AuditQuery()
        q.company = World.acme
        q.outcome = .denied
        let expected = ref.select(q)
        XCTAssertFalse(expected.isEmpty)
        var seqs: [UInt64] = []
        var args = ["--json", "audit", "events", "--company", World.acme, "--outcome", "denied", "--limit", "4"]
        for _ in 0..<1000 {
            let r = runCLI(t, args)
            XCTAssertEqual(r.code, 0, r.all)
            let events = r.object["events"] as? [[String: Any]] ?? []
            seqs += events.compactMap { ($0["seq"] as? NSNumber)?.uint64Value }
            for e in events { XCTAssertNotNil(e["prev_hash"]) }
            guard let next = r.object["next"] as? [String: Any], let before = (next["before"] as? NSNumber)?.uint64Value else { break }
            args = ["--json", "audit", "events", "--company", World.acme, "--outcome", "denied", "--limit", "4", "--before", String(before)]
        }
        XCTAssertEqual(seqs, expected)
        let oldest = runCLI(t, ["audit", "events", "--type", "credential_created,credential_deleted", "--order", "oldest", "--limit", "3"])
        XCTAssertEqual(oldest.code, 0, oldest.all)
        XCTAssertTrue(oldest.out.contains("credential_created"), oldest.out)
        XCTAssertTrue(oldest.err.contains("next page: --after"), oldest.err)
        XCTAssertEqual(runCLI(t, ["audit", "events", "--type", "nope"]).code, 2)
        XCTAssertEqual(runCLI(t, ["audit", "events", "--since", "last week"]).code, 2)
        XCTAssertEqual(runCLI(t, ["audit", "events", "--order", "sideways"]).code, 2)
    }
}
