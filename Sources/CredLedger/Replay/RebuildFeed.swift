import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// The reading half of a live rebuild (`RebuildProjections`), on a thread of its own: it reads the committed log in
/// its own read transaction, checks every link (`Replayer.stream`: sequence, chain, decoding, time order), and computes
/// the transparency tree's nodes and digest from the chain hashes (`MerkleTreeStreamDigest`), handing the writer
/// batches of decoded events and finished tree rows. The writer, in its write transaction, only applies the events
/// and puts the rows. A rebuild does not change the log, and the writer holds the only write transaction while this
/// thread reads, so this snapshot holds exactly the events the write transaction sees.
///
/// The writer must `finish()` the feed before its transaction ends, whatever happens: the read transaction is then
/// over (a map growth, which the write's re-run after `MDB_MAP_FULL` needs, waits for every transaction to end).
final class RebuildFeed: @unchecked Sendable {
    /// Consecutive events, each with its record's hash, and the tree nodes they complete.
    struct Batch {
        var events: [Event] = []
        var hashes: [SHA256Digest] = []
        /// `merkle_nodes` rows in ascending key order, 40 bytes each: key u64 big-endian ‖ hash.
        var nodes: [UInt8] = []
    }

    /// What the feed ends with.
    struct Outcome {
        /// The last good event, or the first bad one.
        var chain: Result<ChainHead, ChainFailure>
        /// The rebuilt tree's digest and its `merkle_tail` row (nil while empty); nil without a tree projection.
        var tree: (digest: SHA256Digest, tailValue: [UInt8]?)?
    }

    /// Bytes of one `merkle_nodes` row in `Batch.nodes`.
    static let nodeRowSize = 40

    private let environment: Environment
    private let schema: Schema
    private let batchEvents: Int
    /// Reading thread → tree thread (nil without a tree: the reading thread feeds the writer directly).
    private let toTree: BatchQueue?
    /// → the writer.
    private let toWriter = BatchQueue()
    private let lock = NSLock()
    private let ended = DispatchGroup()
    // Guarded by `lock`.
    private var chain: Result<ChainHead, ChainFailure>?
    private var tree: (digest: SHA256Digest, tailValue: [UInt8]?)?
    private var error: Error?
    /// Batches the writer is done with, emptied with their storage kept: the reading thread fills them again. (Freeing
    /// each batch on the writer's thread and allocating the next on the reader's made the allocator trim and grow its
    /// heaps: a third more page faults than the one-thread rebuild.)
    private var spares: [Batch] = []

    /// A feed of `batchEvents` events per batch; `withTree`: a second thread makes the transparency tree's rows and
    /// digest (the tree's hashing is about a third of the reading side's work: on its own thread the two cores share
    /// three stages instead of two).
    init(environment: Environment, schema: Schema, batchEvents: Int, withTree: Bool) {
        self.environment = environment
        self.schema = schema
        self.batchEvents = max(1, batchEvents)
        toTree = withTree ? BatchQueue() : nil
    }

    func start() {
        spawn("credledger-rebuild-read") { [self] in try read() }
        if let toTree { spawn("credledger-rebuild-tree") { [self] in try makeTree(from: toTree) } }
    }

    private func spawn(_ name: String, _ body: @escaping @Sendable () throws -> Void) {
        ended.enter()
        let thread = Thread { [self] in
            do {
                try body()
            } catch {
                lock.withLock { if self.error == nil { self.error = error } }
                // A stage that failed stops the others: the writer sees the end of the feed, then the error.
                toTree?.cancel()
                toWriter.cancel()
            }
            ended.leave()
        }
        thread.name = name
        thread.stackSize = 4 << 20
        thread.start()
    }

    /// The next batch in log order, or nil once the log is read (then `finish()` gives the outcome).
    func next() -> Batch? { toWriter.take() }

    /// Gives back a batch the writer has applied, for the reading thread to fill again.
    func recycle(_ batch: consuming Batch) {
        var batch = batch
        batch.events.removeAll(keepingCapacity: true)
        batch.hashes.removeAll(keepingCapacity: true)
        batch.nodes.removeAll(keepingCapacity: true)
        lock.withLock { if spares.count < 32 { spares.append(batch) } }
    }

    /// An empty batch: a recycled one if there is one.
    private func emptyBatch() -> Batch {
        if let spare = lock.withLock({ spares.popLast() }) { return spare }
        var batch = Batch()
        batch.events.reserveCapacity(batchEvents)
        batch.hashes.reserveCapacity(batchEvents)
        return batch
    }

    /// Stops the feed (unless it is over) and waits for its threads to end; the outcome, or the error it ended with.
    @discardableResult
    func finish() throws -> Outcome {
        toTree?.cancel()
        toWriter.cancel()
        ended.wait()
        return try lock.withLock {
            if let error { throw error }
            guard let chain, toTree == nil || tree != nil else {
                throw LedgerError("internal", "the rebuild's reading threads were stopped before the end of the log", kind: .integrity)
            }
            return Outcome(chain: chain, tree: tree)
        }
    }

    /// Thrown through `Replayer.stream` to stop reading when the writer gave up.
    private struct Stopped: Error {}

    /// The reading thread: one read transaction over the whole log.
    private func read() throws {
        let out = toTree ?? toWriter
        defer { out.close() }
        var batch = emptyBatch()
        func ship() -> Bool {
            let full = batch
            batch = emptyBatch()
            return out.put(full)
        }
        let chain: Result<ChainHead, ChainFailure>
        do {
            chain = try environment.read { txn in
                try Replayer.stream(schema: schema, txn: txn) { event, hash in
                    batch.events.append(event)
                    batch.hashes.append(hash)
                    if batch.events.count >= batchEvents, !ship() { throw Stopped() }
                }
            }
        } catch is Stopped {
            return
        }
        // The events before a bad one are handed over too: the writer applies them first, as a one-thread rebuild does.
        if !batch.events.isEmpty, !ship() { return }
        lock.withLock { self.chain = chain }
    }

    /// The tree thread: completes each batch's `merkle_nodes` rows and hashes them into the tree's digest.
    private func makeTree(from input: BatchQueue) throws {
        defer { toWriter.close() }
        var digest = MerkleTreeStreamDigest()
        while var batch = input.take() {
            batch.nodes.reserveCapacity((batch.hashes.count >> (MerkleTreeProjection.lowestStoredLevel - 1) + 2) * Self.nodeRowSize)
            try digest.append(chainHashes: batch.hashes) { key, hash in
                withUnsafeBytes(of: key.bigEndian) { batch.nodes.append(contentsOf: $0) }
                hash.withUnsafeBytes { batch.nodes.append(contentsOf: $0) }
            }
            guard toWriter.put(batch) else { return }
        }
        guard !input.isCancelled else { return }
        lock.withLock { tree = (digest.digest, digest.tailValue) }
    }
}

/// A bounded hand-off of batches between two threads: `put` waits while it is full, `take` while it is empty; `close`
/// ends it after what it holds, `cancel` at once (both sides then stop).
final class BatchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var items: [RebuildFeed.Batch] = []
    private var head = 0
    private var closed = false
    private var cancelled = false
    /// Batches waiting at most (bounds the memory of decoded events).
    private let capacity = 8

    /// Queues `batch`; false if the queue was cancelled (the batch is dropped).
    func put(_ batch: RebuildFeed.Batch) -> Bool {
        condition.withLock {
            while items.count - head >= capacity, !cancelled { condition.wait() }
            guard !cancelled else { return false }
            if head > capacity {
                items.removeFirst(head)
                head = 0
            }
            items.append(batch)
            condition.broadcast()
            return true
        }
    }

    /// The oldest batch; nil once the queue is closed and empty, or cancelled.
    func take() -> RebuildFeed.Batch? {
        condition.withLock {
            while head == items.count, !closed, !cancelled { condition.wait() }
            guard !cancelled, head < items.count else { return nil }
            let batch = items[head]
            items[head] = RebuildFeed.Batch()
            head += 1
            condition.broadcast()
            return batch
        }
    }

    func close() { condition.withLock { closed = true; condition.broadcast() } }

    func cancel() {
        condition.withLock {
            cancelled = true
            items.removeAll()
            head = 0
            condition.broadcast()
        }
    }

    var isCancelled: Bool { condition.withLock { cancelled } }
}
