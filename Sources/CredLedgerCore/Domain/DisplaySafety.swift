/// Characters that can take over a terminal, reorder or hide text: refused in every stored name
/// (Validation) and escaped wherever text is printed (the CLI's Output), so the two agree — what
/// Validation accepts prints unchanged, and anything older or from elsewhere prints visibly escaped.
public enum DisplaySafety {
    /// True for control characters (C0, DEL, C1), format characters (bidi embeddings, overrides, isolates,
    /// LRM/RLM/ALM, zero-width space/joiners, word joiner, BOM, soft hyphen, tag characters, …), line and
    /// paragraph separators, private-use, surrogate and unassigned code points, and every other
    /// default-ignorable (invisible) code point — except the emoji/text presentation selectors U+FE00–FE0F,
    /// which only pick a glyph variant of the character before them.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value >= 0x20 && value < 0x7F { return false }
        if value < 0x20 || (value >= 0x7F && value < 0xA0) { return true }
        if value >= 0xFE00 && value <= 0xFE0F { return false }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned:
            return true
        default:
            return properties.isDefaultIgnorableCodePoint
        }
    }

    /// Whether a variation selector (U+FE00–FE0F) stands anywhere but right after a visible character: one picks
    /// the glyph of the character before it (`❤️`); a run of them, or one after a space or at the start, shows
    /// nothing and only carries hidden data.
    public static func hasStrayVariationSelector(_ text: String) -> Bool {
        var afterVisible = false
        for scalar in text.unicodeScalars {
            let isSelector = scalar.value >= 0xFE00 && scalar.value <= 0xFE0F
            if isSelector && !afterVisible { return true }
            afterVisible = !isSelector && !scalar.properties.isWhitespace
        }
        return false
    }

    /// Whether `text` holds any unsafe character.
    public static func containsUnsafe(_ text: String) -> Bool {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return false }  // printable ASCII: the common case
        return text.unicodeScalars.contains(where: isUnsafe)
    }

    /// `text` with every unsafe character written as `\u{XX}` (uppercase hex), so it shows instead of acting.
    /// `keepingNewlines` lets the line feeds of a multi-line message through (values never need them).
    public static func escaped(_ text: String, keepingNewlines: Bool = false) -> String {
        // Fast path: printable ASCII (and allowed newlines) is by far the common case.
        if text.utf8.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || (keepingNewlines && $0 == 0x0A) }) { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isUnsafe(scalar) && !(keepingNewlines && scalar == "\n") {
                out.append(contentsOf: "\\u{\(hex(scalar.value))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    static func hex(_ value: UInt32) -> String {
        let digits = Array("0123456789ABCDEF".unicodeScalars)
        var v = value
        var out: [Unicode.Scalar] = []
        repeat {
            out.append(digits[Int(v & 0xF)])
            v >>= 4
        } while v > 0
        if out.count < 2 { out.append("0") }
        return String(String.UnicodeScalarView(out.reversed()))
    }
}
