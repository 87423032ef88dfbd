import CredLedger
import CredLedgerCore
import Foundation

/// Stable exit codes of the CLI.
public enum ExitCode {
    public static let ok: Int32 = 0
    /// Refused by a rule (or an authorization denied).
    public static let refused: Int32 = 1
    /// Bad usage or input.
    public static let usage: Int32 = 2
    /// Integrity failure (chain, projections, corrupt storage).
    public static let integrity: Int32 = 3
}

/// What every command gets: the ledger location, output mode, and a lazily opened ledger.
public final class ToolContext {
    public let databasePath: String
    public let json: Bool
    public var options: Ledger.Options
    private var opened: Ledger?

    init(databasePath: String, json: Bool, options: Ledger.Options) {
        self.databasePath = databasePath
        self.json = json
        self.options = options
    }

    /// The ledger, opened on first use (created if missing).
    public func ledger() throws -> Ledger {
        if let opened { return opened }
        let ledger = try Ledger(path: databasePath, options: options)
        opened = ledger
        return ledger
    }

    /// The ledger opened read-only (it must exist).
    public func readOnlyLedger() throws -> Ledger {
        if let opened { return opened }
        guard FileManager.default.fileExists(atPath: databasePath + "/data.mdb") else {
            throw LedgerError("no_ledger", "no ledger at \(databasePath): create a company first or pass --db", kind: .badInput)
        }
        var readOnly = options
        readOnly.readOnly = true
        let ledger = try Ledger(path: databasePath, options: readOnly)
        opened = ledger
        return ledger
    }

    func close() {
        opened?.close()
        opened = nil
    }

    /// Prints a human line, or nothing in JSON mode.
    public func say(_ text: String) {
        if !json { Output.line(text) }
    }
}

/// Shared formatting of domain values.
public enum Format {
    public static func time(_ t: Timestamp?) -> String {
        guard let t, t != 0 else { return "never" }
        return TimeFormat.rfc3339(t)
    }

    /// Seconds precision for tables.
    public static func shortTime(_ t: Timestamp?) -> String {
        guard let t, t != 0 else { return "never" }
        return String(TimeFormat.rfc3339(t).prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    public static func jsonTime(_ t: Timestamp?) -> Any {
        guard let t, t != 0 else { return NSNull() }
        return TimeFormat.rfc3339(t)
    }
}
