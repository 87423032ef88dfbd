@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
// The helpers every test target shares (TestLedger, World, PKCEPair, TemporaryDirectory, CLIResult, …), visible
// to every file of this target.
@_exported import TestSupport
import XCTest

// Helpers of the replay/audit/export tests: their company fixture on the shared TestLedger, a randomized history
// over the public API, and a CLI runner with captured output.

extension TestLedger {
    /// acme (API module on, projects bridge + tunnel, members bob, carol, dave) and beta (project pb).
    func makeWorld() throws {
        try ledger.administration.registerCompany(World.acme, admin: World.alice, mailDomain: "acme.example")
        try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        try ledger.administration.createProject(World.acme, project: "bridge", as: World.alice)
        try ledger.administration.createProject(World.acme, project: "tunnel", as: World.alice)
        for user in [World.bob, World.carol, World.dave] { try ledger.administration.setMemberRole(World.acme, email: user, role: .member, as: World.alice) }
        try ledger.administration.registerCompany(World.beta, admin: World.bea)
        try ledger.administration.setAPIModule(World.beta, enabled: true, as: World.bea)
        try ledger.administration.createProject(World.beta, project: "pb", as: World.bea)
    }

    func create(_ type: CredentialType, _ scope: Scope, name: String, company: String = World.acme,
                as actor: String = World.alice) throws -> IssuedCredential {
        try ledger.administration.createCredential(company, NewCredential(name: name, type: type, scope: scope,
                                                           redirectURIs: type.isUserDelegated ? [World.redirect] : []), as: actor)
    }

    /// authorize (by `user`) + code exchange for a PKCE client.
    func pkceTokens(_ issued: IssuedCredential, user: String, company: String = World.acme) throws -> TokenResponse {
        let grant = try ledger.oauth.approveClient(company: company, clientID: issued.clientID!, user: user, redirectURI: World.redirect,
                                         codeChallenge: PKCE.challenge(for: PKCEPair.verifier), codeChallengeMethod: "S256", state: nil)
        return try ledger.oauth.exchangeCode(clientID: issued.clientID!, clientSecret: issued.clientSecret, code: grant.code,
                                       codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
    }

    @discardableResult
    func use(_ header: String, _ project: String, _ op: CredLedgerCore.Operation, company: String = World.acme) throws -> Decision {
        try ledger.access.check(header: header, company: company, project: project, operation: op)
    }

    /// The live credential table of a company (deleted rows included), without the admin gate.
    func liveRows(_ slug: String) throws -> [CredentialRow] {
        try ledger.audit.withState { state in
            guard let c = try state.company(slug: slug) else { return [] }
            return try state.credentialRows(company: c.number, includeDeleted: true, at: ledger.options.clock.now())
        }
    }
}

/// A small deterministic generator for test choices (independent of the ledger's SeededRandom).
struct TestRNG {
    private var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
}

/// A randomized history over the public API: valid and invalid admin commands, OAuth flows and uses of
/// every credential type, on two companies, with the clock moving. Refusals are expected and ignored.
final class RandomHistory {
    struct Key {
        var issued: IssuedCredential
        var company: String
    }

    let t: TestLedger
    var rng: TestRNG
    var keys: [Key] = []
    /// Access tokens (and refresh tokens) obtained, by key index.
    var tokens: [(key: Int, access: String, refresh: String?)] = []
    var projects: [String: [String]] = [World.acme: ["bridge", "tunnel"], World.beta: ["pb"]]
    let users: [String: [String]] = [World.acme: [World.alice, World.bob, World.carol, World.dave], World.beta: [World.bea]]
    let admins: [String: String] = [World.acme: World.alice, World.beta: World.bea]
    private var projectCounter = 0

    init(_ t: TestLedger, seed: UInt64) throws {
        self.t = t
        rng = TestRNG(seed)
        try t.makeWorld()
        // A starting set: every type and scope in acme, two keys in beta, some grants and tokens.
        for type in CredentialType.allCases {
            for scope in Scope.allCases where rng.chance(70) || scope == .readWrite {
                keys.append(Key(issued: try t.create(type, scope, name: "\(type.name)-\(scope.name)"), company: World.acme))
            }
        }
        keys.append(Key(issued: try t.create(.staticKey, .read, name: "beta-read", company: World.beta, as: World.bea), company: World.beta))
        keys.append(Key(issued: try t.create(.oauth, .global, name: "beta-global", company: World.beta, as: World.bea), company: World.beta))
        for (index, key) in keys.enumerated() {
            let issued = key.issued
            if issued.type.hasServiceUser, issued.scope != .global {
                for project in projects[key.company]! where rng.chance(60) {
                    try ledger.administration.grantAccess(key.company, credential: issued.id, project: project, role: rng.pick(ProjectRole.allCases),
                                           as: admins[key.company]!)
                }
            }
            if issued.type == .oauth {
                tokens.append((index, try ledger.oauth.clientCredentialsToken(clientID: issued.clientID!, clientSecret: issued.clientSecret!).accessToken, nil))
            }
        }
        try ledger.administration.setUserProjectRole(World.acme, project: "bridge", email: World.bob, role: .editor, as: World.alice)
        try ledger.administration.setUserProjectRole(World.acme, project: "tunnel", email: World.carol, role: .viewer, as: World.alice)
        for (index, key) in keys.enumerated() where key.issued.type.isUserDelegated {
            let response = try t.pkceTokens(key.issued, user: rng.pick([World.alice, World.bob, World.carol]))
            tokens.append((index, response.accessToken, response.refreshToken))
        }
    }

    var ledger: Ledger { t.ledger }

    func run(steps: Int, every: Int = 0, _ checkpoint: () throws -> Void = {}) throws {
        for i in 0..<steps {
            try step()
            if every > 0, i % every == every - 1 { try checkpoint() }
        }
    }

    /// One random action; refusals (rule errors, OAuth denials) are part of the history.
    func step() throws {
        t.clock.advance(seconds: Double(rng.int(120)) + 0.000_001 * Double(rng.int(1000)))
        let company = rng.chance(80) ? World.acme : World.beta
        let admin = admins[company]!
        let roll = rng.int(100)
        do {
            switch roll {
            case 0..<38:
                try use()
            case 38..<45:
                let type = rng.pick(CredentialType.allCases)
                let scope = rng.pick(Scope.allCases)
                keys.append(Key(issued: try t.create(type, scope, name: "k\(keys.count)", company: company, as: admin), company: company))
            case 45..<55:
                guard let key = pickKey(company) else { return }
                try ledger.administration.grantAccess(company, credential: key.issued.id, project: rng.pick(projects[company]!),
                                       role: rng.pick(ProjectRole.allCases), as: admin)
            case 55..<59:
                guard let key = pickKey(company) else { return }
                try ledger.administration.revokeAccess(company, credential: key.issued.id, project: rng.pick(projects[company]!), as: admin)
            case 59..<64:
                try ledger.administration.setUserProjectRole(company, project: rng.pick(projects[company]!), email: rng.pick(users[company]!),
                                              role: rng.chance(25) ? nil : rng.pick(ProjectRole.allCases), as: admin)
            case 64..<67:
                let others = users[company]!.filter { $0 != admin }
                guard !others.isEmpty else { return }
                let user = rng.pick(others)
                try ledger.administration.setMemberRole(company, email: user, role: rng.pick([CompanyRole.member, .admin, .removed]), as: admin)
            case 67..<73:
                guard let index = pickKeyIndex(company, where: { $0.issued.type.isUserDelegated }) else { return }
                let response = try t.pkceTokens(keys[index].issued, user: rng.pick(users[company]!), company: company)
                tokens.append((index, response.accessToken, response.refreshToken))
            case 73..<76:
                guard let token = tokens.filter({ $0.refresh != nil }).randomElement(using: &rng) else { return }
                let issued = keys[token.key].issued
                let response = try ledger.oauth.refresh(clientID: issued.clientID!, clientSecret: issued.clientSecret, refreshToken: token.refresh!)
                tokens.append((token.key, response.accessToken, response.refreshToken))
            case 76..<78:
                guard let token = tokens.randomElement(using: &rng) else { return }
                let issued = keys[token.key].issued
                try ledger.oauth.revokeToken(rng.chance(50) ? token.access : (token.refresh ?? token.access), clientID: issued.clientID!,
                                       clientSecret: issued.clientSecret)
            case 78..<81:
                guard let key = pickKey(company) else { return }
                try ledger.administration.deleteCredential(company, credential: key.issued.id, as: admin)
            case 81..<84:
                guard let index = pickKeyIndex(company, where: { $0.issued.type.hasSecret }) else { return }
                let rotated = try ledger.administration.rotateSecret(company, credential: keys[index].issued.id, grace: Int64(rng.int(2)) * 600_000_000, as: admin)
                if let s = rotated.secret { keys[index].issued.secret = s }
                if let s = rotated.clientSecret { keys[index].issued.clientSecret = s }
            case 84..<88:
                projectCounter += 1
                try ledger.administration.createProject(company, project: "p\(projectCounter)", as: admin)
                projects[company]!.append("p\(projectCounter)")
            case 88..<89:
                try ledger.administration.archiveProject(company, project: rng.pick(projects[company]!), as: admin)
            case 89..<90:
                let enabled = try ledger.audit.withState { try $0.company(slug: company)!.apiEnabled }
                try ledger.administration.setAPIModule(company, enabled: !enabled, as: admin)
            case 90..<95:
                guard let index = pickKeyIndex(company, where: { $0.issued.type == .oauth }) else { return }
                let issued = keys[index].issued
                let response = try ledger.oauth.clientCredentialsToken(clientID: issued.clientID!, clientSecret: issued.clientSecret!)
                tokens.append((index, response.accessToken, nil))
            default:
                // A header that matches nothing, or garbage.
                try t.use(rng.chance(50) ? "Apikey cxk_notakeyatall" : "Bearer nope", rng.pick(projects[company]!), .read, company: company)
            }
        } catch is LedgerError {
        } catch is OAuthError {
        }
    }

    private func use() throws {
        guard !keys.isEmpty else { return }
        let index = rng.int(keys.count)
        let key = keys[index]
        let header: String
        switch key.issued.type {
        case .staticKey:
            header = "Apikey " + key.issued.secret!
        case .oauth, .pkce, .pkcePublic:
            guard let token = tokens.filter({ $0.key == index }).randomElement(using: &rng) else { return }
            header = "Bearer " + token.access
        }
        let project = rng.chance(95) ? rng.pick(projects[key.company]!) : "nope"
        let count = 1 + rng.int(3)
        for _ in 0..<count {
            try t.use(header, project, rng.chance(60) ? .read : .write, company: key.company)
        }
    }

    private func pickKey(_ company: String) -> Key? {
        pickKeyIndex(company, where: { _ in true }).map { keys[$0] }
    }

    private func pickKeyIndex(_ company: String, where predicate: (Key) -> Bool) -> Int? {
        let candidates = keys.indices.filter { keys[$0].company == company && predicate(keys[$0]) }
        return candidates.isEmpty ? nil : candidates[rng.int(candidates.count)]
    }
}

extension Array {
    func randomElement(using rng: inout TestRNG) -> Element? { isEmpty ? nil : self[rng.int(count)] }
}

/// Serializes the tests that hook Output's sinks themselves (they are process-wide).
let cliLock = NSLock()

/// Runs the CLI in-process against `t`'s ledger with captured standard output and error.
func runCLI(_ t: TestLedger, _ args: [String]) -> CLIResult {
    runCLI(db: t.path, args, options: t.options)
}

/// Tools/verify_export.py of this repository (found from this file's real location).
var verifierScript: String {
    let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools/verify_export.py").path
}

/// Runs `python3 Tools/verify_export.py dir`; returns the exit code and its output.
func runVerifier(_ directory: String) throws -> (code: Int32, output: String) {
    try ExternalOracle.status(["python3", verifierScript, directory])
}
