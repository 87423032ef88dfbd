import CredLedger
import CredLedgerCore
import Foundation

/// `audit` commands (filled in by their issue).
enum AuditCommands {
    static var all: [CommandSpec] { [] }
}
