import CredLedgerCore
import CredLedgerProjections

/// The admin-side rules of the seeds, checked on every admin action, in this order:
/// the company exists, the actor is one of its admins, and (for the API area) the module is enabled.
extension StateReader {
    func requireCompany(_ slug: String) throws -> CompanyRecord {
        guard let company = try company(slug: slug) else { throw LedgerError.unknownCompany(slug) }
        return company
    }

    /// The acting user's number; throws `not_company_admin` unless they are an admin of `company`.
    func requireAdmin(_ company: CompanyRecord, _ email: String) throws -> UInt32 {
        guard let user = try user(email: email), let member = try member(company: company.number, user: user), member.role == .admin else {
            throw LedgerError.notCompanyAdmin
        }
        return user
    }

    /// Admin of a company whose API module is enabled: the gate of the whole API area.
    func requireAPIArea(_ slug: String, _ email: String) throws -> (CompanyRecord, UInt32) {
        let company = try requireCompany(slug)
        let user = try requireAdmin(company, email)
        guard company.apiEnabled else { throw LedgerError.apiModuleDisabled }
        return (company, user)
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
