import CredLedgerCore

/// A person signed in to the server (never an API credential): the email the front proxy or the session names.
public struct SignedInUser: Sendable, Equatable {
    public let email: String

    public init(email: String) { self.email = email }
}
