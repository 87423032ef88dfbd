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
struct RebuildProjections: MaintenanceCommand {
    let schema: Schema

    func maintain(_ store: LMDBStore, _ projector: inout Projector) throws -> (result: RebuildResult, events: [EventPayload]) {
        let before = try CheckpointStatus.read(schema: schema, txn: store.txn)
        try Replayer.emptyProjections(txn: store.txn, schema: schema)
        projector.discard()
        var fresh = schema.makeProjector()
        let head: ChainHead
        switch try Replayer.project(schema: schema, source: store.txn, into: store, projector: &fresh) {
        case .success(let h): head = h
        case .failure(let f):
            throw LedgerError("chain_broken", "cannot rebuild: \(f.description)", kind: .integrity)
        }
        var digests: [String: SHA256Digest] = [:]
        for (p, key) in schema.checkpointKeys {
            let digest = try ProjectionDigest.compute(p, in: store)
            digests[p.name] = digest
            let checkpoint = Meta.Checkpoint(codeVersion: p.codeVersion, lastSeq: head.seq, digestSeq: head.seq, digest: digest)
            try store.txn.put(schema.meta, key, checkpoint.bytes)
        }
        let result = RebuildResult(events: head.seq, digests: digests, accepted: before.disagreement)
        guard let accepted = before.disagreement else { return (result, []) }
        return (result, [.logAccepted(LogAccepted(logHead: head.seq, checkpoints: accepted.checkpoints))])
    }
}
