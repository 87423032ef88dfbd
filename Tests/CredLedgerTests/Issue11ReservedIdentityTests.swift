@testable import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 11 item 10: an `apiservice+…` address is never a company member (it could then create keys and approve
/// PKCE clients as a person), and two companies never share a custom mail domain (only the platform default).
final class Issue11ReservedIdentityTests: XCTestCase {
    func testServiceAddressesCannotBecomeMembers() throws {
        let t = try TestLedger("i11-reserved", seed: 131)
        defer { t.remove() }
        let ledger = t.ledger!
        try t.makeWorld()
        let key = try t.create(.staticKey, .global, name: "Service")
        let serviceUser = try XCTUnwrap(key.serviceUser)
        for email in [serviceUser, "apiservice+anything@acme.example", "APIService+Upper@acme.example", "apiservice+x@elsewhere.example"] {
            for role in [CompanyRole.member, .admin] {
                assertRefused("reserved_identity", kind: .badInput, t) { try ledger.administration.setMemberRole(World.acme, email: email, role: role, as: World.alice) }
            }
            assertRefused("reserved_identity", kind: .badInput, t) { try ledger.administration.registerCompany("gamma", admin: email) }
        }
        // Not reserved: the plain word, or the prefix elsewhere in the address.
        try ledger.administration.setMemberRole(World.acme, email: "apiservice@acme.example", role: .member, as: World.alice)
        try ledger.administration.setMemberRole(World.acme, email: "team.apiservice+1@acme.example", role: .member, as: World.alice)

        // Approving a PKCE client as a service address is refused (and recorded), whatever older versions let in.
        let pkce = try t.create(.pkce, .readWrite, name: "App")
        let added = assertOAuthDenied(.reservedIdentity, t) {
            _ = try ledger.oauth.approveClient(company: World.acme, clientID: pkce.clientID!, user: serviceUser, redirectURI: World.redirect,
                                     codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: nil)
        }
        XCTAssertEqual(added.count, 1)
        XCTAssertEqual(OAuthError(reason: .reservedIdentity).error, "access_denied")
        XCTAssertEqual(DenialReason.reservedIdentity.rawValue, 34)
    }

    func testAServiceAddressMadeAMemberByAnOlderVersionCannotApproveButCanBeRemoved() throws {
        let t = try TestLedger("i11-reserved-old", seed: 132)
        defer { t.remove() }
        let ledger = t.ledger!
        try t.makeWorld()
        let pkce = try t.create(.pkce, .readWrite, name: "App")
        // What an older version wrote: the member event for a service address.
        let intruder = "apiservice+old@acme.example"
        try issue11Append(ledger, company: 1, .memberRoleSet(user: 99, email: intruder, role: .admin))
        XCTAssertNotNil(try ledger.audit.withState { try $0.user(email: intruder) })
        assertOAuthDenied(.reservedIdentity, t) {
            _ = try ledger.oauth.approveClient(company: World.acme, clientID: pkce.clientID!, user: intruder, redirectURI: World.redirect,
                                     codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: nil)
        }
        // Made admin by that older version, it still cannot act as one.
        assertRefused("not_company_admin", t) { _ = try t.create(.staticKey, .global, name: "Backdoor", as: intruder) }
        assertRefused("not_company_admin", t) { _ = try ledger.audit.credentialTable(World.acme, as: intruder) }
        // An admin can take it out again (re-adding is refused).
        try ledger.administration.setMemberRole(World.acme, email: intruder, role: .removed, as: World.alice)
        assertRefused("reserved_identity", t) { try ledger.administration.setMemberRole(World.acme, email: intruder, role: .admin, as: World.alice) }
    }

    func testTwoCompaniesCannotShareAMailDomain() throws {
        let t = try TestLedger("i11-domain", seed: 133)
        defer { t.remove() }
        let ledger = t.ledger!
        try t.makeWorld()   // acme: acme.example; beta: the default cxplanner.com
        assertRefused("mail_domain_taken", kind: .badInput, t) { try ledger.administration.registerCompany("gamma", admin: "g@gamma.example", mailDomain: "acme.example") }
        assertRefused("mail_domain_taken", kind: .badInput, t) { try ledger.administration.registerCompany("gamma", admin: "g@gamma.example", mailDomain: "ACME.Example") }
        // The platform default is shared by design (service users differ by their random id).
        try ledger.administration.registerCompany("gamma", admin: "g@gamma.example")
        try ledger.administration.registerCompany("delta", admin: "d@delta.example", mailDomain: "CXPLANNER.COM")
        try ledger.administration.registerCompany("epsilon", admin: "e@eps.example", mailDomain: "eps.example")
        assertRefused("mail_domain_taken", t) { try ledger.administration.registerCompany("zeta", admin: "z@z.example", mailDomain: "eps.example") }
        // A subdomain is another domain.
        try ledger.administration.registerCompany("eta", admin: "h@eta.example", mailDomain: "mail.acme.example")
    }

    func testTheCLIRefusesReservedIdentitiesAndTakenDomains() throws {
        let cli = try CLI("i11-reserved-cli")
        defer { cli.remove() }
        issue11SetUpCLICompany(cli)
        issue11AssertCLIFails(cli, 2, printing: "reserved_identity", ["member", "set", "acme", "apiservice+abc@acme.example", "--role", "admin", "--as", World.alice])
        issue11AssertCLIFails(cli, 2, printing: "reserved_identity", ["company", "create", "beta", "--admin", "apiservice+abc@beta.example"])
        issue11AssertCLIFails(cli, 2, printing: "mail_domain_taken", ["company", "create", "beta", "--admin", World.bea, "--mail-domain", "acme.example"])
    }
}

/// Appends `payload` as one event the way an older version could have, bypassing today's command checks.
func issue11Append(_ ledger: Ledger, company: UInt32, actor: Actor = .system, _ payload: EventPayload) throws {
    try ledger.perform(AppendEvents(company: company, actor: actor, payload))
}
