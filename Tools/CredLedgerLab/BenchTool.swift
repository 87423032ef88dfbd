import CredLedger
import CredLedgerTools
import Foundation

/// The `credledger-bench` command line (like `pgbench` or `redis-benchmark`): the benchmark and the stress drivers,
/// kept out of the product CLI. Same global options, parser, help and exit codes as `credledger`.
public enum BenchTool {
    /// Every command, in help order.
    static var commands: [CommandSpec] { BenchCommands.all + RecordLabCommands.all + AuthLabCommands.all + TransparencyBenchCommands.all + StressCommands.all }

    static let help = """
        credledger-bench — the benchmark and the stress drivers of credledger (not the product CLI: that is credledger)

        Global options: --db DIR (for stress setup/record; default ./credledger-data or $CREDLEDGER_DB), --json, --help
        Exit codes: 0 ok, 1 refused by a rule, 2 bad usage or input, 3 integrity failure (a failed check)
        """

    static var program: CommandLineProgram {
        CommandLineProgram(name: "credledger-bench", help: help, commands: commands)
    }

    /// Runs one command line (without the program name) and returns the exit code.
    public static func run(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                           options: Ledger.Options = Ledger.Options(), standardInput: (() -> String?)? = nil) -> Int32 {
        CommandLineTool.run(arguments, program: program, environment: environment, options: options, standardInput: standardInput)
    }
}
