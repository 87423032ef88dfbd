/// The one matcher for "text shaped like one of our secrets": `cx` + kind letter (`k s a r o`) + `_` + a run
/// of at least `minimumRun` base62 characters, the prefix in any case (`CXK_`, `Cxk_`: a form, a spreadsheet or
/// a person may capitalise it, and the body — the secret — is still all there). Redaction cuts such runs out of
/// messages; Validation refuses stored fields that contain one (`secret_in_field`). See docs/SECRETS.md §4.1.
public enum SecretShape {
    /// 12 base62 characters after the prefix: twice the 6 body characters the product itself shows (the display
    /// prefix `cxk_7U2Doj` stays writable in a name), ~71 bits of a key, well short of the 42 of a whole one,
    /// so truncated and embedded keys are caught too. No left boundary is required: a key glued to other text
    /// (`token=cxk_…`, `%3Dcxk_…`, `abccxk_…`) is still a key.
    public static let minimumRun = 12

    /// Percent-decoding rounds tried (a URI inside a URI's query is encoded twice).
    static let decodingRounds = 3

    /// Byte ranges (prefix through the end of the base62 run) of every secret-shaped run in `bytes`.
    public static func matches(in bytes: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        while i + 4 <= bytes.count {
            if bytes[i] | 0x20 == 0x63, bytes[i + 1] | 0x20 == 0x78, isKindLetter(bytes[i + 2] | 0x20), bytes[i + 3] == 0x5F {
                var end = i + 4
                while end < bytes.count, Base62.isValid(bytes[end]) { end += 1 }
                if end - (i + 4) >= minimumRun {
                    out.append(i..<end)
                    i = end
                    continue
                }
            }
            i += 1
        }
        return out
    }

    /// Whether `text` carries a secret-shaped run, as written or once percent-decoded (up to three times).
    public static func occurs(in text: String) -> Bool {
        var bytes = Array(text.utf8)
        for round in 0...decodingRounds {
            if !matches(in: bytes).isEmpty { return true }
            guard round < decodingRounds, let decoded = percentDecoded(bytes) else { return false }
            bytes = decoded
        }
        return false
    }

    /// `%XX` sequences decoded (either hex case); nil when there is none, so callers can stop.
    static func percentDecoded(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var changed = false
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x25, i + 2 < bytes.count, let high = hexValue(bytes[i + 1]), let low = hexValue(bytes[i + 2]) {
                out.append(high << 4 | low)
                changed = true
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return changed ? out : nil
    }

    /// A kind letter in lower case (callers fold the case first).
    @inline(__always) static func isKindLetter(_ c: UInt8) -> Bool {
        c == 0x6B || c == 0x73 || c == 0x61 || c == 0x72 || c == 0x6F  // k s a r o
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
