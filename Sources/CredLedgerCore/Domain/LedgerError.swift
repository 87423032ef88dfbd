/// A refused admin action or bad input: a stable code, a message that names the fix.
/// Nothing is written when one is thrown.
public struct LedgerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// How the CLI reports it (exit codes 1, 2, 3).
    public enum Kind: Sendable, Equatable {
        case refused, badInput, integrity
    }

    public let code: String
    public let message: String
    public let kind: Kind

    /// The message is scrubbed of anything shaped like a secret (a pasted key must never be echoed).
    public init(_ code: String, _ message: String, kind: Kind = .refused) {
        self.code = code
        self.message = Redaction.scrub(message)
        self.kind = kind
    }

    public var description: String { "\(code): \(message)" }

    public static func == (a: LedgerError, b: LedgerError) -> Bool { a.code == b.code }

    /// Matches by code, so `catch LedgerError.notCompanyAdmin` reads naturally.
    public static func ~= (pattern: LedgerError, error: any Error) -> Bool {
        (error as? LedgerError)?.code == pattern.code
    }

    // Rules from the seeds' troubleshooting tables.
    public static let apiModuleDisabled = LedgerError("api_module_disabled", "the API key module is not enabled for this company: ask an admin to enable it (enterprise feature)")
    public static let notCompanyAdmin = LedgerError("not_company_admin", "only company admins can use the API area: use an account with the Admin role")
    public static let notCompanyMember = LedgerError("not_company_member", "the user is not a member of this company")
    public static let lastAdmin = LedgerError("last_admin", "a company needs at least one admin: promote another member first")
    public static let credentialDeleted = LedgerError("credential_deleted", "the credential was deleted; create a new one")
    public static let globalScopeNeedsNoGrant = LedgerError("global_scope_needs_no_grant", "GLOBAL credentials reach every company project; no project access is needed")
    public static let userDelegatedNoGrant = LedgerError("user_delegated_credential", "PKCE credentials act as the approving user: give the user a project role instead")
    public static let accessNotGranted = LedgerError("access_not_granted", "the API user has no access to this project")
    public static let noSecretToRotate = LedgerError("no_secret", "public PKCE clients have no secret to rotate")
    public static let projectArchived = LedgerError("project_archived", "the project is archived")
    public static let confirmationRequired = LedgerError("confirmation_required", "deleting a credential needs confirmation: pass --yes", kind: .badInput)

    // Unknown things and bad input (exit 2).
    public static func unknownCompany(_ id: String) -> LedgerError { LedgerError("unknown_company", "no company '\(id)'", kind: .badInput) }
    public static func unknownProject(_ id: String) -> LedgerError { LedgerError("unknown_project", "no project '\(id)' in this company", kind: .badInput) }
    public static func unknownCredential(_ id: String) -> LedgerError { LedgerError("unknown_credential", "no credential '\(id)' in this company", kind: .badInput) }
    public static func companyExists(_ id: String) -> LedgerError { LedgerError("company_exists", "company '\(id)' already exists", kind: .badInput) }
    public static func projectExists(_ id: String) -> LedgerError { LedgerError("project_exists", "project '\(id)' already exists", kind: .badInput) }
    public static func invalid(_ field: String, _ why: String) -> LedgerError { LedgerError("invalid_\(field)", why, kind: .badInput) }
    /// A field to be stored holds secret-shaped text (never echoed: the message names only the field).
    public static func secretInField(_ field: String) -> LedgerError {
        LedgerError("secret_in_field", "the \(field) contains text shaped like a credledger secret (cxk_/cxs_/cxa_/cxr_/cxo_ + 12 or more letters and digits), and stored text is kept forever: remove it (if it is a real secret, rotate or delete its credential)", kind: .badInput)
    }
    public static let reservedIdentity = LedgerError("reserved_identity", "apiservice+… addresses belong to API service users, which act only through their credential: they cannot be company members", kind: .badInput)
    public static func mailDomainTaken(_ domain: String) -> LedgerError {
        LedgerError("mail_domain_taken", "another company already uses the mail domain '\(domain)': choose the company's own domain (only the platform default cxplanner.com is shared)", kind: .badInput)
    }
    public static func duplicateName(_ name: String) -> LedgerError {
        LedgerError("duplicate_name", "the company already has a credential named '\(name)' (names are compared ignoring case and spacing): choose another name, or delete the old credential first", kind: .badInput)
    }
    public static func credentialExpired(_ at: String) -> LedgerError {
        LedgerError("credential_expired", "the credential expired at \(at): a new secret would not work either; create a new credential and delete this one")
    }
}
