import CredLedgerCore
import CredLedgerCrypto
import LMDB
import Synchronization

/// The facts of recent decisions, kept between requests so that a credential presented again is decided without a
/// read transaction (the hot path of a server: the same keys, over and over).
///
/// What is kept is not an answer but what the rules read (`RecordedFacts`): a hit runs the same rules
/// (`Ledger.decide`) over them with the request's own operation and time, so expiry and superseded secrets are judged
/// at the moment of the request. Only a credential of the company asked, at one of its projects, is kept (nothing for a
/// guessed key), under the secret's SHA-256 with the slugs asked: never the secret itself.
///
/// **Never stale.** A use changes none of these facts; everything else that does is a command's events (admin, OAuth)
/// or a rebuild, written by the writer. Before the commit of such a batch (its transaction holds LMDB's write lock) the
/// writer calls `beginChange`, and after the transaction has ended `endChange`: a generation counter, odd meanwhile.
/// Entries are tagged with the even generation they were read under, so:
/// - a lookup needs an even generation, the entry's, both before and after it decides;
/// - an entry is stored only if the generation did not move while its facts were read (read before the snapshot
///   began, checked after).
///
/// Another writer (a CLI process, or any write of this process outside its writer) commits behind the writer's back.
/// LMDB gives each commit a transaction id: the writer accounts for the ids of its own commits once they are made
/// (`account`), and when a transaction of its own gets an id it did not expect, it moves the generation before
/// accounting for the ids before it. A lookup also needs the newest committed id (one read of the meta pages) to be
/// accounted for: a foreign commit turns every lookup into a miss until the writer's next batch, and after it the
/// generation has moved. (So does the writer's own commit while it is being made: a lookup in that window reads the map.)
///
/// Bounded: `shardCount` shards of at most `shardCapacity` entries each; a full shard drops its oldest key to take a
/// new one (first in, first out: no scan, no spike). Each shard is a dictionary under its own mutex (the digest picks
/// the shard).
final class DecisionCache: Sendable {
    static let shardCount = 16
    static let defaultShardCapacity = 4_096
    /// Most entries a shard holds.
    let shardCapacity: Int

    private let environment: Environment
    /// Even: entries of this generation may be used; odd: a batch that may change the facts is being written.
    private let generation = Atomic<UInt64>(0)
    /// The newest LMDB transaction id the cache has accounted for (written by the writer only).
    private let known = Atomic<Int>(0)
    private let shards: [Shard]

    /// `accountedUpTo`: the newest committed transaction id when the cache is made (the writer's start).
    init(environment: Environment, accountedUpTo txnID: Int, shardCapacity: Int = DecisionCache.defaultShardCapacity) {
        self.environment = environment
        self.shardCapacity = shardCapacity
        known.store(txnID, ordering: .sequentiallyConsistent)
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    // MARK: - The writer's side

    /// A batch that may change what decisions read is about to be written: entries stop being used (until `endChange`).
    func beginChange() {
        let previous = generation.add(1, ordering: .sequentiallyConsistent).oldValue
        precondition(previous & 1 == 0, "DecisionCache.beginChange twice")
    }

    /// That batch's transaction ended (committed or not): entries read from now on may be used.
    func endChange() {
        let previous = generation.add(1, ordering: .sequentiallyConsistent).oldValue
        precondition(previous & 1 == 1, "DecisionCache.endChange without beginChange")
    }

    /// Every transaction up to `txnID` is accounted for: its changes are the writer's own, and a change of the
    /// facts among them has moved the generation (the writer's transaction `txnID` is open, or was just committed).
    func account(upTo txnID: Int) {
        known.store(txnID, ordering: .sequentiallyConsistent)
    }

    /// Whether an event of `type` may change a fact a kept decision read (the `companySlugs`, `projectSlugs`, `secrets`,
    /// `tokens`, `members`, `userRoles` and `access` rows): its command's commit then moves the generation.
    ///
    /// False only for events whose projection writes no row of those tables except new `tokens` rows under fresh
    /// hashes, which no kept decision can have read (one is kept only when its secret or token was found): a use, an
    /// issued token (new token rows; the redeemed code's and the family's rows), a consent (code rows), a revoked code
    /// (code rows), a refused OAuth request or an accepted transparency log (no row). Without this, a server issuing
    /// client-credentials tokens, or answering wrong client secrets at `/oauth/token`, dropped every kept fact at each
    /// one. Exhaustive on purpose: a new event type must be classified here.
    static func changesKeptFacts(_ type: EventType) -> Bool {
        switch type {
        case .credentialUsed, .tokenIssued, .consentGiven, .codeRevoked, .oauthRequestDenied, .logAccepted:
            false
        case .companyRegistered, .apiModuleEnabled, .apiModuleDisabled, .memberRoleSet, .projectCreated, .projectArchived,
             .credentialCreated, .secretRotated, .credentialDeleted, .projectAccessGranted, .projectAccessChanged,
             .projectAccessRevoked, .userProjectRoleSet, .tokenRefreshed, .tokenRevoked:
            true
        }
    }

    // MARK: - The deciding side

    /// The decision of a request whose facts are kept, with the generation it was made under; nil: a miss (decide from
    /// the map).
    func decision(_ secret: PresentedSecret, company: String, project: String, operation: Operation, now: Timestamp)
        -> (Decision, UInt64)? {
        let tag = generation.load(ordering: .sequentiallyConsistent)
        guard tag & 1 == 0, Validation.isSlug(company), Validation.isSlug(project) else { return nil }
        let key = Key(secret, company: company, project: project)
        let shard = shards[key.shard]
        guard let entry = shard.state.withLock({ $0.entries[key] }), entry.generation == tag else { return nil }
        guard let decision = try? Ledger.decide(.success(secret), company: company, project: project, operation: operation,
                                                now: now, facts: ReplayFacts(recorded: entry.facts)) else { return nil }
        guard isCurrent(tag) else { return nil }
        return (decision, tag)
    }

    /// The generation a fill starts under (read before its snapshot begins), or nil while the facts may be changing.
    func fillGeneration() -> UInt64? {
        let tag = generation.load(ordering: .sequentiallyConsistent)
        return tag & 1 == 0 ? tag : nil
    }

    /// Keeps `facts`, read from the snapshot `snapshot` under generation `tag` (from `fillGeneration`), if nothing
    /// moved meanwhile and they are worth keeping (`RecordedFacts.isWorthKeeping`; well-formed slugs).
    func store(_ facts: RecordedFacts, for secret: PresentedSecret, company: String, project: String, generation tag: UInt64,
               snapshot: Int) {
        guard facts.isWorthKeeping, Validation.isSlug(company), Validation.isSlug(project),
              snapshot <= known.load(ordering: .sequentiallyConsistent),
              generation.load(ordering: .sequentiallyConsistent) == tag else { return }
        let key = Key(secret, company: company, project: project)
        let shard = shards[key.shard]
        let capacity = shardCapacity
        shard.state.withLock { $0.insert(Entry(generation: tag, facts: facts), for: key, capacity: capacity) }
    }

    /// Whether entries of generation `tag` may still be used: no commit exists that the writer has not accounted for,
    /// and `tag` is still the generation. Read in this order (the accounted id, the newest commit, the generation): the
    /// writer moves the generation before it accounts for another writer's commit, so an accounted id that covers
    /// that commit comes with a moved generation, and one that does not fails the comparison.
    func isCurrent(_ tag: UInt64) -> Bool {
        let accounted = known.load(ordering: .sequentiallyConsistent)
        guard let newest = environment.lastCommittedTransactionID(), newest <= accounted else { return false }
        return generation.load(ordering: .sequentiallyConsistent) == tag
    }

    /// Entries kept (tests).
    var count: Int { shards.reduce(0) { total, shard in total + shard.state.withLock { $0.entries.count } } }

    // MARK: - Storage

    private struct Key: Hashable {
        let hash: SHA256Digest
        let bearer: Bool
        let company: String
        let project: String

        init(_ secret: PresentedSecret, company: String, project: String) {
            hash = secret.hash
            bearer = secret.scheme == .bearer
            self.company = company
            self.project = project
        }

        /// The shard: the digest's four words folded, then the top bits of a multiplicative hash of them. (A first
        /// version read the digest's first byte, which Swift 6.3.1 -O read as 0 for every key: docs/RELIABILITY.md §8.)
        var shard: Int {
            let folded = hash.withUnsafeBytes { raw in
                raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self) ^ raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    ^ raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self) ^ raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
            }
            return Int(truncatingIfNeeded: (folded &* 0x9E37_79B9_7F4A_7C15) >> 60) % DecisionCache.shardCount
        }
    }

    private struct Entry: Sendable {
        let generation: UInt64
        let facts: RecordedFacts
    }

    private final class Shard: Sendable {
        let state = Mutex(ShardState())
    }

    /// A shard's entries, and its keys in the order they came (`order[next]` is the oldest once full).
    private struct ShardState {
        var entries: [Key: Entry] = [:]
        var order: [Key] = []
        var next = 0

        mutating func insert(_ entry: Entry, for key: Key, capacity: Int) {
            if entries.updateValue(entry, forKey: key) != nil { return }
            if order.count < capacity {
                order.append(key)
                return
            }
            entries[order[next]] = nil
            order[next] = key
            next = next + 1 == capacity ? 0 : next + 1
        }
    }
}

/// What one decision read, call by call: each fact as asked (with the numbers it was asked for) and its answer.
/// nil: not asked.
struct RecordedFacts: Sendable {
    var company: CompanyFacts??
    var project: (company: UInt32, answer: ProjectFacts?)?
    var secret: SecretFacts??
    var token: TokenFacts??
    var member: (company: UInt32, user: UInt32, answer: RoleFacts<CompanyRole>?)?
    var userRole: (user: UInt32, project: UInt32, answer: RoleFacts<ProjectRole>?)?
    var access: (credential: UInt32, project: UInt32, answer: RoleFacts<ProjectRole>?)?

    /// Whether the decision is worth keeping: the secret named a credential, of the company asked, at one of its
    /// projects. A guessed secret, a credential tried at another company or at a project that does not exist keeps
    /// nothing, so what one caller can make the cache hold is bounded by the ledger's own credentials and projects.
    var isWorthKeeping: Bool {
        guard case .some(.some(let company)) = self.company, let project, project.answer != nil else { return false }
        let owner: UInt32?
        if case .some(.some(let found)) = secret {
            owner = found.facts.company
        } else if case .some(.some(let found)) = token {
            owner = found.facts.company
        } else {
            owner = nil
        }
        return owner == company.number
    }
}

/// Thrown by `ReplayFacts` when the rules ask for a fact the recorded decision did not read: a miss.
struct UnrecordedFact: Error {}

/// The facts of a kept decision: each answer as recorded; a question asked otherwise is a miss (`UnrecordedFact`).
/// The slugs and the secret's hash are the entry's key, so they are the ones asked.
struct ReplayFacts: AuthorizationFacts {
    let recorded: RecordedFacts

    func company(slug: String) throws -> CompanyFacts? {
        guard let answer = recorded.company else { throw UnrecordedFact() }
        return answer
    }
    func project(company: UInt32, slug: String) throws -> ProjectFacts? {
        guard let r = recorded.project, r.company == company else { throw UnrecordedFact() }
        return r.answer
    }
    func secret(hash: SHA256Digest) throws -> SecretFacts? {
        guard let answer = recorded.secret else { throw UnrecordedFact() }
        return answer
    }
    func token(hash: SHA256Digest) throws -> TokenFacts? {
        guard let answer = recorded.token else { throw UnrecordedFact() }
        return answer
    }
    func member(company: UInt32, user: UInt32) throws -> RoleFacts<CompanyRole>? {
        guard let r = recorded.member, r.company == company, r.user == user else { throw UnrecordedFact() }
        return r.answer
    }
    func userRole(user: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>? {
        guard let r = recorded.userRole, r.user == user, r.project == project else { throw UnrecordedFact() }
        return r.answer
    }
    func access(credential: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>? {
        guard let r = recorded.access, r.credential == credential, r.project == project else { throw UnrecordedFact() }
        return r.answer
    }
}

/// Where a fill writes what its decision read.
final class FactsRecorder {
    var facts = RecordedFacts()
}

/// `base`'s facts, each answer also written to `recorder` (a decision on a miss, to be kept).
struct RecordingFacts<Base: AuthorizationFacts>: AuthorizationFacts {
    let base: Base
    let recorder: FactsRecorder

    func company(slug: String) throws -> CompanyFacts? {
        let answer = try base.company(slug: slug)
        recorder.facts.company = .some(answer)
        return answer
    }
    func project(company: UInt32, slug: String) throws -> ProjectFacts? {
        let answer = try base.project(company: company, slug: slug)
        recorder.facts.project = (company, answer)
        return answer
    }
    func secret(hash: SHA256Digest) throws -> SecretFacts? {
        let answer = try base.secret(hash: hash)
        recorder.facts.secret = .some(answer)
        return answer
    }
    func token(hash: SHA256Digest) throws -> TokenFacts? {
        let answer = try base.token(hash: hash)
        recorder.facts.token = .some(answer)
        return answer
    }
    func member(company: UInt32, user: UInt32) throws -> RoleFacts<CompanyRole>? {
        let answer = try base.member(company: company, user: user)
        recorder.facts.member = (company, user, answer)
        return answer
    }
    func userRole(user: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>? {
        let answer = try base.userRole(user: user, project: project)
        recorder.facts.userRole = (user, project, answer)
        return answer
    }
    func access(credential: UInt32, project: UInt32) throws -> RoleFacts<ProjectRole>? {
        let answer = try base.access(credential: credential, project: project)
        recorder.facts.access = (credential, project, answer)
        return answer
    }
}
