import CredLedgerCore
import CredLedgerProjections

extension Ledger {
    /// The transparency log (docs/PROOFS.md): tree heads, inclusion and consistency proofs, signed checkpoints, the
    /// check of the live log against a checkpoint published earlier, and access answers with proofs. Reads only; holds
    /// the tables and the audit service its provable answers come from.
    public final class Transparency: ReadsLedger, Sendable {
        let reads: LedgerReads
        let audit: Audit

        init(_ reads: LedgerReads, audit: Audit) {
            self.reads = reads
            self.audit = audit
        }
    }
}

// MARK: - Async forms

extension Ledger.Transparency {
    /// Runs a blocking read of this service on the reader pool (`ReaderPool`), suspending the calling task without
    /// holding a thread of the cooperative pool (a proof over a 10M-event tree reads pages that may fault in): the
    /// async form of any of its reads, e.g. `try await ledger.transparency.read { try $0.treeHead(size: 100) }`.
    public func read<R: Sendable>(_ body: @escaping @Sendable (Ledger.Transparency) throws -> R) async throws -> R {
        try await ReaderPool.shared.run { [self] in try body(self) }
    }

    /// Async form of `treeHead(size:)`.
    public func treeHead(size: UInt64? = nil) async throws -> TreeHead {
        try await read { try $0.treeHead(size: size) }
    }

    /// Async form of `inclusionProof(seq:size:)`.
    public func inclusionProof(seq: UInt64, size: UInt64? = nil) async throws -> InclusionProof {
        try await read { try $0.inclusionProof(seq: seq, size: size) }
    }

    /// Async form of `consistencyProof(old:new:)`.
    public func consistencyProof(old: UInt64, new: UInt64) async throws -> ConsistencyProof {
        try await read { try $0.consistencyProof(old: old, new: new) }
    }

    /// Async form of `signCheckpoint(key:size:lastSigned:)`.
    public func signCheckpoint(key: Ed25519NoteSigner, size: UInt64? = nil, lastSigned: String) async throws -> SignedCheckpoint {
        try await read { try $0.signCheckpoint(key: key, size: size, lastSigned: lastSigned) }
    }

    /// Async form of `audit(checkpoint:)`.
    public func audit(checkpoint: TreeHead) async throws -> CheckpointAudit {
        try await read { try $0.audit(checkpoint: checkpoint) }
    }

    /// Async form of `provenEvents(_:size:)`.
    public func provenEvents(_ seqs: [UInt64], size: UInt64? = nil) async throws -> (TreeHead, [ProvenEvent]) {
        try await read { try $0.provenEvents(seqs, size: size) }
    }

    /// Async form of `provenAccess(company:project:operation:at:)`.
    public func provenAccess(company slug: String, project: String, operation: Operation?, at point: AsOfPoint) async throws -> ProvenAccessAnswer {
        try await read { try $0.provenAccess(company: slug, project: project, operation: operation, at: point) }
    }
}
