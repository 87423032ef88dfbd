import XCTest

import CredLedgerCore
import CredLedgerProjections

/// Generates a seeded, valid event history (what the writer could have logged) and keeps an independent
/// model of what the projections must then contain.
struct HistoryGenerator {
    struct Credential {
        var number: UInt32
        var company: UInt32
        var type: CredentialType
        var scope: Scope
        var deleted = false
        var deletedAt: Timestamp = 0
        var hashes: [SHA256Digest] = []
    }

    struct Usage: Equatable {
        var used: UInt64 = 0, denied: UInt64 = 0
        var lastUsed: Timestamp = 0, firstUsed: Timestamp = 0, lastDenied: Timestamp = 0
    }

    let random: SeededRandom
    var events: [Event] = []
    var time: Timestamp = t2026 - 3 * 86_400_000_000 + 86_399_000_000   // just before a midnight
    var companies: [UInt32] = []
    var users: [UInt32: [UInt32]] = [:]
    var projects: [UInt32: [UInt32]] = [:]
    var archived: Set<UInt32> = []
    var credentials: [UInt32: Credential] = [:]
    var access: [[UInt32]: RoleGrant] = [:]          // [credential, project]
    var userRoles: [[UInt32]: RoleGrant] = [:]       // [user, project]
    var codes: [(credential: UInt32, user: UInt32, hash: SHA256Digest, used: Bool)] = []
    var families: [UInt64: (credential: UInt32, user: UInt32, refresh: SHA256Digest?, tokens: [SHA256Digest])] = [:]
    var tokenStatus: [SHA256Digest: TokenRecord.Status] = [:]
    var tokenExpires: [SHA256Digest: Timestamp] = [:]
    var codeStatus: [SHA256Digest: CodeRecord.Status] = [:]
    /// Every secret hash ever issued → its `secrets` row end (0 = current), or nil once the row is gone.
    var secretValidUntil: [SHA256Digest: Timestamp?] = [:]
    var usage: [UInt32: Usage] = [:]
    var daily: [[UInt32]: DailyUsage] = [:]        // [credential, day, project]
    private var nextUser: UInt32 = 1, nextProject: UInt32 = 1, nextCredential: UInt32 = 1

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    private func below(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
    private func chance(_ percent: Int) -> Bool { below(100) < percent }
    private func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    private func freshDigest() -> SHA256Digest { SHA256Digest(bytes: random.bytes(32))! }

    private mutating func emit(_ company: UInt32, _ actor: Actor, _ payload: EventPayload) {
        switch below(10) {
        case 0...2: break                                              // same microsecond
        case 3...6: time += Int64(1 + below(5_000))
        case 7, 8: time += Int64(below(600)) * 1_000_000
        default: time += Int64(below(30)) * 3_600_000_000             // crosses days
        }
        events.append(Event(seq: UInt64(events.count + 1), timestamp: time, company: company, actor: actor, payload: payload))
    }

    /// The expiries the last (token) event carries.
    private mutating func noteExpiries() {
        switch events.last?.payload {
        case .tokenIssued(let i)?:
            tokenExpires[i.accessHash] = i.accessExpiresAt
            if let r = i.refreshHash { tokenExpires[r] = i.refreshExpiresAt }
        case .tokenRefreshed(let r)?:
            tokenExpires[r.accessHash] = r.accessExpiresAt
            tokenExpires[r.refreshHash] = r.refreshExpiresAt
        default:
            break
        }
    }

    private func admin(_ company: UInt32) -> Actor { users[company]?.first.map { .user($0) } ?? .system }

    mutating func generate(_ count: Int) {
        while events.count < count { step() }
    }

    private mutating func step() {
        if companies.isEmpty || chance(2) {
            let c = UInt32(companies.count + 1)
            companies.append(c)
            emit(c, .system, .companyRegistered(slug: "co-\(c)", name: "Company \(c)", mailDomain: "co\(c).example"))
            emit(c, .system, .apiModuleEnabled)
            return
        }
        let company = pick(companies)
        let companyProjects = projects[company] ?? []
        let companyUsers = users[company] ?? []
        let companyCredentials = credentials.values.filter { $0.company == company }.sorted { $0.number < $1.number }
        let live = companyCredentials.filter { !$0.deleted }
        let roll = below(100)
        switch roll {
        case 0..<4:
            let user: UInt32
            if companyUsers.isEmpty || chance(60) {
                user = nextUser
                nextUser += 1
                users[company, default: []].append(user)
            } else {
                user = pick(companyUsers)
            }
            let role: CompanyRole = companyUsers.isEmpty ? .admin : pick(CompanyRole.allCases)
            emit(company, admin(company), .memberRoleSet(user: user, email: "User\(user)@co\(company).example", role: role))
            if role == .removed {
                // A removal ends the user's tokens, codes and project roles in the company.
                for f in families.values where f.user == user && credentials[f.credential]!.company == company {
                    for t in f.tokens where tokenStatus[t] == .active { tokenStatus[t] = .revoked }
                }
                for i in codes.indices where codes[i].user == user && credentials[codes[i].credential]!.company == company && !codes[i].used {
                    codes[i].used = true
                    codeStatus[codes[i].hash] = .revoked
                }
                for p in projects[company] ?? [] { userRoles[[user, p]] = nil }
            }
        case 4..<9:
            let p = nextProject
            nextProject += 1
            projects[company, default: []].append(p)
            emit(company, admin(company), .projectCreated(project: p, slug: "p\(p)", name: "Project \(p)"))
        case 9 where !companyProjects.isEmpty:
            let p = pick(companyProjects)
            archived.insert(p)
            emit(company, admin(company), .projectArchived(project: p))
        case 10 where chance(30):
            emit(company, admin(company), pick([EventPayload.apiModuleDisabled, .apiModuleEnabled]))
        case 11..<17:
            let n = nextCredential
            nextCredential += 1
            let type = pick(CredentialType.allCases)
            let scope = pick(Scope.allCases)
            let hash: SHA256Digest? = type.hasSecret ? freshDigest() : nil
            let client = type == .staticKey ? "" : "cxc_client\(n)"
            credentials[n] = Credential(number: n, company: company, type: type, scope: scope, hashes: hash.map { [$0] } ?? [])
            if let hash { secretValidUntil[hash] = .some(0) }
            emit(company, admin(company), .credentialCreated(CredentialCreated(
                credential: n, type: type, scope: scope, publicID: "cred_\(n)", name: "Key \(n)",
                serviceUser: type.hasServiceUser ? "apiservice+s\(n)@co\(company).example" : "",
                displayPrefix: type == .staticKey ? "cxk_pre\(n)" : client, clientID: client, secretHash: hash,
                expiresAt: chance(20) ? time + 86_400_000_000 : 0,
                redirectURIs: type.isUserDelegated ? (0..<below(3)).map { "https://app\(n).example/cb\($0)" } : [])))
        case 17..<20:
            guard let c = live.filter({ $0.type.hasSecret }).pickOne(random) else { return }
            let hash = freshDigest()
            let grace: Timestamp = switch below(3) {
            case 0: 0
            case 1: time - 1                                            // already over
            default: time + Int64(1 + below(3_600)) * 1_000_000
            }
            emit(company, admin(company), .secretRotated(credential: c.number, secretHash: hash, displayPrefix: "cxk_rot\(c.number)",
                                                         graceUntil: grace))
            // An old secret stays valid until the earlier of its own end and the new grace end; once that is
            // not after the rotation its row goes.
            var kept: [SHA256Digest] = []
            for old in c.hashes {
                guard let current = secretValidUntil[old] ?? nil else { continue }
                let until = current == 0 ? grace : min(current, grace)
                if until <= time {
                    secretValidUntil[old] = .some(nil)
                } else {
                    secretValidUntil[old] = .some(until)
                    kept.append(old)
                }
            }
            secretValidUntil[hash] = .some(0)
            credentials[c.number]!.hashes = [hash] + kept
            // Tokens obtained with the old secrets end with them.
            for f in families.values where f.credential == c.number {
                for t in f.tokens where tokenStatus[t] == .active && tokenExpires[t]! > grace {
                    tokenExpires[t] = grace
                    if grace <= time { tokenStatus[t] = .revoked }
                }
            }
        case 20:
            guard let c = live.pickOne(random) else { return }
            emit(company, admin(company), .credentialDeleted(credential: c.number))
            credentials[c.number]!.deleted = true
            credentials[c.number]!.deletedAt = time
        case 21..<28:
            let grantable = live.filter { $0.type.hasServiceUser && $0.scope != .global }
            guard let c = grantable.pickOne(random), let p = companyProjects.pickOne(random) else { return }
            let key = [c.number, p]
            if access[key] == nil {
                let role = pick(ProjectRole.allCases)
                emit(company, admin(company), .projectAccessGranted(credential: c.number, project: p, role: role))
                access[key] = RoleGrant(role: role, since: time)
            } else if chance(50) {
                let role = pick(ProjectRole.allCases)
                emit(company, admin(company), .projectAccessChanged(credential: c.number, project: p, role: role))
                access[key] = RoleGrant(role: role, since: time)
            } else {
                emit(company, admin(company), .projectAccessRevoked(credential: c.number, project: p))
                access[key] = nil
            }
        case 28..<31:
            guard let u = companyUsers.pickOne(random), let p = companyProjects.pickOne(random) else { return }
            let role: ProjectRole? = chance(25) ? nil : pick(ProjectRole.allCases)
            emit(company, admin(company), .userProjectRoleSet(user: u, project: p, role: role))
            userRoles[[u, p]] = role.map { RoleGrant(role: $0, since: time) }
        case 31..<34:
            guard let c = live.filter({ $0.type.isUserDelegated }).pickOne(random),
                  let u = companyUsers.pickOne(random) else { return }
            let code = freshDigest()
            codes.append((c.number, u, code, false))
            codeStatus[code] = .unused
            emit(company, .user(u), .consentGiven(ConsentGiven(credential: c.number, user: u, codeHash: code, challenge: freshDigest(),
                                                               redirectURI: "https://app\(c.number).example/cb0", expiresAt: time + 60_000_000)))
        case 34..<38:
            let family = UInt64(events.count + 1)
            let access = freshDigest()
            if chance(50), let i = codes.indices.filter({ !codes[$0].used && credentials[codes[$0].credential]!.company == company }).pickOne(random) {
                let code = codes[i]
                codes[i].used = true
                codeStatus[code.hash] = .redeemed
                let refresh = freshDigest()
                emit(company, .credential(code.credential), .tokenIssued(TokenIssued(
                    credential: code.credential, user: code.user, grant: .authorizationCode, accessHash: access,
                    accessExpiresAt: time + 3_600_000_000, refreshHash: refresh, refreshExpiresAt: time + 86_400_000_000, codeHash: code.hash)))
                families[family] = (code.credential, code.user, refresh, [access, refresh])
                tokenStatus[access] = .active
                tokenStatus[refresh] = .active
                noteExpiries()
            } else if let c = live.filter({ $0.type == .oauth }).pickOne(random) {
                emit(company, .credential(c.number), .tokenIssued(TokenIssued(
                    credential: c.number, user: 0, grant: .clientCredentials, accessHash: access,
                    accessExpiresAt: time + 3_600_000_000, refreshHash: nil, refreshExpiresAt: 0, codeHash: nil)))
                families[family] = (c.number, 0, nil, [access])
                tokenStatus[access] = .active
                noteExpiries()
            }
        case 38..<40:
            let refreshable = families.filter { $0.value.refresh.map { tokenStatus[$0] == .active } ?? false }
                .filter { credentials[$0.value.credential]!.company == company }.keys.sorted()
            guard let family = refreshable.pickOne(random) else { return }
            let f = families[family]!
            let (access, refresh) = (freshDigest(), freshDigest())
            emit(company, .credential(f.credential), .tokenRefreshed(TokenRefreshed(
                credential: f.credential, family: family, spentRefreshHash: f.refresh!, accessHash: access,
                accessExpiresAt: time + 3_600_000_000, refreshHash: refresh, refreshExpiresAt: time + 86_400_000_000)))
            tokenStatus[f.refresh!] = .spent
            tokenStatus[access] = .active
            tokenStatus[refresh] = .active
            noteExpiries()
            families[family] = (f.credential, f.user, refresh, f.tokens + [access, refresh])
        case 40..<42:
            let known = families.filter { credentials[$0.value.credential]!.company == company }.keys.sorted()
            guard let family = known.pickOne(random) else { return }
            let f = families[family]!
            let whole = chance(50)
            let token = chance(80) ? pick(f.tokens) : freshDigest()
            emit(company, .credential(f.credential), .tokenRevoked(TokenRevoked(
                credential: f.credential, family: family, tokenHash: token, wholeFamily: whole,
                reason: whole ? pick([.refreshReuse, .codeReuse, .userRemoved]) : .clientRequest)))
            for t in whole ? f.tokens : [token] where tokenStatus[t] == .active { tokenStatus[t] = .revoked }
        case 42..<44:
            let c = companyCredentials.pickOne(random)?.number ?? 0
            emit(company, c == 0 ? .system : .credential(c), .oauthRequestDenied(
                credential: c, user: companyUsers.pickOne(random) ?? 0, grant: pick(GrantKind.allCases),
                reason: pick(DenialReason.allCases)))
        case 44:
            guard let i = codes.indices.filter({ !codes[$0].used && credentials[codes[$0].credential]!.company == company }).pickOne(random)
            else { return }
            codes[i].used = true
            codeStatus[codes[i].hash] = .revoked
            emit(company, admin(company), .codeRevoked(CodeRevoked(credential: codes[i].credential, user: codes[i].user,
                                                                    codeHash: codes[i].hash, reason: .userRemoved)))
        case 45 where below(10) == 0:
            // An operator's rebuild accepted the log: no company, changes no registry row.
            let head = UInt64(events.count)
            emit(0, .system, .logAccepted(LogAccepted(logHead: head, checkpoints: head + UInt64(1 + below(3)))))
        default:
            // A use: known or unknown credential, known or unknown project, allowed or denied.
            let c: UInt32 = chance(5) || companyCredentials.isEmpty ? 0 : pick(companyCredentials).number
            let p: UInt32 = chance(10) || companyProjects.isEmpty ? 0 : pick(companyProjects)
            let denial: DenialReason? = chance(65) ? nil : pick(DenialReason.allCases)
            emit(c == 0 ? 0 : company, c == 0 ? .system : .credential(c),
                 .credentialUsed(CredentialUse(credential: c, project: p, operation: pick(Operation.allCases), denial: denial)))
            guard c != 0 else { return }
            var u = usage[c] ?? Usage()
            var d = daily[[c, UInt32(time / 86_400_000_000), p]] ?? DailyUsage()
            if denial == nil {
                u.used += 1
                u.lastUsed = time
                if u.firstUsed == 0 { u.firstUsed = time }
                d.allowed += 1
            } else {
                u.denied += 1
                u.lastDenied = time
                d.denied += 1
            }
            usage[c] = u
            daily[[c, UInt32(time / 86_400_000_000), p]] = d
        }
    }
}

extension Collection {
    /// A seeded random element, nil when empty.
    func pickOne(_ random: SeededRandom) -> Element? {
        isEmpty ? nil : self[index(startIndex, offsetBy: Int(random.next() % UInt64(count)))]
    }
}

final class ProjectorTests: XCTestCase {
    /// Applies `events` to a fresh store, flushing where `flushAfter` says (and always at the end);
    /// optionally with a new Projector per batch (state lives only in the store and its log between batches).
    private func project<S: KeyValueStore>(_ events: some Sequence<Event>, into store: S, freshProjectorPerBatch: Bool = false,
                                           flushAfter: (Int) -> Bool) throws -> S {
        var projector = Projector()
        for (i, event) in events.enumerated() {
            // The usage and index projections read their open segment from the log.
            if let sorted = store as? SortedStore { sorted.log.append(event) } else if let memory = store as? MemoryStore { memory.log.append(event) }
            try projector.apply(event, to: store)
            XCTAssertEqual(projector.lastApplied, event.seq)
            if flushAfter(i) {
                try projector.flush(to: store)
                if freshProjectorPerBatch { projector = Projector() }
            }
        }
        try projector.flush(to: store)
        return store
    }

    private func project(_ events: some Sequence<Event>, freshProjectorPerBatch: Bool = false,
                         flushAfter: (Int) -> Bool) throws -> SortedStore {
        try project(events, into: SortedStore(), freshProjectorPerBatch: freshProjectorPerBatch, flushAfter: flushAfter)
    }

    private func digests(_ store: some KeyValueStore) throws -> [ProjectionName: SHA256Digest] {
        var out: [ProjectionName: SHA256Digest] = [:]
        for p in ProjectionName.allCases { out[p] = try ProjectionDigest.compute(p, in: store) }
        return out
    }

    private static let history: HistoryGenerator = {
        var g = HistoryGenerator(seed: 2026)
        g.generate(4_000)
        return g
    }()

    func testGeneratedHistoryCoversEveryEventTypeAndIsValid() throws {
        let events = Self.history.events
        XCTAssertEqual(Set(events.map(\.type)).count, EventType.allCases.count)
        XCTAssertEqual(Set(Self.history.credentials.values.map(\.type)).count, CredentialType.allCases.count)
        for (i, e) in events.enumerated() {
            XCTAssertEqual(e.seq, UInt64(i + 1))
            if i > 0 { XCTAssertGreaterThanOrEqual(e.timestamp, events[i - 1].timestamp) }
        }
        // Enough uses on enough credentials, and some blocks in the index fill up.
        XCTAssertGreaterThan(events.filter { $0.type == .credentialUsed }.count, 1_500)
        XCTAssertGreaterThan(Self.history.usage.count, 20)
    }

    /// Live (flushed per batch) and rebuilt (flushed once) projections are byte-identical.
    func testFlushPointsDoNotChangeAnyProjection() throws {
        let events = Self.history.events
        let once = try project(events) { _ in false }
        let reference = try digests(once)
        let random = SeededRandom(seed: 5)
        let variants: [(String, SortedStore)] = [
            ("every event", try project(events) { _ in true }),
            ("random 5%", try project(events) { _ in random.next() % 20 == 0 }),
            ("random 40%", try project(events) { _ in random.next() % 5 < 2 }),
            ("random, fresh projector", try project(events, freshProjectorPerBatch: true) { _ in random.next() % 10 == 0 }),
            ("every 128th", try project(events) { $0 % 128 == 127 }),
        ]
        for (name, store) in variants {
            XCTAssertEqual(try digests(store), reference, name)
            for table in Table.allCases {
                XCTAssertEqual(store.tables[table] ?? [:], once.tables[table] ?? [:], "\(name): table \(table.rawValue)")
            }
        }
        // The digests are not vacuous: every projection has rows, and they differ from each other.
        for table in [Table.companies, .credentials, .secrets, .tokens, .codes, .access, .userRoles,
                      .userFamilies, .credentialFamilies, .userCodes] {
            XCTAssertFalse((once.tables[table] ?? [:]).isEmpty, "\(table) is empty")
        }
        XCTAssertEqual(Set(reference.values).count, ProjectionName.allCases.count)
    }

    func testUsageCountersAreExact() throws {
        let g = Self.history
        let random = SeededRandom(seed: 6)
        let store = try project(g.events) { _ in random.next() % 7 == 0 }
        let reader = StateReader(store)
        var totalUses: UInt64 = 0
        for (credential, expected) in g.usage {
            let row = try reader.usage(credential: credential)
            XCTAssertEqual(row.used, expected.used, "credential \(credential)")
            XCTAssertEqual(row.denied, expected.denied)
            XCTAssertEqual(row.lastUsed, expected.lastUsed)
            XCTAssertEqual(row.firstUsed, expected.firstUsed)
            XCTAssertEqual(row.lastDenied, expected.lastDenied)
            totalUses += row.used + row.denied
            var dailyTotal: UInt64 = 0
            for (day, project, counts) in try reader.dailyUsage(credential: credential) {
                XCTAssertEqual(counts, g.daily[[credential, day, project]], "credential \(credential) day \(day) project \(project)")
                dailyTotal += counts.allowed + counts.denied
            }
            XCTAssertEqual(dailyTotal, expected.used + expected.denied)
        }
        let usesOfKnownCredentials = g.events.filter {
            if case .credentialUsed(let u) = $0.payload { u.credential != 0 } else { false }
        }.count
        XCTAssertEqual(totalUses, UInt64(usesOfKnownCredentials))
        // 4,000 events stay inside the first segment: every use is read from the log, nothing is folded yet
        // (PostingIndexTests folds a segment and checks the counters across it).
        XCTAssertEqual(store.openSegment(.usage), 1...UInt64(g.events.count))
        XCTAssertNil(store.tables[.usage])
        XCTAssertNil(store.tables[.usageDaily])
        for credential in g.credentials.keys where g.usage[credential] == nil {
            XCTAssertEqual(try reader.usage(credential: credential), UsageRecord())
        }
    }

    func testCounterAfterNUsesIsExactlyN() throws {
        let random = SeededRandom(seed: 12)
        var events: [Event] = [
            Event(seq: 1, timestamp: t2026, company: 1, actor: .system, payload: .companyRegistered(slug: "a", name: "A", mailDomain: "a.example")),
        ]
        var t = t2026
        var lastAllowed: Timestamp = 0, firstAllowed: Timestamp = 0, lastDenied: Timestamp = 0
        var allowed: UInt64 = 0
        let n = 3_000
        for i in 0..<n {
            t += Int64(random.next() % 40_000_000_000)       // up to 11 h: many days
            let denied = random.next() % 3 == 0
            events.append(Event(seq: UInt64(events.count + 1), timestamp: t, company: 1, actor: .credential(7), payload: .credentialUsed(
                CredentialUse(credential: 7, project: UInt32(1 + i % 3), operation: .read, denial: denied ? .readOnlyRole : nil))))
            if denied {
                lastDenied = t
            } else {
                allowed += 1
                lastAllowed = t
                if firstAllowed == 0 { firstAllowed = t }
            }
        }
        for flushEvery in [1, 2, 13, 1_000, n + 10] {
            let store = try project(events) { ($0 + 1) % flushEvery == 0 }
            let row = try StateReader(store).usage(credential: 7)
            XCTAssertEqual(row.used + row.denied, UInt64(n), "flush every \(flushEvery)")
            XCTAssertEqual(row.used, allowed)
            XCTAssertEqual(row.lastUsed, lastAllowed)
            XCTAssertEqual(row.firstUsed, firstAllowed)
            XCTAssertEqual(row.lastDenied, lastDenied)
            let days = try StateReader(store).dailyUsage(credential: 7)
            XCTAssertEqual(days.map { $0.usage.allowed + $0.usage.denied }.reduce(0, +), UInt64(n))
            XCTAssertEqual(Set(days.map(\.project)), [1, 2, 3])
            XCTAssertEqual(days.map(\.day), days.map(\.day).sorted(), "rows sort by day")
        }
    }

    func testPostingListsMatchTheEvents() throws {
        let events = Self.history.events
        let random = SeededRandom(seed: 7)
        let store = try project(events) { _ in random.next() % 11 == 0 }
        var expected: [PostingIndex.ListKey: [(UInt64, PostingIndex.Flag)]] = [:]
        for e in events {
            var flag = PostingIndex.Flag.other
            if case .credentialUsed(let u) = e.payload { flag = u.allowed ? .allowedUse : .deniedUse } else {
                expected[.init(.admin, 0), default: []].append((e.seq, flag))
                expected[.init(.type, UInt32(e.type.rawValue)), default: []].append((e.seq, flag))
                if case .user(let u) = e.actor { expected[.init(.user, u), default: []].append((e.seq, flag)) }
            }
            if e.company != 0 { expected[.init(.company, e.company), default: []].append((e.seq, flag)) }
            if let c = e.payload.credential { expected[.init(.credential, c), default: []].append((e.seq, flag)) }
            if let p = e.payload.project { expected[.init(.project, p), default: []].append((e.seq, flag)) }
        }
        XCTAssertGreaterThan(expected[.init(.admin, 0)]!.count, 1_000)
        for (list, entries) in expected {
            var seen: [(UInt64, PostingIndex.Flag)] = []
            try PostingIndex.visit(list, in: store) { seen.append(($0.seq, $0.flag)); return true }
            XCTAssertEqual(seen.map(\.0), entries.map(\.0), "\(list)")
            XCTAssertEqual(seen.map(\.1), entries.map(\.1), "\(list)")
        }
        // No list exists that the events do not imply.
        let folded = (store.tables[.index] ?? [:]).values.map { Int(UInt32(bigEndianBytes: Array($0.prefix(4)))!) }.reduce(0, +)
        var recent = 0
        if let open = store.openSegment(.indexes) {
            try store.visitLog(open, descending: false) { entry in
                recent += entry.count
                return true
            }
        }
        XCTAssertEqual(folded + recent, expected.values.map(\.count).reduce(0, +))
    }

    func testRegistryAndMembershipsMatchTheModel() throws {
        let g = Self.history
        let store = try project(g.events) { $0 % 97 == 0 }
        let reader = StateReader(store)
        XCTAssertEqual(try reader.counter(.credential), g.credentials.keys.max())
        XCTAssertEqual(try reader.counter(.company), UInt32(g.companies.count))
        for (n, c) in g.credentials {
            let record = try XCTUnwrap(reader.credential(n))
            XCTAssertEqual(record.company, c.company)
            XCTAssertEqual(record.type, c.type)
            XCTAssertEqual(record.scope, c.scope)
            XCTAssertEqual(record.deleted, c.deleted)
            XCTAssertEqual(record.deletedAt, c.deletedAt)
            XCTAssertEqual(record.secretHashes, c.hashes)
            XCTAssertEqual(try reader.credential(publicID: "cred_\(n)")?.number, n)
            if let current = c.hashes.first {
                let entry = try XCTUnwrap(reader.secret(hash: current), "current secret of \(n)")
                XCTAssertEqual(entry.credential, n)
                XCTAssertEqual(entry.validUntil, 0)
            }
            // Every kept older hash is still found, with an end in the future of its rotation.
            for old in record.secretHashes.dropFirst() {
                XCTAssertTrue(c.hashes.contains(old))
                XCTAssertGreaterThan(try XCTUnwrap(reader.secret(hash: old)).validUntil, 0)
            }
        }
        XCTAssertGreaterThan(g.secretValidUntil.values.filter { ($0 ?? 0) > 0 }.count, 3, "some secrets are in a grace period")
        XCTAssertGreaterThan(g.secretValidUntil.values.filter { $0 == nil }.count, 3, "some old secrets are gone")
        for (hash, until) in g.secretValidUntil {
            XCTAssertEqual(try reader.secret(hash: hash)?.validUntil, until, "secret \(hash.hex.prefix(8))")
        }
        XCTAssertEqual(store.tables[.secrets]?.count, g.secretValidUntil.values.filter { $0 != nil }.count)
        var accessRows: [[UInt32]: RoleGrant] = [:]
        for n in g.credentials.keys {
            for (project, grant) in try reader.accesses(credential: n) { accessRows[[n, project]] = grant }
        }
        XCTAssertEqual(accessRows, g.access)
        XCTAssertEqual(store.tables[.accessByProject]?.count ?? 0, g.access.count)
        for (key, grant) in g.userRoles {
            XCTAssertEqual(try reader.userRole(user: key[0], project: key[1]), grant, "user \(key[0]) project \(key[1])")
        }
        for (hash, status) in g.tokenStatus {
            XCTAssertEqual(try reader.token(hash: hash)?.status, status)
            XCTAssertEqual(try reader.token(hash: hash)?.expiresAt, g.tokenExpires[hash])
        }
        for (hash, status) in g.codeStatus {
            XCTAssertEqual(try reader.code(hash: hash)?.status, status)
        }
        // The history exercises what removals and rotations end.
        XCTAssertGreaterThan(g.codeStatus.values.filter { $0 == .revoked }.count, 0)
        XCTAssertGreaterThan(g.tokenStatus.values.filter { $0 == .revoked }.count, 0)
        for p in g.archived { XCTAssertEqual(try reader.project(p)?.archived, true) }
        // Every secret's row repeats its credential's facts, the deleted flag included (issue 15: a key's decision reads
        // no `credentials` row).
        let secretRows = try (store.tables[.secrets] ?? [:]).values.map(SecretEntry.decode)
        XCTAssertTrue(secretRows.contains { $0.deleted } && secretRows.contains { !$0.deleted }, "the history deletes keys")
        for entry in secretRows {
            let record = try XCTUnwrap(reader.credential(entry.credential))
            XCTAssertTrue(record.secretHashes.contains(entry.hash), "\(entry.credential)")
            XCTAssertEqual(entry, SecretEntry(of: record, validUntil: entry.validUntil, hash: entry.hash), "\(entry.credential)")
        }
        // Every token's row repeats its credential's facts, the deleted flag included, and names its principal: the
        // service user, or the approving user's email (issue 15: a Bearer decision reads no `credentials` or `users` row).
        let tokenRows = try (store.tables[.tokens] ?? [:]).values.map(TokenRecord.decode)
        XCTAssertEqual(tokenRows.count, g.tokenStatus.count)
        XCTAssertTrue(tokenRows.contains { $0.credentialDeleted } && tokenRows.contains { !$0.credentialDeleted },
                      "the history deletes credentials that hold tokens")
        XCTAssertTrue(tokenRows.contains { $0.type.isUserDelegated } && tokenRows.contains { !$0.type.isUserDelegated })
        for token in tokenRows {
            let record = try XCTUnwrap(reader.credential(token.credential))
            let principal = record.type.isUserDelegated ? try XCTUnwrap(reader.email(user: token.user)) : record.serviceUser
            XCTAssertEqual(token, TokenRecord(kind: token.kind, status: token.status, of: record, user: token.user, principal: principal,
                                              family: token.family, expiresAt: token.expiresAt, issuedAt: token.issuedAt, hash: token.hash,
                                              approvedAt: token.approvedAt), "token of \(token.credential)")
        }
        // The slug rows repeat the API and archived flags (issue 15: the decision reads them alone).
        let companies = try (store.tables[.companies] ?? [:]).values.map(CompanyRecord.decode)
        XCTAssertEqual(companies.count, g.companies.count)
        XCTAssertTrue(companies.contains { $0.apiEnabled } && companies.contains { !$0.apiEnabled }, "the history toggles the module")
        for c in companies {
            XCTAssertEqual(try reader.companyEntry(slug: c.slug), CompanySlugEntry(company: c.number, apiEnabled: c.apiEnabled), c.slug)
        }
        let projects = try (store.tables[.projects] ?? [:]).values.map(ProjectRecord.decode)
        XCTAssertEqual(store.tables[.projectSlugs]?.count, projects.count)
        for p in projects {
            XCTAssertEqual(try reader.projectEntry(company: p.company, slug: p.slug), ProjectSlugEntry(project: p.number, archived: p.archived))
        }
    }

    func testDiscardDropsOnlyPendingWork() throws {
        let events = Array(Self.history.events.prefix(600))
        let reference = try project(events) { _ in false }
        let store = SortedStore()
        var projector = Projector()
        for e in events { try projector.apply(e, to: store) }
        try projector.flush(to: store)
        // A batch that is rolled back: its registry writes go to a throw-away copy, its pending counters are discarded.
        let scratch = SortedStore()
        for (table, rows) in store.tables { for (k, v) in rows { scratch.put(table, k, v) } }
        for e in Self.history.events[600..<700] { try projector.apply(e, to: scratch) }
        projector.discard()
        try projector.flush(to: store)
        XCTAssertEqual(try digests(store), try digests(reference))
    }

    /// The same history through MemoryStore (the in-memory store as-of queries use), batched differently:
    /// identical rows and digests.
    func testMemoryStoreGivesTheSameProjections() throws {
        let events = Array(Self.history.events.prefix(1_000))
        let random = SeededRandom(seed: 8)
        let memory = try project(events, into: MemoryStore()) { _ in random.next() % 4 == 0 }
        let sorted = try project(events) { _ in false }
        XCTAssertEqual(try digests(memory), try digests(sorted))
        for table in Table.allCases {
            XCTAssertEqual(memory.tables[table] ?? [:], sorted.tables[table] ?? [:], table.rawValue)
        }
        XCTAssertEqual(memory.tables.values.map(\.count).reduce(0, +), sorted.tables.values.map(\.count).reduce(0, +))
    }

    /// Many rotations inside one grace period keep every old secret valid; the credential row must still be
    /// writable (its secret-hash count is a single byte on disk).
    func testManyRotationsWithinOneGracePeriodDoNotTrap() {
        var events: [Event] = [
            Event(seq: 1, timestamp: t2026, company: 1, actor: .system, payload: .companyRegistered(slug: "a", name: "A", mailDomain: "a.example")),
            Event(seq: 2, timestamp: t2026, company: 1, actor: .system, payload: .credentialCreated(CredentialCreated(
                credential: 1, type: .staticKey, scope: .read, publicID: "cred_1", name: "k", serviceUser: "apiservice+x@a.example",
                displayPrefix: "cxk_000000", clientID: "", secretHash: sampleDigest(0), expiresAt: 0, redirectURIs: []))),
        ]
        for i in 1...300 {
            let t = t2026 + Int64(i) * 1_000_000
            events.append(Event(seq: UInt64(events.count + 1), timestamp: t, company: 1, actor: .user(1), payload: .secretRotated(
                credential: 1, secretHash: SHA256.hash("secret \(i)"), displayPrefix: "cxk_\(100_000 + i)", graceUntil: t + 86_400_000_000)))
        }
        let ok = runsWithoutTrapping {
            let store = SortedStore()
            var projector = Projector()
            do {
                for e in events { try projector.apply(e, to: store) }
                // The newest secret and the one before it must both still be found.
                let reader = StateReader(store)
                guard try reader.secret(hash: SHA256.hash("secret 300"))?.validUntil == 0,
                      try reader.secret(hash: SHA256.hash("secret 299")) != nil else { _exit(3) }
            } catch {
                _exit(4)
            }
        }
        XCTAssertTrue(ok, "projecting 300 rotations within one grace period trapped or lost the current secret")
    }

    /// The digest is SHA-256 over, per table of the projection in declaration order: u32 name length, name, then
    /// per row in key order u32 key length, key, u32 value length, value (docs/FORMAT.md).
    func testProjectionDigestDefinition() throws {
        let store = MemoryStore()
        store.put(.usage, [0, 0, 0, 2], [9])
        store.put(.usage, [0, 0, 0, 1], [1, 2])
        store.put(.usageDaily, [0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0], [])
        var message: [UInt8] = []
        func u32(_ n: Int) -> [UInt8] { UInt32(n).bigEndianBytes }
        message += u32(5) + Array("usage".utf8)
        message += u32(4) + [0, 0, 0, 1] + u32(2) + [1, 2]
        message += u32(4) + [0, 0, 0, 2] + u32(1) + [9]
        message += u32(11) + Array("usage_daily".utf8)
        message += u32(12) + [0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0] + u32(0)
        XCTAssertEqual(try ProjectionDigest.compute(.usage, in: store), SHA256.hash(message, implementation: .portable))
        // An empty projection still hashes its table names.
        let empty = u32(2) + Array("ix".utf8)
        XCTAssertEqual(try ProjectionDigest.compute(.indexes, in: store), SHA256.hash(empty, implementation: .portable))
        XCTAssertEqual(ProjectionName.usage.tables, [.usage, .usageDaily], "`usage_recent` is retired")
        XCTAssertEqual(ProjectionName.indexes.tables, [.index], "`ix_recent` is retired")
        XCTAssertEqual(ProjectionName.memberships.tables, [.access, .accessByProject, .userRoles, .userRolesByProject])
    }
}
