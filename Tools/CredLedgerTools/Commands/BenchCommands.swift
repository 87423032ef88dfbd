import CredLedger
import CredLedgerCore
import Foundation

/// `bench` commands (filled in by their issue).
enum BenchCommands {
    static var all: [CommandSpec] { [] }
}
