import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// The transparency tree's share of a replay, on a second thread: `ProjectionRebuild` decodes every event and applies
/// the other projections while this thread rebuilds the tree (`MerkleTreeProjection`). The tree needs only each
/// record's stored chain hash — its last 32 bytes, no decoding — so this thread reads the log by itself, in short read
/// transactions (`ReadBudget`), up to the seq the rebuild asks for. The rebuilt tree is not stored anywhere: its
/// nodes come out in key order, so `MerkleTreeStreamDigest` hashes them as they are made into the digest a scratch
/// copy of its tables would give (the one-thread replay, which writes them, is the reference in the tests).
///
/// The comparison: the rebuild, in its snapshot with head `h`, posts `requestDigest(at: h)` and digests every live
/// projection there, the tree's included; this thread meanwhile applies the events up to `h` (they never change) and
/// digests the rebuilt tree. (Neither thread ever waits for the other while holding a transaction.)
/// A record too short to hold a hash, or a missing seq, stops it (`failure`); the rebuild, which decodes the same
/// records, names that event too or an earlier one.
final class ReplayTreeThread: @unchecked Sendable {
    struct Result {
        /// The rebuilt tree's digest, once the comparison was asked and every event up to its head applied.
        var rebuilt: SHA256Digest?
        /// The first event the tree could not take.
        var failure: ChainFailure?
        /// Events applied to the tree.
        var applied: UInt64 = 0
    }

    private let environment: Environment
    private let schema: Schema
    private let budget: ReadBudget
    /// Called between this thread's read transactions, with none open (the rebuild's test hook).
    private let between: (() -> Void)?
    private let condition = NSCondition()
    // Guarded by `condition`.
    /// Replay up to this seq (the rebuild's progress: pinned head, then catch-up rounds).
    private var target: UInt64 = 0
    /// The comparison's head: apply up to it, then digest.
    private var request: UInt64?
    private var cancelled = false
    /// Events after this seq need not be applied (a break was found there).
    private var limit = UInt64.max
    private var done = false
    private var result = Result()
    private var error: Error?

    /// Chain hashes handed to the tree at a time (small enough for its batch to stay in cache; the digest does not
    /// depend on it).
    fileprivate static let batch = 1 << 12

    init(environment: Environment, schema: Schema, budget: ReadBudget, between: (() -> Void)? = nil) {
        self.environment = environment
        self.schema = schema
        self.budget = budget
        self.between = between
    }

    /// The registered tree projection of `schema`, if any (a replay of a ledger without it keeps one thread).
    static func tree(in schema: Schema) -> MerkleTreeProjection? {
        schema.extensions.lazy.compactMap { $0 as? MerkleTreeProjection }.first
    }

    func start() {
        let thread = Thread { [self] in
            HelperPriority.lowerCallingThread(by: HelperPriority.tree)
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

    /// Asks, once, for the rebuilt tree's digest at head `head` (the rebuild's comparison snapshot); does not wait.
    func requestDigest(at head: UInt64) {
        condition.withLock {
            precondition(request == nil, "the tree's comparison is asked once")
            request = head
            target = max(target, head)
            condition.broadcast()
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
    func wait() throws -> Result {
        try condition.withLock {
            while !done { condition.wait() }
            if let error { throw error }
            return result
        }
    }

    private var shouldStop: Bool { condition.withLock { cancelled } }
    private func isPastLimit(_ seq: UInt64) -> Bool { condition.withLock { seq > limit } }

    private func run() throws {
        // The rebuilt tree is never stored: its digest is hashed as its nodes are made (`MerkleTreeStreamDigest`).
        var feed = TreeFeed()
        while true {
            let (goal, asked, stop): (UInt64, UInt64?, Bool) = condition.withLock {
                while !cancelled, target <= feed.outcome.applied, request == nil { condition.wait() }
                return (target, request, cancelled)
            }
            if stop { return }
            if let asked, feed.outcome.applied >= asked {
                // The comparison: every event up to the rebuild's snapshot head applied.
                guard feed.outcome.applied == asked else {
                    throw LedgerError("internal", "the transparency tree went past the comparison's head", kind: .integrity)
                }
                try feed.drain()
                feed.outcome.rebuilt = feed.tree.digest
                break
            }
            try EventLog.scanRaw(from: feed.outcome.applied + 1, through: goal, schema: schema, environment: environment, budget: budget,
                                 between: between) { seq, record in
                if seq & 0xFFF == 0, shouldStop || isPastLimit(seq) { return false }
                return try feed.append(seq, record)
            }
            if feed.outcome.failure != nil || shouldStop { break }
            if feed.outcome.applied < goal {
                // Stopped at the limit (a break was found before it), or the log ends early.
                if !isPastLimit(feed.outcome.applied + 1) {
                    feed.outcome.failure = ChainFailure(seq: feed.outcome.applied + 1, reason: "missing (the log ends at event \(feed.outcome.applied))")
                }
                break
            }
        }
        condition.withLock { result = feed.outcome }
    }
}

/// The tree thread's state, a value passed inout (captured by nested functions it was boxed and each record paid
/// dynamic exclusivity checks).
private struct TreeFeed {
    var tree = MerkleTreeStreamDigest()
    var outcome = ReplayTreeThread.Result()
    /// Chain hashes not yet handed to the tree.
    var pending: [SHA256Digest]

    init() {
        pending = []
        pending.reserveCapacity(ReplayTreeThread.batch)
    }

    /// Hands the pending hashes to the tree.
    mutating func drain() throws {
        try tree.append(chainHashes: pending)
        pending.removeAll(keepingCapacity: true)
    }

    /// Takes one record's chain hash; false (with `outcome.failure`) at a missing seq or a record without a hash.
    mutating func append(_ seq: UInt64, _ record: UnsafeRawBufferPointer) throws -> Bool {
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
        pending.append(hash)
        outcome.applied = seq
        if pending.count >= ReplayTreeThread.batch { try drain() }
        return true
    }
}
