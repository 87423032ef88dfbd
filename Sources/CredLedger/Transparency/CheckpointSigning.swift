import CredLedgerCore
import Foundation

extension Ledger.Transparency {
    /// Signs the tree head at `size` (default: the log head) as a C2SP checkpoint with `key`, whose name is the origin.
    ///
    /// Never signs a head inconsistent with the last one signed with this key (kept in `lastSigned`, outside the LMDB
    /// file): it first proves the new head consistent with that one from the stored tree and verifies the proof
    /// against both roots (`inconsistent_head`, exit 3, signs nothing). A newer head then becomes the last signed.
    public func signCheckpoint(key: Ed25519NoteSigner, size: UInt64? = nil, lastSigned: String) throws -> SignedCheckpoint {
        let previous = try Self.lastSignedCheckpoint(lastSigned, key: key)
        let (head, proof) = try withTree { tree -> (TreeHead, ConsistencyProof?) in
            let head = try tree.head(size: size)
            guard let previous, previous.size > 0, head.size > 0 else { return (head, nil) }
            if previous.size > tree.size {
                throw LedgerError("inconsistent_head", "the last checkpoint signed with this key covers \(previous.size) events but the log has \(tree.size): events were removed; nothing was signed (run `credledger verify --checkpoint \(lastSigned)`)", kind: .integrity)
            }
            return (head, try tree.consistency(old: min(previous.size, head.size), new: max(previous.size, head.size)))
        }
        if let previous {
            do {
                if let proof {
                    let (old, new) = previous.size <= head.size ? (previous.head, head) : (head, previous.head)
                    try proof.verify(oldRoot: old.root, newRoot: new.root)
                } else if previous.size == 0 || head.size == 0 {
                    // The empty tree is a prefix of every tree.
                } else if previous.root != head.root {
                    throw ProofFailure("equal sizes with different roots")
                }
            } catch let failure as ProofFailure {
                throw LedgerError("inconsistent_head", "the tree head at \(head.size) is not consistent with the last checkpoint signed with this key (size \(previous.size)): \(failure); nothing was signed (run `credledger verify --checkpoint \(lastSigned)`)", kind: .integrity)
            }
        }
        let signed: SignedCheckpoint
        do {
            signed = try SignedCheckpoint(Checkpoint(origin: key.name, size: head.size, root: head.root), signer: key)
        } catch {
            throw LedgerError("sign_failed", "\(error)", kind: .badInput)
        }
        if head.size >= (previous?.size ?? 0) { try SigningKeyFile.replace(lastSigned, with: signed.note) }
        return signed
    }

    /// The last checkpoint signed with `key`, if any; one that does not verify with it is an integrity failure.
    static func lastSignedCheckpoint(_ path: String, key: Ed25519NoteSigner) throws -> Checkpoint? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try SignedCheckpoint(note: String(decoding: data, as: UTF8.self), verifier: key.verifier).checkpoint
        } catch {
            throw LedgerError("last_checkpoint_invalid", "\(path) is not a checkpoint signed with this key (\(error)): it was replaced or damaged, or the key was; nothing was signed (if the key was replaced on purpose, keep that file with the old key's checkpoints and move it aside)", kind: .integrity)
        }
    }
}
