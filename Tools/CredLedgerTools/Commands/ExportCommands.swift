import CredLedger
import CredLedgerCore
import Foundation

/// `export` commands (filled in by their issue).
enum ExportCommands {
    static var all: [CommandSpec] { [] }
}
