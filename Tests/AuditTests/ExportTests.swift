@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Issue 5, compliance export: the independent Python verifier (Tools/verify_export.py) accepts a fresh
/// export in every form and rejects one with a single changed byte; the files hold what the ledger holds.
final class ExportTests: XCTestCase {
    /// The secrets handed out during the last history (to prove none reaches an export).
    private var secrets: [String] = []

    private func historyLedger(_ label: String, seed: UInt64, steps: Int = 150) throws -> TestLedger {
        let t = try TestLedger(label, seed: seed)
        let history = try RandomHistory(t, seed: seed)
        try history.run(steps: steps)
        secrets = history.keys.flatMap { [$0.issued.secret, $0.issued.clientSecret].compactMap { $0 } }
            + history.tokens.flatMap { [$0.access, $0.refresh].compactMap { $0 } }
        return t
    }

    private func export(_ t: TestLedger, _ name: String, company: String? = nil, format: ExportRequest.Format = .jsonl,
                        since: Timestamp? = nil, until: Timestamp? = nil) throws -> (String, ExportSummary) {
        let dir = t.directory.path + "/" + name
        let summary = try t.ledger.audit.export(ExportRequest(company: company, format: format, directory: dir, since: since, until: until))
        return (dir, summary)
    }

    private func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    private func manifest(_ dir: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))) as! [String: Any]
    }

    private func rewriteManifestDigests(_ dir: String) throws {
        // Recomputes the file digests so that a tampered line must be caught by the per-line checks.
        var m = try manifest(dir)
        m["files"] = try (m["files"] as! [[String: Any]]).map { file in
            var f = file
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + (file["name"] as! String)))
            f["sha256"] = SHA256.hash(Array(data)).hex
            f["bytes"] = data.count
            f["lines"] = data.filter { $0 == 0x0A }.count
            return f
        }
        try JSONSerialization.data(withJSONObject: m, options: [.sortedKeys]).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
    }

    private func flipByte(_ path: String, at offset: Int) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[offset] ^= 0x01
        try data.write(to: URL(fileURLWithPath: path))
    }

    private func copy(_ dir: String, to name: String) throws -> String {
        let target = (dir as NSString).deletingLastPathComponent + "/" + name
        try FileManager.default.copyItem(atPath: dir, toPath: target)
        return target
    }

    func testTheVerifierAcceptsFreshExportsAndRejectsAnyChangedByte() throws {
        let t = try historyLedger("export", seed: 13)
        defer { t.remove() }
        let head = t.ledger.head
        let (all, summary) = try export(t, "all")
        XCTAssertEqual(summary.events, head.seq)
        XCTAssertEqual(summary.head?.hash, head.hash)
        var result = try runVerifier(all)
        XCTAssertEqual(result.code, 0, result.output)
        XCTAssertTrue(result.output.hasPrefix("OK: \(head.seq) events"), result.output)

        // One changed byte anywhere in the events file, a snapshot file, or the manifest: rejected.
        let eventsPath = all + "/events.jsonl"
        let size = try FileManager.default.attributesOfItem(atPath: eventsPath)[.size] as! Int
        for (i, offset) in [10, size / 3, size / 2, size - 5].enumerated() {
            let bad = try copy(all, to: "bad-events-\(i)")
            try flipByte(bad + "/events.jsonl", at: offset)
            result = try runVerifier(bad)
            XCTAssertEqual(result.code, 1, "byte \(offset): \(result.output)")
            XCTAssertTrue(result.output.contains("events.jsonl"), result.output)
        }
        for file in ["credentials.jsonl", "memberships.jsonl"] {
            let bad = try copy(all, to: "bad-\(file)")
            try flipByte(bad + "/" + file, at: 3)
            result = try runVerifier(bad)
            XCTAssertEqual(result.code, 1, result.output)
            XCTAssertTrue(result.output.contains(file), result.output)
        }
        let badManifest = try copy(all, to: "bad-manifest")
        let manifestText = try String(contentsOfFile: badManifest + "/manifest.json", encoding: .utf8)
        let headHex = head.hash.hex
        let changed = manifestText.replacingOccurrences(of: "\"head_hash\" : \"\(headHex)\"",
                                                        with: "\"head_hash\" : \"\(String(headHex.dropLast()))\(headHex.last == "0" ? "1" : "0")\"")
        XCTAssertNotEqual(changed, manifestText)
        try changed.write(toFile: badManifest + "/manifest.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(try runVerifier(badManifest).code, 1)

        // A line changed and the digests recomputed: the per-line checks name the line.
        var eventLines = try lines(eventsPath)
        let target = eventLines.count / 2
        func field(_ line: String, _ name: String) -> String {
            String(line.components(separatedBy: "\"\(name)\":\"")[1].prefix(64))
        }
        let edits: [(String, (String) -> String)] = [
            ("record", { $0.replacingOccurrences(of: "\"record\":\"01", with: "\"record\":\"02") }),
            ("type", { $0.replacingOccurrences(of: "\"type\":\"", with: "\"type\":\"x") }),
            ("time", { $0.replacingOccurrences(of: "Z\",\"type\"", with: "1Z\",\"type\"") }),
            // The hash of another line as prev_hash: the link to the line before must fail.
            ("prev", { $0.replacingOccurrences(of: field($0, "prev_hash"), with: field(eventLines[target - 2], "hash")) }),
        ]
        for (label, edit) in edits {
            let bad = try copy(all, to: "bad-line-\(label)")
            var edited = eventLines
            edited[target] = edit(edited[target])
            XCTAssertNotEqual(edited[target], eventLines[target], label)
            try (edited.joined(separator: "\n") + "\n").write(toFile: bad + "/events.jsonl", atomically: true, encoding: .utf8)
            try rewriteManifestDigests(bad)
            result = try runVerifier(bad)
            XCTAssertEqual(result.code, 1, "\(label): \(result.output)")
            XCTAssertTrue(result.output.contains("line \(target + 1)"), "\(label): \(result.output)")
        }
        // Fields decoded from the record (names, payload) and the exact bytes of a line are checked too.
        let useLine = eventLines.firstIndex { $0.contains("\"type\":\"credential_used\"") && $0.contains("\"outcome\":\"allowed\"") }!
        let createdLine = eventLines.firstIndex { $0.contains("\"type\":\"credential_created\"") }!
        let lineEdits: [(String, Int, (String) -> String)] = [
            ("company", useLine, { $0.replacingOccurrences(of: "\"company\":\"acme\"", with: "\"company\":\"beta\"") }),
            ("actor", useLine, { $0.replacingOccurrences(of: "\"actor\":\"cred_", with: "\"actor\":\"cred_x") }),
            ("outcome", useLine, { $0.replacingOccurrences(of: "\"outcome\":\"allowed\"", with: "\"outcome\":\"revoked\"") }),
            ("name", createdLine, { $0.replacingOccurrences(of: "\"name\":\"", with: "\"name\":\"X") }),
            ("extra field", useLine, { $0.replacingOccurrences(of: "\"outcome\":", with: "\"note\":\"hi\",\"outcome\":") }),
            ("space", useLine, { $0.replacingOccurrences(of: "{\"seq\":", with: "{ \"seq\":") }),
            ("escape", createdLine, { $0.replacingOccurrences(of: "\"type\":\"credential_created\"", with: "\"type\":\"credential\\u005fcreated\"") }),
        ]
        for (label, line, edit) in lineEdits {
            let bad = try copy(all, to: "bad-field-\(label.replacingOccurrences(of: " ", with: "-"))")
            var edited = eventLines
            edited[line] = edit(edited[line])
            XCTAssertNotEqual(edited[line], eventLines[line], label)
            try (edited.joined(separator: "\n") + "\n").write(toFile: bad + "/events.jsonl", atomically: true, encoding: .utf8)
            try rewriteManifestDigests(bad)
            result = try runVerifier(bad)
            XCTAssertEqual(result.code, 1, "\(label): \(result.output)")
            XCTAssertTrue(result.output.contains("line \(line + 1)"), "\(label): \(result.output)")
        }
        // A dropped line in a contiguous export.
        let dropped = try copy(all, to: "bad-dropped")
        eventLines.remove(at: target)
        try (eventLines.joined(separator: "\n") + "\n").write(toFile: dropped + "/events.jsonl", atomically: true, encoding: .utf8)
        try rewriteManifestDigests(dropped)
        result = try runVerifier(dropped)
        XCTAssertEqual(result.code, 1, result.output)
        XCTAssertTrue(result.output.contains("line \(target + 1)"), result.output)
    }

    func testExportFormsAndContents() throws {
        let t = try historyLedger("export-forms", seed: 14)
        defer { t.remove() }
        let events = try t.ledger.audit.events()
        let acme = try t.ledger.audit.withState { try $0.company(slug: World.acme)!.number }

        // CSV of everything.
        let (csv, _) = try export(t, "csv", format: .csv)
        var result = try runVerifier(csv)
        XCTAssertEqual(result.code, 0, result.output)
        XCTAssertEqual(try lines(csv + "/events.csv").count, events.count + 1)
        let badCSV = try copy(csv, to: "bad-csv")
        try flipByte(badCSV + "/events.csv", at: 200)
        XCTAssertEqual(try runVerifier(badCSV).code, 1)

        // One company: a sparse chain, every line still checks.
        let (company, summary) = try export(t, "acme", company: World.acme)
        result = try runVerifier(company)
        XCTAssertEqual(result.code, 0, result.output)
        let acmeSeqs = events.filter { $0.event.company == acme }.map(\.event.seq)
        XCTAssertEqual(summary.events, UInt64(acmeSeqs.count))
        let exported = try lines(company + "/events.jsonl").map { line -> UInt64 in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            XCTAssertEqual(object["company"] as? String, World.acme)
            return (object["seq"] as! NSNumber).uint64Value
        }
        XCTAssertEqual(exported, acmeSeqs)
        XCTAssertEqual((try manifest(company)["chain"] as! [String: Any])["contiguous"] as? Bool, false)

        // A time range: exactly the events inside it; the snapshot is the state at its end.
        let moments = Array(Set(events.map(\.event.timestamp))).sorted()
        let since = moments[moments.count / 4], until = moments[moments.count / 2]
        XCTAssertGreaterThan(since, events[0].event.timestamp, "the range should start after the first event")
        let (range, ranged) = try export(t, "range", since: since, until: until)
        result = try runVerifier(range)
        XCTAssertEqual(result.code, 0, result.output)
        let inside = events.filter { $0.event.timestamp >= since && $0.event.timestamp <= until }
        XCTAssertEqual(ranged.events, UInt64(inside.count))
        XCTAssertEqual(ranged.fromSeq, inside.first!.event.seq)
        XCTAssertEqual(ranged.toSeq, inside.last!.event.seq)
        let first = try JSONSerialization.jsonObject(with: Data(try lines(range + "/events.jsonl")[0].utf8)) as! [String: Any]
        XCTAssertEqual(first["prev_hash"] as? String, events[Int(inside.first!.event.seq) - 2].hash.hex, "the first line links to the event before the range")
        let snapshotState = try t.ledger.audit.state(asOf: .seq(ranged.toSeq))
        let expectedRows = try snapshotState.credentialRows(company: World.acme, includeDeleted: true).count
            + snapshotState.credentialRows(company: World.beta, includeDeleted: true).count
        XCTAssertEqual(try lines(range + "/credentials.jsonl").count, expectedRows)
        let snapshotRows = try lines(range + "/credentials.jsonl").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        for row in try snapshotState.credentialRows(company: World.acme, includeDeleted: true) {
            let exportedRow = snapshotRows.first { $0["id"] as? String == row.id }
            XCTAssertEqual((exportedRow?["used"] as? NSNumber)?.uint64Value, row.used, row.id)
            XCTAssertEqual(exportedRow?["deleted"] as? Bool, row.deleted, row.id)
        }

        // An empty range still verifies.
        let (empty, emptySummary) = try export(t, "empty", since: events.last!.event.timestamp + 1)
        XCTAssertEqual(emptySummary.events, 0)
        result = try runVerifier(empty)
        XCTAssertEqual(result.code, 0, result.output)

        // No secret ever reaches an export.
        XCTAssertGreaterThan(secrets.count, 10)
        for key in secrets {
            for dir in [csv, company, range] {
                for file in try FileManager.default.contentsOfDirectory(atPath: dir) {
                    let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
                    XCTAssertFalse(text.contains(key), "a secret in \(file)")
                }
            }
        }
        // Refused: a non-empty directory, an unknown company.
        XCTAssertThrowsError(try t.ledger.audit.export(ExportRequest(company: nil, format: .jsonl, directory: csv)))
        XCTAssertThrowsError(try t.ledger.audit.export(ExportRequest(company: "nope", format: .jsonl, directory: t.directory.path + "/nope")))
    }

    func testExportCommand() throws {
        let t = try historyLedger("export-cli", seed: 15, steps: 60)
        defer { t.remove() }
        let head = t.ledger.head
        t.close()
        let dir = t.directory.path + "/cli-all"
        let r = runCLI(t, ["--json", "export", "--all", "--format", "csv", "--out", dir])
        XCTAssertEqual(r.code, 0, r.all)
        XCTAssertEqual((r.object["events"] as? NSNumber)?.uint64Value, head.seq)
        XCTAssertEqual(r.object["head_hash"] as? String, head.hash.hex)
        XCTAssertTrue(r.err.isEmpty, "no progress output when standard error is not a terminal: \(r.err)")
        XCTAssertEqual(try runVerifier(dir).code, 0)
        let human = runCLI(t, ["export", World.beta, "--out", t.directory.path + "/cli-beta", "--since", "2026-01-01T00:00:00Z"])
        XCTAssertEqual(human.code, 0, human.all)
        XCTAssertTrue(human.out.contains("verify_export.py"), human.out)
        XCTAssertEqual(try runVerifier(t.directory.path + "/cli-beta").code, 0)
        XCTAssertEqual(runCLI(t, ["export", World.acme, "--out", dir]).code, 2, "the directory is not empty")
        XCTAssertEqual(runCLI(t, ["export", World.acme, "--format", "xml", "--out", t.directory.path + "/x"]).code, 2)
        XCTAssertEqual(runCLI(t, ["export", World.acme]).code, 2, "--out is required")
    }
}
