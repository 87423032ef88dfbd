import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 4: the authorization matrix — type × scope × membership × operation × where — and the
/// rule that every answer is recorded as a use.
final class AuthorizationMatrixTests: XCTestCase {
    private var t: TestLedger!

    override func setUpWithError() throws {
        t = try TestLedger("matrix", seed: 4)
        try t.makeWorld()
    }

    override func tearDown() {
        t?.remove()
        t = nil
    }

    private var ledger: Ledger { t.ledger }

    enum Membership: String, CaseIterable {
        case none, viewer, editor
        var project: String { "p-\(rawValue)" }
        var role: ProjectRole? { self == .none ? nil : (self == .viewer ? .viewer : .editor) }
    }

    enum Place: String, CaseIterable {
        /// The membership's project in the credential's own company.
        case own
        /// beta's project, asked for as beta.
        case otherCompany
        /// beta's project slug, asked for as acme (where no such project exists).
        case otherSlugInOwnCompany
    }

    /// The expected answer, written from the spec (seeds + SPEC §2), not from the code.
    static func expected(_ type: CredentialType, _ scope: Scope, _ membership: Membership, _ op: CredLedgerCore.Operation,
                         _ place: Place) -> DenialReason? {
        switch place {
        case .otherCompany: return .otherCompany
        case .otherSlugInOwnCompany: return .unknownProject
        case .own: break
        }
        // Service users with GLOBAL scope reach every company project without setup.
        if type.hasServiceUser && scope == .global { return nil }
        // Service users need a grant; PKCE tokens act with the approving user's own project role.
        let held: Capability = membership.role?.capability ?? .none
        if held == .none { return type.hasServiceUser ? .projectAccessMissing : .userNotMember }
        if op == .read { return nil }
        if scope == .read { return .readOnlyScope }
        if held == .read { return .readOnlyRole }
        return nil
    }

    func testMatrix() throws {
        for m in Membership.allCases { try ledger.administration.createProject(World.acme, project: m.project, as: World.alice) }
        // bob (a member, not an admin) approves the PKCE clients; his own roles mirror the service users' grants.
        for m in Membership.allCases {
            if let role = m.role { try ledger.administration.setUserProjectRole(World.acme, project: m.project, email: World.bob, role: role, as: World.alice) }
        }
        struct Subject {
            var issued: IssuedCredential
            var header: String
        }
        var subjects: [Subject] = []
        for type in CredentialType.allCases {
            for scope in Scope.allCases {
                let issued = try t.create(type, scope)
                for m in Membership.allCases {
                    guard let role = m.role, type.hasServiceUser else { continue }
                    if scope == .global {
                        assertRefused("global_scope_needs_no_grant", t) {
                            try self.ledger.administration.grantAccess(World.acme, credential: issued.id, project: m.project, role: role, as: World.alice)
                        }
                    } else {
                        XCTAssertEqual(try ledger.administration.grantAccess(World.acme, credential: issued.id, project: m.project, role: role, as: World.alice), .granted)
                    }
                }
                subjects.append(Subject(issued: issued, header: try t.header(for: issued, user: World.bob)))
            }
        }
        XCTAssertEqual(subjects.count, 12)

        let start = t.head.seq
        var asked: [(label: String, op: CredLedgerCore.Operation, decision: Decision)] = []
        var counts: [String: (allowed: Int, denied: Int)] = [:]
        for subject in subjects {
            let type = subject.issued.type, scope = subject.issued.scope
            for m in Membership.allCases {
                for op in CredLedgerCore.Operation.allCases {
                    for place in Place.allCases {
                        let (company, project): (String, String) = switch place {
                        case .own: (World.acme, m.project)
                        case .otherCompany: (World.beta, World.betaProject)
                        case .otherSlugInOwnCompany: (World.acme, World.betaProject)
                        }
                        let label = "\(type.name)/\(scope.name)/\(m.rawValue)/\(op.name)/\(place.rawValue)"
                        let decision = try ledger.access.check(header: subject.header, company: company, project: project, operation: op)
                        let want = Self.expected(type, scope, m, op, place)
                        XCTAssertEqual(decision.denial?.code ?? "allowed", want?.code ?? "allowed", label)
                        XCTAssertEqual(decision.allowed, want == nil, label)
                        XCTAssertEqual(decision.credentialID, subject.issued.id, label)
                        if decision.allowed {
                            XCTAssertTrue(decision.capability.allows(op), label)
                            XCTAssertEqual(decision.principal, type.hasServiceUser ? subject.issued.serviceUser : World.bob, label)
                        }
                        asked.append((label, op, decision))
                        var c = counts[subject.issued.id] ?? (0, 0)
                        if decision.allowed { c.allowed += 1 } else { c.denied += 1 }
                        counts[subject.issued.id] = c
                    }
                }
            }
        }
        XCTAssertEqual(asked.count, 12 * 3 * 2 * 3)

        // Every answer is recorded: per credential, used + denied == checks made; allowed ones are "Used".
        for row in try ledger.audit.credentialTable(World.acme, as: World.alice) {
            let c = counts[row.id] ?? (0, 0)
            XCTAssertEqual(row.used, UInt64(c.allowed), row.name)
            XCTAssertEqual(row.denied, UInt64(c.denied), row.name)
            XCTAssertEqual(row.used + row.denied, 18, row.name)
            XCTAssertEqual(row.lastUsed == nil, c.allowed == 0, row.name)
        }
        // And in the log, in order: one credential_used per answer in acme (the credential's company), with its
        // operation and reason; an answer at beta is `cross_company` with beta as the target, followed by beta's
        // anonymous `foreign_credential` attempt (issue 11).
        let (acme, beta) = try ledger.audit.withState { (try $0.company(slug: World.acme)!.number, try $0.company(slug: World.beta)!.number) }
        let crossAnswers = asked.filter { $0.label.hasSuffix("/otherCompany") }.count
        XCTAssertEqual(crossAnswers, 12 * 3 * 2)
        var uses = try t.events(after: start).map(\.event)[...]
        XCTAssertEqual(uses.count, asked.count + crossAnswers)
        for (label, op, decision) in asked {
            guard let event = uses.popFirst(), case .credentialUsed(let use) = event.payload else {
                XCTFail("\(label): expected credential_used")
                continue
            }
            let cross = label.hasSuffix("/otherCompany")
            XCTAssertEqual(use.denial?.code, cross ? "cross_company" : decision.denial?.code, label)
            XCTAssertEqual(use.operation, op, label)
            XCTAssertNotEqual(use.credential, 0, label)
            XCTAssertEqual(event.actor, .credential(use.credential), label)
            XCTAssertEqual(event.company, acme, label)
            XCTAssertEqual(use.targetCompany, cross ? beta : 0, label)
            if cross {
                XCTAssertEqual(use.project, 0, label)
                guard let notice = uses.popFirst(), case .credentialUsed(let anonymous) = notice.payload else {
                    XCTFail("\(label): expected beta's anonymous credential_used")
                    continue
                }
                XCTAssertEqual(notice.company, beta, label)
                XCTAssertEqual(notice.actor, .system, label)
                XCTAssertEqual(anonymous, CredentialUse(credential: 0, project: anonymous.project, operation: op, denial: .foreignCredential), label)
                XCTAssertNotEqual(anonymous.project, 0, label)
            }
        }
        XCTAssertTrue(try ledger.audit.verify().ok)
    }

    func testGlobalServiceUsersReachProjectsCreatedLater() throws {
        let key = try t.create(.staticKey, .global)
        let oauth = try t.create(.oauth, .global)
        let headers = [try t.header(for: key), try t.header(for: oauth)]
        try ledger.administration.createProject(World.acme, project: "later", as: World.alice)
        for header in headers {
            for project in [World.bridge, World.tunnel, "later"] {
                for op in CredLedgerCore.Operation.allCases { assertAllowed(try t.check(header, project, op)) }
            }
            assertDenied(try t.check(header, World.betaProject, .read, company: World.beta), .otherCompany)
        }
        // A non-global key does not reach the new project.
        let scoped = try t.create(.staticKey, .readWrite)
        try ledger.administration.grantAccess(World.acme, credential: scoped.id, project: World.bridge, role: .editor, as: World.alice)
        assertDenied(try t.check("Apikey " + scoped.secret!, "later", .read), .projectAccessMissing)
    }

    func testAdminsApprovingPKCEReachEveryProjectCappedByScope() throws {
        for type in [CredentialType.pkce, .pkcePublic] {
            var headers: [Scope: String] = [:]
            for scope in Scope.allCases {
                headers[scope] = try t.header(for: try t.create(type, scope), user: World.alice)
            }
            let later = "later-\(type.name)"
            try ledger.administration.createProject(World.acme, project: later, as: World.alice)
            for project in [World.bridge, World.tunnel, later] {
                for scope in Scope.allCases {
                    let header = headers[scope]!
                    let read = try t.check(header, project, .read)
                    assertAllowed(read)
                    XCTAssertEqual(read.principal, World.alice)
                    let write = try t.check(header, project, .write)
                    if scope == .read { assertDenied(write, .readOnlyScope) } else { assertAllowed(write) }
                }
            }
            // Still never another company's project.
            assertDenied(try t.check(headers[.global]!, World.betaProject, .read, company: World.beta), .otherCompany)
        }
    }

    func testAccessChangesTakeEffectOnTheNextCheck() throws {
        let key = try t.create(.staticKey, .readWrite)
        let header = "Apikey " + key.secret!
        assertDenied(try t.check(header, World.bridge, .read), .projectAccessMissing)
        try ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice)
        assertAllowed(try t.check(header, World.bridge, .read))
        assertDenied(try t.check(header, World.bridge, .write), .readOnlyRole)
        try ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .projectAdmin, as: World.alice)
        assertAllowed(try t.check(header, World.bridge, .write))
        try ledger.administration.revokeAccess(World.acme, credential: key.id, project: World.bridge, as: World.alice)
        assertDenied(try t.check(header, World.bridge, .read), .projectAccessMissing)

        // PKCE: the approving user's own role, read at each check.
        let client = try t.create(.pkce, .readWrite)
        let bearer = try t.header(for: client, user: World.carol)
        assertDenied(try t.check(bearer, World.bridge, .read), .userNotMember)
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.carol, role: .editor, as: World.alice)
        assertAllowed(try t.check(bearer, World.bridge, .write))
        try ledger.administration.setUserProjectRole(World.acme, project: World.bridge, email: World.carol, role: .viewer, as: World.alice)
        assertDenied(try t.check(bearer, World.bridge, .write), .readOnlyRole)
        // Promoted to admin: every project; removed from the company: nothing.
        try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .admin, as: World.alice)
        assertAllowed(try t.check(bearer, World.tunnel, .write))
        // (The clock stands still here: grants given after an approval reach its tokens only at the same microsecond,
        // see Issue11AccessEndTests.) A removal revokes the user's tokens.
        try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .removed, as: World.alice)
        assertDenied(try t.check(bearer, World.bridge, .read), .tokenRevoked)
        assertDenied(try t.check(bearer, World.tunnel, .read), .tokenRevoked)
    }

    func testModuleDisabledAndUnknownCompanyAreDeniedAndRecorded() throws {
        let key = try t.create(.staticKey, .global)
        let header = "Apikey " + key.secret!
        try ledger.administration.setAPIModule(World.acme, enabled: false, as: World.alice)
        assertDenied(try t.check(header, World.bridge, .read), .apiModuleDisabled)
        try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice)
        assertAllowed(try t.check(header, World.bridge, .read))
        let before = t.head.seq
        let unknown = try ledger.access.check(header: header, company: "nope", project: World.bridge, operation: .read)
        assertDenied(unknown, .unknownCompany)
        let events = try t.events(after: before)
        XCTAssertEqual(events.count, 1)
        guard case .credentialUsed(let use) = events.first?.event.payload else { return XCTFail("not recorded") }
        XCTAssertEqual(use.denial, .unknownCompany)
        let row = try t.row(key.id)
        XCTAssertEqual(row.used, 1)
        XCTAssertEqual(row.denied, 2, "a use at an unknown company is recorded in the credential's own company")
        XCTAssertEqual(events.first?.event.company, try ledger.audit.withState { try $0.company(slug: World.acme)!.number })
    }

    func testAuthorizeDecidesWithoutRecordingAndRecordRecords() throws {
        let key = try t.create(.staticKey, .global)
        let before = t.head
        let decision = try ledger.access.authorize(header: "Apikey " + key.secret!, company: World.acme, project: World.bridge, operation: .write)
        assertAllowed(decision)
        XCTAssertEqual(t.head, before, "authorize alone must not write")
        try ledger.access.record(decision)
        XCTAssertEqual(t.head.seq, before.seq + 1)
        XCTAssertEqual(try t.row(key.id).used, 1)
    }
}
