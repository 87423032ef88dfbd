import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// One projection compared with a rebuild from the log.
public struct ProjectionStatus: Sendable, Equatable {
    public var name: String
    public var lastSeq: UInt64
    public var live: SHA256Digest
    public var rebuilt: SHA256Digest
    public var matches: Bool { live == rebuilt }
}

/// What `verify` found.
public struct VerificationReport: Sendable {
    public var events: UInt64
    public var head: ChainHead
    public var chainFailure: ChainFailure?
    /// Checkpoints that disagree with the log head (a cut tail is also the chain failure at its first missing event).
    public var checkpoints: ProjectionDisagreement?
    public var projections: [ProjectionStatus]
    public var seconds: Double
    public var ok: Bool { chainFailure == nil && checkpoints == nil && projections.allSatisfy(\.matches) }
}

extension Ledger {
    /// Verifies sequence, hash chain and time order of the whole log (links checked on every core), then
    /// rebuilds every projection into a scratch environment and compares digests with the live projections.
    public func verify(projections checkProjections: Bool = true) throws -> VerificationReport {
        let replayed = try replay(from: 1, projections: checkProjections)
        let report = VerificationReport(events: replayed.lastGood.seq, head: replayed.lastGood, chainFailure: replayed.chainFailure,
                                        checkpoints: replayed.checkpoints, projections: replayed.projections, seconds: replayed.seconds)
        // No comparison with this process's writer head: other processes may append at any time, and the
        // snapshot the replay read is self-consistent on its own.
        return report
    }

    /// Rebuilds every projection from the log in one write transaction (readers keep their snapshot),
    /// and records each projection's digest in its checkpoint. This accepts the log as it is: checkpoints that
    /// disagreed with its head (a cut or forged tail, which makes every write refuse) are reported in the result,
    /// and the acceptance is appended to the log in the same transaction (`log_accepted`), so the chain itself keeps
    /// the trace of what was accepted.
    @discardableResult
    public func rebuildProjections() throws -> RebuildResult {
        let writer = try requireWriter()
        let box = ResultBox<RebuildResult>()
        let schema = self.schema
        try writer.maintain { store, projector in
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
            box.value = RebuildResult(events: head.seq, digests: digests, accepted: before.disagreement)
            guard let accepted = before.disagreement else { return [] }
            return [.logAccepted(LogAccepted(logHead: head.seq, checkpoints: accepted.checkpoints))]
        }
        guard let value = box.value else { throw LedgerError("internal", "rebuild produced no result", kind: .integrity) }
        return value
    }
}

/// What `rebuildProjections` did.
public struct RebuildResult: Sendable {
    /// Events replayed (the log head).
    public var events: UInt64
    /// Each projection's digest after the rebuild.
    public var digests: [String: SHA256Digest]
    /// The checkpoints' disagreement with the log that the rebuild accepted, if there was one; it is then recorded
    /// as the `log_accepted` event at seq `events + 1`.
    public var accepted: ProjectionDisagreement?
}
