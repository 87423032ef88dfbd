// Comparisons for secrets (tokens, MACs): the loop always visits every byte and folds the
// differences with OR, so the running time does not reveal the first differing position.

/// Compares two byte sequences in time independent of where they differ (length may leak).
public func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    // Eight bytes at a time, then the rest: the same every-byte fold (a chain check compares a hash per event).
    var difference: UInt64 = 0
    var i = 0
    while i + 8 <= a.count {
        difference |= a.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        i += 8
    }
    while i < a.count {
        difference |= UInt64(a[i] ^ b[i])
        i += 1
    }
    return difference == 0
}

/// Compares two byte arrays in time independent of where they differ (length may leak).
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { a in b.withUnsafeBytes { b in constantTimeEquals(a, b) } }
}

/// Compares two digests in time independent of where they differ.
public func constantTimeEquals(_ a: SHA256Digest, _ b: SHA256Digest) -> Bool {
    let difference = (a.w0 ^ b.w0) | (a.w1 ^ b.w1) | (a.w2 ^ b.w2) | (a.w3 ^ b.w3)
    return difference == 0
}
