import Foundation

/// Writing to the terminal: aligned tables for people, JSON for machines.
public enum Output {
    nonisolated(unsafe) static var standardOutput: (String) -> Void = { text in
        FileHandle.standardOutput.write(Data(text.utf8))
    }
    nonisolated(unsafe) static var standardError: (String) -> Void = { text in
        FileHandle.standardError.write(Data(text.utf8))
    }

    public static func line(_ text: String = "") { standardOutput(text + "\n") }
    public static func error(_ text: String) { standardError(text + "\n") }

    /// A left-aligned text table with a header row.
    public static func table(_ headers: [String], _ rows: [[String]]) {
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

    /// One JSON value on one line, keys sorted (stable for scripts).
    public static func json(_ value: Any) {
        line(jsonString(value))
    }

    public static func jsonString(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value) || value is String || value is NSNumber || value is NSNull,
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether standard input / output are terminals.
    public static var stdinIsTerminal: Bool { isatty(0) == 1 }
    public static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }
}
