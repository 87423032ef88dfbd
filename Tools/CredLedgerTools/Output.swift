import CredLedgerAPI
import CredLedgerCore
import Foundation

/// Writing to the terminal: aligned tables for people, JSON for machines. Every line, table cell and JSON
/// document goes through `DisplaySafety`, so no name, message or argument — whatever version stored it —
/// can put a control, bidi or invisible character on the terminal: it prints as `\u{…}` (in JSON as `\uXXXX`).
public enum Output {
    nonisolated(unsafe) static var standardOutput: (String) -> Void = { text in
        FileHandle.standardOutput.write(Data(text.utf8))
    }
    nonisolated(unsafe) static var standardError: (String) -> Void = { text in
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// One line (our own line feeds inside it are kept; nothing else unsafe is).
    public static func line(_ text: String = "") { standardOutput(DisplaySafety.escaped(text, keepingNewlines: true) + "\n") }
    public static func error(_ text: String) { standardError(DisplaySafety.escaped(text, keepingNewlines: true) + "\n") }
    /// A question on standard error, without a line feed (the answer is typed after it).
    public static func prompt(_ text: String) { standardError(DisplaySafety.escaped(text)) }

    /// A left-aligned text table with a header row. A cell is one line: even a line feed in it is escaped.
    public static func table(_ headers: [String], _ rawRows: [[String]]) {
        let rows = rawRows.map { $0.map { DisplaySafety.escaped($0) } }
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func render(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        line(render(headers))
        line(render(widths.map { String(repeating: "-", count: $0) }))
        for row in rows { line(render(row)) }
    }

    /// One API value (CredLedgerAPI, the contract of docs/API.md) as one JSON line: `API.encode`'s keys sorted,
    /// unsafe characters escaped.
    public static func json<Value: Encodable>(_ value: Value) {
        line(jsonString(value))
    }

    public static func jsonString<Value: Encodable>(_ value: Value) -> String {
        guard let text = try? API.encodeText(value) else { return "null" }
        return jsonEscaped(text)
    }

    /// One untyped JSON value on one line, keys sorted (the lab's reports; product commands print API values).
    public static func json(_ value: Any) {
        line(jsonString(value))
    }

    public static func jsonString(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value) || value is String || value is NSNumber || value is NSNull,
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        else { return "null" }
        return jsonEscaped(String(decoding: data, as: UTF8.self))
    }

    /// JSON lines as the export writes them (`log --json`: canonical form, non-ASCII and DEL raw), escaped like
    /// every other JSON output. A buffer of printable ASCII and line feeds — the common case — costs one byte scan
    /// and is printed as it is; any other is rewritten (the line feeds between lines kept).
    static func jsonLines(_ chunk: UnsafeRawBufferPointer) {
        let text = String(decoding: chunk, as: UTF8.self)
        let plain = chunk.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A }
        standardOutput(plain ? text : jsonEscaped(text, keepingNewlines: true))
    }

    /// JSON text with every unsafe character `JSONSerialization` leaves raw (DEL, C1, bidi, zero-width, …)
    /// written as a `\uXXXX` escape: outside strings JSON is ASCII, so this changes no parsed value.
    /// `keepingNewlines` keeps the line feeds of JSON lines (inside strings JSON has none raw).
    static func jsonEscaped(_ text: String, keepingNewlines: Bool = false) -> String {
        guard DisplaySafety.containsUnsafe(text) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard DisplaySafety.isUnsafe(scalar), !(keepingNewlines && scalar == "\n") else {
                out.append(scalar)
                continue
            }
            for unit in String(scalar).utf16 {
                let hex = String(unit, radix: 16, uppercase: false)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            }
        }
        return String(out)
    }

    /// Whether standard input / output are terminals.
    public static var stdinIsTerminal: Bool { isatty(0) == 1 }
    public static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
