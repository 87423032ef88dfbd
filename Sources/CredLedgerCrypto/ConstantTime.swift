// Comparisons for secrets (tokens, MACs): the loop always visits every byte and folds the
// differences with OR, so the running time does not reveal the first differing position.

/// Compares two byte sequences in time independent of where they differ (length may leak).
public func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<a.count {
        difference |= a[i] ^ b[i]
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
