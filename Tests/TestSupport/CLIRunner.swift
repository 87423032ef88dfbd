import CredLedger
import CredLedgerTools
import Foundation

/// What one in-process run of `credledger` returned and printed.
public struct CLIResult {
    public var code: Int32
    public var out: String
    public var err: String
    public var all: String { out + err }
    /// Standard output parsed as one JSON value.
    public var json: Any? { try? JSONSerialization.jsonObject(with: Data(out.utf8), options: [.fragmentsAllowed]) }
    public var object: [String: Any] { json as? [String: Any] ?? [:] }

    public init(code: Int32, out: String, err: String) {
        self.code = code
        self.out = out
        self.err = err
    }
}

/// Runs `credledger --db db arguments…` in this process with its output captured (one run at a time: the output
/// hooks are process-wide). No environment; `standardInput` feeds a secret option given as `-`.
public func runCLI(db: String, _ arguments: [String], options: Ledger.Options,
                   standardInput: (() -> String?)? = nil) -> CLIResult {
    let captured = OutputCapture.run {
        CommandLineTool.run(["--db", db] + arguments, environment: [:], options: options, standardInput: standardInput)
    }
    return CLIResult(code: captured.result, out: captured.stdout, err: captured.stderr)
}
