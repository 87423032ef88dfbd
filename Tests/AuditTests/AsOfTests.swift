@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Issue 5, as-of state: the credential table, usage counters and memberships asked "as of" a seq or a time
/// equal what the live ledger showed at that moment, captured during randomized histories.
final class AsOfTests: XCTestCase {
    /// What the live ledger showed at one moment.
    private struct Capture {
        var seq: UInt64
        var time: Timestamp
        var rows: [String: [CredentialRow]]
        var usage: [String: [UsageRow]]
        var memberships: [String: Memberships]
    }

    private func capture(_ t: TestLedger) throws -> Capture {
        var c = Capture(seq: t.ledger.head.seq, time: t.clock.now(), rows: [:], usage: [:], memberships: [:])
        for slug in [World.acme, World.beta] {
            c.rows[slug] = try t.liveRows(slug)
            c.usage[slug] = try t.ledger.audit.usage(slug)
            c.memberships[slug] = try t.ledger.audit.memberships(slug)
        }
        // Later events get later timestamps, so "as of this time" means exactly this moment.
        t.tick(0.5)
        return c
    }

    private func assertMatches(_ state: AsOfState, _ c: Capture, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(state.seq, c.seq, "\(label): seq", file: file, line: line)
        for slug in [World.acme, World.beta] {
            let rows = try state.credentialRows(company: slug, includeDeleted: true)
            XCTAssertEqual(rows.count, c.rows[slug]!.count, "\(label) \(slug): row count", file: file, line: line)
            for (a, b) in zip(rows, c.rows[slug]!) { XCTAssertEqual(a, b, "\(label) \(slug): row \(b.id)", file: file, line: line) }
            XCTAssertEqual(try state.usage(company: slug), c.usage[slug]!, "\(label) \(slug): usage", file: file, line: line)
            XCTAssertEqual(try state.memberships(company: slug), c.memberships[slug]!, "\(label) \(slug): memberships", file: file, line: line)
        }
    }

    func testAsOfEqualsTheLiveStateCapturedThen() throws {
        for seed: UInt64 in [4, 21] {
            let t = try TestLedger("asof-\(seed)", seed: seed)
            defer { t.remove() }
            let history = try RandomHistory(t, seed: seed)
            var captures = [try capture(t)]
            try history.run(steps: 300, every: 25) { captures.append(try capture(t)) }
            captures.append(try capture(t))
            XCTAssertGreaterThan(Set(captures.map(\.seq)).count, 8, "the history should move between captures")
            for c in captures {
                try assertMatches(try t.ledger.audit.state(asOf: .seq(c.seq)), c, "seed \(seed) seq \(c.seq)")
                try assertMatches(try t.ledger.audit.state(asOf: .time(c.time)), c, "seed \(seed) time \(TimeFormat.rfc3339(c.time))")
                // Limiting the counters to one company gives the same rows for it.
                let acmeOnly = try t.ledger.audit.state(asOf: .seq(c.seq), company: World.acme)
                XCTAssertEqual(try acmeOnly.credentialRows(company: World.acme, includeDeleted: true), c.rows[World.acme]!)
            }
            // The head is the live state; before the first event there is nothing.
            try assertMatches(try t.ledger.audit.state(asOf: .head), captures.last!, "head")
            let empty = try t.ledger.audit.state(asOf: .seq(0))
            XCTAssertTrue(try empty.credentialRows(company: World.acme, includeDeleted: true).isEmpty)
            XCTAssertTrue(try t.ledger.audit.state(asOf: .time(captures[0].time - 3_600_000_000_000)).credentialRows(company: World.acme, includeDeleted: true).isEmpty)
        }
    }

    /// Counters at every seq of a small history, against counts kept by walking the log: both counting paths
    /// (forward from the start, and live minus the tail) and last-used are exercised at every point.
    func testCountersAtEverySeqMatchAWalkOfTheLog() throws {
        let t = try TestLedger("asof-every")
        defer { t.remove() }
        try RandomHistory(t, seed: 8).run(steps: 90)
        let events = try t.ledger.audit.events()
        var expected: [UInt32: UsageRecord] = [:]
        var numbers: [String: UInt32] = [:]
        try t.ledger.audit.withState { state in
            for slug in [World.acme, World.beta] {
                for c in try state.credentials(company: try state.company(slug: slug)!.number) { numbers[c.publicID] = c.number }
            }
        }
        var checked = 0
        for stored in events {
            let e = stored.event
            if case .credentialUsed(let use) = e.payload, use.credential != 0 {
                var u = expected[use.credential] ?? UsageRecord()
                if use.allowed {
                    u.used += 1
                    u.lastUsed = e.timestamp
                    if u.firstUsed == 0 { u.firstUsed = e.timestamp }
                } else {
                    u.denied += 1
                    u.lastDenied = e.timestamp
                }
                expected[use.credential] = u
            }
            guard e.seq % 3 == 0 || e.seq == events.count else { continue }
            let state = try t.ledger.audit.state(asOf: .seq(e.seq))
            for (id, number) in numbers {
                guard try state.reader.credential(number) != nil else { continue }
                XCTAssertEqual(try state.reader.usage(credential: number), expected[number] ?? UsageRecord(), "credential \(id) at seq \(e.seq)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 100)
    }

    func testKeyListAtAndSeqOnTheCommandLine() throws {
        let t = try TestLedger("asof-cli")
        defer { t.remove() }
        let history = try RandomHistory(t, seed: 31)
        try history.run(steps: 60)
        _ = try? t.ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)   // the live table needs it on
        let seq = t.ledger.head.seq
        let time = t.clock.now()
        t.close()   // the CLI opens the ledger itself (one environment per path per process)
        let before = runCLI(t, ["--json", "key", "list", World.acme, "--as", World.alice, "--all"])
        XCTAssertEqual(before.code, 0, before.all)
        try t.reopen()
        t.tick()
        try history.run(steps: 60)
        XCTAssertGreaterThan(t.ledger.head.seq, seq)
        t.close()
        let bySeq = runCLI(t, ["--json", "key", "list", World.acme, "--as", World.alice, "--all", "--seq", String(seq)])
        let byTime = runCLI(t, ["--json", "key", "list", World.acme, "--as", World.alice, "--all", "--at", TimeFormat.rfc3339(time)])
        XCTAssertEqual(bySeq.code, 0, bySeq.all)
        XCTAssertEqual(bySeq.out, before.out)
        XCTAssertEqual(byTime.out, before.out)
        let now = runCLI(t, ["--json", "key", "list", World.acme, "--as", World.alice, "--all"])
        XCTAssertNotEqual(now.out, before.out, "the history went on, so the live table changed")

        // usage and memberships views, live and as of.
        XCTAssertEqual(runCLI(t, ["usage", World.acme, "--seq", String(seq)]).code, 0)
        let members = runCLI(t, ["--json", "memberships", World.acme, "--at", TimeFormat.rfc3339(time)])
        XCTAssertEqual(members.code, 0, members.all)
        XCTAssertEqual((members.object["as_of"] as? [String: Any])?["seq"] as? Int, Int(seq))
        // Bad input: both options, a malformed time, a seq past the head, a non-admin.
        XCTAssertEqual(runCLI(t, ["key", "list", World.acme, "--as", World.alice, "--seq", "1", "--at", "2026-01-01T00:00:00Z"]).code, 2)
        XCTAssertEqual(runCLI(t, ["key", "list", World.acme, "--as", World.alice, "--at", "yesterday"]).code, 2)
        let past = runCLI(t, ["key", "list", World.acme, "--as", World.alice, "--seq", "999999"])
        XCTAssertEqual(past.code, 2)
        XCTAssertTrue(past.err.contains("beyond_head"), past.err)
        XCTAssertEqual(runCLI(t, ["key", "list", World.acme, "--as", "mallory@evil.example", "--seq", "3"]).code, 1)
    }
}
