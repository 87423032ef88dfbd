import CredLedger
import CredLedgerAPI
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

    /// The ledger opened read-write on first use. It must exist: a missing one is `no_ledger` (exit 2) and
    /// nothing is created, so a mistyped `--db` or the wrong working directory cannot start a new ledger.
    public func ledger() throws -> Ledger {
        try open(create: false, readOnly: false)
    }

    /// The ledger opened read-write, created if missing: only for commands that start a ledger (`company create`).
    public func creatingLedger() throws -> Ledger {
        try open(create: true, readOnly: false)
    }

    /// The ledger opened read-only (it must exist).
    public func readOnlyLedger() throws -> Ledger {
        try open(create: false, readOnly: true)
    }

    private func open(create: Bool, readOnly: Bool) throws -> Ledger {
        if let opened { return opened }
        var options = self.options
        options.createIfMissing = create
        if readOnly { options.readOnly = true }
        // A missing ledger is the library's `no_ledger` (one message, which names --db and `company create`).
        let ledger = try Ledger(path: databasePath, options: options)
        opened = ledger
        return ledger
    }

    /// Answers an API request on the ledger opened read-write: the same mapping the HTTP server uses.
    func respond<R: APIRequest>(_ request: R) throws -> R.Response {
        try APIService(try ledger()).respondBlocking(to: request)
    }

    /// Answers an API request that only reads, on the ledger opened read-only.
    func respondReading<R: ReadRequest>(_ request: R) throws -> R.Response {
        try APIService(try readOnlyLedger()).respondBlocking(to: request)
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
        return shortTime(TimeFormat.rfc3339(t))
    }

    /// An API time (RFC 3339, nil for never) as printed: the time itself, or "never".
    public static func time(_ text: String?) -> String { text ?? "never" }

    /// An API time (RFC 3339, nil for never) with seconds precision, for tables.
    public static func shortTime(_ text: String?) -> String {
        guard let text else { return "never" }
        return String(text.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }
}
