import CredLedger
import CredLedgerCore

/// The transparency log's responses (docs/PROOFS.md, docs/API.md): checkpoints, proofs, audits of a checkpoint and
/// proven access answers. Hashes of the tree (roots, proof hashes, leaf inputs and leaf hashes) are standard padded
/// base64, as in checkpoints; event bytes and chain hashes are hex, as in exports (docs/EXPORT.md).
extension API {
    /// A signed C2SP checkpoint.
    public struct SignedCheckpoint: Codable, Sendable, Equatable {
        public var origin: String
        public var treeSize: UInt64
        public var rootHash: String
        /// The whole signed note, as `credledger checkpoint` prints it.
        public var note: String
        /// `name+<key ID>+base64(0x01 ‖ public key)`: what a verifier pins.
        public var verifierKey: String

        enum CodingKeys: String, CodingKey {
            case origin, note
            case treeSize = "tree_size"
            case rootHash = "root_hash"
            case verifierKey = "verifier_key"
        }

        public init(_ s: CredLedgerCore.SignedCheckpoint) {
            (origin, treeSize, rootHash) = (s.checkpoint.origin, s.checkpoint.size, Base64.encode(s.checkpoint.root.bytes))
            (note, verifierKey) = (s.note, s.verifierKey)
        }
    }

    /// `prove inclusion`: an RFC 9162 §2.1.3 proof of one event (leaf index = seq − 1).
    public struct InclusionProof: Codable, Sendable, Equatable {
        public var seq: UInt64
        public var leafIndex: UInt64
        public var treeSize: UInt64
        /// The event's chain hash (base64): the leaf input.
        public var leafInput: String
        /// SHA-256(0x00 ‖ leaf input), base64.
        public var leafHash: String
        /// The audit path, deepest first, base64.
        public var hashes: [String]
        public var rootHash: String
        /// The checkpoint of `tree_size` signed with the ledger's key; null when the ledger has no key.
        @AlwaysPresent public var checkpoint: SignedCheckpoint?

        enum CodingKeys: String, CodingKey {
            case seq, hashes, checkpoint
            case leafIndex = "leaf_index"
            case treeSize = "tree_size"
            case leafInput = "leaf_input"
            case leafHash = "leaf_hash"
            case rootHash = "root_hash"
        }

        public init(_ p: CredLedgerCore.InclusionProof, checkpoint: CredLedgerCore.SignedCheckpoint?) {
            (seq, leafIndex, treeSize) = (p.seq, p.leafIndex, p.treeSize)
            (leafInput, leafHash) = (Base64.encode(p.leafInput.bytes), Base64.encode(p.leafHash.bytes))
            hashes = p.hashes.map { Base64.encode($0.bytes) }
            rootHash = Base64.encode(p.root.bytes)
            self.checkpoint = checkpoint.map(SignedCheckpoint.init)
        }
    }

    /// `prove consistency`: an RFC 9162 §2.1.4 proof that the tree of `old_size` leaves is a prefix of the tree of `new_size`.
    public struct ConsistencyProof: Codable, Sendable, Equatable {
        public var oldSize: UInt64
        public var newSize: UInt64
        public var oldRoot: String
        public var newRoot: String
        public var hashes: [String]
        /// The checkpoint of `new_size`; null when the ledger has no key.
        @AlwaysPresent public var checkpoint: SignedCheckpoint?

        enum CodingKeys: String, CodingKey {
            case hashes, checkpoint
            case oldSize = "old_size"
            case newSize = "new_size"
            case oldRoot = "old_root"
            case newRoot = "new_root"
        }

        public init(_ p: CredLedgerCore.ConsistencyProof, checkpoint: CredLedgerCore.SignedCheckpoint?) {
            (oldSize, newSize) = (p.oldSize, p.newSize)
            (oldRoot, newRoot) = (Base64.encode(p.oldRoot.bytes), Base64.encode(p.newRoot.bytes))
            hashes = p.hashes.map { Base64.encode($0.bytes) }
            self.checkpoint = checkpoint.map(SignedCheckpoint.init)
        }
    }

    /// `keygen`: the new signing key (never its secret part).
    public struct SigningKey: Codable, Sendable, Equatable {
        public var keyFile: String
        public var name: String
        /// Eight hex digits.
        public var keyID: String
        public var verifierKey: String

        enum CodingKeys: String, CodingKey {
            case name
            case keyFile = "key_file"
            case keyID = "key_id"
            case verifierKey = "verifier_key"
        }

        public init(keyFile: String, signer: Ed25519NoteSigner) {
            (self.keyFile, name, keyID, verifierKey) = (keyFile, signer.name, NoteFormat.hex8(signer.keyID), signer.verifierKey)
        }
    }

    /// One thing `verify --checkpoint` found wrong.
    public struct CheckpointFinding: Codable, Sendable, Equatable {
        /// tail_cut, broken_chain, tree_differs, root_differs.
        public var kind: String
        public var message: String
        /// The first event concerned (where known).
        @AlwaysPresent public var firstSeq: UInt64?

        enum CodingKeys: String, CodingKey {
            case kind, message
            case firstSeq = "first_seq"
        }
    }

    /// `verify --checkpoint`: the live log against a checkpoint signed earlier.
    public struct CheckpointAudit: Codable, Sendable, Equatable {
        public var ok: Bool
        public var origin: String
        public var checkpointSize: UInt64
        public var checkpointRoot: String
        public var logSize: UInt64
        /// The root of the first `checkpoint_size` events recomputed from their bytes; null when the log is shorter or broke first.
        @AlwaysPresent public var recomputedRoot: String?
        /// The smallest tree size known to disagree; null when consistent.
        @AlwaysPresent public var firstBadSize: UInt64?
        public var findings: [CheckpointFinding]
        public var seconds: Double

        enum CodingKeys: String, CodingKey {
            case ok, origin, findings, seconds
            case checkpointSize = "checkpoint_size"
            case checkpointRoot = "checkpoint_root"
            case logSize = "log_size"
            case recomputedRoot = "recomputed_root"
            case firstBadSize = "first_bad_size"
        }

        public init(origin: String, _ a: CredLedger.CheckpointAudit) {
            (ok, self.origin, checkpointSize, checkpointRoot) = (a.ok, origin, a.checkpoint.size, Base64.encode(a.checkpoint.root.bytes))
            (logSize, recomputedRoot, firstBadSize, seconds) = (a.logSize, a.recomputedRoot.map { Base64.encode($0.bytes) }, a.firstBadSize, a.seconds)
            findings = zip(a.findings, a.messages).map { finding, message in
                switch finding {
                case .tailCut: CheckpointFinding(kind: "tail_cut", message: message, firstSeq: a.logSize + 1)
                case .brokenChain(let seq, _): CheckpointFinding(kind: "broken_chain", message: message, firstSeq: seq)
                case .treeDiffers(let first, _): CheckpointFinding(kind: "tree_differs", message: message, firstSeq: first)
                case .rootDiffers: CheckpointFinding(kind: "root_differs", message: message, firstSeq: nil)
                }
            }
        }
    }

    /// An event with its inclusion proof (`audit access --prove`): the record and predecessor hash give the chain hash,
    /// which is the leaf input.
    public struct ProvenEvent: Codable, Sendable, Equatable {
        public var seq: UInt64
        public var leafIndex: UInt64
        public var type: String
        public var company: UInt32
        /// The stored event bytes before its hash, hex (docs/EXPORT.md `record`).
        public var record: String
        /// hex
        public var prevHash: String
        /// The chain hash, hex: SHA-256(prev_hash ‖ 0x45 ‖ u64 seq ‖ record).
        public var hash: String
        /// The audit path in the checkpoint's tree, base64, deepest first.
        public var proof: [String]

        enum CodingKeys: String, CodingKey {
            case seq, type, company, record, hash, proof
            case leafIndex = "leaf_index"
            case prevHash = "prev_hash"
        }

        public init(_ e: CredLedger.ProvenEvent) {
            (seq, leafIndex, type, company) = (e.seq, e.seq - 1, e.type.name, e.company)
            (record, prevHash, hash) = (e.body.map { String(format: "%02x", $0) }.joined(), e.previousHash.hex, e.proof.leafInput.hex)
            proof = e.proof.hashes.map { Base64.encode($0.bytes) }
        }
    }

    /// `audit access --prove`: the answer, and an inclusion proof of every event it rests on against one checkpoint.
    public struct ProvenAccessReport: Codable, Sendable, Equatable {
        public var access: AccessReport
        public var treeSize: UInt64
        public var rootHash: String
        public var checkpoint: SignedCheckpoint
        /// Every state-changing event of the company up to the answer's seq (uses and OAuth denials excluded), oldest first.
        public var events: [ProvenEvent]

        enum CodingKeys: String, CodingKey {
            case access, checkpoint, events
            case treeSize = "tree_size"
            case rootHash = "root_hash"
        }

        public init(_ p: ProvenAccessAnswer, checkpoint: CredLedgerCore.SignedCheckpoint) {
            access = AccessReport(p.answer)
            (treeSize, rootHash) = (p.tree.size, Base64.encode(p.tree.root.bytes))
            self.checkpoint = SignedCheckpoint(checkpoint)
            events = p.events.map(ProvenEvent.init)
        }
    }
}
