import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation

/// The `credledger` command line: parses, calls the library, prints. No domain logic here.
public enum CommandLineTool {
    /// Every command, in help order. Each group lives in Commands/. Product commands only: the benchmark and the
    /// stress drivers are the separate `credledger-bench` (Tools/CredLedgerLab).
    package static var commands: [CommandSpec] {
        AdminCommands.all + KeyCommands.all + AuthCommands.all + LogCommands.all + AuditCommands.all + ExportCommands.all
            + ServeCommands.all + TransparencyCommands.all
    }

    /// The product program: its commands, and the words that name a command of another program.
    static var product: CommandLineProgram {
        CommandLineProgram(name: "credledger", help: globalHelp, commands: commands,
                           elsewhere: ["bench": labPointer, "stress": labPointer])
    }

    /// The one line `credledger bench` / `credledger stress` print (exit 2): those commands moved.
    static let labPointer = "the benchmark and the stress drivers are the separate credledger-bench executable "
        + "(swift build -c release, then .build/release/credledger-bench --help)"

    static let globalHelp = """
        credledger — an event-sourced, hash-chained ledger of API credentials

        Global options: --db DIR (default ./credledger-data or $CREDLEDGER_DB), --json, --help
        Secret options (<secret|->): - reads the value from standard input, one line per such option, in the
        order they appear on the command line (on a terminal each is prompted for, not echoed)
        Exit codes: 0 ok, 1 refused by a rule (the error code is printed), 2 bad usage or input, 3 integrity failure
        """

    /// Runs one command line (without the program name) and returns the exit code. `standardInput` reads one line
    /// (with its newline) for each secret option given as `-`, in command-line order: the process's standard input
    /// unless given (tests feed it).
    public static func run(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                           options: Ledger.Options = Ledger.Options(), standardInput: (() -> String?)? = nil) -> Int32 {
        run(arguments, program: product, environment: environment, options: options, standardInput: standardInput)
    }

    /// Runs one command line of `program` (the product, or `credledger-bench`): the same global options, help,
    /// parsing, error reporting and exit codes for both.
    package static func run(_ arguments: [String], program: CommandLineProgram, environment: [String: String],
                            options: Ledger.Options, standardInput: (() -> String?)?) -> Int32 {
        let commands = program.commands
        var words: [String] = []
        var json = false
        var help = false
        var database: String?
        var repeatedDatabase = false
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            switch word {
            case "--json": json = true
            case "--help", "-h": help = true
            case "--db":
                guard i + 1 < arguments.count else { return usageError("--db needs a directory", nil, json: json) }
                // Single-valued like every option: a second one would silently pick the ledger written to.
                repeatedDatabase = repeatedDatabase || database != nil
                database = arguments[i + 1]
                i += 1
            default:
                if word.hasPrefix("--db=") {
                    repeatedDatabase = repeatedDatabase || database != nil
                    database = String(word.dropFirst(5))
                } else {
                    words.append(word)
                }
            }
            i += 1
        }
        guard !repeatedDatabase else { return usageError("--db given more than once", nil, json: json) }
        guard let command = match(words, in: commands) else {
            // A command of another program (even with --help): one line naming it.
            if let first = words.first, let pointer = program.elsewhere[first] {
                return usageError("unknown command '\(first)': \(pointer)", nil, json: json)
            }
            if help || words.isEmpty {
                printHelp(program, prefix: words)
                return words.isEmpty && !help ? ExitCode.usage : ExitCode.ok
            }
            let prefixMatches = commands.filter { $0.path.starts(with: words.prefix(1)) }
            if !prefixMatches.isEmpty, words.count >= 1 {
                printHelp(program, prefix: Array(words.prefix(1)))
                return usageError("unknown command '\(words.joined(separator: " "))'", nil, json: json)
            }
            return usageError("unknown command '\(words.first ?? "")'; see \(program.name) --help", nil, json: json)
        }
        if help {
            Output.line("usage: \(command.usage)\n\n\(command.summary)")
            return ExitCode.ok
        }
        let context = ToolContext(databasePath: database ?? environment["CREDLEDGER_DB"] ?? "./credledger-data", json: json, options: options)
        defer { context.close() }
        do {
            var invocation = try command.parse(Array(words.dropFirst(command.path.count)))
            invocation.standardInput = StandardInput(readLine: standardInput.map { read in { _ in read() } } ?? StandardInput.processLine)
            return try command.run(invocation, context)
        } catch let error as UsageError {
            return usageError(error.message, command, json: json)
        } catch let error as LedgerError {
            return report(error, json: json)
        } catch {
            return report(LedgerError("internal_error", "\(error)", kind: .badInput), json: json)
        }
    }

    static func match(_ words: [String], in commands: [CommandSpec] = commands) -> CommandSpec? {
        commands.filter { words.starts(with: $0.path) }.max { $0.path.count < $1.path.count }
    }

    static func printHelp(_ program: CommandLineProgram, prefix: [String]) {
        Output.line(program.help)
        Output.line("\nCommands:")
        for c in program.commands where c.path.starts(with: prefix) {
            Output.line("  \(c.usage)\n      \(c.summary)")
        }
    }

    static func usageError(_ raw: String, _ command: CommandSpec?, json: Bool) -> Int32 {
        // A message is one line: a line feed from an argument is escaped too.
        let message = DisplaySafety.escaped(Redaction.scrub(raw))
        if json {
            Output.json(API.ErrorBody(error: "usage", message: message))
        } else {
            Output.error("error: \(message)")
            if let command { Output.error("usage: \(command.usage)") }
        }
        return ExitCode.usage
    }

    /// Prints a refused/bad-input/integrity error with its stable code and returns its exit code.
    public static func report(_ error: LedgerError, json: Bool) -> Int32 {
        if json {
            Output.json(API.ErrorBody(error))
        } else {
            Output.error("error: \(error.code): \(DisplaySafety.escaped(error.message))")
        }
        switch error.kind {
        case .refused: return ExitCode.refused
        case .badInput: return ExitCode.usage
        case .integrity: return ExitCode.integrity
        }
    }
}
