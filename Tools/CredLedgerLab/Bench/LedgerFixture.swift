import CredLedger
import CredLedgerCore
import Foundation

/// The realistic shape the benchmarks run on: companies with admins and members, projects, credentials of every
/// type and scope, project grants, OAuth tokens, some deleted credentials — all made through the public admin
/// and OAuth API (so building it also measures the admin operations).
final class LedgerFixture: @unchecked Sendable {
    struct Shape {
        var companies: Int
        var projects: Int
        var credentials: Int
        /// Share of credentials deleted at the end (their uses are denied as revoked).
        var deletedShare = 0.02
        /// Concurrent callers used to build it (admin commands are durable: they batch only when concurrent).
        var workers = 16
        /// Admin ops timed one at a time (a single caller, no batching).
        var sequentialSample = 40
    }

    struct Company {
        var slug: String
        var admin: String
        var members: [String]
        var projects: [Int]
    }

    struct Project {
        var company: Int
        var slug: String
    }

    struct Credential {
        var company: Int
        var id: String
        var type: CredentialType
        var scope: Scope
        /// The `Authorization` header value it authenticates with (nil: no secret or token issued).
        var header: String?
        var isBearer: Bool
        /// Projects its principal has a role on (grants, or the approving user's roles).
        var projects: [Int]
        var deleted = false
    }

    /// One timed admin phase.
    struct AdminRate {
        var name: String
        var operations: Int
        var seconds: Double
        var callers: Int
        var perSecond: Double { seconds > 0 ? Double(operations) / seconds : 0 }
        var json: [String: Any] {
            ["operations": operations, "seconds": BenchFormat.round(seconds, 4), "callers": callers,
             "per_s": BenchFormat.round(perSecond, 0)]
        }
    }

    let ledger: Ledger
    let shape: Shape
    private(set) var companies: [Company] = []
    private(set) var projects: [Project] = []
    private(set) var credentials: [Credential] = []
    private(set) var rates: [AdminRate] = []

    init(ledger: Ledger, shape: Shape) {
        self.ledger = ledger
        self.shape = shape
    }

    /// Builds everything; `progress` gets a line per phase.
    func build(progress: (String) -> Void) throws {
        var random = BenchRandom(seed: 42)
        let companyCount = max(1, shape.companies)
        let projectCount = max(companyCount, shape.projects)
        let ledger = self.ledger

        // Companies, their admins, API module, a few members.
        companies = (0..<companyCount).map { c in
            Company(slug: "company-\(c)", admin: "admin@c\(c).example", members: (0..<4).map { "user\($0)@c\(c).example" }, projects: [])
        }
        let companyList = companies
        try timed("company_setup", companyCount, operations: companyCount * 6) { i in
            let c = companyList[i]
            try ledger.administration.registerCompany(c.slug, admin: c.admin, name: "Company \(i)", mailDomain: "c\(i).example")
            try ledger.administration.setAPIModule(c.slug, enabled: true, as: c.admin)
            for m in c.members { try ledger.administration.setMemberRole(c.slug, email: m, role: .member, as: c.admin) }
        }
        progress("  \(companyCount) companies")

        // Projects, spread evenly.
        projects = (0..<projectCount).map { p in Project(company: p % companyCount, slug: "project-\(p)") }
        for (p, project) in projects.enumerated() { companies[project.company].projects.append(p) }
        let projectList = projects
        try timed("create_project", projectCount) { p in
            let project = projectList[p]
            try ledger.administration.createProject(companyList[project.company].slug, project: project.slug, as: companyList[project.company].admin)
        }
        progress("  \(projectCount) projects")

        // Credentials of mixed types and scopes; companies get a Zipf-ish share.
        let companyPick = Zipf(count: companyCount, exponent: 0.6, random: &random)
        var plans: [(company: Int, type: CredentialType, scope: Scope)] = []
        for _ in 0..<shape.credentials {
            let u = random.unit()
            let type: CredentialType = u < 0.55 ? .staticKey : u < 0.85 ? .oauth : u < 0.95 ? .pkce : .pkcePublic
            let s = random.unit()
            let scope: Scope = s < 0.35 ? .read : s < 0.80 ? .readWrite : .global
            plans.append((companyPick.sample(&random), type, scope))
        }
        let issued = Locked([Int: IssuedCredential]())
        let planList = plans
        try timed("create_credential", plans.count) { i in
            let plan = planList[i]
            let company = companyList[plan.company]
            let request = NewCredential(name: "key \(i)", type: plan.type, scope: plan.scope,
                                        redirectURIs: plan.type.isUserDelegated ? ["https://app\(i).example/callback"] : [])
            let credential = try ledger.administration.createCredential(company.slug, request, as: company.admin)
            issued.withLock { $0[i] = credential }
        }
        let issuedAll = issued.withLock { $0 }
        credentials = plans.enumerated().map { i, plan in
            let c = issuedAll[i]!
            return Credential(company: plan.company, id: c.id, type: plan.type, scope: plan.scope,
                              header: c.secret.map { "Apikey " + $0 }, isBearer: false, projects: [])
        }
        progress("  \(credentials.count) credentials")

        // Grants: non-global service users get 1…3 projects of their company.
        var grants: [(credential: Int, project: Int, role: ProjectRole)] = []
        for (i, c) in credentials.enumerated() {
            let own = companies[c.company].projects
            if c.type.hasServiceUser && c.scope != .global {
                var chosen = Set<Int>()
                for _ in 0..<(1 + random.below(3)) { chosen.insert(own[random.below(own.count)]) }
                for p in chosen.sorted() {
                    grants.append((i, p, ProjectRole.allCases[random.below(ProjectRole.allCases.count)]))
                    credentials[i].projects.append(p)
                }
            } else if c.type.hasServiceUser {
                credentials[i].projects = own
            }
        }
        let credentialList = credentials
        let grantList = grants
        try timed("grant_access", grants.count) { g in
            let grant = grantList[g]
            let c = credentialList[grant.credential]
            let company = companyList[c.company]
            try ledger.administration.grantAccess(company.slug, credential: c.id, project: projectList[grant.project].slug, role: grant.role, as: company.admin)
        }
        progress("  \(grants.count) grants")

        // Members' own project roles (what PKCE tokens act with).
        var userRoles: [(company: Int, member: Int, project: Int, role: ProjectRole)] = []
        for (ci, company) in companies.enumerated() {
            for m in company.members.indices {
                for p in company.projects where random.unit() < 0.5 {
                    userRoles.append((ci, m, p, ProjectRole.allCases[random.below(ProjectRole.allCases.count)]))
                }
            }
        }
        let roleList = userRoles
        try timed("set_user_project_role", roleList.count) { r in
            let role = roleList[r]
            let company = companyList[role.company]
            try ledger.administration.setUserProjectRole(company.slug, project: projectList[role.project].slug, email: company.members[role.member],
                                          role: role.role, as: company.admin)
        }

        // Tokens: client_credentials for OAuth API users; authorization code + PKCE for user-delegated clients.
        let tokens = Locked([Int: String]())
        let secrets = issuedAll
        let tokenTargets = credentials.indices.filter { credentials[$0].type != .staticKey }
        let memberProjects: [[Int]] = companies.indices.map { ci in roleList.filter { $0.company == ci && $0.member == 0 }.map(\.project) }
        let pkceCount = tokenTargets.filter { credentials[$0].type.isUserDelegated }.count
        try timed("issue_token", tokenTargets.count, operations: tokenTargets.count + pkceCount) { t in
            let i = tokenTargets[t]
            let c = credentialList[i]
            let issued = secrets[i]!
            if c.type == .oauth {
                let response = try ledger.oauth.clientCredentialsToken(clientID: issued.clientID!, clientSecret: issued.clientSecret!)
                tokens.withLock { $0[i] = response.accessToken }
            } else {
                let company = companyList[c.company]
                let verifier = "bench-verifier-\(i)-" + String(repeating: "v", count: 40)
                let redirect = "https://app\(i).example/callback"
                let grant = try ledger.oauth.approveClient(company: company.slug, clientID: issued.clientID!, user: company.members[0],
                                                 redirectURI: redirect, codeChallenge: PKCE.challenge(for: verifier),
                                                 codeChallengeMethod: "S256", state: nil)
                let response = try ledger.oauth.exchangeCode(clientID: issued.clientID!, clientSecret: issued.clientSecret, code: grant.code,
                                                       codeVerifier: verifier, redirectURI: redirect)
                tokens.withLock { $0[i] = response.accessToken }
            }
        }
        for (i, token) in tokens.withLock({ $0 }) {
            credentials[i].header = "Bearer " + token
            credentials[i].isBearer = true
            if credentials[i].type.isUserDelegated { credentials[i].projects = memberProjects[credentials[i].company] }
        }
        progress("  \(tokenTargets.count) tokens, \(roleList.count) user project roles")

        // Deletes (revocations): a small share, spread over the id space.
        let deleteCount = Int(Double(credentials.count) * shape.deletedShare)
        let toDelete = Array(credentials.indices.shuffled(using: &random).prefix(deleteCount))
        let deleteList = credentials
        try timed("delete_credential", toDelete.count) { d in
            let c = deleteList[toDelete[d]]
            let company = companyList[c.company]
            try ledger.administration.deleteCredential(company.slug, credential: c.id, as: company.admin)
        }
        for i in toDelete { credentials[i].deleted = true }
        progress("  \(toDelete.count) deletes")

        // One caller at a time (each waits for its own durable commit): creates, grants, deletes.
        try sequentialSample(&random)
    }

    private func sequentialSample(_ random: inout BenchRandom) throws {
        let n = shape.sequentialSample
        guard n > 0, let company = companies.first, let project = company.projects.first else { return }
        var created: [String] = []
        var start = BenchClock.nanos()
        for i in 0..<n {
            created.append(try ledger.administration.createCredential(
                company.slug, NewCredential(name: "sequential \(i)", type: .staticKey, scope: .read), as: company.admin).id)
        }
        rates.append(AdminRate(name: "create_credential_1caller", operations: n, seconds: BenchClock.seconds(since: start), callers: 1))
        start = BenchClock.nanos()
        for id in created {
            try ledger.administration.grantAccess(company.slug, credential: id, project: projects[project].slug, role: .viewer, as: company.admin)
        }
        rates.append(AdminRate(name: "grant_access_1caller", operations: n, seconds: BenchClock.seconds(since: start), callers: 1))
        start = BenchClock.nanos()
        for id in created { try ledger.administration.deleteCredential(company.slug, credential: id, as: company.admin) }
        rates.append(AdminRate(name: "delete_credential_1caller", operations: n, seconds: BenchClock.seconds(since: start), callers: 1))
    }

    private func timed(_ name: String, _ count: Int, operations: Int? = nil, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        let start = BenchClock.nanos()
        try BenchParallel.forEach(count, workers: shape.workers, body)
        rates.append(AdminRate(name: name, operations: operations ?? count, seconds: BenchClock.seconds(since: start), callers: shape.workers))
    }
}
