@testable import CredLedger
import CredLedgerCore
@testable import CredLedgerTools
import Foundation
import XCTest

/// Issue 11, item 18: `log --json` streams at export speed (it serialized a dictionary per event: 20 s for 71k
/// events), and prints the same content as before: every line a JSON object with the same fields and values.
final class Issue11LogStreamTests: XCTestCase {
    /// What `log --json` printed before, for each event from `from` (the old code path: `EventFields.json`
    /// through JSONSerialization), parsed back.
    private func reference(_ t: TestLedger, from: UInt64, limit: Int) throws -> [NSDictionary] {
        let fields = try EventFields(audit: t.ledger.audit)
        var previous: SHA256Digest? = from == 1 ? HashChain.genesis : try t.ledger.audit.event(from - 1)?.hash
        var out: [NSDictionary] = []
        try t.ledger.audit.forEachEvent(from: from) { stored in
            let data = try JSONSerialization.data(withJSONObject: fields.json(stored, previousHash: previous), options: [.sortedKeys])
            out.append(try JSONSerialization.jsonObject(with: data) as! NSDictionary)
            previous = stored.hash
            return out.count < limit
        }
        return out
    }

    /// The lines of `log --json …`, each parsed as one JSON object.
    private func streamed(_ t: TestLedger, _ args: [String]) throws -> [NSDictionary] {
        // The CLI opens the ledger itself (one environment per path and process).
        t.close()
        defer { try? t.reopen() }
        let result = runCLI(t, ["log", "--json"] + args)
        XCTAssertEqual(result.code, 0, result.all)
        XCTAssertTrue(result.out.isEmpty || result.out.hasSuffix("\n"))
        return try result.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
            XCTAssertTrue(line.hasPrefix("{\"seq\":"), String(line))
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? NSDictionary, String(line))
        }
    }

    func testStreamedLinesEqualWhatLogPrintedBeforeFieldByField() throws {
        let t = try TestLedger("i11-log", seed: 18)
        defer { t.remove() }
        let history = try RandomHistory(t, seed: 18)
        // Names that need escaping or are not ASCII, uses at another company, a deleted key, a rotation.
        let odd = try t.create(.staticKey, .readWrite, name: #"Ünïcødé "quoted" \ back/slash ✓"#)
        try t.ledger.administration.grantAccess(World.acme, credential: odd.id, project: "bridge", role: .editor, as: World.alice)
        try t.use("Apikey " + odd.secret!, "bridge", .write)
        try t.use("Apikey " + odd.secret!, "pb", .read, company: World.beta)
        _ = try t.ledger.administration.rotateSecret(World.acme, credential: odd.id, grace: 0, as: World.alice)
        try history.run(steps: 120)
        try t.ledger.administration.deleteCredential(World.acme, credential: odd.id, as: World.alice)
        let head = t.ledger.head.seq
        XCTAssertGreaterThan(head, 150)

        for (from, limit) in [(UInt64(1), 10_000_000), (7, 5), (head, 3), (head - 40, 100)] {
            let lines = try streamed(t, ["--from", "\(from)", "--limit", "\(limit)"])
            let expected = try reference(t, from: from, limit: limit)
            XCTAssertEqual(lines.count, expected.count, "from \(from) limit \(limit)")
            XCTAssertEqual(lines.count, Int(min(UInt64(limit), head - from + 1)))
            for (line, want) in zip(lines, expected) {
                XCTAssertEqual(Set(line.allKeys as! [String]), Set(want.allKeys as! [String]), "keys of \(want["seq"]!)")
                for key in want.allKeys as! [String] {
                    XCTAssertEqual(line[key] as? NSObject, want[key] as? NSObject, "seq \(want["seq"]!): \(key)")
                }
            }
        }
        // Past the head: nothing, exit 0 (as before).
        XCTAssertEqual(try streamed(t, ["--from", "\(head + 5)"]).count, 0)
        // Default limit 100.
        XCTAssertEqual(try streamed(t, []).count, 100)
        // The escaped name comes back intact.
        t.close()
        let all = runCLI(t, ["log", "--json", "--limit", "10000000"]).out
        XCTAssertTrue(all.contains(#""name":"Ünïcødé \"quoted\" \\ back/slash ✓""#), "canonical escaping")
    }

    /// The defect: 20 s for 71k events, 100× the export — one dictionary serialised and one write per event. Now the
    /// lines come from the export's row writer in buffers of about 1 MiB. (Speed itself is measured outside the unit
    /// tests — a release build on 100k events went from 23 s to 0.3–0.4 s, the export's time; the README says how —
    /// so this test checks what can be checked exactly: every event is a line, and writes are per buffer.)
    func testLogJSONStreamsInBuffersNotPerEvent() throws {
        let t = try TestLedger("i11-logspeed", seed: 3) { $0.initialMapSize = 128 << 20 }
        defer { t.remove() }
        try t.makeWorld()
        let key = try t.create(.staticKey, .global, name: "hot")
        let decisions = try ["bridge", "tunnel", "nope"].flatMap { project in
            try CredLedgerCore.Operation.allCases.map {
                try t.ledger.access.authorize(header: "Apikey " + key.secret!, company: World.acme, project: project, operation: $0)
            }
        }
        for _ in 0..<20 { try t.ledger.access.record(batch: (0..<1_000).map { decisions[$0 % decisions.count] }) }
        let events = Int(t.ledger.head.seq)
        XCTAssertGreaterThan(events, 20_000)
        t.close()
        // Run the CLI counting its writes to standard output: it wrote (and, on a terminal or pipe, made a
        // system call) once per event; now once per MiB of lines.
        final class Capture: @unchecked Sendable { var writes = 0; var bytes = 0; var newlines = 0 }
        let capture = Capture()
        cliLock.lock()
        let savedOut = Output.standardOutput
        Output.standardOutput = { text in
            capture.writes += 1
            capture.bytes += text.utf8.count
            capture.newlines += text.utf8.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        }
        let code = CommandLineTool.run(["--db", t.path, "log", "--json", "--limit", "10000000"], environment: [:], options: t.options)
        Output.standardOutput = savedOut
        cliLock.unlock()
        XCTAssertEqual(code, 0)
        XCTAssertEqual(capture.newlines, events)
        XCTAssertLessThanOrEqual(capture.writes, capture.bytes / (1 << 20) + 1, "log --json writes per event, not per buffer")
    }

    /// Review finding 4: `log --json` printed a name stored by an older version (no name checks then) raw — a bidi
    /// override reordered the terminal line — while every other `--json` output escapes it. Now the streamed lines go
    /// through the same escape (`\uXXXX`, so each line still parses to the same value); clean buffers are printed
    /// as they are, and the export, whose bytes are hashed, keeps its canonical form.
    func testLogJSONEscapesUnsafeCharactersLikeEveryJSONOutput() throws {
        let t = try TestLedger("i11-logescape", seed: 4)
        defer { t.remove() }
        try t.makeWorld()
        let clean = try t.create(.staticKey, .read, name: "Clean Ünïcødé ✓")
        // Written directly, as an older version could (Validation refuses these names now).
        let evil = "Evil\u{202E}yek\u{200B}\u{1B}[31m\u{9B}2J\u{7F}\u{2028}x"
        let number = try XCTUnwrap(try t.ledger.audit.withState { try $0.counter(.credential) })
        try t.ledger.perform(AppendEvents(company: 1, actor: .user(1), .credentialCreated(CredentialCreated(
            credential: number + 1, type: .staticKey, scope: .read, publicID: "cred_OldVersion00001", name: evil,
            serviceUser: "apiservice+old000000001@acme.example", displayPrefix: "cxk_000000", clientID: "", secretHash: nil,
            expiresAt: 0, redirectURIs: []))))
        let after = try t.create(.staticKey, .read, name: "After")
        let head = t.ledger.head.seq
        t.close()
        defer { try? t.reopen() }

        let r = runCLI(t, ["log", "--json", "--limit", "1000"])
        XCTAssertEqual(r.code, 0, r.all)
        XCTAssertFalse(r.out.unicodeScalars.contains { DisplaySafety.isUnsafe($0) && $0 != "\n" }, "raw unsafe output: \(r.out.debugDescription)")
        XCTAssertTrue(r.out.contains(#""name":"Evil\u202eyek\u200b\u001b[31m\u009b2J\u007f\u2028x""#), r.out)
        // Escaping changes no value: every line parses, the old name comes back exact, the others are untouched.
        let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, Int(head))
        let names = try lines.compactMap { line -> String? in
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            return (object["payload"] as? [String: Any])?["name"] as? String
        }
        XCTAssertTrue(names.contains(evil), "\(names)")
        XCTAssertTrue(names.contains(clean.name) && names.contains(after.name), "\(names)")
        XCTAssertTrue(r.out.contains(#""name":"Clean Ünïcødé ✓""#), "safe non-ASCII stays as it is")

        // The export's events.jsonl keeps the canonical bytes (the raw character; its digest is verified).
        let out = t.directory.path + "/export"
        let export = runCLI(t, ["export", "--all", "--format", "jsonl", "--out", out])
        XCTAssertEqual(export.code, 0, export.all)
        let events = try String(contentsOfFile: out + "/events.jsonl", encoding: .utf8)
        XCTAssertTrue(events.contains("Evil\u{202E}yek"), "the export must keep its canonical form")
    }
}
