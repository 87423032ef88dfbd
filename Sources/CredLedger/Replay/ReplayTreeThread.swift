import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// The transparency tree's share of a replay, on a second thread: `ProjectionRebuild` decodes every event and applies
/// the other projections while this thread rebuilds the tree (`MerkleTreeProjection`) into a scratch environment of
/// its own. The tree needs only each record's stored chain hash — its last 32 bytes, no decoding — so this thread
/// reads the log by itself, in short read transactions (`ReadBudget`), up to the seq the rebuild asks for.
///
/// The comparison: the rebuild, in its snapshot with head `h`, posts `requestComparison(snapshot:head:)` and digests
/// the other live projections. This thread opens a read transaction; if its snapshot ID is the rebuild's (no commit in
/// between: the same bytes), it replays up to `h` and digests the live tree there. The rebuild then asks
/// `claimsLiveDigest()`: if this thread has not said yes by then, the rebuild digests the live tree itself (neither
/// waits for the other while holding a transaction: a map resize waiting between them would deadlock). Either way this
/// thread then digests the rebuilt tree. A record too short to hold a hash, or a missing seq, stops it (`failure`); the rebuild, which
/// decodes the same records, names that event too or an earlier one.
final class ReplayTreeThread: @unchecked Sendable {
    struct Result {
        /// The rebuilt tree's digest, once the comparison was asked and every event up to its head applied.
        var rebuilt: SHA256Digest?
        /// The live tree's digest in the rebuild's snapshot, when this thread could read that snapshot.
        var live: SHA256Digest?
        /// The first event the tree could not take.
        var failure: ChainFailure?
        /// Events applied to the tree.
        var applied: UInt64 = 0
    }

    private let environment: Environment
    private let schema: Schema
    private let budget: ReadBudget
    private let tree: MerkleTreeProjection
    private let condition = NSCondition()
    // Guarded by `condition`.
    /// Replay up to this seq (the rebuild's progress: pinned head, then catch-up rounds).
    private var target: UInt64 = 0
    /// The comparison asked: the rebuild's snapshot ID and head.
    private var request: (snapshot: Int, head: UInt64)?
    /// The answer: whether this thread reads the same snapshot (nil until answered).
    private var sameSnapshot: Bool?
    /// The rebuild digests the live tree itself (it asked before this thread answered yes).
    private var withdrawn = false
    private var cancelled = false
    /// Events after this seq need not be applied (a break was found there).
    private var limit = UInt64.max
    /// Events applied so far (published at every flush).
    private var reached: UInt64 = 0
    private var done = false
    private var result = Result()
    private var error: Error?

    /// Events applied between flushes (memory stays bounded; the bytes written do not depend on it).
    private static let flushEvery: UInt64 = 1 << 16

    init(environment: Environment, schema: Schema, tree: MerkleTreeProjection, budget: ReadBudget) {
        self.environment = environment
        self.schema = schema
        self.tree = tree
        self.budget = budget
    }

    /// The registered tree projection of `schema`, if any (a replay of a ledger without it keeps one thread).
    static func tree(in schema: Schema) -> MerkleTreeProjection? {
        schema.extensions.lazy.compactMap { $0 as? MerkleTreeProjection }.first
    }

    func start() {
        let thread = Thread { [self] in
            do {
                try run()
            } catch {
                condition.withLock { self.error = error }
            }
            condition.withLock {
                done = true
                condition.broadcast()
            }
        }
        thread.name = "credledger-tree"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Lets the tree replay up to `seq` (it never goes back).
    func advance(through seq: UInt64) {
        condition.withLock {
            target = max(target, seq)
            condition.broadcast()
        }
    }

    /// Asks, once, for the comparison in the caller's read transaction `snapshot` (its `snapshotID`) with head `head`;
    /// does not wait.
    func requestComparison(snapshot: Int, head: UInt64) {
        condition.withLock {
            precondition(request == nil, "the tree's comparison is asked once")
            request = (snapshot, head)
            target = max(target, head)
            condition.broadcast()
        }
    }

    /// Whether this thread digests the live tree in the requested snapshot: true once it found it reads that snapshot;
    /// otherwise false from now on, and the caller digests it before closing its transaction.
    func claimsLiveDigest() -> Bool {
        condition.withLock {
            if sameSnapshot == true { return true }
            withdrawn = true
            return false
        }
    }

    /// Waits until the tree has applied every event up to `seq` (or stopped): the rebuild calls it before its comparison
    /// snapshot, so that the snapshot stays open only for the few events appended since, as its own part.
    func waitUntilApplied(_ seq: UInt64) {
        condition.withLock {
            while !done, !cancelled, reached < seq { condition.wait() }
        }
    }

    func cancel() {
        condition.withLock {
            cancelled = true
            condition.broadcast()
        }
    }

    /// Stops the tree once it is past `seq`.
    func stop(after seq: UInt64) { condition.withLock { limit = min(limit, seq) } }

    /// Waits for the thread to end; its result, or the error it ended with.
    func finish() throws -> Result {
        try condition.withLock {
            while !done { condition.wait() }
            if let error { throw error }
            return result
        }
    }

    private func publish(_ applied: UInt64) {
        condition.withLock {
            reached = applied
            condition.broadcast()
        }
    }

    private var shouldStop: Bool { condition.withLock { cancelled } }
    private func isPastLimit(_ seq: UInt64) -> Bool { condition.withLock { seq > limit } }

    private func run() throws {
        let scratchPath = NSTemporaryDirectory() + "credledger-tree-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: scratchPath) }
        var configuration = Environment.Configuration()
        configuration.flags = [.noSync]
        configuration.mapSize = max(environment.mapSize, 64 << 20)
        configuration.maxDatabases = UInt32(Schema.databaseCount(extensions: [tree]) + 2)
        let scratch = try Environment(path: scratchPath, configuration: configuration)
        defer { scratch.close() }
        let scratchSchema = try Schema(environment: scratch, extensions: [tree])
        var attempts = 0
        try ScratchWrite.run(scratch) { destination in
            // Re-run from the start if the scratch map grows; not after the comparison was answered (the snapshot is gone).
            attempts += 1
            if attempts > 1, condition.withLock({ request != nil }) {
                throw LedgerError("internal", "the transparency tree's scratch map had to grow during the comparison: run the replay again",
                                  kind: .integrity)
            }
            let store = LMDBStore(txn: destination, schema: scratchSchema)
            var tree = self.tree
            tree.discard()
            var outcome = Result()
            var pending: UInt64 = 0
            /// Appends one record's leaf; false (with `outcome.failure`) at a missing seq or a record without a hash.
            func append(_ seq: UInt64, _ record: UnsafeRawBufferPointer) throws -> Bool {
                let expected = outcome.applied + 1
                guard seq == expected else {
                    outcome.failure = ChainFailure(seq: expected, reason: "missing (next stored is \(seq))")
                    return false
                }
                guard record.count >= EventCodec.headerSize + EventCodec.hashSize,
                      let hash = SHA256Digest(bytes: UnsafeRawBufferPointer(rebasing: record[(record.count - EventCodec.hashSize)...]))
                else {
                    outcome.failure = ChainFailure(seq: seq, reason: "record too short (\(record.count) bytes)")
                    return false
                }
                try tree.append(seq: seq, chainHash: hash)
                outcome.applied = seq
                pending += 1
                if pending >= Self.flushEvery {
                    try tree.flush(to: store)
                    pending = 0
                    publish(seq)
                }
                return true
            }
            while true {
                let (goal, asked, stop): (UInt64, (snapshot: Int, head: UInt64)?, Bool) = condition.withLock {
                    while !cancelled, target <= outcome.applied, request == nil { condition.wait() }
                    return (target, request, cancelled)
                }
                if stop { return }
                if let asked {
                    // The comparison: the rebuild waited for this thread to catch up before its snapshot, so what is left
                    // is the few events it applies in that snapshot too.
                    try environment.read { source in
                        let id = try source.snapshotID()
                        let same = condition.withLock {
                            sameSnapshot = !withdrawn && id == asked.snapshot
                            return sameSnapshot ?? false
                        }
                        if outcome.applied < asked.head {
                            try EventLog.scanRaw(from: outcome.applied + 1, schema: schema, in: source) { seq, record in
                                guard seq <= asked.head else { return false }
                                return try append(seq, record)
                            }
                        }
                        try tree.flush(to: store)
                        guard outcome.failure == nil, outcome.applied == asked.head else {
                            if outcome.failure == nil {
                                outcome.failure = ChainFailure(seq: outcome.applied + 1, reason: "missing (the log ends at event \(outcome.applied))")
                            }
                            return
                        }
                        if same { outcome.live = try ProjectionDigest.compute(tree, in: LMDBStore(txn: source, schema: schema)) }
                    }
                    if outcome.failure == nil { outcome.rebuilt = try ProjectionDigest.compute(tree, in: store) }
                    break
                }
                try EventLog.scanRaw(from: outcome.applied + 1, through: goal, schema: schema, environment: environment, budget: budget) { seq, record in
                    if seq & 0xFFF == 0, shouldStop || isPastLimit(seq) { return false }
                    return try append(seq, record)
                }
                try tree.flush(to: store)
                pending = 0
                publish(outcome.applied)
                if outcome.failure != nil || shouldStop { break }
                if outcome.applied < goal {
                    // Stopped at the limit (a break was found before it), or the log ends early.
                    if !isPastLimit(outcome.applied + 1) {
                        outcome.failure = ChainFailure(seq: outcome.applied + 1, reason: "missing (the log ends at event \(outcome.applied))")
                    }
                    break
                }
            }
            condition.withLock { result = outcome }
        }
    }
}
