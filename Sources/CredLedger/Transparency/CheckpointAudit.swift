import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// How the live log stands against a tree head signed earlier (`verify --checkpoint`, docs/PROOFS.md §6).
public struct CheckpointAudit: Sendable {
    /// What was found wrong, first failure first.
    public enum Finding: Sendable, Equatable {
        /// The log is shorter than the checkpoint: events `logSize + 1 … checkpointSize` are gone.
        case tailCut
        /// Event `seq`'s stored hash does not match its bytes and predecessor (a record rewritten in place), or it
        /// does not decode, or a seq is missing.
        case brokenChain(seq: UInt64, reason: String)
        /// The stored tree node over events `firstSeq…lastSeq` differs from the one recomputed from the event bytes:
        /// the events there were rewritten (and re-chained) after the tree was built, or the tree was altered.
        case treeDiffers(firstSeq: UInt64, lastSeq: UInt64)
        /// The first `checkpointSize` events, as stored now, have another root: a rewritten history or a fork.
        case rootDiffers
    }

    /// The head the checkpoint signed.
    public var checkpoint: TreeHead
    /// The log's size (head seq) when the check began.
    public var logSize: UInt64
    /// The root recomputed from the event bytes at the checkpoint's size (nil when the log is shorter or broken first).
    public var recomputedRoot: SHA256Digest?
    /// The root of the whole log, recomputed from the event bytes (nil when the chain broke).
    public var logRoot: SHA256Digest?
    public var findings: [Finding]
    public var seconds: Double
    /// Whether the stored tree was compared with the recomputed one: false when it is absent or at another code
    /// version (a ledger not rebuilt since an upgrade); the chain and the roots are recomputed from the events either way.
    public var storedTreeChecked = false

    /// True when the live log extends the checkpoint: same first `checkpoint.size` events, and nothing else wrong.
    public var ok: Bool { findings.isEmpty }

    /// The smallest tree size known to disagree with the checkpoint's history, when one can be named: the first
    /// missing event of a cut tail, the first rewritten event of a broken chain or differing stored node. A rewritten
    /// history whose events and tree were rewritten together shows only at the checkpoint's size itself.
    public var firstBadSize: UInt64? {
        var sizes: [UInt64] = []
        for finding in findings {
            switch finding {
            case .tailCut: sizes.append(logSize + 1)
            case .brokenChain(let seq, _): sizes.append(seq)
            case .treeDiffers(let first, _): sizes.append(first)
            case .rootDiffers: sizes.append(checkpoint.size)
            }
        }
        return sizes.min()
    }

    /// One line per finding.
    public var messages: [String] {
        findings.map { finding in
            switch finding {
            case .tailCut:
                let range = logSize + 1 == checkpoint.size ? "event \(checkpoint.size) is" : "events \(logSize + 1)…\(checkpoint.size) are"
                return "the log ends at event \(logSize) but the checkpoint covers \(checkpoint.size) events: \(range) missing (the tail was cut or replaced by a shorter log)"
            case .brokenChain(let seq, let reason):
                return "event \(seq): \(reason) (the record was changed after it was written)"
            case .treeDiffers(let first, let last):
                return "the stored tree over events \(first)…\(last) differs from the tree recomputed from the event bytes: events there were rewritten after the tree was built"
            case .rootDiffers:
                return "the first \(checkpoint.size) events hash to another root than the checkpoint signed: the history was rewritten, or this is another log (a fork)"
            }
        }
    }
}

extension Ledger.Transparency {
    /// Checks that the live log is an extension of the tree head `checkpoint` signed earlier, recomputing everything from
    /// the event bytes (a rewrite of the events can rewrite the stored tree too): every chain link, every leaf, every
    /// tree node — each compared with the stored node on the way, which locates a rewrite the tree did not follow —
    /// and the root at the checkpoint's size. Reads in bounded transactions up to the head pinned at the start.
    public func audit(checkpoint: TreeHead) throws -> CheckpointAudit {
        let started = DispatchTime.now().uptimeNanoseconds
        let head = try environment.read { txn in try EventLog.lastSeq(schema: schema, in: txn) }
        var result = CheckpointAudit(checkpoint: checkpoint, logSize: head, recomputedRoot: nil, logRoot: nil, findings: [], seconds: 0)
        let nodes = try schema.database(named: MerkleTreeProjection.nodesTable)
        // The stored tree is compared only in this code's layout: a tree of another version has other rows.
        let storedTreeCurrent = try environment.read { txn -> Bool in
            guard let raw = try txn.get(schema.meta, Meta.projectionKey(MerkleTreeProjection.projectionName)),
                  let checkpoint = Meta.Checkpoint(raw) else { return false }
            return checkpoint.codeVersion == MerkleTreeProjection().codeVersion
        }
        result.storedTreeChecked = storedTreeCurrent
        var frontier = MerkleFrontier()
        var previous = ChainHead.empty
        var treeDiffers: CheckpointAudit.Finding?
        var broken = false
        if checkpoint.size == 0 { result.recomputedRoot = MerkleHash.empty }
        try BoundedReads.run(environment, budget: .standard) { txn, allowance in
            let from = previous.seq + 1
            guard from <= head else { return false }
            return try txn.withCursor(schema.events) { events in
                try txn.withCursor(nodes) { stored in
                    var entry = try events.seek(atLeast: from.bigEndianBytes)
                    // The stored nodes come in the order the frontier creates them: one cursor follows along. Keys are in
                    // completion order, so the key of the level-1 node over leaf from − 1 (not itself stored) finds the
                    // first stored node completed at or after that leaf.
                    var node = treeDiffers == nil && storedTreeCurrent ? try stored.seek(atLeast: MerkleTree.storedHashIndex(level: 1, index: (from - 1) / 2).bigEndianBytes) : nil
                    while let e = entry {
                        guard e.key.count == 8, let seq = UInt64(bigEndianBytes: e.key), seq <= head else { return false }
                        guard seq == previous.seq + 1 else {
                            result.findings.append(.brokenChain(seq: previous.seq + 1, reason: "missing (next stored is \(seq))"))
                            broken = true
                            return false
                        }
                        let hash: SHA256Digest
                        switch HashChain.check(seq: seq, record: e.value, previous: previous.hash) {
                        case .success(let h): hash = h
                        case .failure(.undecodable(let error)):
                            result.findings.append(.brokenChain(seq: seq, reason: error.description))
                            broken = true
                            return false
                        case .failure:
                            result.findings.append(.brokenChain(seq: seq, reason: "hash does not match its content and predecessor"))
                            broken = true
                            return false
                        }
                        var mismatch = false
                        try frontier.append(leafHash: MerkleHash.leaf(hash)) { level, index, computed in
                            guard storedTreeCurrent, level >= MerkleTreeProjection.lowestStoredLevel, treeDiffers == nil, !mismatch else { return }
                            let key = MerkleTree.storedHashIndex(level: level, index: index)
                            if let n = node, n.key.count == 8, UInt64(bigEndianBytes: n.key) == key,
                               let value = SHA256Digest(bytes: n.value), value == computed {
                                node = try stored.next()
                            } else {
                                mismatch = true
                                let first = index << UInt64(level)
                                treeDiffers = .treeDiffers(firstSeq: first + 1, lastSeq: (index + 1) << UInt64(level))
                            }
                        }
                        previous = ChainHead(seq: seq, hash: hash, timestamp: 0)
                        if seq == checkpoint.size { result.recomputedRoot = frontier.root }
                        guard allowance.spend() else { return true }
                        entry = try events.next()
                    }
                    return false
                }
            }
        }
        if !broken {
            if previous.seq < head {
                result.findings.append(.brokenChain(seq: previous.seq + 1, reason: "missing"))
                broken = true
            } else {
                result.logRoot = frontier.root
            }
        }
        // The last head mod 16 events are under no stored node yet: the tail row's peaks and last leaf cover them.
        if storedTreeCurrent, !broken, treeDiffers == nil, previous.seq == head, head > 0 {
            treeDiffers = try tailDiffers(frontier)
        }
        if let treeDiffers { result.findings.append(treeDiffers) }
        if head < checkpoint.size {
            result.findings.append(.tailCut)
        } else if !broken, let root = result.recomputedRoot, root != checkpoint.root {
            result.findings.append(.rootDiffers)
        }
        // Only the first failure of each kind is known exactly; order them by where they start.
        func rank(_ f: CheckpointAudit.Finding) -> UInt64 {
            switch f {
            case .tailCut: head + 1
            case .brokenChain(let seq, _): seq
            case .treeDiffers(let first, _): first
            case .rootDiffers: checkpoint.size
            }
        }
        result.findings.sort { rank($0) < rank($1) }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return result
    }

    /// Compares the stored `merkle_tail` row with the one of `frontier`, recomputed from the events: nil when they agree
    /// or when the row no longer describes the frontier's size (a writer appended since the head was pinned), else the
    /// events under the first part that differs — a low peak (largest first), then the last leaf.
    private func tailDiffers(_ frontier: MerkleFrontier) throws -> CheckpointAudit.Finding? {
        let table = try schema.database(named: MerkleTreeProjection.tailTable)
        let stored: [UInt8]? = try environment.read { txn in try txn.get(table, MerkleTreeProjection.tailKey) }
        let n = frontier.size
        let expected = MerkleTreeProjection.tailValue(frontier)
        guard let stored, stored.count >= 8, UInt64(bigEndianBytes: Array(stored[0..<8])) == n, stored != expected else { return nil }
        let block = UInt64(1) << UInt64(MerkleTreeProjection.lowestStoredLevel)
        guard stored.count == expected.count else { return .treeDiffers(firstSeq: (n - 1) / block * block + 1, lastSeq: n) }
        var offset = 40
        for peak in frontier.peaks where peak.level >= 1 && peak.level < MerkleTreeProjection.lowestStoredLevel {
            if stored[offset..<(offset + 32)] != expected[offset..<(offset + 32)] {
                let index = (n >> UInt64(peak.level)) - 1
                return .treeDiffers(firstSeq: (index << UInt64(peak.level)) + 1, lastSeq: (index + 1) << UInt64(peak.level))
            }
            offset += 32
        }
        return .treeDiffers(firstSeq: n, lastSeq: n)
    }
}
