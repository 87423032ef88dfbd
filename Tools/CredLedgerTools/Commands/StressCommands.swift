import CredLedger
import CredLedgerCore
import Foundation

/// `stress` commands (filled in by their issue).
enum StressCommands {
    static var all: [CommandSpec] { [] }
}
