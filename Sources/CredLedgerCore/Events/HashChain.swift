/// The chain rule: hash_n = SHA-256(hash_{n-1} || 0x45 || seq_n as u64 BE || body_n), hash_0 = 32 zero bytes.
public enum HashChain {
    /// The hash before the first event.
    public static let genesis = SHA256Digest.zero
    /// Domain-separation byte ('E' for event) so an event link can never be confused with other hashed data.
    public static let domainByte: UInt8 = 0x45

    /// Computes hash_n from hash_{n-1}, the sequence number and the record body (record minus its hash).
    @inlinable
    public static func link(previous: SHA256Digest, seq: UInt64, body: UnsafeRawBufferPointer) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(previous)
        var domain = domainByte
        var seqBE = seq.bigEndian
        withUnsafeBytes(of: &domain) { hasher.update($0) }
        withUnsafeBytes(of: &seqBE) { hasher.update($0) }
        hasher.update(body)
        return hasher.finalize()
    }

    /// Why a record breaks the chain.
    public enum Break: Error, Equatable, Sendable {
        case undecodable(EventCodecError)
        case sequenceGap(expected: UInt64, found: UInt64)
        case hashMismatch(seq: UInt64)
        case timeWentBackwards(seq: UInt64)
    }

    /// Checks one stored record against its predecessor's hash; returns its hash or the break.
    public static func check(seq: UInt64, record: UnsafeRawBufferPointer, previous: SHA256Digest) -> Result<SHA256Digest, Break> {
        let header: EventCodec.Header
        do {
            header = try EventCodec.decodeHeader(seq: seq, record: record)
        } catch {
            return .failure(.undecodable(error))
        }
        let body = UnsafeRawBufferPointer(rebasing: record[0..<header.bodyLength])
        let computed = link(previous: previous, seq: seq, body: body)
        let stored = UnsafeRawBufferPointer(rebasing: record[header.bodyLength...])
        let matches = computed.withUnsafeBytes { constantTimeEquals($0, stored) }
        return matches ? .success(computed) : .failure(.hashMismatch(seq: seq))
    }
}
