@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
@testable import CredLedgerLab
@testable import CredLedgerTools
import Foundation
import LMDB
import XCTest

/// Full map, full disk, read-only storage, missing and locked files, a newer format: a clear error, no partial
/// event, and the ledger still verifies (SPEC §7).
final class ResourceLimitTests: ReliabilityTestCase {
    // MARK: helpers

    /// Runs a system command (mount, chattr, …); returns its exit status (127 when it cannot start).
    @discardableResult
    private func system(_ tool: String, _ arguments: [String]) -> Int32 {
        guard let r = try? ChildProcess.run(tool, arguments, timeout: 30) else { return 127 }
        return r.signaled ? 128 + r.status : r.status
    }

    /// Mounts a tmpfs of `size` at a new directory (unmounted at tear-down), or nil if not permitted.
    private func smallFileSystem(_ size: String) throws -> String? {
        let mountPoint = try makeDirectory("tmpfs")
        guard system("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", mountPoint]) == 0 else { return nil }
        addTeardownBlock { [self] in _ = system("/bin/umount", ["-l", mountPoint]) }
        return mountPoint
    }

    private func countUses(_ ledger: Ledger) throws -> Int {
        var n = 0
        try ledger.audit.forEachEvent { e in
            if e.event.type == .credentialUsed { n += 1 }
            return true
        }
        return n
    }

    // MARK: map full

    /// A map that may not grow: recording fails with `map_full`, the failed batch leaves no event, the ledger
    /// verifies and reopens; with growth allowed the same writes succeed.
    func testFullMapGivesMapFullAndNoPartialEvent() throws {
        let path = try makeDirectory("mapfull") + "/ledger"
        var options = testOptions(durability: .ackBeforeSync)
        options.initialMapSize = 1 << 20
        options.maxMapSize = 1 << 20
        var failure: Error?
        var acknowledged = 0
        do {
            let ledger = try Ledger(path: path, options: options)
            defer { ledger.close() }
            let header = try StressSetup.prepare(ledger, company: "acme", admin: "a@acme.example", projects: ["p"])
            // Many uses in flight at once (whole batches fail together), until the map is full.
            let outcomes = StressLocked((ok: 0, errors: [Error]()))
            for round in 0..<40 where outcomes.current.errors.isEmpty {
                let group = DispatchGroup()
                for i in 0..<2_000 {
                    let decision = try ledger.access.authorize(header: header, company: "acme", project: "p", operation: (round + i) % 2 == 0 ? .read : .write)
                    group.enter()
                    ledger.access.record(decision) { error in
                        outcomes.withLock { if let error { $0.errors.append(error) } else { $0.ok += 1 } }
                        group.leave()
                    }
                }
                group.wait()
            }
            acknowledged = outcomes.current.ok
            failure = outcomes.current.errors.first
            XCTAssertNotNil(failure, "1 MiB cannot hold 80k uses")
            // Nothing partial: the log holds exactly the acknowledged uses, and the live state agrees with a rebuild.
            XCTAssertEqual(try countUses(ledger), acknowledged)
            let report = try ledger.audit.verify()
            XCTAssertTrue(report.ok, "\(String(describing: report.chainFailure))")
            // A smaller transaction may still fit after the big batch was refused; either way it is all or nothing.
            let head = ledger.head.seq
            do {
                try ledger.administration.createProject("acme", project: "more", as: "a@acme.example")
                XCTAssertEqual(ledger.head.seq, head + 1)
            } catch {
                XCTAssertEqual(ledger.head.seq, head, "a refused command moved the head")
            }
            XCTAssertTrue(try ledger.audit.verify().ok)
            // Fill what small transactions can still take, so that the CLI below meets a full map too.
            for _ in 0..<20_000 {
                do { _ = try ledger.access.check(header: header, company: "acme", project: "p", operation: .read) } catch { break }
            }
        }
        let error = try XCTUnwrap(failure)
        XCTAssertEqual((error as? LedgerError)?.code, "map_full",
                       "a full map must surface as LedgerError map_full, got \(type(of: error)): \(error)")
        // The CLI reports it with a stable code, not as an internal error.
        var cliOptions = Ledger.Options()
        cliOptions.initialMapSize = 1 << 20
        cliOptions.maxMapSize = 1 << 20
        let r = cli(["company", "create", "bigger", "--admin", "a@acme.example"], db: path, options: cliOptions)
        XCTAssertEqual(r.code, ExitCode.usage, r.all)
        XCTAssertTrue(r.all.contains("map_full"), "CLI said: \(r.all)")

        // Growth allowed: the same ledger takes more. Reopened with another seed, as a new process draws a new stream
        // (the same seed would replay the first key's id, which the ledger refuses: `random_repeats`).
        var grown = testOptions(seed: ReliabilityTestCase.seed &+ 1, durability: .ackBeforeSync)
        grown.initialMapSize = 1 << 20
        let ledger = try Ledger(path: path, options: grown)
        defer { ledger.close() }
        let header = try StressSetup.prepare(ledger, company: "acme", admin: "a@acme.example", projects: ["p"])
        let errors = StressLocked(0)
        let group = DispatchGroup()
        for _ in 0..<4_000 {
            let decision = try ledger.access.authorize(header: header, company: "acme", project: "p", operation: .read)
            group.enter()
            ledger.access.record(decision) { error in
                if error != nil { errors.withLock { $0 += 1 } }
                group.leave()
            }
        }
        group.wait()
        XCTAssertEqual(errors.current, 0)
        XCTAssertGreaterThan(ledger.environment.mapSize, 1 << 20)
        XCTAssertTrue(try ledger.audit.verify().ok)
    }

    /// The map grows on demand from 1 MiB under many concurrent callers (group commit re-runs the batch).
    func testMapGrowsOnDemandUnderConcurrentCallers() throws {
        let path = try makeDirectory("grow") + "/ledger"
        var options = testOptions(durability: .ackBeforeSync)
        options.initialMapSize = 1 << 20
        let ledger = try Ledger(path: path, options: options)
        defer { ledger.close() }
        let header = try StressSetup.prepare(ledger, company: "acme", admin: "a@acme.example", projects: ["p0", "p1", "p2", "p3"])
        let errors = StressLocked([String]())
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            let group = DispatchGroup()
            for i in 0..<5_000 {
                guard let decision = try? ledger.access.authorize(header: header, company: "acme", project: "p\(worker)", operation: i % 3 == 0 ? .write : .read) else {
                    errors.withLock { $0.append("authorize failed") }
                    return
                }
                group.enter()
                ledger.access.record(decision) { error in
                    if let error { errors.withLock { $0.append("\(error)") } }
                    group.leave()
                }
            }
            group.wait()
        }
        XCTAssertEqual(errors.current.prefix(3), [])
        XCTAssertGreaterThan(ledger.environment.mapSize, 1 << 20)
        XCTAssertEqual(try countUses(ledger), 20_000)
        XCTAssertTrue(try ledger.audit.verify().ok)
    }

    // MARK: disk full

    /// ENOSPC injected at commit (swift-system style shim): the batch fails with a clear error, nothing is written,
    /// and once space is back the ledger works and verifies.
    func testInjectedDiskFullFailsTheBatchAndWritesNothing() throws {
        let path = try makeDirectory("enospc") + "/ledger"
        let ledger = try Ledger(path: path, options: testOptions())
        defer { ledger.close() }
        let header = try StressSetup.prepare(ledger, company: "acme", admin: "a@acme.example", projects: ["p"])
        let head = ledger.head.seq
        ledger.environment.faultInjector = { call in call == .commit ? ENOSPC : nil }
        var failure: Error?
        do { _ = try ledger.access.check(header: header, company: "acme", project: "p", operation: .read) } catch { failure = error }
        XCTAssertThrowsError(try ledger.administration.createProject("acme", project: "q", as: "a@acme.example"))
        ledger.environment.faultInjector = nil
        let error = try XCTUnwrap(failure, "an ENOSPC commit must fail the use")
        XCTAssertTrue("\(error)".lowercased().contains("no space left"), "unclear: \(error)")
        XCTAssertTrue(error is LedgerError, "storage failures should surface as a LedgerError with a stable code, got \(type(of: error)): \(error)")
        XCTAssertEqual(ledger.head.seq, head, "a failed commit must not move the head")
        _ = try ledger.access.check(header: header, company: "acme", project: "p", operation: .read)
        XCTAssertEqual(ledger.head.seq, head + 1)
        XCTAssertTrue(try ledger.audit.verify().ok)
        ledger.close()
        XCTAssertEqual(try eventCount(path), head + 1)
    }

    /// A real full disk: `stress record` on a 2 MiB tmpfs stops with a clear error (not a signal); every use it
    /// acknowledged is in the log, which verifies; after the file system grows, recording resumes.
    func testRealDiskFullOnASmallTmpfs() throws {
        let binary = try benchBinary()
        guard let mountPoint = try smallFileSystem("2m") else {
            throw XCTSkip("cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN); the injected ENOSPC test covers the path")
        }
        let path = mountPoint + "/ledger"
        let header: String
        do {
            let ledger = try Ledger(path: path, options: CrashDriver.options())
            defer { ledger.close() }
            header = try StressSetup.prepare(ledger, company: "acme", admin: "a@acme.example", projects: ["w0", "w1"])
        }
        let before = try eventCount(path)
        let r = try ChildProcess.run(binary, ["stress", "record", "--db", path, "--company", "acme", "--header", header,
                                              "--threads", "2", "--window", "8", "--count", "1000000"], timeout: 120)
        XCTAssertFalse(r.timedOut)
        XCTAssertFalse(r.signaled, "the writer died on signal \(r.status) when the disk filled: \(r.stderr.prefix(600))")
        XCTAssertNotEqual(r.status, 0)
        // LMDB turns a short write into EIO; the message must still tell the operator the disk is full.
        XCTAssertTrue(r.stderr.contains("No space left on device") || r.stderr.contains("disk_full") || r.stderr.contains("disk is full"),
                      "a full disk must be named as such: \(r.stderr.prefix(600))")
        let acked = r.stdout.split(separator: "\n").filter { $0.hasPrefix("ack ") }.count
        XCTAssertGreaterThan(acked, 100)
        do {
            let ledger = try Ledger(path: path, options: readOnlyOptions())
            defer { ledger.close() }
            XCTAssertGreaterThanOrEqual(ledger.head.seq, before + UInt64(acked))
            let report = try ledger.audit.verify()
            XCTAssertTrue(report.ok, "\(String(describing: report.chainFailure))")
        }
        // More space: recording resumes.
        XCTAssertEqual(system("/bin/mount", ["-o", "remount,size=16m", mountPoint]), 0)
        let ledger = try Ledger(path: path, options: CrashDriver.options())
        defer { ledger.close() }
        _ = try ledger.access.check(header: header, company: "acme", project: "w0", operation: .read)
        XCTAssertTrue(try ledger.audit.verify().ok)
    }

    // MARK: read-only storage

    /// A read-only bind mount (root ignores chmod, so permissions alone prove nothing here): opening for writing is
    /// refused with `read_only_storage`; reading and `credledger verify` work.
    func testReadOnlyMountRefusesWritesAndAllowsVerify() throws {
        let directory = try makeDirectory("ro")
        let path = directory + "/ledger"
        do {
            let ledger = try Ledger(path: path, options: testOptions())
            defer { ledger.close() }
            _ = try StressScenario.populate(ledger)
        }
        let view = try makeDirectory("ro-view")
        guard system("/bin/mount", ["--bind", path, view]) == 0 else { throw XCTSkip("cannot bind-mount here (not root)") }
        addTeardownBlock { [self] in _ = system("/bin/umount", ["-l", view]) }
        XCTAssertEqual(system("/bin/mount", ["-o", "remount,bind,ro", view]), 0)
        assertLedgerError("read_only_storage") { try Ledger(path: view, options: testOptions()) }
        let readOnly = try Ledger(path: view, options: readOnlyOptions())
        XCTAssertTrue(try readOnly.audit.verify().ok)
        readOnly.close()
        let verify = cli(["verify", "--json"], db: view)
        XCTAssertEqual(verify.code, 0, verify.all)
        let write = cli(["project", "create", "acme", "more", "--as", "alice@acme.example"], db: view)
        XCTAssertEqual(write.code, ExitCode.usage, write.all)
        XCTAssertTrue(write.all.contains("read_only_storage"), write.all)
    }

    /// An immutable data file (chattr +i; also stops root): a clear refusal to open for writing.
    func testImmutableDataFileIsAClearError() throws {
        let path = try makeDirectory("immutable") + "/ledger"
        do {
            let ledger = try Ledger(path: path, options: testOptions())
            defer { ledger.close() }
            _ = try StressScenario.populate(ledger)
        }
        guard system("/usr/bin/chattr", ["+i", path + "/data.mdb"]) == 0 else { throw XCTSkip("chattr +i is not supported here") }
        defer { system("/usr/bin/chattr", ["-i", path + "/data.mdb"]) }
        do {
            _ = try Ledger(path: path, options: testOptions())
            XCTFail("an immutable data file was opened for writing")
        } catch let error as LedgerError {
            XCTAssertTrue(["read_only_storage", "storage_error"].contains(error.code), "\(error)")
            XCTAssertTrue(error.message.contains(path) && error.message.contains("not permitted"), "unclear: \(error)")
        }
        let readOnly = try Ledger(path: path, options: readOnlyOptions())
        defer { readOnly.close() }
        XCTAssertTrue(try readOnly.audit.verify().ok)
    }

    /// Permissions as a normal user (setpriv to nobody): a directory without write permission is a clear error.
    func testDirectoryWithoutWritePermissionForANormalUser() throws {
        let binary = try credledgerBinary()
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root to switch to an unprivileged user with setpriv")
        }
        let directory = try makeDirectory("perm")
        let path = directory + "/ledger"
        do {
            let ledger = try Ledger(path: path, options: testOptions())
            defer { ledger.close() }
            _ = try StressScenario.populate(ledger)
        }
        // nobody must reach the binary and the ledger; read but not write.
        _ = chmod(directory, 0o755)
        _ = chmod(path, 0o555)
        _ = chmod(path + "/data.mdb", 0o444)
        _ = chmod(path + "/lock.mdb", 0o444)
        let probe = try ChildProcess.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary, "--help"])
        guard probe.status == 0 else { throw XCTSkip("the unprivileged user cannot run \(binary): \(probe.stderr.prefix(200))") }
        let write = try ChildProcess.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary,
                                                              "project", "create", "acme", "x", "--as", "alice@acme.example", "--db", path])
        XCTAssertFalse(write.signaled)
        XCTAssertEqual(write.status, ExitCode.usage, write.stdout + write.stderr)
        XCTAssertTrue(write.stderr.contains("read_only_storage") || write.stderr.contains("Permission denied"), write.stderr)
        let verify = try ChildProcess.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary, "verify", "--db", path])
        XCTAssertFalse(verify.signaled)
        // Readers need the lock file writable (LMDB's reader table) unless the file system is read-only.
        XCTAssertTrue(verify.status == 0 || verify.stderr.contains("read_only_storage") || verify.stderr.contains("Permission denied"),
                      "exit \(verify.status): \(verify.stdout) \(verify.stderr)")
    }

    // MARK: missing, locked, foreign files

    func testMissingFilesAreClearErrors() throws {
        let directory = try makeDirectory("missing")
        let path = directory + "/ledger"
        // No ledger at all: read-only commands refuse; nothing is created.
        let r = cli(["verify"], db: path)
        XCTAssertEqual(r.code, ExitCode.usage)
        XCTAssertTrue(r.all.contains("no_ledger"), r.all)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "verify must not create a ledger")
        XCTAssertThrowsError(try Ledger(path: path, options: readOnlyOptions())) { error in
            XCTAssertTrue(error is LedgerError, "\(type(of: error)): \(error)")
        }
        do {
            let ledger = try Ledger(path: path, options: testOptions())
            defer { ledger.close() }
            _ = try StressScenario.populate(ledger)
        }
        // A lost lock file is recreated.
        try FileManager.default.removeItem(atPath: path + "/lock.mdb")
        do {
            let ledger = try Ledger(path: path, options: readOnlyOptions())
            defer { ledger.close() }
            XCTAssertTrue(try ledger.audit.verify().ok)
        }
        // A lost data file: refused, not silently replaced by an empty ledger, for read-only commands.
        try FileManager.default.removeItem(atPath: path + "/data.mdb")
        let gone = cli(["log"], db: path)
        XCTAssertEqual(gone.code, ExitCode.usage)
        XCTAssertTrue(gone.all.contains("no_ledger"), gone.all)
        // A regular file where the directory should be.
        let file = directory + "/file"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        XCTAssertThrowsError(try Ledger(path: file, options: testOptions())) { error in
            XCTAssertTrue(error is LedgerError, "\(type(of: error)): \(error)")
        }
    }

    /// The same ledger twice in one process is refused (closing either would drop the other's LMDB locks),
    /// also through another path to the same directory; the first stays usable.
    func testSecondOpenInTheSameProcessIsRefused() throws {
        let directory = try makeDirectory("twice")
        let path = directory + "/ledger"
        let first = try Ledger(path: path, options: testOptions())
        defer { first.close() }
        let header = try StressSetup.prepare(first, company: "acme", admin: "a@acme.example", projects: ["p"])
        XCTAssertThrowsError(try Ledger(path: path, options: testOptions())) { error in
            XCTAssertTrue(error is LedgerError, "\(type(of: error)): \(error)")
            XCTAssertTrue("\(error)".contains(path), "the message should name the ledger: \(error)")
        }
        try FileManager.default.createSymbolicLink(atPath: directory + "/alias", withDestinationPath: path)
        XCTAssertThrowsError(try Ledger(path: directory + "/alias", options: readOnlyOptions()))
        XCTAssertThrowsError(try Ledger(path: path + "/./", options: readOnlyOptions()))
        _ = try first.access.check(header: header, company: "acme", project: "p", operation: .read)
        XCTAssertTrue(try first.audit.verify().ok)
    }

    /// Files that are not a ledger: a clear error from `credledger verify` in a child process, never a crash.
    func testForeignAndGarbageFilesAreRefused() throws {
        let binary = try credledgerBinary()
        let directory = try makeDirectory("foreign")
        var rng = StressRandom(seed: Self.seed)
        let cases: [(String, (String) throws -> Void)] = [
            ("empty data file", { try TamperDriver.writeCopy([], to: $0) }),
            ("random bytes", { try TamperDriver.writeCopy(rng.bytes(64 << 10), to: $0) }),
            ("zeros", { try TamperDriver.writeCopy(Array(repeating: 0, count: 16 << 10), to: $0) }),
            ("an LMDB environment of another application", { path in
                let env = try Environment(path: path)
                let db = try env.openDatabases(["other"])[0]
                try env.write { txn in try txn.put(db, [1], [2]) }
                env.close()
            }),
        ]
        for (name, make) in cases {
            let path = directory + "/" + name.replacingOccurrences(of: " ", with: "-")
            try make(path)
            let r = try ChildProcess.run(binary, ["verify", "--db", path])
            XCTAssertFalse(r.signaled, "\(name): verify crashed with signal \(r.status): \(r.stderr.prefix(300))")
            XCTAssertNotEqual(r.status, 0, "\(name): verify passed")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), "\(name): unclear: \(r.stdout) \(r.stderr.prefix(300))")
            XCTAssertFalse(r.stderr.contains("internal_error"), "\(name): \(r.stderr.prefix(300))")
        }
    }

    // MARK: newer format

    /// A ledger written by a newer build (format version in `meta` above ours) is refused with `newer_format`,
    /// for reading and writing, and nothing is written to it.
    func testNewerFormatVersionIsRefused() throws {
        let path = try makeDirectory("newer") + "/ledger"
        do {
            let ledger = try Ledger(path: path, options: testOptions())
            defer { ledger.close() }
            _ = try StressScenario.populate(ledger)
        }
        do {
            let env = try Environment(path: path)
            defer { env.close() }
            let meta = try env.openDatabases(["meta"], flags: [])[0]
            try env.write { txn in try txn.put(meta, Array("format".utf8), (Ledger.formatVersion + 1).bigEndianBytes) }
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path + "/data.mdb"))
        assertLedgerError("newer_format") { try Ledger(path: path, options: testOptions()) }
        assertLedgerError("newer_format") { try Ledger(path: path, options: readOnlyOptions()) }
        for arguments in [["verify"], ["log"], ["company", "create", "x", "--admin", "a@x.example"]] {
            let r = cli(arguments, db: path)
            XCTAssertEqual(r.code, ExitCode.usage, "\(arguments): \(r.all)")
            XCTAssertTrue(r.all.contains("newer_format") && r.all.contains("upgrade"), "\(arguments): \(r.all)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path + "/data.mdb")), before, "a refused open wrote to the file")
    }

    /// A ledger whose usage and index projections were written by older projection code (code version 1: posting
    /// blocks keyed by list, counters updated per batch, no `…_recent` tables) is rebuilt at the first read-write
    /// open: the old rows are gone, the checkpoints carry this build's versions and `verify` passes. The log is
    /// untouched.
    func testOlderProjectionCodeIsRebuiltAtOpen() throws {
        let path = try makeDirectory("older") + "/ledger"
        let head: ChainHead
        let liveBefore: [String: SHA256Digest]
        do {
            let ledger = try Ledger(path: path, options: testOptions())
            defer { ledger.close() }
            _ = try StressScenario.populate(ledger)
            head = ledger.head
            liveBefore = Dictionary(uniqueKeysWithValues: try ledger.audit.verify().projections.map { ($0.name, $0.live) })
        }
        // What version-1 code left behind: its checkpoints, an `ix` block keyed kind ‖ id ‖ first seq, and a `usage`
        // row that still counts the open segment's uses (which later versions fold only when the segment closes).
        do {
            let env = try Environment(path: path, configuration: { var c = Environment.Configuration(); c.maxDatabases = 64; return c }())
            defer { env.close() }
            let dbs = try env.openDatabases(["meta", "ix", "usage", "events"], flags: [])
            try env.write { txn in
                for name in ["usage", "indexes"] {
                    let key = Array("projection/\(name)".utf8)
                    var checkpoint = try XCTUnwrap(try txn.get(dbs[0], key))
                    checkpoint.replaceSubrange(0..<4, with: UInt32(1).bigEndianBytes)
                    try txn.put(dbs[0], key, checkpoint)
                }
                try txn.put(dbs[1], [0x43] + UInt32(1).bigEndianBytes + UInt64(5).bigEndianBytes, [0, 1, 0, 0, 0, 0])
                try txn.put(dbs[2], UInt32(1).bigEndianBytes, [UInt8](repeating: 7, count: 40))
            }
        }
        let eventsBefore = try eventBytes(path)
        // Read-only, the stale projections cannot be rebuilt: a clear refusal, not reads with the wrong layout.
        assertLedgerError("stale_projections") { try Ledger(path: path, options: readOnlyOptions()) }
        let ledger = try Ledger(path: path, options: testOptions())
        defer { ledger.close() }
        let report = try ledger.audit.verify()
        XCTAssertTrue(report.ok, "\(report.projections.filter { !$0.matches }.map(\.name))")
        XCTAssertEqual(ledger.head, head)
        for p in report.projections {
            XCTAssertEqual(p.live, liveBefore[p.name], "\(p.name): the rebuild must give what the current code wrote live")
        }
        ledger.close()
        XCTAssertEqual(try eventBytes(path), eventsBefore, "the rebuild must not touch the log")
        let env = try Environment(path: path, configuration: { var c = Environment.Configuration(); c.maxDatabases = 64; return c }())
        defer { env.close() }
        let dbs = try env.openDatabases(["meta", "ix"], flags: [])
        try env.read { txn in
            for name in ["registry", "memberships", "usage", "indexes"] {
                let checkpoint = try XCTUnwrap(try txn.get(dbs[0], Array("projection/\(name)".utf8)))
                XCTAssertEqual(UInt32(bigEndianBytes: Array(checkpoint.prefix(4))), ProjectionName(rawValue: name)?.codeVersion, name)
            }
            XCTAssertNil(try txn.get(dbs[1], [0x43] + UInt32(1).bigEndianBytes + UInt64(5).bigEndianBytes), "the old block is gone")
        }
    }

    /// Every stored event record, in seq order.
    private func eventBytes(_ path: String) throws -> [[UInt8]] {
        let env = try Environment(path: path, configuration: { var c = Environment.Configuration(); c.maxDatabases = 64; return c }())
        defer { env.close() }
        let events = try env.openDatabases(["events"], flags: [])[0]
        return try env.read { txn in
            var out: [[UInt8]] = []
            try txn.withCursor(events) { cursor in
                var entry = try cursor.first()
                while let e = entry {
                    out.append(Array(e.value))
                    entry = try cursor.next()
                }
            }
            return out
        }
    }
}
