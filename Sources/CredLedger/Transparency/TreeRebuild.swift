import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// A rebuild of the transparency tree alone, from the stored chain hashes, into a scratch environment.
public struct TreeRebuild: Sendable {
    public var events: UInt64
    /// Reading the hashes, hashing and writing the rows (not the digests, not the no-sync commit).
    public var seconds: Double
    /// Digest (docs/FORMAT.md §6.8) of the rebuilt tables and of the live ones: equal when byte-identical.
    public var rebuilt: SHA256Digest
    public var live: SHA256Digest
    public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }
}

extension Ledger.Transparency {
    /// Rebuilds the transparency tree from the log into a scratch environment at `directory` (created, then removed),
    /// reading only each record's stored hash (no decoding: the chain is `verify`'s job), and compares its digest with
    /// the live tree's. The lab's measure of the tree's rebuild speed, and a check that live == rebuild.
    package func rebuildTreeInScratch(directory: String) throws -> TreeRebuild {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tree = MerkleTreeProjection()
        let (head, live) = try environment.read { txn in
            (try EventLog.lastSeq(schema: schema, in: txn), try ProjectionDigest.compute(tree as any ProjectionDescription, in: LMDBStore(txn: txn, schema: schema)))
        }
        var configuration = Environment.Configuration()
        configuration.flags = [.noSync]
        configuration.mapSize = max(environment.mapSize, 64 << 20)
        configuration.maxDatabases = UInt32(Schema.databaseCount(extensions: [tree]) + 2)
        let scratch = try Environment(path: directory, configuration: configuration)
        defer { scratch.close() }
        let scratchSchema = try Schema(environment: scratch, extensions: [tree])
        let started = DispatchTime.now().uptimeNanoseconds
        var events: UInt64 = 0
        var rebuilt = SHA256Digest.zero
        var built = started
        try scratch.write { destination in
            let store = LMDBStore(txn: destination, schema: scratchSchema)
            var projection = MerkleTreeProjection()
            events = 0
            try EventLog.scanRaw(from: 1, through: head, schema: schema, environment: environment) { seq, record in
                guard record.count >= EventCodec.headerSize + 32, let hash = SHA256Digest(bytes: UnsafeRawBufferPointer(rebasing: record[(record.count - 32)...])) else {
                    throw LedgerError("corrupt_log", "event \(seq) is too short", kind: .integrity)
                }
                try projection.append(seq: seq, chainHash: hash)
                events += 1
                if events % 200_000 == 0 { try projection.flush(to: store) }
                return true
            }
            try projection.flush(to: store)
            built = DispatchTime.now().uptimeNanoseconds
            rebuilt = try ProjectionDigest.compute(tree as any ProjectionDescription, in: store)
        }
        // The rebuild itself (reading the log, hashing, writing the rows), without the digest comparison or the commit.
        let seconds = Double(built - started) / 1e9
        return TreeRebuild(events: events, seconds: seconds, rebuilt: rebuilt, live: live)
    }
}
