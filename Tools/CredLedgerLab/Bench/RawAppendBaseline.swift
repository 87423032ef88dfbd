import CredLedgerCore
import Foundation
import LMDB

/// The same-run baseline: appends of opaque values as large as a `credential_used` record, through
/// our `LMDB` module with `MDB_APPEND` and 8-byte big-endian keys, `batch` values per commit — one
/// environment with default flags (fsync on commit, like the ledger) and one with `MDB_NOSYNC`.
final class RawAppendBaseline {
    struct Result {
        var batch: Int
        var durable: Bool
        var events: Int
        var commits: Int
        var seconds: Double
        var bytesWritten: UInt64 = 0
        var pagesPerCommit: Double { commits > 0 ? Double(bytesWritten) / 4096 / Double(commits) : 0 }
        var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }
        var commitMillis: Double { commits > 0 ? seconds * 1000 / Double(commits) : 0 }

        var json: [String: Any] {
            ["batch": batch, "durable": durable, "events": events, "commits": commits,
             "events_per_s": BenchFormat.round(eventsPerSecond, 0), "commit_ms": BenchFormat.round(commitMillis, 4),
             "pages_written_per_commit": BenchFormat.round(pagesPerCommit, 1)]
        }
    }

    /// Bytes of one stored `credential_used` record (header + payload + hash).
    static let valueSize: Int = {
        var w = ByteWriter(capacity: 64)
        let use = CredentialUse(credential: 1, project: 1, operation: .read, denial: nil)
        EventCodec.encodeBody(Event(seq: 1, timestamp: 0, company: 1, actor: .credential(1), payload: .credentialUsed(use)), into: &w)
        return w.count + EventCodec.hashSize
    }()

    private let durableEnvironment: Environment
    private let noSyncEnvironment: Environment
    private let durableDatabase: Database
    private let noSyncDatabase: Database
    private var durableNext: UInt64 = 1
    private var noSyncNext: UInt64 = 1
    private var value: [UInt8]

    init(directory: String) throws {
        func open(_ name: String, _ flags: EnvironmentFlags) throws -> (Environment, Database) {
            var configuration = Environment.Configuration()
            configuration.mapSize = 8 << 30
            configuration.maxMapSize = 256 << 30
            configuration.maxDatabases = 4
            configuration.flags = flags
            let environment = try Environment(path: directory + "/" + name, configuration: configuration)
            let database = try environment.openDatabases(["events"])[0]
            return (environment, database)
        }
        (durableEnvironment, durableDatabase) = try open("durable", [])
        (noSyncEnvironment, noSyncDatabase) = try open("nosync", [.noSync])
        var random = BenchRandom(seed: 0xBA5E)
        value = (0..<RawAppendBaseline.valueSize).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    func close() {
        durableEnvironment.close()
        noSyncEnvironment.close()
    }

    /// Commits batches of `batch` appends for about `seconds` (at least `minCommits` commits, at most `maxEvents` values).
    func measure(batch: Int, durable: Bool, seconds: Double, minCommits: Int = 3, maxEvents: Int = .max) throws -> Result {
        let environment = durable ? durableEnvironment : noSyncEnvironment
        let database = durable ? durableDatabase : noSyncDatabase
        var next = durable ? durableNext : noSyncNext
        var events = 0, commits = 0
        let written = ProcessIO.bytesWritten()
        let start = BenchClock.nanos()
        let deadline = start + UInt64(seconds * 1e9)
        repeat {
            let first = next
            try value.withUnsafeMutableBytes { raw in
                try environment.write { txn in
                    var seq = first
                    for _ in 0..<batch {
                        var key = seq.bigEndian
                        // Vary the bytes like real records do (the hash part differs per event).
                        raw.storeBytes(of: seq, toByteOffset: raw.count - 8, as: UInt64.self)
                        try withUnsafeBytes(of: &key) { k in
                            try txn.put(database, k, UnsafeRawBufferPointer(raw), flags: .append)
                        }
                        seq += 1
                    }
                }
            }
            next += UInt64(batch)
            events += batch
            commits += 1
        } while (BenchClock.nanos() < deadline || commits < minCommits) && events + batch <= maxEvents
        let elapsed = BenchClock.seconds(since: start)
        if durable { durableNext = next } else { noSyncNext = next }
        return Result(batch: batch, durable: durable, events: events, commits: commits, seconds: elapsed,
                      bytesWritten: ProcessIO.bytesWritten() &- written)
    }
}
