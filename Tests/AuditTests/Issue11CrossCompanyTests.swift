@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Issue 11, item 11: a credential presented to another company is recorded in its OWN company's trail (with the
/// target company as a field, reason `cross_company`), the target company gets an anonymous `foreign_credential`
/// attempt naming nothing of the owner, and every count of an export equals the events in it.
final class Issue11CrossCompanyTests: XCTestCase {
    private func number(_ t: TestLedger, company slug: String) throws -> UInt32 {
        try t.ledger.audit.withState { try $0.company(slug: slug)!.number }
    }

    private func number(_ t: TestLedger, company slug: String, project: String) throws -> UInt32 {
        try t.ledger.audit.withState { state in
            let c = try state.company(slug: slug)!
            return try state.project(company: c.number, slug: project)!.number
        }
    }

    private func credentialNumber(_ t: TestLedger, _ id: String) throws -> UInt32 {
        try t.ledger.audit.withState { try $0.credential(publicID: id)!.number }
    }

    private func uses(_ t: TestLedger, after seq: UInt64) throws -> [Event] {
        try t.events(after: seq).map(\.event)
    }

    private func jsonLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// The (company, credential, denial, target, project) of the `credential_used` event, checked field by field.
    private func assertUse(_ event: Event, company: UInt32, credential: UInt32, project: UInt32, denial: DenialReason?,
                           target: UInt32, file: StaticString = #filePath, line: UInt = #line) {
        guard case .credentialUsed(let use) = event.payload else {
            return XCTFail("expected credential_used, got \(event.type.name)", file: file, line: line)
        }
        XCTAssertEqual(event.company, company, "company", file: file, line: line)
        XCTAssertEqual(use.credential, credential, "credential", file: file, line: line)
        XCTAssertEqual(event.actor, credential == 0 ? .system : .credential(credential), "actor", file: file, line: line)
        XCTAssertEqual(use.project, project, "project", file: file, line: line)
        XCTAssertEqual(use.denial, denial, "denial", file: file, line: line)
        XCTAssertEqual(use.targetCompany, target, "target company", file: file, line: line)
    }

    func testAUseAtAnotherCompanyIsRecordedInTheCredentialsOwnTrailAndAnonymouslyInTheTarget() throws {
        let t = try TestLedger("i11-cross", seed: 11)
        defer { t.remove() }
        try t.makeWorld()
        let acme = try number(t, company: World.acme), beta = try number(t, company: World.beta)
        let pb = try number(t, company: World.beta, project: "pb")
        let key = try t.create(.staticKey, .global, name: "acme-global")
        let keyNumber = try credentialNumber(t, key.id)
        let pkce = try t.create(.pkce, .global, name: "acme-pkce")
        let pkceNumber = try credentialNumber(t, pkce.id)
        let bearer = "Bearer " + (try t.pkceTokens(pkce, user: World.alice)).accessToken

        // A static key, sent to beta: the caller's answer stays `other_company`; two events.
        var start = t.ledger.head.seq
        let decision = try t.use("Apikey " + key.secret!, "pb", .read, company: World.beta)
        XCTAssertEqual(decision.denial, .otherCompany)
        XCTAssertEqual(decision.credentialID, key.id)
        var events = try uses(t, after: start)
        XCTAssertEqual(events.count, 2)
        assertUse(events[0], company: acme, credential: keyNumber, project: 0, denial: .crossCompany, target: beta)
        assertUse(events[1], company: beta, credential: 0, project: pb, denial: .foreignCredential, target: 0)

        // A PKCE token of acme, and the completion and batch recording paths: the same two events each.
        start = t.ledger.head.seq
        _ = try t.use(bearer, "nope", .write, company: World.beta)
        let answer = try t.ledger.access.authorize(header: "Apikey " + key.secret!, company: World.beta, project: "pb", operation: .write)
        let done = expectation(description: "recorded")
        t.ledger.access.record(answer) { error in
            XCTAssertNil(error)
            done.fulfill()
        }
        wait(for: [done], timeout: 10)
        let same = try t.ledger.access.authorize(header: "Apikey " + key.secret!, company: World.acme, project: "bridge", operation: .read)
        try t.ledger.access.record(batch: [answer, same, answer])
        events = try uses(t, after: start)
        XCTAssertEqual(events.count, 2 + 2 + 2 + 1 + 2)
        assertUse(events[0], company: acme, credential: pkceNumber, project: 0, denial: .crossCompany, target: beta)
        assertUse(events[1], company: beta, credential: 0, project: 0, denial: .foreignCredential, target: 0)
        for i in [2, 4, 7] {
            assertUse(events[i], company: acme, credential: keyNumber, project: 0, denial: .crossCompany, target: beta)
            assertUse(events[i + 1], company: beta, credential: 0, project: pb, denial: .foreignCredential, target: 0)
        }
        assertUse(events[6], company: acme, credential: keyNumber, project: try number(t, company: World.acme, project: "bridge"),
                  denial: nil, target: 0)

        // A deleted key at beta: the owner's trail says `revoked` (checked first) at beta; beta still learns nothing more.
        try t.ledger.administration.deleteCredential(World.acme, credential: key.id, as: World.alice)
        start = t.ledger.head.seq
        XCTAssertEqual(try t.use("Apikey " + key.secret!, "pb", .read, company: World.beta).denial, .revoked)
        events = try uses(t, after: start)
        XCTAssertEqual(events.count, 2)
        assertUse(events[0], company: acme, credential: keyNumber, project: 0, denial: .revoked, target: beta)
        assertUse(events[1], company: beta, credential: 0, project: pb, denial: .foreignCredential, target: 0)

        // Audit queries: acme's trail and the key's own history hold every attempt; beta's holds anonymous ones only.
        var query = AuditQuery()
        query.company = World.acme
        query.types = [.credentialUsed]
        query.limit = 1000
        let acmeUses = try t.ledger.audit.auditEvents(query).events.map(\.event)
        XCTAssertEqual(acmeUses.filter { if case .credentialUsed(let u) = $0.payload { u.targetCompany == beta } else { false } }.count, 6)
        query.company = World.beta
        let betaUses = try t.ledger.audit.auditEvents(query).events.map(\.event)
        XCTAssertEqual(betaUses.count, 6)
        for event in betaUses { assertUse(event, company: beta, credential: 0, project: event.payload.project ?? 0, denial: .foreignCredential, target: 0) }
        var byKey = AuditQuery()
        byKey.credential = key.id
        byKey.outcome = .denied
        byKey.limit = 1000
        XCTAssertEqual(try t.ledger.audit.auditEvents(byKey).events.count, 5)
        XCTAssertTrue(try t.ledger.audit.auditEvents(byKey).events.allSatisfy { $0.event.company == acme })

        // The credential table counts exactly those: 5 denied + 1 allowed for the key, 1 denied for the PKCE client.
        let rows = try t.liveRows(World.acme)
        XCTAssertEqual(rows.first { $0.id == key.id }.map { [$0.used, $0.denied] }, [1, 5])
        XCTAssertEqual(rows.first { $0.id == pkce.id }.map { [$0.used, $0.denied] }, [0, 1])
        XCTAssertTrue(try t.liveRows(World.beta).allSatisfy { $0.used + $0.denied == 0 })

        // Exports: beta's names nothing of acme; acme's shows where each attempt went.
        let betaDir = t.directory.path + "/beta-export", acmeDir = t.directory.path + "/acme-export"
        _ = try t.ledger.audit.export(ExportRequest(company: World.beta, format: .jsonl, directory: betaDir))
        _ = try t.ledger.audit.export(ExportRequest(company: World.acme, format: .jsonl, directory: acmeDir))
        let betaText = try String(contentsOfFile: betaDir + "/events.jsonl", encoding: .utf8)
        for secretless in [key.id, pkce.id, pkce.clientID!, "acme", "cross_company"] {
            XCTAssertFalse(betaText.contains(secretless), "beta's export shows \(secretless)")
        }
        let foreign = try jsonLines(betaDir + "/events.jsonl").filter { ($0["payload"] as? [String: Any])?["outcome"] as? String == "foreign_credential" }
        XCTAssertEqual(foreign.count, 6)
        for line in foreign {
            XCTAssertEqual(line["actor"] as? String, "system")
            XCTAssertEqual((line["payload"] as? [String: Any])?["credential"] as? String, "")
            XCTAssertNil((line["payload"] as? [String: Any])?["target_company"])
        }
        let cross = try jsonLines(acmeDir + "/events.jsonl").filter { ($0["payload"] as? [String: Any])?["target_company"] != nil }
        XCTAssertEqual(cross.count, 6)
        for line in cross {
            XCTAssertEqual((line["payload"] as? [String: Any])?["target_company"] as? String, "beta")
            XCTAssertEqual((line["payload"] as? [String: Any])?["project"] as? String, "")
        }
        for dir in [betaDir, acmeDir] {
            let result = try runVerifier(dir)
            XCTAssertEqual(result.code, 0, result.output)
        }

        // The log still verifies and a rebuild reproduces the projections.
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }

    /// Review finding 6: a valid key or token sent to an UNKNOWN company slug is recorded in its owner's trail
    /// (credential = its number, no project, no target company, `unknown_company`); the caller's answer is unchanged.
    func testAUseAtAnUnknownCompanyIsRecordedInTheCredentialsOwnTrail() throws {
        let t = try TestLedger("i11-unknown-company", seed: 13)
        defer { t.remove() }
        try t.makeWorld()
        let acme = try number(t, company: World.acme)
        let key = try t.create(.staticKey, .global, name: "acme-global")
        let keyNumber = try credentialNumber(t, key.id)
        let pkce = try t.create(.pkce, .global, name: "acme-pkce")
        let pkceNumber = try credentialNumber(t, pkce.id)
        let bearer = "Bearer " + (try t.pkceTokens(pkce, user: World.alice)).accessToken
        try t.use("Apikey " + key.secret!, "bridge", .read)

        var start = t.ledger.head.seq
        for (header, id) in [("Apikey " + key.secret!, key.id), (bearer, pkce.id)] {
            let decision = try t.use(header, "bridge", .write, company: "nope")
            XCTAssertEqual(decision.denial, .unknownCompany)
            XCTAssertEqual(decision.credentialID, id, "the credential the use is recorded against (as for other_company)")
            XCTAssertNil(decision.principal)
            XCTAssertEqual(decision.capability, .none)
        }
        // `authorize` (no recording) answers the same, and records nothing.
        let head = t.ledger.head
        XCTAssertEqual(try t.ledger.access.authorize(header: "Apikey " + key.secret!, company: "nope", project: "bridge", operation: .read).denial,
                       .unknownCompany)
        XCTAssertEqual(t.ledger.head, head)
        var events = try uses(t, after: start)
        XCTAssertEqual(events.count, 2)
        assertUse(events[0], company: acme, credential: keyNumber, project: 0, denial: .unknownCompany, target: 0)
        assertUse(events[1], company: acme, credential: pkceNumber, project: 0, denial: .unknownCompany, target: 0)

        // What matches nothing, or is malformed, still belongs to no company.
        start = t.ledger.head.seq
        let unknownKey = try SecretFormat.generate(.apiKey, using: SystemRandom())
        for header in ["Apikey " + unknownKey, "Bearer not-a-token", "Basic abc", ""] {
            let decision = try t.use(header, "bridge", .read, company: "nope")
            XCTAssertEqual(decision.denial, .unknownCompany, header)
            XCTAssertNil(decision.credentialID, header)
        }
        events = try uses(t, after: start)
        XCTAssertEqual(events.count, 4)
        for event in events { assertUse(event, company: 0, credential: 0, project: 0, denial: .unknownCompany, target: 0) }

        // acme's audit events, the key's history and its counters show the attempt.
        var query = AuditQuery()
        query.company = World.acme
        query.types = [.credentialUsed]
        query.outcome = .denied
        query.limit = 1000
        let acmeDenied = try t.ledger.audit.auditEvents(query).events.map(\.event)
        XCTAssertEqual(acmeDenied.filter { if case .credentialUsed(let u) = $0.payload { u.denial == .unknownCompany } else { false } }.count, 2)
        var byKey = AuditQuery()
        byKey.credential = key.id
        byKey.limit = 1000
        XCTAssertEqual(try t.ledger.audit.auditEvents(byKey).events.filter { $0.event.type == .credentialUsed }.count, 2)
        let rows = try t.liveRows(World.acme)
        XCTAssertEqual(rows.first { $0.id == key.id }.map { [$0.used, $0.denied] }, [1, 1])
        XCTAssertEqual(rows.first { $0.id == pkce.id }.map { [$0.used, $0.denied] }, [0, 1])

        // acme's export shows it (credential id, no project, no target) and its counts equal its events.
        let dir = t.directory.path + "/acme-export"
        _ = try t.ledger.audit.export(ExportRequest(company: World.acme, format: .jsonl, directory: dir))
        let unknown = try jsonLines(dir + "/events.jsonl").filter {
            ($0["payload"] as? [String: Any])?["outcome"] as? String == "unknown_company"
        }
        XCTAssertEqual(unknown.compactMap { ($0["payload"] as? [String: Any])?["credential"] as? String }.sorted(), [key.id, pkce.id].sorted())
        for line in unknown {
            XCTAssertEqual(line["company"] as? String, World.acme)
            XCTAssertEqual((line["payload"] as? [String: Any])?["project"] as? String, "")
            XCTAssertNil((line["payload"] as? [String: Any])?["target_company"])
        }
        for company in [World.acme, nil] {
            let d = t.directory.path + "/export-\(company ?? "all")"
            _ = try t.ledger.audit.export(ExportRequest(company: company, format: .jsonl, directory: d))
            let result = try runVerifier(d)
            XCTAssertEqual(result.code, 0, result.output)
        }
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }

    /// The common, same-company use keeps the allocation-free stack record (its bytes equal the codec's).
    func testTheSameCompanyUseKeepsTheStackRecordPath() {
        XCTAssertTrue(UseRecord.isExact)
        XCTAssertEqual(UseRecord.bodySize, 22 + 10)
    }

    /// The invariant on a mixed history: in every export (all, and each company; JSONL and CSV) each credential's
    /// `used` / `denied` equals its allowed / denied `credential_used` events in the same export; the verifier
    /// checks it too.
    func testEveryExportsCountsEqualTheEventsInIt() throws {
        let t = try TestLedger("i11-counts", seed: 29)
        defer { t.remove() }
        let history = try RandomHistory(t, seed: 29)
        var rng = TestRNG(29)
        // Random steps, with uses of each company's credentials at the other company between them.
        for _ in 0..<12 {
            try history.run(steps: 12)
            for _ in 0..<3 {
                let key = history.keys[rng.int(history.keys.count)]
                let other = key.company == World.acme ? World.beta : World.acme
                let project = rng.pick(history.projects[other]!)
                if key.issued.type == .staticKey, let secret = key.issued.secret {
                    try t.use("Apikey " + secret, project, rng.chance(50) ? .read : .write, company: other)
                } else if let token = history.tokens.first(where: { history.keys[$0.key].issued.id == key.issued.id }) {
                    try t.use("Bearer " + token.access, project, .read, company: other)
                }
            }
        }
        // The history did cross: some uses carry a target.
        let crossed = try t.ledger.audit.events(from: 1).filter { if case .credentialUsed(let u) = $0.event.payload { u.targetCompany != 0 } else { false } }
        XCTAssertGreaterThan(crossed.count, 10)

        for company in [nil, World.acme, World.beta] {
            for format in ExportRequest.Format.allCases {
                let dir = t.directory.path + "/export-\(company ?? "all")-\(format.rawValue)"
                _ = try t.ledger.audit.export(ExportRequest(company: company, format: format, directory: dir))
                let result = try runVerifier(dir)
                XCTAssertEqual(result.code, 0, "\(dir): \(result.output)")
                guard format == .jsonl else { continue }
                var tally: [String: [UInt64]] = [:]
                for line in try jsonLines(dir + "/events.jsonl") where line["type"] as? String == "credential_used" {
                    let payload = line["payload"] as! [String: Any]
                    guard let id = payload["credential"] as? String, !id.isEmpty else { continue }
                    tally[id, default: [0, 0]][payload["outcome"] as? String == "allowed" ? 0 : 1] += 1
                }
                let rows = try jsonLines(dir + "/credentials.jsonl")
                XCTAssertFalse(rows.isEmpty)
                for row in rows {
                    let id = row["id"] as! String
                    let counted = [(row["used"] as! NSNumber).uint64Value, (row["denied"] as! NSNumber).uint64Value]
                    XCTAssertEqual(counted, tally.removeValue(forKey: id) ?? [0, 0], "\(dir): credential \(id)")
                }
                XCTAssertEqual(tally.keys.sorted(), [], "\(dir): uses of credentials the snapshot does not list")
            }
        }
        XCTAssertTrue(try t.ledger.audit.verify().ok)
    }

    /// The verifier refuses an export whose counts disagree with its events (what today's ledgers produced).
    func testTheVerifierRefusesCountsThatDisagreeWithTheEvents() throws {
        let t = try TestLedger("i11-verifier", seed: 5)
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .global, name: "g")
        try t.use("Apikey " + key.secret!, "bridge", .read)
        try t.use("Apikey " + key.secret!, "bridge", .write)
        let dir = t.directory.path + "/e"
        _ = try t.ledger.audit.export(ExportRequest(company: World.acme, format: .jsonl, directory: dir))
        XCTAssertEqual(try runVerifier(dir).code, 0)
        // Claim one more denial than the events show, with the manifest's digests recomputed.
        let path = dir + "/credentials.jsonl"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let changed = text.replacingOccurrences(of: "\"denied\":0", with: "\"denied\":1")
        XCTAssertNotEqual(changed, text)
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))) as! [String: Any]
        manifest["files"] = try (manifest["files"] as! [[String: Any]]).map { file in
            var f = file
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + (file["name"] as! String)))
            f["sha256"] = SHA256.hash(Array(data)).hex
            f["bytes"] = data.count
            return f
        }
        try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        let result = try runVerifier(dir)
        XCTAssertEqual(result.code, 1, result.output)
        XCTAssertTrue(result.output.contains("denied=1"), result.output)
    }
}
