import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation
import LMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum StressSetup {
    /// Company (registered if missing), API module on, the projects, and a new GLOBAL static key: returns `Apikey <key>`.
    static func prepare(_ ledger: Ledger, company: String, admin: String, projects: [String]) throws -> String {
        let exists = try ledger.audit.withState { try $0.company(slug: company) } != nil
        if !exists { try ledger.administration.registerCompany(company, admin: admin) }
        try ledger.administration.setAPIModule(company, enabled: true, as: admin)
        try createProjects(ledger, company: company, admin: admin, projects)
        // Names are unique per company (issue 11): a second setup of the same ledger gets "stress key 2", ….
        let existing = try ledger.audit.credentialTable(company, as: admin, includeDeleted: true).count
        let name = existing == 0 ? "stress key" : "stress key \(existing + 1)"
        let issued = try ledger.administration.createCredential(company, NewCredential(name: name, type: .staticKey, scope: .global), as: admin)
        guard let secret = issued.secret else { throw LedgerError("internal", "a static key came back without a secret", kind: .integrity) }
        return "Apikey \(secret)"
    }

    static func createProjects(_ ledger: Ledger, company: String, admin: String, _ projects: [String]) throws {
        for p in projects {
            let exists = try ledger.audit.withState { state -> Bool in
                guard let c = try state.company(slug: company) else { return false }
                return try state.project(company: c.number, slug: p) != nil
            }
            if !exists { try ledger.administration.createProject(company, project: p, as: admin) }
        }
    }
}

/// Every event type, through the public API: companies, members, projects, credentials of each type, grants,
/// uses, all OAuth flows, rotation, deletion, archive. Collects every plaintext secret it was shown.
enum StressScenario {
    struct Result {
        var company: String
        var admin: String
        var member: String
        /// A GLOBAL static key header, still valid at the end.
        var header: String
        /// Every plaintext secret, token and code that was issued.
        var secrets: [String]
    }

    static let redirect = "https://app.example/callback"
    static let loopback = "http://localhost:8080/cb"

    static func populate(_ ledger: Ledger, company: String = "acme", extraUses: Int = 0) throws -> Result {
        let admin = "alice@\(company).example", member = "bob@\(company).example"
        var secrets: [String] = []
        func keep(_ s: String?) { if let s { secrets.append(s) } }
        try ledger.administration.registerCompany(company, admin: admin, name: "Scenario \(company)", mailDomain: "\(company).example")
        try ledger.administration.setAPIModule(company, enabled: true, as: admin)
        try ledger.administration.setMemberRole(company, email: member, role: .member, as: admin)
        for p in ["bridge", "tunnel", "attic"] { try ledger.administration.createProject(company, project: p, as: admin) }
        try ledger.administration.setUserProjectRole(company, project: "bridge", email: member, role: .editor, as: admin)

        let readKey = try ledger.administration.createCredential(company, NewCredential(name: "Nightly sync", type: .staticKey, scope: .read), as: admin)
        let global = try ledger.administration.createCredential(company, NewCredential(name: "Reporting", type: .staticKey, scope: .global), as: admin)
        let oauth = try ledger.administration.createCredential(company, NewCredential(name: "ERP", type: .oauth, scope: .readWrite), as: admin)
        let pkce = try ledger.administration.createCredential(company, NewCredential(name: "MCP", type: .pkce, scope: .readWrite, redirectURIs: [redirect]), as: admin)
        let publicClient = try ledger.administration.createCredential(company, NewCredential(name: "CLI app", type: .pkcePublic, scope: .read, redirectURIs: [loopback]), as: admin)
        let doomed = try ledger.administration.createCredential(company, NewCredential(name: "Old key", type: .staticKey, scope: .readWrite), as: admin)
        for c in [readKey, global, oauth, pkce, publicClient, doomed] { keep(c.secret); keep(c.clientSecret) }

        try ledger.administration.grantAccess(company, credential: readKey.id, project: "bridge", role: .viewer, as: admin)
        try ledger.administration.grantAccess(company, credential: oauth.id, project: "bridge", role: .viewer, as: admin)
        try ledger.administration.grantAccess(company, credential: oauth.id, project: "bridge", role: .editor, as: admin)  // changed
        try ledger.administration.grantAccess(company, credential: readKey.id, project: "tunnel", role: .viewer, as: admin)
        try ledger.administration.revokeAccess(company, credential: readKey.id, project: "tunnel", as: admin)

        _ = try ledger.access.check(header: "Apikey \(readKey.secret!)", company: company, project: "bridge", operation: .read)
        _ = try ledger.access.check(header: "Apikey \(readKey.secret!)", company: company, project: "bridge", operation: .write)
        _ = try ledger.access.check(header: "Apikey not-a-key", company: company, project: "bridge", operation: .read)

        // client_credentials
        let cc = try ledger.oauth.clientCredentialsToken(clientID: oauth.clientID!, clientSecret: oauth.clientSecret!)
        keep(cc.accessToken)
        _ = try ledger.access.check(header: "Bearer \(cc.accessToken)", company: company, project: "bridge", operation: .write)
        do { _ = try ledger.oauth.clientCredentialsToken(clientID: oauth.clientID!, clientSecret: global.secret!) } catch is OAuthError {}

        // authorization code + PKCE, confidential client; refresh; refresh reuse revokes the family
        let verifier = String(repeating: "v", count: 20) + "-._~" + String(repeating: "Q", count: 30)
        let challenge = PKCE.challenge(for: verifier)
        let grant = try ledger.oauth.approveClient(company: company, clientID: pkce.clientID!, user: member, redirectURI: redirect,
                                         codeChallenge: challenge, codeChallengeMethod: "S256", state: "xyz")
        keep(grant.code)
        let pair = try ledger.oauth.exchangeCode(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, code: grant.code,
                                           codeVerifier: verifier, redirectURI: redirect)
        keep(pair.accessToken); keep(pair.refreshToken)
        _ = try ledger.access.check(header: "Bearer \(pair.accessToken)", company: company, project: "bridge", operation: .write)
        let next = try ledger.oauth.refresh(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, refreshToken: pair.refreshToken!)
        keep(next.accessToken); keep(next.refreshToken)
        do { _ = try ledger.oauth.refresh(clientID: pkce.clientID!, clientSecret: pkce.clientSecret, refreshToken: pair.refreshToken!) } catch is OAuthError {}

        // public client: code + PKCE without a secret, then revocation by the client
        let publicGrant = try ledger.oauth.approveClient(company: company, clientID: publicClient.clientID!, user: member, redirectURI: loopback,
                                               codeChallenge: challenge, codeChallengeMethod: "S256", state: nil)
        keep(publicGrant.code)
        let publicPair = try ledger.oauth.exchangeCode(clientID: publicClient.clientID!, clientSecret: nil, code: publicGrant.code,
                                                 codeVerifier: verifier, redirectURI: loopback)
        keep(publicPair.accessToken); keep(publicPair.refreshToken)
        try ledger.oauth.revokeToken(publicPair.refreshToken!, clientID: publicClient.clientID!, clientSecret: nil)

        // a member with tokens and an unredeemed code is removed: both end (token_revoked, code_revoked)
        let leaver = "carol@\(company).example"
        try ledger.administration.setMemberRole(company, email: leaver, role: .member, as: admin)
        try ledger.administration.setUserProjectRole(company, project: "bridge", email: leaver, role: .viewer, as: admin)
        for redeem in [true, false] {
            let leaverGrant = try ledger.oauth.approveClient(company: company, clientID: publicClient.clientID!, user: leaver, redirectURI: loopback,
                                                   codeChallenge: challenge, codeChallengeMethod: "S256", state: nil)
            keep(leaverGrant.code)
            guard redeem else { continue }
            let leaverPair = try ledger.oauth.exchangeCode(clientID: publicClient.clientID!, clientSecret: nil, code: leaverGrant.code,
                                                     codeVerifier: verifier, redirectURI: loopback)
            keep(leaverPair.accessToken); keep(leaverPair.refreshToken)
        }
        try ledger.administration.setMemberRole(company, email: leaver, role: .removed, as: admin)

        // rotation, deletion, archive, module off and on
        let rotated = try ledger.administration.rotateSecret(company, credential: readKey.id, grace: 0, as: admin)
        keep(rotated.secret)
        let rotatedClient = try ledger.administration.rotateSecret(company, credential: oauth.id, grace: 3_600_000_000, as: admin)
        keep(rotatedClient.clientSecret)
        try ledger.administration.deleteCredential(company, credential: doomed.id, as: admin)
        try ledger.administration.archiveProject(company, project: "attic", as: admin)
        try ledger.administration.setAPIModule(company, enabled: false, as: admin)
        try ledger.administration.setAPIModule(company, enabled: true, as: admin)

        let header = "Apikey \(global.secret!)"
        for i in 0..<extraUses {
            _ = try ledger.access.check(header: header, company: company, project: i % 3 == 0 ? "tunnel" : "bridge", operation: i % 2 == 0 ? .read : .write)
        }
        return Result(company: company, admin: admin, member: member, header: header, secrets: secrets)
    }
}
