import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation
import LMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Changes stored events in a copy of a compacted ledger and checks that verify names the first bad event.
enum TamperDriver {
    enum Kind: String, CaseIterable {
        case lmdbValueFlip = "lmdb-value-flip"   // one byte of a value, rewritten through the LMDB API
        case rawValueFlip = "raw-value-flip"     // one byte inside a record, in data.mdb
        case rawKeyFlip = "raw-key-flip"         // one byte of a record's 8-byte key, in data.mdb
        case deleteMiddle = "delete-middle"      // an event (not the last) deleted through the LMDB API
        case deleteTail = "delete-tail"          // the last event deleted
        case swap = "swap"                       // two events' values exchanged
        case truncate = "truncate"               // data.mdb truncated (verify runs in a child process)
    }

    struct Config {
        var directory: String
        var binary: String?
        var trialsPerKind = 100
        var kinds = Kind.allCases
        var seed: UInt64 = 1
        var extraUses = 300
        /// Every n-th trial runs the full verify (projections too) and the CLI; the others `verify --chain-only`.
        var fullVerifyEvery = 10
        var log: ((String) -> Void)?

        init(directory: String) { self.directory = directory }
    }

    struct Summary {
        var trials: [String: Int] = [:]
        var detected: [String: Int] = [:]
        var events = 0
        var fileBytes = 0
        var seconds = 0.0
        var failures: [String] = []

        var totalTrials: Int { trials.values.reduce(0, +) }
        var totalDetected: Int { detected.values.reduce(0, +) }

        var json: [String: Any] {
            ["trials": trials, "detected": detected, "events": events, "file_bytes": fileBytes, "seconds": seconds, "failures": failures]
        }

        var text: String {
            var s = "tamper: \(totalDetected)/\(totalTrials) detected on a \(events)-event ledger (\(fileBytes) bytes): "
            s += Kind.allCases.compactMap { k in trials[k.rawValue].map { "\(k.rawValue) \(detected[k.rawValue] ?? 0)/\($0)" } }.joined(separator: ", ")
            s += String(format: " — %.1f s", seconds)
            s += failures.isEmpty ? " — ok" : "\nFAILURES (\(failures.count)):\n" + failures.prefix(30).joined(separator: "\n")
            return s
        }
    }

    /// A compacted pristine ledger: its data file and every record with its file offset.
    struct Pristine {
        var data: [UInt8]
        var records: [(seq: UInt64, bytes: [UInt8], fileOffset: Int)]
        var path: String
    }

    static func readOnlyOptions() -> Ledger.Options {
        var o = Ledger.Options()
        o.readOnly = true
        return o
    }

    /// Builds the scenario ledger (plus `extraUses` uses), compacts it into `directory/pristine`, locates records.
    static func makePristine(directory: String, extraUses: Int, seed: UInt64) throws -> Pristine {
        let source = directory + "/source", pristine = directory + "/pristine"
        try? FileManager.default.removeItem(atPath: source)
        try? FileManager.default.removeItem(atPath: pristine)
        var options = Ledger.Options()
        options.clock = ManualClock()
        options.random = SeededRandom(seed: seed)
        options.durability = .ackBeforeSync
        do {
            let ledger = try Ledger(path: source, options: options)
            defer { ledger.close() }
            _ = try StressScenario.populate(ledger, extraUses: extraUses)
            try ledger.maintenance.backup(to: pristine)
        }
        try? FileManager.default.removeItem(atPath: source)
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: pristine + "/data.mdb")))
        var records: [(UInt64, [UInt8], Int)] = []
        let ledger = try Ledger(path: pristine, options: readOnlyOptions())
        defer { ledger.close() }
        var stored: [(UInt64, [UInt8])] = []
        try ledger.audit.forEachEvent { e in
            var w = ByteWriter(capacity: 256)
            EventCodec.encodeBody(e.event, into: &w)
            e.hash.withUnsafeBytes { w.write(bytes: $0) }
            stored.append((e.event.seq, w.bytes))
            return true
        }
        for (seq, bytes) in stored {
            let offsets = occurrences(of: bytes, in: data)
            guard offsets.count == 1 else {
                throw LedgerError("tamper_setup", "event \(seq) occurs \(offsets.count) times in the compacted data file", kind: .integrity)
            }
            records.append((seq, bytes, offsets[0]))
        }
        try? FileManager.default.removeItem(atPath: pristine + "/lock.mdb")
        return Pristine(data: data, records: records.map { (seq: $0.0, bytes: $0.1, fileOffset: $0.2) }, path: pristine)
    }

    /// Every offset where `needle` occurs in `haystack` (memchr for the first byte, memcmp for the rest).
    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        guard let first = needle.first, needle.count <= haystack.count else { return [] }
        var found: [Int] = []
        haystack.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in
                var start = 0
                while start + n.count <= h.count,
                      let p = memchr(h.baseAddress! + start, Int32(first), h.count - start - n.count + 1) {
                    let offset = h.baseAddress!.distance(to: UnsafeRawPointer(p))
                    if memcmp(p, n.baseAddress!, n.count) == 0 { found.append(offset) }
                    start = offset + 1
                }
            }
        }
        return found
    }

    /// What verify made of a tampered copy.
    enum Outcome: CustomStringConvertible {
        case named(UInt64, String)          // verify reported the chain broken at this seq
        case refused(String, Bool)          // open/verify threw a clear error (message, integrity kind)
        case passed(String)                 // nothing found: a miss
        case crashed(String)                // the child verify died on a signal or hung

        var description: String {
            switch self {
            case .named(let s, let r): "verify names event \(s) (\(r))"
            case .refused(let m, _): "refused: \(m)"
            case .passed(let m): "NOT DETECTED: \(m)"
            case .crashed(let m): "CRASHED: \(m)"
            }
        }
    }

    /// Opens the copy read-only and verifies it with the library.
    static func verifyInProcess(_ path: String, projections: Bool) -> Outcome {
        do {
            let ledger = try Ledger(path: path, options: readOnlyOptions())
            defer { ledger.close() }
            let report = try ledger.audit.verify(projections: projections)
            if let f = report.chainFailure { return .named(f.seq, f.reason) }
            let differing = report.projections.filter { !$0.matches }.map(\.name)
            return .passed("chain ok with \(report.events) events; projections differing: \(differing)")
        } catch let error as LedgerError {
            return .refused(error.description, error.kind == .integrity)
        } catch {
            return .refused("\(error)", false)
        }
    }

    /// Runs `credledger verify --json` on the copy in a child process (a crash cannot take the driver down).
    static func verifyInChild(_ binary: String, _ path: String) -> Outcome {
        do {
            let r = try ChildProcess.run(binary, ["verify", "--json", "--db", path], timeout: 60)
            if r.timedOut { return .crashed("verify hung for 60 s") }
            if r.signaled { return .crashed("verify died on signal \(r.status); stderr: \(r.stderr.prefix(300))") }
            let text = (r.stdout + "\n" + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            if r.status == 0 { return .passed("exit 0: \(text.prefix(300))") }
            if let line = r.stdout.split(separator: "\n").last, let data = line.data(using: .utf8),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                if let seq = (object["first_bad_seq"] as? NSNumber)?.uint64Value { return .named(seq, object["reason"] as? String ?? "") }
                if let code = object["error"] as? String { return .refused("\(code): \(object["message"] as? String ?? "")", r.status == ExitCode.integrity) }
            }
            return .refused("exit \(r.status): \(text.prefix(300))", r.status == ExitCode.integrity)
        } catch {
            return .crashed("cannot start \(binary): \(error)")
        }
    }

    /// Runs the CLI in process: `verify --json`.
    static func verifyThroughCLI(_ path: String) -> Outcome {
        let r = CapturedCLI.run(["verify", "--json"], database: path)
        if r.code == 0 { return .passed("credledger verify exit 0: \(r.stdout.prefix(200))") }
        if let data = r.stdout.split(separator: "\n").last.flatMap({ $0.data(using: .utf8) }),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let seq = (object["first_bad_seq"] as? NSNumber)?.uint64Value { return .named(seq, object["reason"] as? String ?? "") }
            if let code = object["error"] as? String { return .refused("\(code): \(object["message"] as? String ?? "")", r.code == ExitCode.integrity) }
        }
        return .refused("exit \(r.code): \(r.all.prefix(200))", r.code == ExitCode.integrity)
    }

    /// Whether an outcome counts as detected with `expected` as the first bad event.
    static func accepts(_ outcome: Outcome, expected: UInt64?) -> Bool {
        switch outcome {
        case .named(let seq, _): return expected == nil || seq == expected
        case .refused(let message, let integrity):
            guard let expected else { return true }
            // An open that fails on the damaged record must still name it.
            return integrity && (message.contains("event \(expected):") || message.contains("event \(expected) "))
        case .passed, .crashed: return false
        }
    }

    static func writeCopy(_ bytes: [UInt8], to path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path + "/data.mdb"))
    }

    /// Opens the copy's environment directly and runs `body` on the `events` database in a write transaction.
    static func rewriteEvents(_ path: String, _ body: (borrowing Transaction, Database) throws -> Void) throws {
        try rewriteTable("events", in: path, body)
    }

    /// Opens the copy's environment directly and runs `body` on the named database in a write transaction.
    static func rewriteTable(_ name: String, in path: String, _ body: (borrowing Transaction, Database) throws -> Void) throws {
        var configuration = Environment.Configuration()
        configuration.mapSize = 64 << 20
        configuration.maxDatabases = 64
        let environment = try Environment(path: path, configuration: configuration)
        defer { environment.close() }
        let database = try environment.openDatabases([name], flags: [])[0]
        try environment.write { txn in try body(txn, database) }
    }

    /// A consistent rewrite of history: re-encodes the first use event at or after record index `after` with the other
    /// operation and re-links every later event, so the chain still verifies and only an anchored head or a signed
    /// checkpoint can tell. Returns the rewritten event's seq.
    @discardableResult
    static func rewriteOneUse(_ path: String, records: [(seq: UInt64, bytes: [UInt8], fileOffset: Int)], after: Int = 0) throws -> UInt64 {
        guard let target = records.dropFirst(after).first(where: { record in
            record.bytes.withUnsafeBytes { (try? EventCodec.decode(seq: record.seq, record: $0))?.event.type == .credentialUsed }
        }) else {
            throw LedgerError("no_use_event", "no use event after record \(after) to rewrite", kind: .badInput)
        }
        try rewriteEvents(path) { txn, events in
            var previous = target.seq == 1 ? HashChain.genesis : SHA256Digest(bytes: records[Int(target.seq) - 2].bytes.suffix(32))!
            for record in records where record.seq >= target.seq {
                var stored = try record.bytes.withUnsafeBytes { try EventCodec.decode(seq: record.seq, record: $0) }
                if record.seq == target.seq, case .credentialUsed(var use) = stored.event.payload {
                    use.operation = use.operation == .read ? .write : .read
                    stored.event.payload = .credentialUsed(use)
                }
                var w = ByteWriter()
                EventCodec.encodeBody(stored.event, into: &w)
                let link = w.bytes.withUnsafeBytes { HashChain.link(previous: previous, seq: record.seq, body: $0) }
                link.withUnsafeBytes { w.write(bytes: $0) }
                try txn.put(events, record.seq.bigEndianBytes, w.bytes)
                previous = link
            }
        }
        return target.seq
    }

    static func run(_ config: Config) -> Summary {
        let started = DispatchTime.now()
        var summary = Summary()
        let pristine: Pristine
        do {
            pristine = try makePristine(directory: config.directory, extraUses: config.extraUses, seed: config.seed)
        } catch {
            summary.failures.append("cannot build the pristine ledger: \(error)")
            return summary
        }
        summary.events = pristine.records.count
        summary.fileBytes = pristine.data.count
        var rng = StressRandom(seed: config.seed ^ 0x7A3B)
        let trial = config.directory + "/trial"
        let records = pristine.records
        let n = records.count
        for kind in config.kinds {
            if kind == .truncate && config.binary == nil { continue }
            var trials = 0, detected = 0
            for t in 0..<config.trialsPerKind {
                var expected: UInt64?
                var what = ""
                do {
                    switch kind {
                    case .lmdbValueFlip:
                        let r = records[rng.int(0..<n)]
                        let offset = rng.int(0..<r.bytes.count), mask = UInt8(rng.int(1...255))
                        try writeCopy(pristine.data, to: trial)
                        try rewriteEvents(trial) { txn, events in
                            var value = try txn.get(events, r.seq.bigEndianBytes) ?? []
                            value[offset] ^= mask
                            try txn.put(events, r.seq.bigEndianBytes, value)
                        }
                        expected = r.seq
                        what = "event \(r.seq) byte \(offset) ^ \(mask) (LMDB API)"
                    case .rawValueFlip:
                        let r = records[rng.int(0..<n)]
                        let offset = rng.int(0..<r.bytes.count), mask = UInt8(rng.int(1...255))
                        var bytes = pristine.data
                        bytes[r.fileOffset + offset] ^= mask
                        try writeCopy(bytes, to: trial)
                        expected = r.seq
                        what = "event \(r.seq) byte \(offset) (file offset \(r.fileOffset + offset)) ^ \(mask)"
                    case .rawKeyFlip:
                        let r = records[rng.int(0..<n)]
                        let keyStart = r.fileOffset - 8
                        guard keyStart >= 0, Array(pristine.data[keyStart..<r.fileOffset]) == r.seq.bigEndianBytes else {
                            summary.failures.append("\(kind.rawValue): the key of event \(r.seq) is not right before its value in data.mdb")
                            continue
                        }
                        let offset = rng.int(0..<8), mask = UInt8(rng.int(1...255))
                        var bytes = pristine.data
                        bytes[keyStart + offset] ^= mask
                        try writeCopy(bytes, to: trial)
                        expected = r.seq
                        what = "key of event \(r.seq) byte \(offset) ^ \(mask)"
                    case .deleteMiddle:
                        let r = records[rng.int(0..<(n - 1))]
                        try writeCopy(pristine.data, to: trial)
                        try rewriteEvents(trial) { txn, events in _ = try txn.delete(events, r.seq.bigEndianBytes) }
                        expected = r.seq
                        what = "event \(r.seq) deleted"
                    case .deleteTail:
                        let count = t % 3 + 1
                        try writeCopy(pristine.data, to: trial)
                        try rewriteEvents(trial) { txn, events in
                            for r in records.suffix(count) { _ = try txn.delete(events, r.seq.bigEndianBytes) }
                        }
                        expected = records[n - count].seq
                        what = "the last \(count) events deleted"
                    case .swap:
                        var i = rng.int(0..<n), j = rng.int(0..<n)
                        while j == i { j = rng.int(0..<n) }
                        if i > j { swap(&i, &j) }
                        let a = records[i], b = records[j]
                        try writeCopy(pristine.data, to: trial)
                        try rewriteEvents(trial) { txn, events in
                            try txn.put(events, a.seq.bigEndianBytes, b.bytes)
                            try txn.put(events, b.seq.bigEndianBytes, a.bytes)
                        }
                        expected = a.seq
                        what = "events \(a.seq) and \(b.seq) swapped"
                    case .truncate:
                        let page = 4096
                        let size = pristine.data.count
                        let choices = [0, 1, 100, page, 2 * page, 2 * page + 7, size - page, size - 1, size / 2, rng.int(0..<size), (rng.int(2..<max(3, size / page))) * page]
                        let length = max(0, min(size - 1, choices[t % choices.count]))
                        try writeCopy(Array(pristine.data[0..<length]), to: trial)
                        expected = nil
                        what = "data.mdb truncated to \(length) of \(size) bytes"
                    }
                } catch {
                    summary.failures.append("\(kind.rawValue) trial \(t): tampering failed: \(error)")
                    continue
                }
                let full = t % config.fullVerifyEvery == 0
                var outcomes: [Outcome] = []
                if kind == .truncate, let binary = config.binary {
                    outcomes.append(verifyInChild(binary, trial))
                } else {
                    outcomes.append(verifyInProcess(trial, projections: full))
                    if full { outcomes.append(verifyThroughCLI(trial)) }
                }
                trials += 1
                let misses = outcomes.filter { !accepts($0, expected: expected) }
                if misses.isEmpty {
                    detected += 1
                } else {
                    summary.failures.append("\(kind.rawValue): \(what): \(misses.map(\.description).joined(separator: "; "))")
                }
            }
            summary.trials[kind.rawValue] = trials
            summary.detected[kind.rawValue] = detected
            config.log?("tamper \(kind.rawValue): \(detected)/\(trials) detected")
        }
        try? FileManager.default.removeItem(atPath: trial)
        summary.seconds = StressSupport.seconds(since: started)
        return summary
    }
}
