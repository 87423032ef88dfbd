/// Keeps secrets out of messages: anything shaped like one of our secrets is cut to its display prefix,
/// and long values are shortened. Applied by the error types themselves, so no message can echo a secret.
public enum Redaction {
    /// Longest message kept whole.
    public static let maxLength = 600

    /// `text` with every secret-like token (`cx[ksaro]_` + ≥ 12 base62 chars) cut to prefix + 6 chars + `…`.
    public static func scrub(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var i = 0
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        while i < bytes.count {
            if i + 4 <= bytes.count, bytes[i] == 0x63, bytes[i + 1] == 0x78, [0x6B, 0x73, 0x61, 0x72, 0x6F].contains(bytes[i + 2]),
               bytes[i + 3] == 0x5F {
                var end = i + 4
                while end < bytes.count, Base62.isValid(bytes[end]) { end += 1 }
                if end - (i + 4) >= 12 {
                    out.append(contentsOf: bytes[i..<(i + 4 + SecretFormat.displayedBodyLength)])
                    out.append(contentsOf: Array("…".utf8))
                    i = end
                    continue
                }
            }
            out.append(bytes[i])
            i += 1
        }
        if out.count > maxLength {
            out = Array(out.prefix(maxLength)) + Array("…".utf8)
        }
        bytes = out
        return String(decoding: bytes, as: UTF8.self)
    }
}
