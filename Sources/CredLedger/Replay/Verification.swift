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

extension Ledger.Audit {
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
