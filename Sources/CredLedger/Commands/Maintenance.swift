import CredLedgerCore
import CredLedgerProjections
import LMDB

/// Operator work on the raw projections, run by the writer in a batch of its own: unlike a `LedgerCommand` it writes
/// tables directly (a rebuild rewrites them whole) and skips the checkpoint check it may be repairing. The events it
/// returns (no company, actor system) are appended after it in the same transaction.
protocol MaintenanceCommand: Sendable {
    associatedtype Result: Sendable
    func maintain(_ store: LMDBStore, _ projector: inout Projector) throws -> (result: Result, events: [EventPayload])
}

/// What the writer's queue holds for maintenance: runs it and returns the events to append.
protocol MaintenanceRun: AnyObject, Sendable {
    func run(_ store: LMDBStore, _ projector: inout Projector) throws -> [EventPayload]
}

/// A queued maintenance command, type-erased; keeps its typed result for the caller.
final class QueuedMaintenance<M: MaintenanceCommand>: MaintenanceRun, @unchecked Sendable {
    let command: M
    /// Set on the writer thread; read by the caller once the request is acknowledged without error.
    private(set) var result: M.Result?

    init(_ command: M) { self.command = command }

    func run(_ store: LMDBStore, _ projector: inout Projector) throws -> [EventPayload] {
        let (result, events) = try command.maintain(store, &projector)
        self.result = result
        return events
    }

    func value() throws -> M.Result {
        guard let result else { throw LedgerError("internal", "maintenance finished without a result", kind: .integrity) }
        return result
    }
}

/// Rebuilds every projection from the log and accepts the log as it is (see `Ledger.Maintenance.rebuildProjections`).
///
/// Pipelined (the default): a `RebuildFeed` thread reads the committed log, checks the chain, decodes the events and
/// makes the transparency tree's nodes and digest, while the writer applies the events to the other projections and
/// appends the tree's rows (`MDB_APPEND`: the emptied table receives them in key order). The one-thread path
/// (`pipelined: false`) is the reference the tests compare it with: both write the same bytes and digests.
struct RebuildProjections: MaintenanceCommand {
    let schema: Schema
    let environment: Environment
    var pipelined = true
    /// Events per batch handed from the reading thread to the writer (tests use small ones to put boundaries anywhere).
    var batchEvents = 4096
    /// Events between two flushes of the projector's counters and postings (bounds memory; the bytes do not depend on it).
    var flushEvery = 200_000

    func maintain(_ store: LMDBStore, _ projector: inout Projector) throws -> (result: RebuildResult, events: [EventPayload]) {
        let tree = pipelined ? ReplayTreeThread.tree(in: schema) : nil
        let feed = pipelined ? RebuildFeed(environment: environment, schema: schema, batchEvents: batchEvents, withTree: tree != nil) : nil
        // Reading starts at once: the log is what the write transaction sees, and emptying the tables does not touch it.
        feed?.start()
        // The reading thread's transaction ends before this one does, whatever happens (a map growth waits for it).
        defer { _ = try? feed?.finish() }
        let before = try CheckpointStatus.read(schema: schema, txn: store.txn)
        try Replayer.emptyProjections(txn: store.txn, schema: schema)
        projector.discard()
        let head: ChainHead
        var streamed: [String: SHA256Digest] = [:]
        let outcome: Swift.Result<ChainHead, ChainFailure>
        if let feed {
            var fresh = Projector(extensions: schema.extensions.filter { !($0 is MerkleTreeProjection) })
            (outcome, streamed) = try apply(feed, tree: tree, into: store, projector: &fresh)
        } else {
            var fresh = schema.makeProjector()
            outcome = try Replayer.project(schema: schema, source: store.txn, into: store, projector: &fresh, flushEvery: flushEvery)
        }
        switch outcome {
        case .success(let h): head = h
        case .failure(let f):
            throw LedgerError("chain_broken", "cannot rebuild: \(f.description)", kind: .integrity)
        }
        var digests: [String: SHA256Digest] = [:]
        for (p, key) in schema.checkpointKeys {
            let digest = try streamed[p.name] ?? ProjectionDigest.compute(p, in: store)
            digests[p.name] = digest
            let checkpoint = Meta.Checkpoint(codeVersion: p.codeVersion, lastSeq: head.seq, digestSeq: head.seq, digest: digest)
            try store.txn.put(schema.meta, key, checkpoint.bytes)
        }
        let result = RebuildResult(events: head.seq, digests: digests, accepted: before.disagreement)
        guard let accepted = before.disagreement else { return (result, []) }
        return (result, [.logAccepted(LogAccepted(logHead: head.seq, checkpoints: accepted.checkpoints))])
    }

    /// The writer's share of a pipelined rebuild: applies the feed's events (every projection but the tree) and appends
    /// the tree's rows, then its tail row; returns the chain's outcome and the tree's digest, streamed by the feed.
    private func apply(_ feed: RebuildFeed, tree: MerkleTreeProjection?, into store: LMDBStore,
                       projector: inout Projector) throws -> (Swift.Result<ChainHead, ChainFailure>, [String: SHA256Digest]) {
        var pending = 0
        while let batch = feed.next() {
            for (event, hash) in zip(batch.events, batch.hashes) {
                try projector.apply(event, hash: hash, to: store)
                pending += 1
                if pending >= flushEvery {
                    try projector.flush(to: store)
                    pending = 0
                }
            }
            if !batch.nodes.isEmpty {
                try store.withCursor(named: MerkleTreeProjection.nodesTable) { cursor in
                    try batch.nodes.withUnsafeBytes { rows in
                        var offset = 0
                        while offset < rows.count {
                            try cursor.append(UnsafeRawBufferPointer(rebasing: rows[offset..<(offset + 8)]),
                                              UnsafeRawBufferPointer(rebasing: rows[(offset + 8)..<(offset + RebuildFeed.nodeRowSize)]))
                            offset += RebuildFeed.nodeRowSize
                        }
                    }
                }
            }
            feed.recycle(batch)
        }
        try projector.flush(to: store)
        let outcome = try feed.finish()
        var streamed: [String: SHA256Digest] = [:]
        if let tree, let rebuilt = outcome.tree {
            // The row `MerkleTreeProjection.flush` leaves (none while the log is empty).
            if let tailValue = rebuilt.tailValue {
                try store.put(named: MerkleTreeProjection.tailTable, MerkleTreeProjection.tailKey, tailValue)
            }
            streamed[tree.name] = rebuilt.digest
        }
        return (outcome.chain, streamed)
    }
}
