import CredLedgerCore
import CredLedgerProjections
import LMDB

/// Projection checkpoints that disagree with the log head.
///
/// The writer moves every checkpoint to the new head in the transaction that appends the events, so neither a crash
/// nor another process can make them disagree: only a change of the file by other means can. Checkpoints ahead of the
/// head mean events were removed from the end of the log (a shorter chain still links perfectly); checkpoints behind
/// it mean events were appended without the ledger's writer (a forged but correctly chained tail).
public struct ProjectionDisagreement: Sendable, Equatable, CustomStringConvertible {
    /// The log's last seq.
    public var logHead: UInt64
    /// The checkpoints' last applied seq (the highest when some are ahead of the head, else the lowest).
    public var checkpoints: UInt64
    /// Each projection's checkpoint where they differ among themselves (name, last seq); empty when they agree.
    public var perProjection: [String: UInt64]

    /// True when events are missing at the end of the log; false when the log has events the projections lack.
    public var tailMissing: Bool { checkpoints > logHead }
    /// The first event that is missing (tail removed) or not in the projections (appended behind their back).
    public var firstSeq: UInt64 { min(logHead, checkpoints) + 1 }
    /// The last such event.
    public var lastSeq: UInt64 { max(logHead, checkpoints) }

    /// E.g. "events 1282…1283 missing at the tail: checkpoints at 1283, log head at 1281".
    public var description: String {
        let range = firstSeq == lastSeq ? "event \(firstSeq)" : "events \(firstSeq)…\(lastSeq)"
        let what = tailMissing ? "missing at the tail" : (firstSeq == lastSeq ? "is not in the projections" : "are not in the projections")
        var text = "\(range) \(what): checkpoints at \(checkpoints), log head at \(logHead)"
        if !perProjection.isEmpty {
            text += " (" + perProjection.sorted { $0.key < $1.key }.map { "\($0.key) at \($0.value)" }.joined(separator: ", ") + ")"
        }
        return text
    }

    /// The refusal of a write while the checkpoints disagree (`projections_disagree`, exit 3).
    var refusal: LedgerError {
        LedgerError("projections_disagree", "the projections' checkpoints disagree with the log: \(description). Nothing was written; "
            + "run `credledger verify`, and only if the log is to be accepted as it is, `credledger rebuild`", kind: .integrity)
    }
}

/// How the projections' checkpoints stand against the log head, read in one transaction (another process may
/// append between two transactions, never inside one).
struct CheckpointStatus {
    /// Set when a checkpoint's last seq differs from the head (or the log has events and no checkpoint at all).
    var disagreement: ProjectionDisagreement?
    /// A stored checkpoint was written by another code version of its projection.
    var otherCodeVersion = false
    /// A projection has no (readable) checkpoint although the log has events (a projection this build added).
    var missing = false

    /// Reads every checkpoint and the head in `txn`.
    static func read(schema: Schema, txn: borrowing Transaction) throws -> CheckpointStatus {
        let head = try EventLog.head(schema: schema, in: txn).seq
        var status = CheckpointStatus()
        var seqs: [String: UInt64] = [:]
        for (p, key) in schema.checkpointKeys {
            guard let raw = try txn.get(schema.meta, key), let checkpoint = Meta.Checkpoint(raw) else {
                if head > 0 { status.missing = true }
                continue
            }
            if checkpoint.codeVersion != p.codeVersion { status.otherCodeVersion = true }
            seqs[p.name] = checkpoint.lastSeq
        }
        if seqs.isEmpty {
            // A new ledger has neither events nor checkpoints; events without any checkpoint were not written by us.
            if head > 0 { status.disagreement = ProjectionDisagreement(logHead: head, checkpoints: 0, perProjection: [:]) }
            return status
        }
        guard let highest = seqs.values.max(), let lowest = seqs.values.min(), highest != head || lowest != head else { return status }
        status.disagreement = ProjectionDisagreement(logHead: head, checkpoints: highest > head ? highest : lowest,
                                                     perProjection: highest == lowest ? [:] : seqs)
        return status
    }

    /// The writer's check at the start of each batch: every checkpoint at `head`, read in place (no copies).
    /// Throws `projections_disagree` otherwise; a missing checkpoint is left to the write (it creates it).
    static func requireAgreement(head: UInt64, keys: [(projection: any ProjectionDescription, key: [UInt8])], schema: Schema, txn: borrowing Transaction) throws {
        var agree = true
        var any = false
        for (_, key) in keys {
            let lastSeq: UInt64? = try key.withUnsafeBytes { k in
                guard let stored = try txn.get(schema.meta, k), stored.count == Meta.Checkpoint.size else { return nil }
                return UInt64(bigEndian: stored.loadUnaligned(fromByteOffset: Meta.Checkpoint.lastSeqOffset, as: UInt64.self))
            }
            guard let lastSeq else { continue }
            any = true
            if lastSeq != head { agree = false }
        }
        if agree && (any || head == 0) { return }
        // The slow path only when refusing: the full reading names what disagrees.
        let status = try read(schema: schema, txn: txn)
        throw (status.disagreement ?? ProjectionDisagreement(logHead: head, checkpoints: 0, perProjection: [:])).refusal
    }
}
