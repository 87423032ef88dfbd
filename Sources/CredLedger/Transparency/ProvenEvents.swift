import CredLedgerCore
import CredLedgerProjections
import LMDB

/// An event with what a third party needs to check that it is in a signed log (docs/PROOFS.md §7): its record bytes
/// and predecessor's hash, from which its chain hash — the leaf input — is recomputed, and the inclusion proof.
public struct ProvenEvent: Sendable, Equatable {
    public var seq: UInt64
    public var type: EventType
    public var company: UInt32
    /// The stored record minus its hash: the bytes the chain hashes (docs/FORMAT.md §3.1).
    public var body: [UInt8]
    /// hash_{seq−1} (32 zero bytes for seq 1).
    public var previousHash: SHA256Digest
    public var proof: InclusionProof
}

/// A `whoCouldAct` answer with inclusion proofs of every event it rests on, all against one tree head.
public struct ProvenAccessAnswer: Sendable {
    public var answer: AccessAnswer
    /// The tree head every proof leads to (what the checkpoint signs).
    public var tree: TreeHead
    /// The company's state-changing events up to the answer's seq, oldest first.
    public var events: [ProvenEvent]
}

extension Ledger.Transparency {
    /// The event types an access answer rests on: every type that changes who can act — the company, its members and
    /// module, projects, credentials, secrets, grants, roles, consents, tokens and codes. Recorded uses and OAuth
    /// denials change nothing and are left out.
    public static let accessEventTypes: [EventType] = EventType.allCases.filter { ![.credentialUsed, .oauthRequestDenied, .logAccepted].contains($0) }

    /// `whoCouldAct` plus the inclusion proof of every event of the company of `accessEventTypes` up to the answer's seq,
    /// in the tree at the log head (one snapshot for all proofs).
    public func provenAccess(company slug: String, project: String, operation: Operation?, at point: AsOfPoint) throws -> ProvenAccessAnswer {
        let answer = try audit.whoCouldAct(company: slug, project: project, operation: operation, at: point)
        var seqs: [UInt64] = []
        var query = AuditQuery()
        query.company = slug
        query.types = Self.accessEventTypes
        query.newestFirst = false
        query.before = answer.seq + 1
        query.limit = 10_000
        while true {
            let page = try audit.auditEvents(query)
            seqs += page.events.map(\.event.seq)
            guard let next = page.next else { break }
            query.after = next
        }
        let (tree, events) = try provenEvents(seqs)
        return ProvenAccessAnswer(answer: answer, tree: tree, events: events)
    }

    /// Inclusion proofs of events `seqs` in the tree of `size` leaves (default: the log head), from one snapshot.
    public func provenEvents(_ seqs: [UInt64], size: UInt64? = nil) throws -> (TreeHead, [ProvenEvent]) {
        try withTree { tree in
            let head = try tree.head(size: size)
            var out: [ProvenEvent] = []
            out.reserveCapacity(seqs.count)
            for seq in seqs {
                var key = seq.bigEndian
                let record: [UInt8]? = try withUnsafeBytes(of: &key) { k in try tree.txn.get(schema.events, k).map { Array($0) } }
                guard let record, record.count >= EventCodec.headerSize + 32 else {
                    throw LedgerError("corrupt_log", "event \(seq) is missing or too short", kind: .integrity)
                }
                let header: EventCodec.Header
                do { header = try record.withUnsafeBytes { raw throws(EventCodecError) in try EventCodec.decodeHeader(seq: seq, record: raw) } } catch {
                    throw LedgerError("corrupt_log", "\(error)", kind: .integrity)
                }
                let previous = seq == 1 ? HashChain.genesis : try tree.chainHash(seq: seq - 1)
                out.append(ProvenEvent(seq: seq, type: header.type, company: header.company, body: Array(record[..<header.bodyLength]),
                                       previousHash: previous, proof: try tree.inclusion(seq: seq, size: head.size)))
            }
            return (head, out)
        }
    }
}
