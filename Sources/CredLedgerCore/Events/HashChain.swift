/// The chain rule: hash_n = SHA-256(hash_{n-1} || 0x45 || seq_n as u64 BE || body_n), hash_0 = 32 zero bytes.
public enum HashChain {
    /// The hash before the first event.
    public static let genesis = SHA256Digest.zero
    /// Domain-separation byte ('E' for event) so an event link can never be confused with other hashed data.
    public static let domainByte: UInt8 = 0x45

    /// Bytes hashed before the body: previous hash, domain byte, seq.
    @usableFromInline static let prefixSize = 41
    /// The longest body hashed in one padded buffer (four blocks: prefix, body, 0x80 and the 8-byte length).
    @usableFromInline static let paddedBodyLimit = 4 * 64 - prefixSize - 9

    /// Computes hash_n from hash_{n-1}, the sequence number and the record body (record minus its hash).
    /// A body of up to `paddedBodyLimit` bytes (every use, most events) is laid out with its padding in a stack buffer
    /// and compressed in one call: the streaming hasher's buffering was a third of a verifying thread's time.
    @inlinable
    public static func link(previous: SHA256Digest, seq: UInt64, body: UnsafeRawBufferPointer) -> SHA256Digest {
        if body.count <= paddedBodyLimit {
            return withUnsafeTemporaryAllocation(byteCount: 256, alignment: 16) { buffer in
                let p = buffer.baseAddress!
                let length = prefixSize + body.count
                let blocks = (length + 9 + 63) / 64
                previous.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: 32) }
                p.storeBytes(of: domainByte, toByteOffset: 32, as: UInt8.self)
                p.storeBytes(of: seq.bigEndian, toByteOffset: 33, as: UInt64.self)
                if let base = body.baseAddress { (p + prefixSize).copyMemory(from: base, byteCount: body.count) }
                // FIPS 180-4 padding: 0x80, zeros, the message length in bits (big-endian) at the end of the last block.
                p.storeBytes(of: 0x80, toByteOffset: length, as: UInt8.self)
                (p + length + 1).initializeMemory(as: UInt8.self, repeating: 0, count: blocks * 64 - 8 - length - 1)
                p.storeBytes(of: UInt64(length * 8).bigEndian, toByteOffset: blocks * 64 - 8, as: UInt64.self)
                return SHA256.hash(paddedBlocks: UnsafeRawPointer(p), count: blocks)
            }
        }
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
