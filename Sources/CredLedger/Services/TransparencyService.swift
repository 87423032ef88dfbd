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
