import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import XCTest

/// Issue 3: projections against a rebuild on randomized histories. Seeded sequences of valid and invalid
/// commands, OAuth flows and uses go through the public `Ledger` API; afterwards `verify()` is ok, a rebuild
/// reproduces the live digests, and the usage counters equal the counts kept here.
final class RandomHistoryTests: XCTestCase {
    func testRandomHistoriesMatchARebuildAndOurCounts() throws {
        for seed: UInt64 in [11, 22, 33] {
            try History(seed: seed).run(steps: 320)
        }
    }
}

/// One randomized history and what the test knows about it.
private final class History {
    struct Credential {
        var issued: IssuedCredential
        var company: String
        var clientSecret: String?
        var deleted = false
    }

    struct Company {
        var slug: String
        var root: String
        var users: [String]
        var projects: [String]
        var admins: Set<String>
        var enabled = true
    }

    struct Counts {
        var used: UInt64 = 0
        var denied: UInt64 = 0
        var lastUsed: Timestamp?
    }

    let seed: UInt64
    var dice: Dice
    let t: TestLedger
    var ledger: Ledger { t.ledger }

    var companies: [Company] = []
    var credentials: [Credential] = []
    /// Every static key and access token ever issued → the credential it belongs to.
    var owner: [String: String] = [:]
    var apiKeys: [String] = []
    var accessTokens: [String] = []
    var refreshTokens: [(token: String, credential: Int)] = []
    var codes: [(code: String, credential: Int)] = []
    var counts: [String: Counts] = [:]
    var unattributed = 0
    var checks = 0
    /// Answers to a credential of another company: each also records an anonymous use in the company asked (issue 11).
    var foreignNotices = 0
    var refusals: [String: Int] = [:]
    var oauthDenials: [String: Int] = [:]

    init(seed: UInt64) throws {
        self.seed = seed
        dice = Dice(seed: seed)
        t = try TestLedger("history-\(seed)", seed: seed)
    }

    deinit { t.remove() }

    func run(steps: Int) throws {
        for (i, slug) in ["alpha", "bravo", "charlie"].enumerated() {
            let root = "root@\(slug).example"
            try ledger.administration.registerCompany(slug, admin: root, mailDomain: i == 2 ? nil : "\(slug).example")
            try ledger.administration.setAPIModule(slug, enabled: true, as: root)
            try ledger.administration.createProject(slug, project: "p0", as: root)
            companies.append(Company(slug: slug, root: root, users: (1...4).map { "u\($0)@\(slug).example" }, projects: ["p0"], admins: [root]))
            for user in companies[i].users.prefix(3) { try ledger.administration.setMemberRole(slug, email: user, role: .member, as: root) }
        }
        for step in 0..<steps {
            try self.step()
            if step == steps / 2 {
                // Mid-history: a rebuild, then a reopen; the history goes on from there.
                let live = try liveDigests(ledger)
                XCTAssertEqual(try ledger.maintenance.rebuildProjections().digests, live, "seed \(seed): mid-history rebuild differs")
                try t.reopen()
                XCTAssertEqual(try liveDigests(ledger), live, "seed \(seed): reopen changed the projections")
            }
        }
        try finish()
    }

    // MARK: steps

    private func step() throws {
        // A disabled API module is switched back on after a while.
        for i in companies.indices where !companies[i].enabled && dice.chance(10) {
            XCTAssertTrue(try ledger.administration.setAPIModule(companies[i].slug, enabled: true, as: companies[i].root))
            companies[i].enabled = true
        }
        let roll = dice.int(100)
        switch roll {
        case 0..<45: try useSomething()
        case 45..<49: t.clock.advance(seconds: Double(dice.int(1_800)))
        case 49..<58: createCredential()
        case 58..<66: grant()
        case 66..<68: revokeAccess()
        case 68..<71: rotate()
        case 71..<72: delete()
        case 72..<75: createProject()
        case 75..<76: archive()
        case 76..<79: memberRole()
        case 79..<82: userProjectRole()
        case 82..<83: toggleModule()
        case 83..<87: clientCredentials()
        case 87..<92: authorizationCode()
        case 92..<95: refresh()
        case 95..<96: revokeToken()
        case 96..<97: registerCompany()
        default: try introspect()
        }
    }

    private var company: Company { companies[dice.int(companies.count)] }

    /// Mostly the root admin; sometimes another user (maybe an admin by now, maybe not a member).
    private func actor(_ c: Company) -> String {
        dice.chance(85) ? c.root : dice.pick(c.users + ["stranger@nowhere.example"])
    }

    private func project(_ c: Company) -> String {
        c.projects.isEmpty || dice.chance(8) ? "nope" : dice.pick(c.projects)
    }

    private func credential() -> Credential? {
        credentials.isEmpty ? nil : credentials[dice.int(credentials.count)]
    }

    /// Runs a command; a `LedgerError` must leave the log untouched, an `OAuthError` must be recorded.
    private func attempt(_ label: String, _ body: () throws -> Void) {
        let before = t.head
        do {
            try body()
        } catch let error as LedgerError {
            refusals[error.code, default: 0] += 1
            XCTAssertEqual(t.head, before, "seed \(seed): refused \(label) (\(error.code)) changed the log")
        } catch let error as OAuthError {
            oauthDenials[error.reason.code, default: 0] += 1
            let reasons = ((try? t.events(after: before.seq)) ?? []).compactMap { e -> DenialReason? in
                if case .oauthRequestDenied(_, _, _, let r) = e.event.payload { return r }
                return nil
            }
            XCTAssertEqual(reasons, [error.reason], "seed \(seed): \(label) denial not recorded once")
        } catch {
            XCTFail("seed \(seed): \(label) failed unexpectedly: \(error)")
        }
    }

    private func useSomething() throws {
        // The header: a known key or token (maybe rotated out, deleted, expired…), or junk.
        var header: String
        var expectedOwner: String?
        let kind = dice.int(100)
        if kind < 55, !apiKeys.isEmpty {
            let key = dice.pick(apiKeys)
            header = "Apikey " + key
            expectedOwner = owner[key]
        } else if kind < 85, !accessTokens.isEmpty {
            let token = dice.pick(accessTokens)
            header = (dice.chance(10) ? "bearer " : "Bearer ") + token
            expectedOwner = owner[token]
        } else {
            header = dice.pick(["", "Basic Zm9vOmJhcg==", "Apikey cxk_short", "Bearer " + String(repeating: "x", count: 300),
                                try "Apikey " + SecretFormat.generate(.apiKey, using: SeededRandom(seed: dice.next()))])
            if let key = apiKeys.first, dice.chance(50) {
                var chars = Array(key)
                chars[10] = chars[10] == "Q" ? "R" : "Q"
                header = "Apikey " + String(chars)
            }
        }
        let c = expectedOwner.flatMap { id in credentials.first { $0.issued.id == id } }
        let companySlug: String
        switch dice.int(100) {
        case 0..<80: companySlug = c?.company ?? company.slug
        case 80..<95: companySlug = company.slug
        default: companySlug = "nope"
        }
        let projectSlug = companies.first { $0.slug == companySlug }.map(project) ?? "nope"
        let op: CredLedgerCore.Operation = dice.chance(50) ? .read : .write

        let decision: Decision
        switch dice.int(10) {
        case 0:
            decision = try ledger.access.authorize(header: header, company: companySlug, project: projectSlug, operation: op)
            try ledger.access.record(decision)
        default:
            decision = try ledger.access.check(header: header, company: companySlug, project: projectSlug, operation: op)
        }
        checks += 1
        // (At an unknown company there is no one to notify: the use is only in the owner's trail.)
        if let id = decision.credentialID, let owner = credentials.first(where: { $0.issued.id == id }), owner.company != companySlug,
           companies.contains(where: { $0.slug == companySlug }) {
            foreignNotices += 1
        }
        if let id = decision.credentialID {
            XCTAssertEqual(id, expectedOwner, "seed \(seed): a use was attributed to the wrong credential")
            var n = counts[id] ?? Counts()
            if decision.allowed {
                n.used += 1
                n.lastUsed = t.clock.now()
            } else {
                n.denied += 1
            }
            counts[id] = n
        } else {
            XCTAssertFalse(decision.allowed)
            unattributed += 1
        }
    }

    private func createCredential() {
        let c = company
        let type = dice.pick(CredentialType.allCases)
        let scope = dice.pick(Scope.allCases)
        var name = "cred \(credentials.count)"
        var uris = type.isUserDelegated ? [World.redirect, World.loopback] : []
        switch dice.int(20) {
        case 0: name = ""
        case 1: name = String(repeating: "n", count: 101)
        case 2: uris = type.isUserDelegated ? [] : [World.redirect]
        case 3: uris = type.isUserDelegated ? ["http://insecure.example/cb"] : uris
        default: break
        }
        attempt("create") {
            let issued = try ledger.administration.createCredential(c.slug, NewCredential(name: name, type: type, scope: scope, redirectURIs: uris), as: actor(c))
            credentials.append(Credential(issued: issued, company: c.slug, clientSecret: issued.clientSecret))
            if let key = issued.secret {
                apiKeys.append(key)
                owner[key] = issued.id
            }
        }
    }

    private func grant() {
        guard let cred = credential() else { return }
        let c = dice.chance(90) ? companies.first { $0.slug == cred.company }! : company
        let role = dice.pick(ProjectRole.allCases)
        attempt("grant") { try ledger.administration.grantAccess(c.slug, credential: cred.issued.id, project: project(c), role: role, as: actor(c)) }
    }

    private func revokeAccess() {
        guard let cred = credential() else { return }
        let c = companies.first { $0.slug == cred.company }!
        attempt("revoke access") { try ledger.administration.revokeAccess(c.slug, credential: cred.issued.id, project: project(c), as: actor(c)) }
    }

    private func rotate() {
        guard !credentials.isEmpty else { return }
        let index = dice.int(credentials.count)
        let cred = credentials[index]
        let c = companies.first { $0.slug == cred.company }!
        let grace = dice.pick([Int64(0), 60_000_000, 3_600_000_000])
        attempt("rotate") {
            let issued = try ledger.administration.rotateSecret(c.slug, credential: cred.issued.id, grace: grace, as: actor(c))
            if let key = issued.secret {
                apiKeys.append(key)
                owner[key] = issued.id
            }
            if let secret = issued.clientSecret {
                credentials[index].clientSecret = secret
            }
        }
    }

    private func delete() {
        guard !credentials.isEmpty else { return }
        let index = dice.int(credentials.count)
        let cred = credentials[index]
        let c = companies.first { $0.slug == cred.company }!
        attempt("delete") {
            try ledger.administration.deleteCredential(c.slug, credential: cred.issued.id, as: actor(c))
            credentials[index].deleted = true
        }
    }

    private func createProject() {
        let i = dice.int(companies.count)
        let slug = "p\(dice.int(6))"
        attempt("create project") {
            try ledger.administration.createProject(companies[i].slug, project: slug, as: actor(companies[i]))
            companies[i].projects.append(slug)
        }
    }

    private func archive() {
        let c = company
        attempt("archive") { try ledger.administration.archiveProject(c.slug, project: project(c), as: actor(c)) }
    }

    private func memberRole() {
        let i = dice.int(companies.count)
        let c = companies[i]
        if dice.chance(15), c.admins == [c.root] {
            // The only admin cannot step down.
            let before = t.head
            XCTAssertThrowsError(try ledger.administration.setMemberRole(c.slug, email: c.root, role: .member, as: c.root)) { error in
                XCTAssertEqual((error as? LedgerError)?.code, "last_admin")
            }
            XCTAssertEqual(t.head, before)
            return
        }
        let user = dice.pick(c.users)
        let role = dice.pick([CompanyRole.member, .member, .admin, .removed])
        attempt("member role") {
            try ledger.administration.setMemberRole(c.slug, email: user, role: role, as: actor(c))
            if role == .admin { companies[i].admins.insert(user) } else { companies[i].admins.remove(user) }
        }
    }

    private func userProjectRole() {
        let c = company
        let role: ProjectRole? = dice.chance(25) ? nil : dice.pick(ProjectRole.allCases)
        attempt("user project role") {
            try ledger.administration.setUserProjectRole(c.slug, project: project(c), email: dice.pick(c.users + [c.root]), role: role, as: actor(c))
        }
    }

    private func toggleModule() {
        let i = dice.int(companies.count)
        let c = companies[i]
        let enabled = dice.chance(20)
        attempt("module") {
            let changed = try ledger.administration.setAPIModule(c.slug, enabled: enabled, as: actor(c))
            XCTAssertEqual(changed, enabled != c.enabled, "seed \(seed): setAPIModule's answer")
            companies[i].enabled = enabled
        }
    }

    private func clientCredentials() {
        guard let cred = credentials.filter({ $0.issued.type == .oauth }).randomElement(using: &dice) else { return }
        let secret = dice.chance(85) ? cred.clientSecret! : cred.issued.clientSecret!
        attempt("client_credentials") {
            let token = try ledger.oauth.clientCredentialsToken(clientID: cred.issued.clientID!, clientSecret: secret)
            accessTokens.append(token.accessToken)
            owner[token.accessToken] = cred.issued.id
        }
    }

    private func authorizationCode() {
        let delegated = credentials.indices.filter { credentials[$0].issued.type.isUserDelegated }
        guard !delegated.isEmpty else { return }
        let index = dice.pick(delegated)
        let cred = credentials[index]
        let c = companies.first { $0.slug == cred.company }!
        if dice.chance(20), let old = codes.filter({ $0.credential == index }).randomElement(using: &dice) {
            // A replayed (or expired) code.
            attempt("replay code") {
                _ = try ledger.oauth.exchangeCode(clientID: cred.issued.clientID!, clientSecret: cred.clientSecret, code: old.code,
                                            codeVerifier: PKCEPair.verifier, redirectURI: World.redirect)
            }
            return
        }
        var code: String?
        attempt("authorize") {
            let grant = try ledger.oauth.approveClient(company: c.slug, clientID: cred.issued.clientID!, user: dice.pick(c.users + [c.root]),
                                             redirectURI: dice.chance(95) ? World.redirect : World.redirect2,
                                             codeChallenge: PKCEPair.challenge, codeChallengeMethod: dice.chance(95) ? "S256" : "plain", state: nil)
            code = grant.code
            codes.append((grant.code, index))
        }
        guard let code else { return }
        if dice.chance(10) { t.clock.advance(seconds: 61) }
        attempt("exchange") {
            let tokens = try ledger.oauth.exchangeCode(clientID: cred.issued.clientID!, clientSecret: dice.chance(95) ? cred.clientSecret : nil, code: code,
                                                 codeVerifier: dice.chance(90) ? PKCEPair.verifier : PKCEPair.otherVerifier,
                                                 redirectURI: World.redirect)
            accessTokens.append(tokens.accessToken)
            owner[tokens.accessToken] = cred.issued.id
            refreshTokens.append((tokens.refreshToken!, index))
        }
    }

    private func refresh() {
        guard let (token, index) = refreshTokens.randomElement(using: &dice) else { return }
        let cred = credentials[index]
        attempt("refresh") {
            let tokens = try ledger.oauth.refresh(clientID: cred.issued.clientID!, clientSecret: cred.clientSecret, refreshToken: token)
            accessTokens.append(tokens.accessToken)
            owner[tokens.accessToken] = cred.issued.id
            refreshTokens.append((tokens.refreshToken!, index))
        }
    }

    private func revokeToken() {
        guard let (token, index) = refreshTokens.randomElement(using: &dice) else { return }
        let cred = credentials[index]
        let target = dice.chance(50) ? token : (accessTokens.randomElement(using: &dice) ?? token)
        attempt("revoke token") { try ledger.oauth.revokeToken(target, clientID: cred.issued.clientID!, clientSecret: cred.clientSecret) }
    }

    private func registerCompany() {
        let slug = dice.chance(50) ? company.slug : "new\(dice.int(3))"
        attempt("register") {
            try ledger.administration.registerCompany(slug, admin: "root@\(slug).example")
            companies.append(Company(slug: slug, root: "root@\(slug).example", users: ["u1@\(slug).example"], projects: [],
                                     admins: ["root@\(slug).example"], enabled: false))
        }
    }

    /// Introspection by a confidential client, half the time the token's own: only its own tokens can be active,
    /// and only a refused caller writes (one oauth_request_denied, checked by `attempt`).
    private func introspect() throws {
        guard let token = (accessTokens + refreshTokens.map(\.token)).randomElement(using: &dice) else { return }
        let callers = credentials.filter { $0.clientSecret != nil && $0.issued.clientID != nil }
        let own = callers.first { $0.issued.id == owner[token] }
            ?? refreshTokens.first { $0.token == token }.map { credentials[$0.credential] }.flatMap { $0.clientSecret == nil ? nil : $0 }
        guard let caller = dice.chance(50) ? (own ?? callers.randomElement(using: &dice)) : callers.randomElement(using: &dice) else { return }
        let before = t.head
        attempt("introspect") {
            let info = try ledger.oauth.introspect(token, clientID: caller.issued.clientID!, clientSecret: caller.clientSecret)
            if info.active { XCTAssertEqual(info.clientID, caller.issued.clientID, "seed \(seed): a client saw another client's token") }
            XCTAssertEqual(t.head, before, "seed \(seed): a successful introspection wrote to the log")
        }
    }

    // MARK: the end

    private func finish() throws {
        if ProcessInfo.processInfo.environment["HISTORY_STATS"] != nil {
            print("seed \(seed): checks \(checks) used \(counts.values.map(\.used).reduce(0, +)) denied \(counts.values.map(\.denied).reduce(0, +)) unattributed \(unattributed) creds \(credentials.count) refusals \(refusals) oauth \(oauthDenials) events \(t.head.seq)")
        }
        // Rules were exercised in both directions.
        XCTAssertGreaterThan(checks, 60, "seed \(seed)")
        XCTAssertGreaterThan(refusals.values.reduce(0, +), 10, "seed \(seed): \(refusals)")
        XCTAssertGreaterThan(counts.values.map(\.used).reduce(0, +), 5, "seed \(seed): too few allowed uses")
        XCTAssertGreaterThan(counts.values.map(\.denied).reduce(0, +), 5, "seed \(seed): too few denied uses")

        // Digests: live == verify's rebuild == rebuildProjections, and a reopen changes nothing.
        let live = try liveDigests(ledger)
        let report = try ledger.audit.verify()
        XCTAssertTrue(report.ok, "seed \(seed): \(String(describing: report.chainFailure)) \(report.projections.filter { !$0.matches }.map(\.name))")
        XCTAssertEqual(report.head, t.head)
        for p in report.projections {
            XCTAssertEqual(p.live, live[p.name], "seed \(seed): \(p.name)")
            XCTAssertEqual(p.lastSeq, t.head.seq, "seed \(seed): \(p.name) checkpoint lags")
        }
        let rebuilt = try ledger.maintenance.rebuildProjections()
        XCTAssertEqual(rebuilt.events, t.head.seq)
        XCTAssertEqual(rebuilt.digests, live, "seed \(seed): rebuild differs from the live projections")
        XCTAssertEqual(try liveDigests(ledger), live)

        // The sequence is dense and every use is a credential_used event.
        var expectedSeq: UInt64 = 1
        var uses = 0
        try ledger.audit.forEachEvent { stored in
            XCTAssertEqual(stored.event.seq, expectedSeq)
            expectedSeq += 1
            if case .credentialUsed = stored.event.payload { uses += 1 }
            return true
        }
        XCTAssertEqual(uses, checks + foreignNotices, "seed \(seed): not every answer was recorded")
        XCTAssertGreaterThan(foreignNotices, 0, "seed \(seed): no use at another company")

        // Counters: Used / denied / Last used per credential equal ours.
        var attributed: UInt64 = 0
        for c in companies {
            let root = c.root
            _ = try? ledger.administration.setAPIModule(c.slug, enabled: true, as: root)
            for row in try ledger.audit.credentialTable(c.slug, as: root, includeDeleted: true) {
                let mine = counts[row.id] ?? Counts()
                XCTAssertEqual(row.used, mine.used, "seed \(seed): Used of \(row.name)")
                XCTAssertEqual(row.denied, mine.denied, "seed \(seed): denied of \(row.name)")
                XCTAssertEqual(row.lastUsed, mine.lastUsed, "seed \(seed): Last used of \(row.name)")
                XCTAssertEqual(row.deleted, credentials.first { $0.issued.id == row.id }?.deleted, "seed \(seed): deleted flag of \(row.name)")
                attributed += row.used + row.denied
                // The daily rollups add up to the same counts.
                let daily = try ledger.audit.withState { state -> (UInt64, UInt64) in
                    let number = try XCTUnwrap(try state.credential(publicID: row.id)).number
                    return try state.dailyUsage(credential: number).reduce((0, 0)) { ($0.0 + $1.usage.allowed, $0.1 + $1.usage.denied) }
                }
                XCTAssertEqual(daily.0, mine.used, "seed \(seed): daily allowed of \(row.name)")
                XCTAssertEqual(daily.1, mine.denied, "seed \(seed): daily denied of \(row.name)")
            }
        }
        XCTAssertEqual(attributed + UInt64(unattributed), UInt64(checks), "seed \(seed)")
        XCTAssertEqual(Set(counts.keys).subtracting(credentials.map(\.issued.id)), [], "uses attributed to unknown credentials")
    }
}

extension Dice: RandomNumberGenerator {}
