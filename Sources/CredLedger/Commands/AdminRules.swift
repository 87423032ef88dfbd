import CredLedgerCore
import CredLedgerProjections

/// The admin-side rules of the seeds, checked on every admin action, in this order:
/// the company exists, the actor is one of its admins, and (for the API area) the module is enabled.
extension StateReader {
    func requireCompany(_ slug: String) throws -> CompanyRecord {
        guard let company = try company(slug: slug) else { throw LedgerError.unknownCompany(slug) }
        return company
    }

    /// The acting user's number; throws `not_company_admin` unless they are an admin of `company` (never an
    /// `apiservice+…` address, even one an older version made admin).
    func requireAdmin(_ company: CompanyRecord, _ email: String) throws -> UInt32 {
        guard !Validation.isReservedIdentity(email), let user = try user(email: email), let member = try member(company: company.number, user: user), member.role == .admin else {
            throw LedgerError.notCompanyAdmin
        }
        return user
    }

    /// Admin of a company whose API module is enabled: the gate of the API area's creating actions
    /// (create, rotate, grant, revoke access).
    func requireAPIArea(_ slug: String, _ email: String) throws -> (CompanyRecord, UInt32) {
        let (company, user) = try requireAPIAdmin(slug, email)
        guard company.apiEnabled else { throw LedgerError.apiModuleDisabled }
        return (company, user)
    }

    /// Admin of the company, module enabled or not: the gate of listing, showing and deleting credentials,
    /// so a leaked key can be revoked without first re-enabling the module (which would revive every key).
    func requireAPIAdmin(_ slug: String, _ email: String) throws -> (CompanyRecord, UInt32) {
        let company = try requireCompany(slug)
        return (company, try requireAdmin(company, email))
    }

    func requireCredential(_ company: CompanyRecord, _ id: String) throws -> CredentialRecord {
        guard let credential = try credential(publicID: id), credential.company == company.number else {
            throw LedgerError.unknownCredential(id)
        }
        return credential
    }

    func requireProject(_ company: CompanyRecord, _ slug: String) throws -> ProjectRecord {
        guard let project = try project(company: company.number, slug: slug) else { throw LedgerError.unknownProject(slug) }
        return project
    }
}
