/// HTML escaping for every interpolated value of a page (names, client names, errors).
public enum HTML {
    /// Escapes `& < > " '` so the text is inert in element content and in quoted attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// Percent-encoding of text echoed into a URL or a header (a redirect's `state`, an error's `description`).
public enum PercentEncoding {
    /// Encodes every byte except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`), as UTF-8.
    public static func encode(_ text: String) -> String {
        encode(text, keepingSpaceAsPlus: false)
    }

    /// `application/x-www-form-urlencoded` encoding of one component (space → "+").
    public static func formEncode(_ text: String) -> String {
        encode(text, keepingSpaceAsPlus: true)
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    private static func encode(_ text: String, keepingSpaceAsPlus: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.append(b)
            case UInt8(ascii: " ") where keepingSpaceAsPlus:
                out.append(UInt8(ascii: "+"))
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
