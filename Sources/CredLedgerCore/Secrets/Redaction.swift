/// Keeps secrets out of messages: anything shaped like one of our secrets is cut to its display prefix,
/// and long values are shortened. Applied by the error types themselves, so no message can echo a secret.
public enum Redaction {
    /// Longest message kept whole.
    public static let maxLength = 600

    /// `text` with every secret-shaped run (`SecretShape`) cut to prefix + 6 chars + `…`; a word that carries
    /// one only once percent-decoded (`cxk%5F…`, `%63xk_…`) is replaced by `[redacted]` whole.
    public static func scrub(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var at = 0
        for match in SecretShape.matches(in: bytes) {
            out.append(contentsOf: bytes[at..<match.lowerBound])
            out.append(contentsOf: bytes[match.lowerBound..<(match.lowerBound + SecretFormat.prefixLength + SecretFormat.displayedBodyLength)])
            out.append(contentsOf: Array("…".utf8))
            at = match.upperBound
        }
        out.append(contentsOf: bytes[at...])
        if out.contains(0x25) { out = redactEncodedWords(out) }
        if out.count > maxLength {
            out = Array(out.prefix(maxLength)) + Array("…".utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Words (runs without spaces or quotes) that hide a secret behind percent-encoding, replaced whole.
    private static func redactEncodedWords(_ bytes: [UInt8]) -> [UInt8] {
        func isBreak(_ c: UInt8) -> Bool { c <= 0x20 || c == 0x27 || c == 0x22 }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if isBreak(bytes[i]) {
                out.append(bytes[i])
                i += 1
                continue
            }
            var end = i
            while end < bytes.count, !isBreak(bytes[end]) { end += 1 }
            let word = Array(bytes[i..<end])
            if word.contains(0x25), SecretShape.occurs(in: String(decoding: word, as: UTF8.self)) {
                out.append(contentsOf: Array("[redacted]".utf8))
            } else {
                out.append(contentsOf: word)
            }
            i = end
        }
        return out
    }
}
