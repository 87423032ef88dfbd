@testable import CredLedger
import CredLedgerCore
@testable import CredLedgerLab
@testable import CredLedgerTools
import Foundation
import LMDB
import XCTest

/// Issue 11, "storage that heals the evidence away" (items 13–16): a damaged data file, a missing ledger, a cut or
/// forged tail and a correctly chained but undecodable event must be reported, never absorbed by the next write.
final class Issue11StorageTests: ReliabilityTestCase {
    // MARK: helpers

    /// A ledger with a company, a project `p`, a global static key and `uses` recorded uses; returns its header.
    private func storageFixture(_ label: String, uses: Int = 20) throws -> (path: String, header: String, head: UInt64) {
        let path = try makeDirectory(label) + "/ledger"
        let ledger = try Ledger(path: path, options: testOptions())
        defer { ledger.close() }
        let header = try StressSetup.prepare(ledger, company: "acme", admin: "alice@acme.example", projects: ["p"])
        for _ in 0..<uses { _ = try ledger.access.check(header: header, company: "acme", project: "p", operation: .read) }
        return (path, header, ledger.head.seq)
    }

    /// SHA-256 of a file's bytes (hex), or "missing".
    /// A whole-log export of `path` passes the independent verifier (`Tools/verify_export.py`), when python3 is here.
    private func storageExportVerifies(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let verifier = root.appendingPathComponent("Tools/verify_export.py").path
        guard (try? ChildProcess.run("/usr/bin/env", ["python3", "--version"]))?.status == 0 else { return }
        let out = try makeDirectory("export")
        let export = cli(["export", "--all", "--out", out + "/x"], db: path)
        XCTAssertEqual(export.code, ExitCode.ok, export.all, file: file, line: line)
        let checked = try ChildProcess.run("/usr/bin/env", ["python3", verifier, out + "/x"])
        XCTAssertEqual(checked.status, 0, checked.stdout + checked.stderr, file: file, line: line)
    }

    private func storageFileHash(_ file: String) -> String {
        guard let data = FileManager.default.contents(atPath: file) else { return "missing" }
        return SHA256.hash([UInt8](data)).hex
    }

    /// Runs `body` on the closed ledger's `events` and `meta` databases with another LMDB handle (as an attacker or a
    /// careless tool would).
    private func storageRaw(_ path: String, _ body: (borrowing Transaction, Database, Database) throws -> Void) throws {
        var configuration = Environment.Configuration()
        configuration.maxDatabases = 64
        configuration.mapSize = 64 << 20
        let environment = try Environment(path: path, configuration: configuration)
        defer { environment.close() }
        let dbs = try environment.openDatabases(["events", "meta"], flags: [])
        try environment.write { txn in try body(txn, dbs[0], dbs[1]) }
    }

    /// Every stored event record, in seq order.
    private func storageEventRecords(_ path: String) throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        try storageRaw(path) { txn, events, _ in
            try txn.withCursor(events) { cursor in
                var entry = try cursor.first()
                while let e = entry {
                    records.append(Array(e.value))
                    entry = try cursor.next()
                }
            }
        }
        return records
    }

    /// Appends `count` copies of the last event, each correctly chained to the one before (a forged tail).
    private func storageForgeTail(_ path: String, count: Int) throws {
        try storageRaw(path) { txn, events, _ in
            var (seq, record): (UInt64, [UInt8]) = try txn.withCursor(events) { cursor in
                let last = try XCTUnwrap(try cursor.last())
                return (try XCTUnwrap(UInt64(bigEndianBytes: Array(last.key))), Array(last.value))
            }
            for _ in 0..<count {
                let previous = try XCTUnwrap(SHA256Digest(bytes: Array(record.suffix(32))))
                let body = Array(record.dropLast(32))
                seq += 1
                let hash = body.withUnsafeBytes { HashChain.link(previous: previous, seq: seq, body: $0) }
                record = body + hash.withUnsafeBytes { Array($0) }
                try txn.put(events, seq.bigEndianBytes, record)
            }
        }
    }

    /// Deletes the last `count` events.
    private func storageCutTail(_ path: String, head: UInt64, count: UInt64) throws {
        try storageRaw(path) { txn, events, _ in
            for seq in (head - count + 1)...head { XCTAssertTrue(try txn.delete(events, seq.bigEndianBytes)) }
        }
    }

    // MARK: item 13: a damaged data file is never a new ledger

    /// An empty, one-page, half and one-byte-short `data.mdb` is `corrupt_storage` (exit 3) for every command, the
    /// library's read-write (create-if-missing) and read-only opens included, and the file's bytes do not change.
    /// Before the fix an empty file became a new empty ledger (`auth check` recorded into it) and `verify` said
    /// `storage_error: Bad file descriptor`, exit 2.
    func testDamagedDataFileIsCorruptStorageForEveryCommandAndNothingIsWritten() throws {
        let fixture = try storageFixture("damaged", uses: 300)
        let original = try XCTUnwrap(FileManager.default.contents(atPath: fixture.path + "/data.mdb"))
        let size = original.count
        XCTAssertGreaterThan(size, 8 * 4096, "the fixture must span several pages")
        let cuts: [(String, Int)] = [("0 bytes", 0), ("one page", 4096), ("cut in the middle", size / 2),
                                     ("cut in the middle, off a page", size / 2 + 1000), ("one byte short", size - 1)]
        let commands: [[String]] = [
            ["auth", "check", "acme", "--header", fixture.header, "--project", "p", "--op", "read"],
            ["verify"], ["verify", "--chain-only"], ["replay"], ["replay", "--chain-only"], ["log"], ["rebuild"],
            ["project", "create", "acme", "q", "--as", "alice@acme.example"],
            ["company", "create", "beta", "--admin", "b@beta.example"],
            ["key", "list", "acme", "--as", "alice@acme.example"],
        ]
        for (label, length) in cuts {
            let path = try makeDirectory("cut") + "/ledger"
            try TamperDriver.writeCopy(Array(original.prefix(length)), to: path)
            let before = storageFileHash(path + "/data.mdb")
            for arguments in commands {
                for json in [false, true] {
                    let r = cli((json ? ["--json"] : []) + arguments, db: path)
                    XCTAssertEqual(r.code, ExitCode.integrity, "\(label): \(arguments): \(r.all)")
                    XCTAssertTrue(r.all.contains("corrupt_storage"), "\(label): \(arguments): \(r.all)")
                    XCTAssertFalse(r.all.contains("Bad file descriptor"), "\(label): \(arguments): \(r.all)")
                }
                XCTAssertEqual(storageFileHash(path + "/data.mdb"), before, "\(label): \(arguments) wrote to the damaged file")
            }
            assertLedgerError("corrupt_storage", label) { try Ledger(path: path, options: testOptions()) }
            assertLedgerError("corrupt_storage", label) { try Ledger(path: path, options: readOnlyOptions()) }
            XCTAssertEqual(storageFileHash(path + "/data.mdb"), before, "\(label): a library open wrote to the damaged file")
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int, length, label)
        }
        // The untouched copy still opens: the check does not refuse a whole file.
        let copy = try makeDirectory("whole") + "/ledger"
        try TamperDriver.writeCopy(Array(original), to: copy)
        XCTAssertEqual(cli(["verify"], db: copy).code, ExitCode.ok)
    }

    /// A file of the right length that is not LMDB's (its meta pages zeroed) is refused the same way.
    func testDataFileWithoutLMDBMetaPagesIsCorruptStorage() throws {
        let fixture = try storageFixture("meta", uses: 5)
        var bytes = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: fixture.path + "/data.mdb")))
        for i in 0..<(2 * 4096) { bytes[i] = 0 }
        let path = try makeDirectory("nometa") + "/ledger"
        try TamperDriver.writeCopy(bytes, to: path)
        let before = storageFileHash(path + "/data.mdb")
        for arguments in [["verify"], ["auth", "check", "acme", "--header", fixture.header, "--project", "p", "--op", "read"]] {
            let r = cli(arguments, db: path)
            XCTAssertEqual(r.code, ExitCode.integrity, r.all)
            XCTAssertTrue(r.all.contains("corrupt_storage") && r.all.contains("meta page"), r.all)
        }
        XCTAssertEqual(storageFileHash(path + "/data.mdb"), before)
    }

    /// The release-style binary in a child process: an empty data file is `corrupt_storage`, exit 3, for `auth check`
    /// and `verify`, and stays empty.
    func testEmptyDataFileThroughTheBinary() throws {
        let binary = try credledgerBinary()
        let path = try makeDirectory("emptybin") + "/ledger"
        try TamperDriver.writeCopy([], to: path)
        for arguments in [["auth", "check", "acme", "--header", "Apikey cxk_x", "--project", "p", "--op", "read"], ["verify"]] {
            let r = try ChildProcess.run(binary, arguments + ["--db", path])
            XCTAssertFalse(r.signaled)
            XCTAssertEqual(r.status, ExitCode.integrity, "\(arguments): \(r.stdout) \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("error: corrupt_storage:"), "\(arguments): \(r.stderr)")
        }
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int, 0)
    }

    // MARK: item 14: only `company create` creates a ledger

    /// Every command but `company create` on a missing ledger (a mistyped --db, the wrong directory) or an empty
    /// directory exits 2 with `no_ledger` and creates no file or directory. Before the fix `auth check` created a
    /// ledger and recorded the use in it.
    func testMissingLedgerIsCreatedOnlyByCompanyCreate() throws {
        let base = try makeDirectory("missing")
        let commands: [[String]] = [
            ["auth", "check", "acme", "--header", "Apikey cxk_x", "--project", "p", "--op", "read"],
            ["project", "create", "acme", "p", "--as", "alice@acme.example"],
            ["member", "set", "acme", "bob@acme.example", "--role", "member", "--as", "alice@acme.example"],
            ["company", "enable-api", "acme", "--as", "alice@acme.example"],
            ["key", "create", "acme", "--name", "k", "--type", "static", "--scope", "read", "--as", "alice@acme.example"],
            ["key", "list", "acme", "--as", "alice@acme.example"],
            ["token", "client-credentials", "--client-id", "x", "--client-secret", "y"],
            ["rebuild"], ["verify"], ["log"], ["replay"], ["usage", "acme"],
            ["export", "acme", "--out", base + "/export-out"],
        ]
        let missing = base + "/typo/ledger"
        let empty = try makeDirectory("empty")
        for arguments in commands {
            for json in [false, true] {
                let r = cli((json ? ["--json"] : []) + arguments, db: missing)
                XCTAssertEqual(r.code, ExitCode.usage, "\(arguments): \(r.all)")
                XCTAssertTrue(r.all.contains("no_ledger"), "\(arguments): \(r.all)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/typo"), "\(arguments) created \(base)/typo")
                let e = cli((json ? ["--json"] : []) + arguments, db: empty)
                XCTAssertEqual(e.code, ExitCode.usage, "empty directory: \(arguments): \(e.all)")
                XCTAssertTrue(e.all.contains("no_ledger"), "empty directory: \(arguments): \(e.all)")
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: empty), [], "\(arguments) wrote into the empty directory")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/export-out"))
        // `company create` starts the ledger, in a missing path and in an empty directory; then the rest works.
        for path in [missing, empty] {
            let created = cli(["company", "create", "acme", "--admin", "alice@acme.example"], db: path)
            XCTAssertEqual(created.code, ExitCode.ok, created.all)
            XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/data.mdb"))
            let project = cli(["project", "create", "acme", "p", "--as", "alice@acme.example"], db: path)
            XCTAssertEqual(project.code, ExitCode.ok, project.all)
            XCTAssertEqual(try eventCount(path), 3)
        }
    }

    /// The library: `Options.createIfMissing = false` refuses a missing ledger with `no_ledger` and creates nothing;
    /// read-only opens never create; the default still creates (embedders and tests open-or-create).
    func testLibraryCreateIfMissingOption() throws {
        let base = try makeDirectory("libmissing")
        var options = testOptions()
        options.createIfMissing = false
        assertLedgerError("no_ledger") { try Ledger(path: base + "/a/ledger", options: options) }
        assertLedgerError("no_ledger") { try Ledger(path: base + "/b", options: readOnlyOptions()) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: base), [])
        let ledger = try Ledger(path: base + "/c", options: testOptions())
        ledger.close()
        XCTAssertTrue(FileManager.default.fileExists(atPath: base + "/c/data.mdb"))
        // An existing ledger opens with createIfMissing = false.
        let again = try Ledger(path: base + "/c", options: options)
        again.close()
    }

    // MARK: item 15: checkpoints that disagree with the log head

    /// The last two events deleted with another LMDB binding: read-write opens do not rebuild, every write refuses with
    /// `projections_disagree` (exit 3, never a bare MDB_KEYEXIST) and writes nothing, `verify` says exactly what is
    /// missing; only `rebuild` accepts the log, and says so. Before the fix the next `project create` rebuilt the
    /// projections silently and reused the missing seq.
    func testDeletedTailRefusesWritesUntilAnOperatorRebuild() throws {
        let fixture = try storageFixture("cut")
        let h = fixture.head
        try storageCutTail(fixture.path, head: h, count: 2)
        let records = try storageEventRecords(fixture.path)
        XCTAssertEqual(records.count, Int(h - 2))
        let expected = "events \(h - 1)…\(h) missing at the tail: checkpoints at \(h), log head at \(h - 2)"

        // The library: the open succeeds (so that an operator can rebuild), writes refuse.
        do {
            let ledger = try Ledger(path: fixture.path, options: testOptions())
            defer { ledger.close() }
            let error = assertLedgerError("projections_disagree") {
                try ledger.administration.createProject("acme", project: "q", name: nil, as: "alice@acme.example")
            }
            XCTAssertEqual((error as? LedgerError)?.kind, .integrity)
            XCTAssertTrue("\(String(describing: error))".contains(expected), "\(String(describing: error))")
            assertLedgerError("projections_disagree") { try ledger.access.check(header: fixture.header, company: "acme", project: "p", operation: .read) }
            XCTAssertEqual(ledger.head.seq, h - 2)
            let report = try ledger.audit.verify()
            XCTAssertFalse(report.ok)
            XCTAssertEqual(report.chainFailure?.seq, h - 1)
            XCTAssertEqual(report.chainFailure?.reason, expected)
            XCTAssertEqual(report.checkpoints?.description, expected)
        }
        XCTAssertEqual(try storageEventRecords(fixture.path), records, "a refused write changed the log")

        // The CLI.
        let verify = cli(["verify"], db: fixture.path)
        XCTAssertEqual(verify.code, ExitCode.integrity, verify.all)
        XCTAssertTrue(verify.stdout.contains("BROKEN at event \(h - 1): \(expected)"), verify.stdout)
        let json = cli(["--json", "verify"], db: fixture.path)
        let object = try XCTUnwrap(lastJSON(json.stdout))
        XCTAssertEqual((object["checkpoints"] as? [String: Any])?["message"] as? String, expected)
        XCTAssertEqual((object["first_bad_seq"] as? NSNumber)?.uint64Value, h - 1)
        let replay = cli(["replay"], db: fixture.path)
        XCTAssertEqual(replay.code, ExitCode.integrity)
        XCTAssertTrue(replay.stdout.contains(expected) && replay.stdout.contains("last good event \(h - 2)"), replay.stdout)
        for arguments in [["project", "create", "acme", "q", "--as", "alice@acme.example"],
                          ["auth", "check", "acme", "--header", fixture.header, "--project", "p", "--op", "read"],
                          ["key", "create", "acme", "--name", "k2", "--type", "static", "--scope", "read", "--as", "alice@acme.example"]] {
            let r = cli(arguments, db: fixture.path)
            XCTAssertEqual(r.code, ExitCode.integrity, "\(arguments): \(r.all)")
            XCTAssertTrue(r.all.contains("projections_disagree") && r.all.contains(expected), "\(arguments): \(r.all)")
            XCTAssertFalse(r.all.contains("KEYEXIST") || r.all.contains("MDB_"), "\(arguments): \(r.all)")
        }
        XCTAssertEqual(try storageEventRecords(fixture.path), records, "a refused CLI write changed the log")

        // Only the operator's rebuild accepts the log as it is, and says what it accepts.
        let rebuild = cli(["rebuild"], db: fixture.path)
        XCTAssertEqual(rebuild.code, ExitCode.ok, rebuild.all)
        XCTAssertTrue(rebuild.stdout.contains("accepting the log as it is: head \(h - 2); projections were at \(h)"), rebuild.stdout)
        XCTAssertTrue(rebuild.stdout.contains(expected), rebuild.stdout)
        XCTAssertTrue(rebuild.stdout.contains("recorded in the log as event \(h - 1) (log_accepted)"), rebuild.stdout)
        XCTAssertEqual(cli(["verify"], db: fixture.path).code, ExitCode.ok)
        // The acceptance is evidence in the chain itself: the cut seqs are not silently reused by the next write.
        let accepted = try XCTUnwrap(lastJSON(cli(["--json", "log", "--from", "\(h - 1)", "--limit", "1"], db: fixture.path).stdout))
        XCTAssertEqual(accepted["type"] as? String, "log_accepted")
        XCTAssertEqual(accepted["actor"] as? String, "system")
        let payload = try XCTUnwrap(accepted["payload"] as? [String: Any])
        XCTAssertEqual((payload["log_head"] as? NSNumber)?.uint64Value, h - 2)
        XCTAssertEqual((payload["checkpoints"] as? NSNumber)?.uint64Value, h)
        try storageExportVerifies(fixture.path)
        let again = cli(["rebuild"], db: fixture.path)
        XCTAssertFalse(again.stdout.contains("accepting"), "a second rebuild has nothing to accept: \(again.stdout)")
        XCTAssertEqual(try eventCount(fixture.path), h - 1, "a rebuild with nothing to accept appends nothing")
        let project = cli(["project", "create", "acme", "q", "--as", "alice@acme.example"], db: fixture.path)
        XCTAssertEqual(project.code, ExitCode.ok, project.all)
        XCTAssertEqual(try eventCount(fixture.path), h)
    }

    /// Two forged, correctly chained events appended with another binding: the chain verifies, but the checkpoints are
    /// behind the head. `verify` and `replay` name the events the projections lack, writes refuse, `rebuild` accepts.
    func testForgedTailRefusesWritesUntilAnOperatorRebuild() throws {
        let fixture = try storageFixture("forged")
        let h = fixture.head
        try storageForgeTail(fixture.path, count: 2)
        let records = try storageEventRecords(fixture.path)
        XCTAssertEqual(records.count, Int(h + 2))
        let expected = "events \(h + 1)…\(h + 2) are not in the projections: checkpoints at \(h), log head at \(h + 2)"

        do {
            let ledger = try Ledger(path: fixture.path, options: readOnlyOptions())
            defer { ledger.close() }
            for projections in [false, true] {
                let report = try ledger.audit.verify(projections: projections)
                XCTAssertFalse(report.ok)
                XCTAssertNil(report.chainFailure, "the forged events link")
                XCTAssertEqual(report.checkpoints?.description, expected)
                XCTAssertEqual(report.checkpoints?.firstSeq, h + 1)
            }
        }
        let verify = cli(["verify", "--chain-only"], db: fixture.path)
        XCTAssertEqual(verify.code, ExitCode.integrity, verify.all)
        XCTAssertTrue(verify.stdout.contains("checkpoints: DISAGREE with the log: \(expected)"), verify.stdout)
        let replay = cli(["--json", "replay"], db: fixture.path)
        XCTAssertEqual(replay.code, ExitCode.integrity, replay.all)
        XCTAssertEqual(((lastJSON(replay.stdout)?["checkpoints"]) as? [String: Any])?["message"] as? String, expected)
        for arguments in [["project", "create", "acme", "q", "--as", "alice@acme.example"],
                          ["auth", "check", "acme", "--header", fixture.header, "--project", "p", "--op", "read"]] {
            let r = cli(arguments, db: fixture.path)
            XCTAssertEqual(r.code, ExitCode.integrity, "\(arguments): \(r.all)")
            XCTAssertTrue(r.all.contains("projections_disagree") && r.all.contains(expected), "\(arguments): \(r.all)")
        }
        XCTAssertEqual(try storageEventRecords(fixture.path), records)
        let rebuild = cli(["rebuild"], db: fixture.path)
        XCTAssertEqual(rebuild.code, ExitCode.ok, rebuild.all)
        XCTAssertTrue(rebuild.stdout.contains("accepting the log as it is: head \(h + 2); projections were at \(h)"), rebuild.stdout)
        XCTAssertEqual(cli(["verify"], db: fixture.path).code, ExitCode.ok)
        XCTAssertEqual(cli(["project", "create", "acme", "q", "--as", "alice@acme.example"], db: fixture.path).code, ExitCode.ok)
    }

    /// Another process may change the log while this one has it open: the writer compares head and checkpoints inside
    /// every write transaction, not only at open. (Here the other "process" is a raw write transaction on the open
    /// environment.)
    func testWriterRechecksCheckpointsInEveryWriteTransaction() throws {
        let fixture = try storageFixture("live")
        let h = fixture.head
        let ledger = try Ledger(path: fixture.path, options: testOptions())
        defer { ledger.close() }
        let schema = ledger.schema
        try ledger.environment.write { txn in XCTAssertTrue(try txn.delete(schema.events, h.bigEndianBytes)) }
        let expected = "event \(h) missing at the tail: checkpoints at \(h), log head at \(h - 1)"
        let error = assertLedgerError("projections_disagree") {
            try ledger.administration.createProject("acme", project: "q", name: nil, as: "alice@acme.example")
        }
        XCTAssertTrue("\(String(describing: error))".contains(expected), "\(String(describing: error))")
        assertLedgerError("projections_disagree") { try ledger.access.check(header: fixture.header, company: "acme", project: "p", operation: .read) }
        let decision = try ledger.access.authorize(header: fixture.header, company: "acme", project: "p", operation: .read)
        let batchError = assertLedgerError("projections_disagree") { try ledger.access.record(batch: [decision, decision]) }
        XCTAssertNotNil(batchError)
        XCTAssertEqual(try ledger.environment.read { txn in try EventLog.head(schema: schema, in: txn).seq }, h - 1)
        let rebuilt = try ledger.maintenance.rebuildProjections()
        XCTAssertEqual(rebuilt.accepted?.description, expected)
        XCTAssertEqual(rebuilt.events, h - 1)
        // The acceptance took seq h (the cut event's): `log_accepted`, then the project.
        guard case .logAccepted(let accepted)? = try ledger.audit.event(h)?.event.payload else { return XCTFail("no log_accepted at \(h)") }
        XCTAssertEqual(accepted, LogAccepted(logHead: h - 1, checkpoints: h))
        try ledger.administration.createProject("acme", project: "q", name: nil, as: "alice@acme.example")
        XCTAssertEqual(ledger.head.seq, h + 1)
        XCTAssertTrue(try ledger.audit.verify().ok)
    }

    /// Projections of another code version are rebuilt at a read-write open only when their checkpoints agree with
    /// the head: a cut tail hidden behind an old code version is not absorbed.
    func testOtherCodeVersionWithACutTailIsNotRebuiltSilently() throws {
        let fixture = try storageFixture("oldcut")
        let h = fixture.head
        try storageCutTail(fixture.path, head: h, count: 1)
        try storageRaw(fixture.path) { txn, _, meta in
            let key = Array("projection/registry".utf8)
            var checkpoint = try XCTUnwrap(try txn.get(meta, key))
            checkpoint.replaceSubrange(0..<4, with: UInt32(0).bigEndianBytes)
            try txn.put(meta, key, checkpoint)
        }
        let records = try storageEventRecords(fixture.path)
        let r = cli(["project", "create", "acme", "q", "--as", "alice@acme.example"], db: fixture.path)
        XCTAssertEqual(r.code, ExitCode.integrity, r.all)
        XCTAssertTrue(r.all.contains("projections_disagree"), r.all)
        XCTAssertEqual(try storageEventRecords(fixture.path), records)
        let rebuild = cli(["rebuild"], db: fixture.path)
        XCTAssertEqual(rebuild.code, ExitCode.ok, rebuild.all)
        XCTAssertTrue(rebuild.stdout.contains("accepting the log as it is: head \(h - 1); projections were at \(h)"), rebuild.stdout)
        XCTAssertEqual(cli(["verify"], db: fixture.path).code, ExitCode.ok)
    }

    // MARK: item 16: every payload decoded, the first bad event named

    /// Event m's payload gets a trailing byte and every link from m on is recomputed: the chain links, but event m
    /// does not decode. `verify --chain-only` and `replay --chain-only` decode every payload and name m; the full
    /// `replay` names m and "last good event m−1" (before the fix: the head). Library and CLI, 1 and 2 threads.
    func testUndecodableButChainedEventInTheMiddleIsTheFirstBadEvent() throws {
        let fixture = try storageFixture("undecodable", uses: 200)
        let h = fixture.head
        let m = h / 2
        var records = try storageEventRecords(fixture.path)
        try storageRaw(fixture.path) { txn, events, _ in
            var previous = try XCTUnwrap(SHA256Digest(bytes: Array(records[Int(m) - 2].suffix(32))))
            for seq in m...h {
                var body = Array(records[Int(seq) - 1].dropLast(32))
                if seq == m {
                    body.append(0)
                    let length = UInt16(bigEndianBytes: Array(body[20..<22]))! + 1
                    body.replaceSubrange(20..<22, with: length.bigEndianBytes)
                }
                let hash = body.withUnsafeBytes { HashChain.link(previous: previous, seq: seq, body: $0) }
                records[Int(seq) - 1] = body + hash.withUnsafeBytes { Array($0) }
                try txn.put(events, seq.bigEndianBytes, records[Int(seq) - 1])
                previous = hash
            }
        }
        let goodHash = try XCTUnwrap(SHA256Digest(bytes: Array(records[Int(m) - 2].suffix(32))))
        do {
            let ledger = try Ledger(path: fixture.path, options: readOnlyOptions())
            defer { ledger.close() }
            for projections in [false, true] {
                let report = try ledger.audit.verify(projections: projections)
                XCTAssertEqual(report.chainFailure?.seq, m, "projections \(projections): \(String(describing: report.chainFailure))")
                XCTAssertTrue(report.chainFailure?.reason.contains("trailing") ?? false, "\(String(describing: report.chainFailure))")
                XCTAssertEqual(report.events, m - 1)
                for threads in [1, 2] {
                    for chunk: UInt64 in [7, ChainVerifier.chunkSize] {
                        let replay = try ledger.audit.replay(from: 1, threads: threads, projections: projections, chunkSize: chunk)
                        let what = "projections \(projections), \(threads) threads, chunk \(chunk)"
                        XCTAssertEqual(replay.chainFailure?.seq, m, what)
                        XCTAssertEqual(replay.lastGood.seq, m - 1, what)
                        XCTAssertEqual(replay.lastGood.hash, goodHash, what)
                        XCTAssertLessThanOrEqual(replay.eventsVerified, m - 1, what)
                        XCTAssertFalse(replay.ok, what)
                    }
                }
            }
        }
        for arguments in [["verify", "--chain-only"], ["verify"], ["replay", "--chain-only"], ["replay"]] {
            let r = cli(arguments, db: fixture.path)
            XCTAssertEqual(r.code, ExitCode.integrity, "\(arguments): \(r.all)")
            XCTAssertTrue(r.stdout.contains("BROKEN at event \(m):"), "\(arguments): \(r.stdout)")
            if arguments[0] == "replay" {
                XCTAssertTrue(r.stdout.contains("last good event \(m - 1),"), "\(arguments): \(r.stdout)")
            }
            let json = try XCTUnwrap(lastJSON(cli(["--json"] + arguments, db: fixture.path).stdout))
            XCTAssertEqual((json["first_bad_seq"] as? NSNumber)?.uint64Value, m, "\(arguments)")
        }
    }

    /// A plain break in the middle (a flipped payload byte) while the rest of the log is intact: `replay` names it as
    /// the first bad event and the event before it as the last good one, chain-only and with the rebuild.
    func testBreakInTheMiddleIsNamedByReplayAndVerify() throws {
        let fixture = try storageFixture("middle", uses: 200)
        let m = fixture.head / 2
        try storageRaw(fixture.path) { txn, events, _ in
            var record = try XCTUnwrap(try txn.get(events, m.bigEndianBytes))
            record[record.count - 33] ^= 0x01
            try txn.put(events, m.bigEndianBytes, record)
        }
        for arguments in [["replay"], ["replay", "--chain-only"], ["verify"], ["verify", "--chain-only"]] {
            let r = cli(arguments, db: fixture.path)
            XCTAssertEqual(r.code, ExitCode.integrity, "\(arguments): \(r.all)")
            XCTAssertTrue(r.stdout.contains("BROKEN at event \(m):"), "\(arguments): \(r.stdout)")
            if arguments[0] == "replay" { XCTAssertTrue(r.stdout.contains("last good event \(m - 1),"), "\(arguments): \(r.stdout)") }
        }
        let json = try XCTUnwrap(lastJSON(cli(["--json", "replay"], db: fixture.path).stdout))
        XCTAssertEqual((json["last_good_seq"] as? NSNumber)?.uint64Value, m - 1)
    }
}

// MARK: review findings 1, 2, 12: linked ledger files, a refused `company create` leaves nothing, one storage check

extension Issue11StorageTests {
    /// Every file and directory under `directory` (relative paths, sorted), links listed as such and not followed.
    private func storageTree(_ directory: String) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// Commands of every kind: a use record, a read-only one, an admin write and the one that creates.
    private func storageLinkCommands(header: String = "Apikey cxk_x") -> [[String]] {
        [["auth", "check", "acme", "--header", header, "--project", "p", "--op", "read"],
         ["verify"], ["log"],
         ["project", "create", "acme", "q", "--as", "alice@acme.example"],
         ["company", "create", "beta", "--admin", "b@beta.example"]]
    }

    /// Finding 1: `data.mdb` a dangling symbolic link. Before the fix `lstat` saw the link, `open` failed, and LMDB
    /// followed it: the target was created outside the ledger (8 KiB) with a `lock.mdb` beside the link, then the
    /// command failed with "truncated: 26 bytes". Now every command, `company create` and the library's
    /// open-or-create included, is refused with `symlinked_ledger_file` (exit 2) and nothing is created anywhere.
    func testDanglingDataFileLinkCreatesNothingAnywhere() throws {
        let base = try makeDirectory("dangling")
        let ledger = base + "/z"
        let outside = base + "/outside"
        try FileManager.default.createDirectory(atPath: ledger, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
        let target = outside + "/x.mdb"
        try FileManager.default.createSymbolicLink(atPath: ledger + "/data.mdb", withDestinationPath: target)
        for arguments in storageLinkCommands() {
            for json in [false, true] {
                let r = cli((json ? ["--json"] : []) + arguments, db: ledger)
                XCTAssertEqual(r.code, ExitCode.usage, "\(arguments): \(r.all)")
                XCTAssertTrue(r.all.contains("symlinked_ledger_file") && r.all.contains("symbolic link"), "\(arguments): \(r.all)")
                XCTAssertFalse(r.all.contains("truncated"), "\(arguments): \(r.all)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: target), "\(arguments) created the link's target")
                XCTAssertEqual(storageTree(outside), [], "\(arguments) wrote outside the ledger")
                XCTAssertEqual(storageTree(ledger), ["data.mdb"], "\(arguments) created a file in the ledger directory (lock.mdb)")
            }
        }
        assertLedgerError("symlinked_ledger_file") { try Ledger(path: ledger, options: testOptions()) }
        assertLedgerError("symlinked_ledger_file") { try Ledger(path: ledger, options: readOnlyOptions()) }
        XCTAssertEqual(storageTree(outside), [])
        XCTAssertEqual(storageTree(ledger), ["data.mdb"])
    }

    /// Finding 1: `data.mdb` a link to a whole, valid ledger is refused just as clearly (before: "truncated: N bytes",
    /// the link's own length, since the length check measured the link). The target's bytes do not change and no
    /// `lock.mdb` appears beside the link; the ledger opens from its real directory, and a linked *directory* works.
    func testLinkToAValidLedgerIsRefusedClearlyAndALinkedDirectoryWorks() throws {
        let fixture = try storageFixture("linkvalid", uses: 30)
        let before = storageFileHash(fixture.path + "/data.mdb")
        let base = try makeDirectory("linkdir")
        let ledger = base + "/z"
        try FileManager.default.createDirectory(atPath: ledger, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: ledger + "/data.mdb", withDestinationPath: fixture.path + "/data.mdb")
        let head = try eventCount(fixture.path)
        for arguments in storageLinkCommands(header: fixture.header) {
            let r = cli(arguments, db: ledger)
            XCTAssertEqual(r.code, ExitCode.usage, "\(arguments): \(r.all)")
            XCTAssertTrue(r.all.contains("symlinked_ledger_file") && r.all.contains(fixture.path + "/data.mdb"), "\(arguments): \(r.all)")
            XCTAssertFalse(r.all.contains("truncated"), "\(arguments): \(r.all)")
            XCTAssertEqual(storageTree(ledger), ["data.mdb"], "\(arguments) created lock.mdb beside the link")
        }
        assertLedgerError("symlinked_ledger_file") { try Ledger(path: ledger, options: testOptions()) }
        assertLedgerError("symlinked_ledger_file") { try Ledger(path: ledger, options: readOnlyOptions()) }
        XCTAssertEqual(storageFileHash(fixture.path + "/data.mdb"), before, "the link's target changed")
        XCTAssertEqual(try eventCount(fixture.path), head)
        XCTAssertEqual(cli(["verify"], db: fixture.path).code, ExitCode.ok)

        // A linked directory keeps data.mdb and lock.mdb together: it is the supported way to put a ledger elsewhere.
        let linkedDirectory = base + "/linked"
        try FileManager.default.createSymbolicLink(atPath: linkedDirectory, withDestinationPath: fixture.path)
        let check = cli(["auth", "check", "acme", "--header", fixture.header, "--project", "p", "--op", "read"], db: linkedDirectory)
        XCTAssertEqual(check.code, ExitCode.ok, check.all)
        XCTAssertEqual(try eventCount(fixture.path), head + 1)
        XCTAssertEqual(cli(["verify"], db: linkedDirectory).code, ExitCode.ok)
    }

    /// Finding 1: a dangling `lock.mdb` link (LMDB creates the lock file with O_CREAT, following links) is refused the
    /// same way, before LMDB runs: its target is not created, on a missing ledger (`company create`) or an existing one.
    func testDanglingLockFileLinkCreatesNothing() throws {
        let fixture = try storageFixture("locklink", uses: 5)
        let before = storageFileHash(fixture.path + "/data.mdb")
        let outside = try makeDirectory("lockout")
        let target = outside + "/lock.mdb"
        try FileManager.default.removeItem(atPath: fixture.path + "/lock.mdb")
        try FileManager.default.createSymbolicLink(atPath: fixture.path + "/lock.mdb", withDestinationPath: target)
        let fresh = try makeDirectory("lockfresh")
        try FileManager.default.createSymbolicLink(atPath: fresh + "/lock.mdb", withDestinationPath: target)
        for (path, arguments) in [(fixture.path, ["verify"]),
                                  (fixture.path, ["auth", "check", "acme", "--header", fixture.header, "--project", "p", "--op", "read"]),
                                  (fresh, ["company", "create", "beta", "--admin", "b@beta.example"])] {
            let r = cli(arguments, db: path)
            XCTAssertEqual(r.code, ExitCode.usage, "\(arguments): \(r.all)")
            XCTAssertTrue(r.all.contains("symlinked_ledger_file") && r.all.contains("lock.mdb"), "\(arguments): \(r.all)")
            XCTAssertEqual(storageTree(outside), [], "\(arguments) created the lock link's target")
        }
        XCTAssertEqual(storageTree(fresh), ["lock.mdb"], "company create created files beside the link")
        XCTAssertEqual(storageFileHash(fixture.path + "/data.mdb"), before)
    }

    /// A dangling *directory* link as --db: `no_ledger` for ordinary commands; `company create` (and the library's
    /// open-or-create) refuse with `dangling_link` and create nothing at the link's target. (Before, nothing was created
    /// either, but the refusal was LMDB's bare "storage_error: No such file or directory".)
    func testDanglingDirectoryLinkCreatesNothing() throws {
        let base = try makeDirectory("dirlink")
        let target = base + "/elsewhere"
        let link = base + "/ledger"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let check = cli(["auth", "check", "acme", "--header", "Apikey cxk_x", "--project", "p", "--op", "read"], db: link)
        XCTAssertEqual(check.code, ExitCode.usage, check.all)
        XCTAssertTrue(check.all.contains("no_ledger"), check.all)
        let create = cli(["company", "create", "acme", "--admin", "alice@acme.example"], db: link)
        XCTAssertEqual(create.code, ExitCode.usage, create.all)
        XCTAssertTrue(create.all.contains("dangling_link") && create.all.contains(target), create.all)
        assertLedgerError("dangling_link") { try Ledger(path: link, options: testOptions()) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "company create created the link's target: \(create.all)")
        XCTAssertEqual(storageTree(base), ["ledger"])
    }

    /// A `data.mdb` that is not a regular file (a directory, a FIFO) is `corrupt_storage` (exit 3) and is never opened:
    /// before, opening a FIFO to read its meta page blocked the command forever.
    func testDataFileThatIsNotARegularFileIsCorruptStorage() throws {
        for kind in ["directory", "fifo"] {
            let path = try makeDirectory("special-\(kind)")
            if kind == "directory" {
                try FileManager.default.createDirectory(atPath: path + "/data.mdb", withIntermediateDirectories: false)
            } else {
                XCTAssertEqual(mkfifo(path + "/data.mdb", 0o600), 0)
            }
            for arguments in [["verify"], ["company", "create", "acme", "--admin", "alice@acme.example"]] {
                let r = cli(arguments, db: path)
                XCTAssertEqual(r.code, ExitCode.integrity, "\(kind): \(arguments): \(r.all)")
                XCTAssertTrue(r.all.contains("corrupt_storage") && r.all.contains("not a regular file"), "\(kind): \(arguments): \(r.all)")
                XCTAssertEqual(storageTree(path).filter { !$0.hasPrefix("data.mdb") }, [], "\(kind): \(arguments) created lock.mdb")
            }
        }
    }

    /// Finding 2: every input `company create` can check without a ledger is checked before one is created: a bad
    /// slug, admin email, reserved admin, name, mail domain or secret-shaped text on a missing --db (or an empty
    /// directory) exits 2 with its code and leaves no directory or file. Before, the ledger was created first and
    /// stayed behind, so that path no longer answered `no_ledger`. The library's `registerCompany` refuses the same
    /// inputs with the same codes (one validation, `CompanyRegistration`), writing nothing.
    func testRefusedCompanyCreateLeavesNothingBehind() throws {
        let secretShaped = "cxk_" + String(repeating: "a1B2", count: 8)
        let cases: [(code: String, slug: String, options: [String])] = [
            ("invalid_company", "Bad Slug", ["--admin", "a@x.com"]),
            ("invalid_company", "-acme", ["--admin", "a@x.com"]),
            ("invalid_email", "acme", ["--admin", "not-an-email"]),
            ("reserved_identity", "acme", ["--admin", "apiservice+abc@x.com"]),
            ("reserved_identity", "acme", ["--admin", "APIService+abc@x.com"]),
            ("invalid_name", "acme", ["--admin", "a@x.com", "--name", "Ac\u{202E}me"]),
            ("invalid_name", "acme", ["--admin", "a@x.com", "--name", "Ac\u{200B}me"]),
            ("invalid_name", "acme", ["--admin", "a@x.com", "--name", "   "]),
            ("invalid_mail_domain", "acme", ["--admin", "a@x.com", "--mail-domain", "bad_domain"]),
            ("secret_in_field", "acme", ["--admin", "a@x.com", "--name", "Acme \(secretShaped)"]),
            ("secret_in_field", "acme", ["--admin", "\(secretShaped)@x.com"]),
            ("secret_in_field", "acme", ["--admin", "a@x.com", "--mail-domain", "\(secretShaped).example.com"]),
        ]
        let base = try makeDirectory("badcreate")
        let empty = try makeDirectory("badcreate-empty")
        let existing = try makeDirectory("badcreate-lib") + "/ledger"
        let library = try Ledger(path: existing, options: testOptions())
        defer { library.close() }
        try library.administration.registerCompany("other", admin: "o@other.example")
        let head = library.head
        for c in cases {
            let what = "\(c.slug) \(c.options)"
            for path in [base + "/n2/ledger", empty] {
                let r = cli(["company", "create", c.slug] + c.options, db: path)
                XCTAssertEqual(r.code, ExitCode.usage, "\(what): \(r.all)")
                XCTAssertTrue(r.all.contains(c.code), "\(what): expected \(c.code): \(r.all)")
                XCTAssertFalse(r.all.contains(secretShaped), "\(what) echoed the secret-shaped text")
            }
            XCTAssertEqual(storageTree(base), [], "\(what) left something behind")
            XCTAssertEqual(storageTree(empty), [], "\(what) wrote into the empty directory")
            // The same validation, in the library, before and inside registerCompany.
            let option = { (name: String) in c.options.firstIndex(of: name).map { c.options[$0 + 1] } }
            assertLedgerError(c.code, what) {
                try CompanyRegistration(slug: c.slug, admin: option("--admin") ?? "", name: option("--name"), mailDomain: option("--mail-domain"))
            }
            assertLedgerError(c.code, what) {
                try library.administration.registerCompany(c.slug, admin: option("--admin") ?? "", name: option("--name"), mailDomain: option("--mail-domain"))
            }
            XCTAssertEqual(library.head, head, "\(what) wrote to the ledger")
        }
        // Good input creates the ledger, in the missing path and in the empty directory.
        for path in [base + "/n2/ledger", empty] {
            let r = cli(["company", "create", "acme", "--admin", "alice@acme.example", "--name", "Acme", "--mail-domain", "acme.example"], db: path)
            XCTAssertEqual(r.code, ExitCode.ok, r.all)
            XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/data.mdb"))
            XCTAssertEqual(try eventCount(path), 2)
        }
    }

    /// Finding 12: one length check, before LMDB opens the file, with the page size LMDB recorded in the meta page and
    /// the last page the current meta page claims. A file cut by whole pages (its meta pages intact, a whole number of
    /// pages) is `corrupt_storage` naming the pages it lacks, for read-only and read-write opens and every command;
    /// one extra whole page (a file LMDB grew but has not used yet) is fine.
    func testFileCutByWholePagesIsRefusedByTheOneStorageCheck() throws {
        let fixture = try storageFixture("wholepages", uses: 300)
        let original = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: fixture.path + "/data.mdb")))
        let page = 4096
        XCTAssertEqual(original.count % page, 0)
        for pages in [1, 2, (original.count / page) / 2] {
            let path = try makeDirectory("whole\(pages)") + "/ledger"
            let length = original.count - pages * page
            try TamperDriver.writeCopy(Array(original.prefix(length)), to: path)
            let before = storageFileHash(path + "/data.mdb")
            let expected = "is truncated: \(length) bytes, but the ledger's pages reach \(original.count) bytes"
            for arguments in [["verify"], ["auth", "check", "acme", "--header", fixture.header, "--project", "p", "--op", "read"]] {
                let r = cli(arguments, db: path)
                XCTAssertEqual(r.code, ExitCode.integrity, "\(pages): \(arguments): \(r.all)")
                XCTAssertTrue(r.all.contains("corrupt_storage") && r.all.contains(expected), "\(pages): \(arguments): \(r.all)")
            }
            assertLedgerError("corrupt_storage") { try Ledger(path: path, options: testOptions()) }
            assertLedgerError("corrupt_storage") { try Ledger(path: path, options: readOnlyOptions()) }
            XCTAssertEqual(storageFileHash(path + "/data.mdb"), before)
            XCTAssertEqual(storageTree(path), ["data.mdb"], "a refused open created lock.mdb")
        }
        let longer = try makeDirectory("longer") + "/ledger"
        try TamperDriver.writeCopy(original + [UInt8](repeating: 0, count: page), to: longer)
        XCTAssertEqual(cli(["verify"], db: longer).code, ExitCode.ok)
    }

    /// Finding 12: one `no_ledger` message, the library's, which the CLI prints as it is (before, the CLI replaced it
    /// with a second wording).
    func testOneNoLedgerMessage() throws {
        let path = try makeDirectory("onemessage") + "/missing"
        var options = testOptions()
        options.createIfMissing = false
        let error = try XCTUnwrap(assertLedgerError("no_ledger") { try Ledger(path: path, options: options) } as? LedgerError)
        XCTAssertTrue(error.message.contains("--db") && error.message.contains("company create"), error.message)
        for arguments in [["verify"], ["auth", "check", "acme", "--header", "Apikey cxk_x", "--project", "p", "--op", "read"]] {
            let r = cli(arguments, db: path)
            XCTAssertEqual(r.code, ExitCode.usage, r.all)
            XCTAssertTrue(r.stderr.contains("no_ledger: \(error.message)"), r.all)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
