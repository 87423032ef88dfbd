/// The path of a forwarded request (`X-Forwarded-Uri`, `X-Original-URI`, or what follows `/auth/forward` for Envoy),
/// decoded once into segments for the route templates. Anything that different servers could read as different
/// paths is refused, so the decision is never made for another path than the one the upstream serves.
enum ForwardedPath {
    /// Longest forwarded URI considered (the server's head limit bounds it anyway).
    static let maxLength = 8192

    /// The decoded segments of `raw` (origin-form, or absolute-form whose scheme and authority are dropped; query and
    /// fragment ignored). Refused: no leading "/", bytes outside visible ASCII, bad percent escapes, an encoded "/" or
    /// "\", a raw "\" or ";", control characters, a "%" left after decoding (double encoding), invalid UTF-8, "." and
    /// ".." segments (raw or encoded), and empty segments other than a trailing one.
    static func segments(_ raw: String) -> [String]? {
        var bytes = Array(raw.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        if let end = bytes.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) { bytes.removeSubrange(end...) }
        let lower = bytes.prefix(8).map { $0 | 0x20 }
        for scheme in ["http://", "https://"] where lower.starts(with: scheme.utf8) {
            let afterScheme = bytes.dropFirst(scheme.utf8.count)
            guard let slash = afterScheme.firstIndex(of: UInt8(ascii: "/")) else { return [] }
            bytes = Array(bytes[slash...])
        }
        guard bytes.first == UInt8(ascii: "/") else { return nil }
        var parts = bytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if parts.last?.isEmpty == true { parts.removeLast() }
        var out: [String] = []
        out.reserveCapacity(parts.count)
        for part in parts {
            guard !part.isEmpty, let segment = decode(part) else { return nil }
            out.append(segment)
        }
        return out
    }

    /// One segment percent-decoded once, or nil when it is refused (see `segments`).
    private static func decode(_ raw: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            let b = raw[i]
            switch b {
            case UInt8(ascii: "%"):
                guard i + 2 < raw.endIndex, let high = hex(raw[i + 1]), let low = hex(raw[i + 2]) else { return nil }
                out.append(high << 4 | low)
                i += 3
            case UInt8(ascii: "\\"), UInt8(ascii: ";"):
                return nil
            default:
                out.append(b)
                i += 1
            }
        }
        for b in out where b < 0x20 || b == 0x7F || b == UInt8(ascii: "/") || b == UInt8(ascii: "\\") || b == UInt8(ascii: "%")
            || b == UInt8(ascii: ";") {
            return nil
        }
        guard let text = String(validating: out, as: UTF8.self), text != ".", text != ".." else { return nil }
        return text
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
