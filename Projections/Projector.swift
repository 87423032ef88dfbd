import CredLedgerCore

/// A store that lends values in place and takes raw keys and values: the writer's allocation-free path.
/// `Projector.flush` uses it when the store has it (the LMDB store does) and writes exactly the bytes the
/// `KeyValueStore` path writes — live projections and rebuilds stay byte-identical whichever store is used.
public protocol RawKeyValueStore: KeyValueStore {
    /// Runs `body` with a cursor on `table`, valid only during the call. Keys visited in ascending order keep
    /// the cursor near its last position (the LMDB cursor then searches the current page first).
    func withCursor<R>(_ table: Table, _ body: (any RawCursor) throws -> R) throws -> R
    /// The same, on a registered projection's table (`Projection.tableNames`).
    func withCursor<R>(named table: String, _ body: (any RawCursor) throws -> R) throws -> R
}

/// A positioned cursor over one table (see `RawKeyValueStore.withCursor`). Buffers it returns point into the
/// store and are valid only until the next call.
public protocol RawCursor: AnyObject {
    /// The value under exactly `key`, or nil; on success the cursor sits on `key`.
    func value(at key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer?
    /// Stores `value` under `key`. `atCurrent`: the cursor sits on `key` (found by `value(at:)` just before) and the
    /// entry is replaced where it is.
    func put(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, atCurrent: Bool) throws
    /// Stores `value` under `key`, which sorts after every key of the table (LMDB's `MDB_APPEND`).
    func append(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws
    /// Visits entries with key ≥ `key` (every entry for an empty key) ascending, in place, until `body` returns false.
    func forEach(from key: UnsafeRawBufferPointer,
                 _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool) throws
}

/// Applies events to every projection. State changes are written at once; use counters and index
/// postings are accumulated and written by the first `flush` after their segment closes, with the same bytes
/// whatever the batching.
public struct Projector {
    /// A closed segment's usage deltas, computed when it folds (its buffers are kept from segment to segment).
    private var usageFold = UsageFold()
    /// The open segment's uses of credentials applied since `memoryStart`; `flush` folds a segment's into the
    /// counters once a later event closes it (the open segment itself is stored only in the log).
    private var uses: [RecentUse] = []
    /// The same events' postings; `flush` folds a closed segment's into `ix`.
    private var postings = PostingBuffer()
    /// The first seq `uses` and `postings` cover (every applied event from there on is in them), or nil when nothing
    /// was applied since the projector began or forgot them: the log before it is read back when its segment folds.
    private var memoryStart: UInt64?
    /// The first segment the store has not folded (set with `memoryStart`: the segment of the seq before it).
    private var firstUnfolded: UInt32 = 0
    private var scratch: [(PostingIndex.ListKey, PostingIndex.Flag)] = []
    /// Reused buffers: a fold's input and sort keys.
    private var foldInput = PostingBuffer()
    private var foldScratch = PostingIndex.FoldScratch()
    public private(set) var lastApplied: UInt64 = 0
    /// Registered projections (`Projection`), applied after the built-in ones, in this order.
    private var extensions: [any Projection]

    /// A projector of the built-in projections and of `extensions` (`Ledger.Options.projections`).
    public init(extensions: [any Projection] = []) {
        self.extensions = extensions
    }

    /// Applies one event to the built-in projections; `event.seq` must follow the previous one. Only for a projector
    /// without registered projections (they need the record's hash: `apply(_:hash:to:)`).
    public mutating func apply(_ event: Event, to store: some KeyValueStore) throws {
        precondition(extensions.isEmpty, "registered projections need the record hash: apply(_:hash:to:)")
        try apply(event, hash: .zero, to: store)
    }

    /// Applies one event, whose stored record hashes to `hash`, to every projection; `event.seq` must follow the previous
    /// one. The built-in projections (registry, memberships, usage, indexes) are fused: one match on the event for all
    /// four, statically dispatched (the writer's hot path); registered ones follow, in registration order.
    public mutating func apply(_ event: Event, hash: SHA256Digest, to store: some KeyValueStore) throws {
        begin(event.seq)
        if case .credentialUsed(let use) = event.payload {
            countUse(seq: event.seq, company: event.company, timestamp: event.timestamp, use)
            #if DEBUG
            scratch.removeAll(keepingCapacity: true)
            PostingIndex.lists(for: event, into: &scratch)
            let expected = [event.company != 0 ? PostingIndex.ListKey(.company, event.company) : nil,
                            use.credential != 0 ? PostingIndex.ListKey(.credential, use.credential) : nil,
                            use.project != 0 ? PostingIndex.ListKey(.project, use.project) : nil].compactMap { $0 }
            let flag: PostingIndex.Flag = use.allowed ? .allowedUse : .deniedUse
            assert(scratch.map(\.0) == expected && scratch.allSatisfy { $0.1 == flag }, "use postings differ from PostingIndex.lists")
            #endif
        } else {
            scratch.removeAll(keepingCapacity: true)
            PostingIndex.lists(for: event, into: &scratch)
            if !scratch.isEmpty {
                postings.startEvent(event.seq, .other)
                for (list, _) in scratch { postings.addList(list) }
            }
            try RegistryProjection.apply(event, to: store)
        }
        lastApplied = event.seq
        if !extensions.isEmpty { try applyExtensions(event, hash: hash, to: store) }
    }

    /// `apply` of a `credential_used` event given by its parts, with no `Event` built (the replay's fast path over
    /// `EventCodec.decodeUse`). Only for a projector without registered projections (`hasRegisteredProjections`).
    public mutating func applyUse(seq: UInt64, company: UInt32, timestamp: Timestamp, _ use: CredentialUse) {
        precondition(extensions.isEmpty, "registered projections need the event: apply(_:hash:to:)")
        begin(seq)
        countUse(seq: seq, company: company, timestamp: timestamp, use)
        lastApplied = seq
    }

    /// Whether projections were registered beside the built-in ones (then every event goes through `apply`).
    public var hasRegisteredProjections: Bool { !extensions.isEmpty }

    /// Starts applying event `seq`. The open segment's entries in memory are a run of consecutive events: a projector
    /// moved to another point of the log (another store, a store behind it) forgets them, and a later fold reads the
    /// log instead.
    @inline(__always)
    private mutating func begin(_ seq: UInt64) {
        if seq != lastApplied &+ 1, memoryStart != nil { forgetOpenSegment() }
        if memoryStart == nil {
            memoryStart = seq
            firstUnfolded = PostingIndex.segment(of: seq - 1)
        }
    }

    /// A use's postings and its entry for the usage fold: the hot path, a use's lists (what `PostingIndex.lists(for:)`
    /// returns for it) without the generic walk. A use changes no row at once.
    @inline(__always)
    private mutating func countUse(seq: UInt64, company: UInt32, timestamp: Timestamp, _ use: CredentialUse) {
        let flag: PostingIndex.Flag = use.allowed ? .allowedUse : .deniedUse
        if company != 0 || use.credential != 0 || use.project != 0 {
            postings.startEvent(seq, flag)
            if company != 0 { postings.addList(PostingIndex.ListKey(.company, company)) }
            if use.credential != 0 { postings.addList(PostingIndex.ListKey(.credential, use.credential)) }
            if use.project != 0 { postings.addList(PostingIndex.ListKey(.project, use.project)) }
        }
        if use.credential != 0 {
            uses.append(RecentUse(seq: seq, credential: use.credential, project: use.project, allowed: use.allowed, time: timestamp))
        }
    }

    private mutating func applyExtensions(_ event: Event, hash: SHA256Digest, to store: some KeyValueStore) throws {
        for i in extensions.indices { try extensions[i].apply(event, hash: hash, to: store) }
    }

    /// Folds every segment closed since the last flush into the usage and index tables (docs/FORMAT.md §6.0): the
    /// open segment's entries stay in memory, as the log holds them, and are written when a later event closes it.
    public mutating func flush(to store: some KeyValueStore) throws {
        let raw = store as? any RawKeyValueStore
        try foldClosedSegments(store, raw: raw)
        if !extensions.isEmpty {
            for i in extensions.indices { try extensions[i].flush(to: store) }
            for i in extensions.indices { extensions[i].discard() }
        }
    }

    /// Folds the segments before `lastApplied`'s that the store does not hold yet (from `firstUnfolded`: when this
    /// projector's memory began at `memoryStart`, the store held every segment before the one of `memoryStart − 1`),
    /// each from the log's events before `memoryStart` (read back from the store's log: after a reopen or a failed
    /// batch) and the entries in memory. Any batching gives the same bytes: the rows depend only on the seqs.
    private mutating func foldClosedSegments(_ store: some KeyValueStore, raw: (any RawKeyValueStore)?) throws {
        guard let start = memoryStart else { return }
        let open = PostingIndex.segment(of: lastApplied)
        var segment = firstUnfolded
        guard segment < open else { return }
        var usesFolded = 0, postingsFolded = 0
        while segment < open {
            let seqs = PostingIndex.seqs(of: segment)
            usageFold.removeAll()
            foldInput.removeAll()
            let fromLog = seqs.lowerBound < start
            if fromLog {
                try store.visitLog(seqs.lowerBound...min(start - 1, seqs.upperBound), descending: false) { entry in
                    if let use = entry.use { usageFold.add(use) }
                    if entry.count > 0 { foldInput.append(entry) }
                    return true
                }
            }
            var usesEnd = usesFolded
            while usesEnd < uses.count, uses[usesEnd].seq <= seqs.upperBound {
                usageFold.add(uses[usesEnd])
                usesEnd += 1
            }
            var postingsEnd = postingsFolded
            while postingsEnd < postings.count, postings.seqs[postingsEnd] <= seqs.upperBound { postingsEnd += 1 }
            usageFold.finish()
            if !usageFold.isEmpty {
                if let raw { try writeUsageRaw(raw) } else { try writeUsageRows(store) }
            }
            if fromLog {
                foldInput.append(postings, postingsFolded..<postingsEnd)
                try fold(segment, foldInput, 0..<foldInput.count, store, raw: raw)
            } else {
                try fold(segment, postings, postingsFolded..<postingsEnd, store, raw: raw)   // all in memory: no copy
            }
            usesFolded = usesEnd
            postingsFolded = postingsEnd
            segment += 1
        }
        uses.removeFirst(usesFolded)
        postings.removeFirst(postingsFolded)
        memoryStart = max(start, PostingIndex.seqs(of: open).lowerBound)
        firstUnfolded = open
    }

    /// The reference path, over any store: rows through their `ProjectionRow` codecs.
    private func writeUsageRows(_ store: some KeyValueStore) throws {
        for (credential, delta) in zip(usageFold.credentials, usageFold.usage) {
            let key = Keys.credential(credential)
            var row = try store.get(.usage, key).map(UsageRecord.decode) ?? UsageRecord()
            row.merge(delta)
            try store.put(.usage, key, row.bytes)
        }
        for (day, delta) in zip(usageFold.dailyKeys, usageFold.daily) {
            let key = Keys.daily(day.credential, day.day, day.project)
            var row = try store.get(.usageDaily, key).map(DailyUsage.decode) ?? DailyUsage()
            row.allowed += delta.allowed
            row.denied += delta.denied
            try store.put(.usageDaily, key, row.bytes)
        }
    }

    /// The same rows, read in place and written from stack buffers: no array per row. The fold lists the keys in
    /// ascending order and one cursor per table visits them, so consecutive rows are found from the cursor's page.
    private func writeUsageRaw(_ store: any RawKeyValueStore) throws {
        try withUnsafeTemporaryAllocation(byteCount: 64, alignment: 8) { buffer in
            let key = buffer.baseAddress!
            let value = key + 16
            try store.withCursor(.usage) { cursor in
                for (credential, delta) in zip(usageFold.credentials, usageFold.usage) {
                    key.storeBytes(of: credential.bigEndian, as: UInt32.self)
                    let keyBytes = UnsafeRawBufferPointer(start: key, count: 4)
                    let stored = try cursor.value(at: keyBytes)
                    var row = try stored.map(UsageRecord.decodeFixed) ?? UsageRecord()
                    row.merge(delta)
                    row.encodeFixed(into: value)
                    try cursor.put(keyBytes, UnsafeRawBufferPointer(start: value, count: UsageRecord.fixedSize),
                                   atCurrent: stored?.count == UsageRecord.fixedSize)
                }
            }
            try store.withCursor(.usageDaily) { cursor in
                for (day, delta) in zip(usageFold.dailyKeys, usageFold.daily) {
                    key.storeBytes(of: day.credential.bigEndian, toByteOffset: 0, as: UInt32.self)
                    key.storeBytes(of: day.day.bigEndian, toByteOffset: 4, as: UInt32.self)
                    key.storeBytes(of: day.project.bigEndian, toByteOffset: 8, as: UInt32.self)
                    let keyBytes = UnsafeRawBufferPointer(start: key, count: 12)
                    let stored = try cursor.value(at: keyBytes)
                    var row = try stored.map(DailyUsage.decodeFixed) ?? DailyUsage()
                    row.allowed += delta.allowed
                    row.denied += delta.denied
                    row.encodeFixed(into: value)
                    try cursor.put(keyBytes, UnsafeRawBufferPointer(start: value, count: DailyUsage.fixedSize),
                                   atCurrent: stored?.count == DailyUsage.fixedSize)
                }
            }
        }
    }

    /// Writes the `ix` rows of closed segment `segment` from events `events` of `input` (its entries, in seq order).
    private mutating func fold(_ segment: UInt32, _ input: PostingBuffer, _ events: Range<Int>, _ store: some KeyValueStore,
                               raw: (any RawKeyValueStore)?) throws {
        guard !events.isEmpty else { return }
        if let raw {
            try raw.withCursor(.index) { cursor in
                try PostingIndex.foldRows(input, events: events, segment: segment, scratch: &foldScratch) { try cursor.append($0, $1) }
            }
        } else {
            try PostingIndex.foldRows(input, events: events, segment: segment, scratch: &foldScratch) { try store.put(.index, Array($0), Array($1)) }
        }
    }

    /// How much a batch has accumulated so far: `rollBack(to:)` forgets what came after.
    public struct Mark {
        let uses: Int
        let postings: Int
        let lastApplied: UInt64
        let memoryStart: UInt64?
        let firstUnfolded: UInt32
        /// Each registered projection's mark (empty without registered projections: no allocation).
        let extensions: [Int]
    }

    /// The accumulators' current extent (before a command whose events may be undone).
    public var mark: Mark {
        Mark(uses: uses.count, postings: postings.count, lastApplied: lastApplied, memoryStart: memoryStart, firstUnfolded: firstUnfolded,
             extensions: extensions.isEmpty ? [] : extensions.map(\.mark))
    }

    /// Forgets the uses and postings accumulated since `mark` (the writer undid that command's events; what
    /// `apply` wrote to the store was undone with its child transaction). Nothing is flushed before the batch ends,
    /// so the folds then see only the events that stay.
    public mutating func rollBack(to mark: Mark) {
        if uses.count > mark.uses { uses.removeSubrange(mark.uses...) }
        postings.truncate(to: mark.postings)
        lastApplied = mark.lastApplied
        memoryStart = mark.memoryStart
        firstUnfolded = mark.firstUnfolded
        for (i, m) in zip(extensions.indices, mark.extensions) { extensions[i].rollBack(to: m) }
    }

    private mutating func forgetOpenSegment() {
        uses.removeAll(keepingCapacity: true)
        postings.removeAll()
        memoryStart = nil
    }

    /// Forgets everything accumulated, the open segment's entries included (a batch was rolled back, a rebuild
    /// begins): a later fold reads the events it needs back from the log.
    public mutating func discard() {
        usageFold.removeAll()
        forgetOpenSegment()
        if !extensions.isEmpty {
            for i in extensions.indices { extensions[i].discard() }
        }
    }

    /// Before a batch: forgets the registered projections' batch state and keeps the open segment's entries. Those
    /// are forgotten by `apply` itself when the batch's first event does not follow them (the batch before failed after
    /// applying events, or another process appended).
    public mutating func beginBatch() {
        if !extensions.isEmpty {
            for i in extensions.indices { extensions[i].discard() }
        }
    }
}

extension UsageRecord {
    /// Bytes of the row: used, denied, lastUsed, firstUsed, lastDenied, each 8 bytes big-endian.
    static let fixedSize = 40

    /// Counts one use: the fold rule of docs/FORMAT.md §6.4, of the readers' open segment. The writer's folds compute
    /// the same from a segment's sorted uses (`UsageFold`; the tests hold the two to each other).
    mutating func count(_ use: RecentUse) {
        if use.allowed {
            used += 1
            lastUsed = use.time
            if firstUsed == 0 { firstUsed = use.time }
        } else {
            denied += 1
            lastDenied = use.time
        }
    }

    /// Adds a batch's counts (`delta`) to the stored row.
    mutating func merge(_ delta: UsageRecord) {
        used += delta.used
        denied += delta.denied
        if delta.lastUsed != 0 { lastUsed = delta.lastUsed }
        if firstUsed == 0 { firstUsed = delta.firstUsed }
        if delta.lastDenied != 0 { lastDenied = delta.lastDenied }
    }

    /// Reads the row in place; any other length goes through the row codec (which reports it).
    static func decodeFixed(_ raw: UnsafeRawBufferPointer) throws -> UsageRecord {
        guard raw.count == fixedSize else { return try decode(Array(raw)) }
        var row = UsageRecord()
        row.used = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        row.denied = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        row.lastUsed = Int64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: Int64.self))
        row.firstUsed = Int64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: Int64.self))
        row.lastDenied = Int64(bigEndian: raw.loadUnaligned(fromByteOffset: 32, as: Int64.self))
        return row
    }

    /// Writes the same 40 bytes as `bytes`.
    func encodeFixed(into p: UnsafeMutableRawPointer) {
        p.storeBytes(of: used.bigEndian, toByteOffset: 0, as: UInt64.self)
        p.storeBytes(of: denied.bigEndian, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: lastUsed.bigEndian, toByteOffset: 16, as: Int64.self)
        p.storeBytes(of: firstUsed.bigEndian, toByteOffset: 24, as: Int64.self)
        p.storeBytes(of: lastDenied.bigEndian, toByteOffset: 32, as: Int64.self)
    }
}

extension DailyUsage {
    /// Bytes of the row: allowed, denied, each 8 bytes big-endian.
    static let fixedSize = 16

    mutating func count(_ use: RecentUse) {
        if use.allowed { allowed += 1 } else { denied += 1 }
    }

    static func decodeFixed(_ raw: UnsafeRawBufferPointer) throws -> DailyUsage {
        guard raw.count == fixedSize else { return try decode(Array(raw)) }
        var row = DailyUsage()
        row.allowed = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        row.denied = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        return row
    }

    /// Writes the same 16 bytes as `bytes`.
    func encodeFixed(into p: UnsafeMutableRawPointer) {
        p.storeBytes(of: allowed.bigEndian, toByteOffset: 0, as: UInt64.self)
        p.storeBytes(of: denied.bigEndian, toByteOffset: 8, as: UInt64.self)
    }
}

/// The registry and memberships projections: applied directly, event by event.
enum RegistryProjection {
    static func apply(_ event: Event, to store: some KeyValueStore) throws {
        let t = event.timestamp
        switch event.payload {
        case .companyRegistered(let slug, let name, let domain):
            let record = CompanyRecord(number: event.company, apiEnabled: false, registeredAt: t, slug: slug, name: name, mailDomain: domain)
            try store.put(.companies, Keys.company(event.company), record.bytes)
            try store.put(.companySlugs, Keys.companySlug(slug), CompanySlugEntry(company: event.company, apiEnabled: false).bytes)
            try bump(.company, to: event.company, in: store)
        case .apiModuleEnabled, .apiModuleDisabled:
            let key = Keys.company(event.company)
            guard let raw = try store.get(.companies, key) else { throw ProjectionError(.companies, "no company \(event.company)") }
            var record = try CompanyRecord.decode(raw)
            record.apiEnabled = event.type == .apiModuleEnabled
            try store.put(.companies, key, record.bytes)
            try store.put(.companySlugs, Keys.companySlug(record.slug), CompanySlugEntry(company: record.number, apiEnabled: record.apiEnabled).bytes)
        case .memberRoleSet(let user, let email, let role):
            try store.put(.users, Keys.userByEmail(email), user.bigEndianBytes)
            try store.put(.users, Keys.emailByUser(user), Array(email.lowercased().utf8))
            try store.put(.members, Keys.member(event.company, user), MemberRecord(role: role, since: t).bytes)
            try bump(.user, to: user, in: store)
            // A removal ends everything the user had in the company. The removing command also logs each ending
            // (`token_revoked`, `code_revoked`, `user_project_role_set`), which then finds nothing left to do; doing
            // it here too gives the same state for logs written before those events existed.
            if role == .removed { try endAccess(company: event.company, user: user, store) }
        case .projectCreated(let project, let slug, let name):
            let record = ProjectRecord(company: event.company, archived: false, number: project, createdAt: t, slug: slug, name: name)
            try store.put(.projects, Keys.project(project), record.bytes)
            try store.put(.projectSlugs, Keys.projectSlug(event.company, slug), ProjectSlugEntry(project: project, archived: false).bytes)
            try bump(.project, to: project, in: store)
        case .projectArchived(let project):
            var record = try load(ProjectRecord.self, .projects, Keys.project(project), store)
            record.archived = true
            try store.put(.projects, Keys.project(project), record.bytes)
            try store.put(.projectSlugs, Keys.projectSlug(record.company, record.slug), ProjectSlugEntry(project: project, archived: true).bytes)
        case .credentialCreated(let c):
            let createdBy: UInt32 = if case .user(let u) = event.actor { u } else { 0 }
            let record = CredentialRecord(
                company: event.company, type: c.type, scope: c.scope, deleted: false, expiresAt: c.expiresAt, number: c.credential,
                createdAt: t, deletedAt: 0, createdBy: createdBy, rotatedAt: 0, publicID: c.publicID, name: c.name,
                serviceUser: c.serviceUser, displayPrefix: c.displayPrefix, clientID: c.clientID, redirectURIs: c.redirectURIs,
                secretHashes: c.secretHash.map { [$0] } ?? [])
            try store.put(.credentials, Keys.credential(c.credential), record.bytes)
            try store.put(.credentialIDs, Keys.credentialID(c.publicID), c.credential.bigEndianBytes)
            try store.put(.credentialNames, Keys.pair(event.company, c.credential), Array(c.name.utf8))
            if !c.clientID.isEmpty { try store.put(.clientIDs, Keys.credentialID(c.clientID), c.credential.bigEndianBytes) }
            if let hash = c.secretHash {
                try store.put(.secrets, Keys.hashPrefix(hash), SecretEntry(of: record, validUntil: 0, hash: hash).bytes)
            }
            try bump(.credential, to: c.credential, in: store)
        case .secretRotated(let credential, let hash, let prefix, let graceUntil):
            var record = try load(CredentialRecord.self, .credentials, Keys.credential(credential), store)
            var kept: [SHA256Digest] = []
            for old in record.secretHashes {
                let key = Keys.hashPrefix(old)
                guard let raw = try store.get(.secrets, key) else { continue }
                var entry = try SecretEntry.decode(raw)
                let until = entry.validUntil == 0 ? graceUntil : min(entry.validUntil, graceUntil)
                if until <= t {
                    try store.delete(.secrets, key)
                } else {
                    entry.validUntil = until
                    try store.put(.secrets, key, entry.bytes)
                    kept.append(old)
                }
            }
            // At most `maxLiveSecrets` stay valid (the command refuses more); the oldest go first.
            while kept.count >= CredentialRecord.maxLiveSecrets, let oldest = kept.popLast() {
                try store.delete(.secrets, Keys.hashPrefix(oldest))
            }
            try store.put(.secrets, Keys.hashPrefix(hash), SecretEntry(of: record, validUntil: 0, hash: hash).bytes)
            record.secretHashes = [hash] + kept
            record.displayPrefix = record.type == .staticKey ? prefix : record.displayPrefix
            record.rotatedAt = t
            try store.put(.credentials, Keys.credential(credential), record.bytes)
            try endTokens(credential: credential, at: graceUntil, now: t, store)
        case .credentialDeleted(let credential):
            var record = try load(CredentialRecord.self, .credentials, Keys.credential(credential), store)
            record.deleted = true
            record.deletedAt = t
            try store.put(.credentials, Keys.credential(credential), record.bytes)
            try store.delete(.credentialNames, Keys.pair(record.company, credential))
            // The secrets' rows stay (a deleted key answers `revoked`, not `unknown_credential`) and carry the flag;
            // so do its tokens' rows (a token of a deleted credential answers `revoked` too).
            for hash in record.secretHashes {
                let key = Keys.hashPrefix(hash)
                guard let raw = try store.get(.secrets, key) else { continue }
                var entry = try SecretEntry.decode(raw)
                entry.deleted = true
                try store.put(.secrets, key, entry.bytes)
            }
            try updateTokens(credential: credential, store) { token in
                token.credentialDeleted = true
                return true
            }
        case .projectAccessGranted(let credential, let project, let role), .projectAccessChanged(let credential, let project, let role):
            let grant = RoleGrant(role: role, since: t).bytes
            try store.put(.access, Keys.pair(credential, project), grant)
            try store.put(.accessByProject, Keys.pair(project, credential), grant)
        case .projectAccessRevoked(let credential, let project):
            try store.delete(.access, Keys.pair(credential, project))
            try store.delete(.accessByProject, Keys.pair(project, credential))
        case .userProjectRoleSet(let user, let project, let role):
            if let role {
                let grant = RoleGrant(role: role, since: t).bytes
                try store.put(.userRoles, Keys.pair(user, project), grant)
                try store.put(.userRolesByProject, Keys.pair(project, user), grant)
            } else {
                try store.delete(.userRoles, Keys.pair(user, project))
                try store.delete(.userRolesByProject, Keys.pair(project, user))
            }
        case .consentGiven(let c):
            let record = CodeRecord(credential: c.credential, user: c.user, status: .unused, family: 0, expiresAt: c.expiresAt,
                                    approvedAt: t, challenge: c.challenge, hash: c.codeHash, redirectURI: c.redirectURI,
                                    resource: c.resource)
            try store.put(.codes, Keys.hashPrefix(c.codeHash), record.bytes)
            try store.put(.userCodes, Keys.userCode(event.company, c.user, c.codeHash), [])
        case .tokenIssued(let i):
            let family = event.seq
            var approvedAt = t
            if let code = i.codeHash {
                var record = try load(CodeRecord.self, .codes, Keys.hashPrefix(code), store)
                record.status = .redeemed
                record.family = family
                approvedAt = record.approvedAt
                try store.put(.codes, Keys.hashPrefix(code), record.bytes)
            }
            // The rows carry the credential's facts and the principal: its service user, or the approving user's email.
            let record = try load(CredentialRecord.self, .credentials, Keys.credential(i.credential), store)
            let principal = record.type.isUserDelegated ? try StateReader(store).email(user: i.user) ?? "" : record.serviceUser
            try putToken(TokenRecord(kind: .access, status: .active, of: record, user: i.user, principal: principal, family: family,
                                     expiresAt: i.accessExpiresAt, issuedAt: t, hash: i.accessHash, approvedAt: approvedAt), store)
            if let refresh = i.refreshHash {
                try putToken(TokenRecord(kind: .refresh, status: .active, of: record, user: i.user, principal: principal, family: family,
                                         expiresAt: i.refreshExpiresAt, issuedAt: t, hash: refresh, approvedAt: approvedAt), store)
            }
            // The family's RFC 8707 resource lives in this per-family row (empty = none), not in `tokens`: the
            // authorization hot path reads token rows in place and never needs it.
            try store.put(.credentialFamilies, Keys.credentialFamily(i.credential, family), Array((i.resource ?? "").utf8))
            if i.user != 0 { try store.put(.userFamilies, Keys.userFamily(event.company, i.user, family), []) }
        case .tokenRefreshed(let r):
            let spentKey = Keys.hashPrefix(r.spentRefreshHash)
            var spent = try load(TokenRecord.self, .tokens, spentKey, store)
            spent.status = .spent
            try store.put(.tokens, spentKey, spent.bytes)
            // The new pair repeats the spent token's credential, family, user, approval, credential facts and principal
            // (the refresh command emits the spent token's credential and family, so they are the event's too).
            try putToken(spent.renewed(.access, expiresAt: r.accessExpiresAt, issuedAt: t, hash: r.accessHash), store)
            try putToken(spent.renewed(.refresh, expiresAt: r.refreshExpiresAt, issuedAt: t, hash: r.refreshHash), store)
        case .tokenRevoked(let r):
            if r.wholeFamily {
                var members: [[UInt8]] = []
                try store.scan(.tokenFamilies, prefix: r.family.bigEndianBytes) { key, _ in
                    members.append(Array(key.suffix(16)))
                    return true
                }
                for key in members { try revoke(key, store) }
            } else {
                try revoke(Keys.hashPrefix(r.tokenHash), store)
            }
        case .codeRevoked(let c):
            try revokeCode(Keys.hashPrefix(c.codeHash), store)
        case .credentialUsed, .oauthRequestDenied, .logAccepted:
            break
        }
    }

    /// A removed user's token families and codes in `company` are revoked and their project roles there deleted.
    private static func endAccess(company: UInt32, user: UInt32, _ store: some KeyValueStore) throws {
        let state = StateReader(store)
        for family in try state.families(company: company, user: user) {
            for key in try state.tokenKeys(family: family) { try revoke(key, store) }
        }
        for key in try state.codeKeys(company: company, user: user) { try revokeCode(key, store) }
        for (project, _) in try state.userRoles(user: user, company: company) {
            try store.delete(.userRoles, Keys.pair(user, project))
            try store.delete(.userRolesByProject, Keys.pair(project, user))
        }
    }

    /// A rotation's old secrets end at `end`: so does every token obtained with them — every active token of the
    /// credential that would outlive `end` now expires then, and is revoked if `end` is not after the rotation.
    private static func endTokens(credential: UInt32, at end: Timestamp, now: Timestamp, _ store: some KeyValueStore) throws {
        try updateTokens(credential: credential, store) { token in
            guard token.status == .active, token.expiresAt > end else { return false }
            token.expiresAt = end
            if end <= now { token.status = .revoked }
            return true
        }
    }

    /// Rewrites each token row of `credential`'s families that `change` modifies (returns true for).
    private static func updateTokens(credential: UInt32, _ store: some KeyValueStore,
                                     _ change: (inout TokenRecord) -> Bool) throws {
        let state = StateReader(store)
        for family in try state.families(credential: credential) {
            for key in try state.tokenKeys(family: family) {
                guard let raw = try store.get(.tokens, key) else { continue }
                var token = try TokenRecord.decode(raw)
                if change(&token) { try store.put(.tokens, key, token.bytes) }
            }
        }
    }

    private static func revokeCode(_ key: [UInt8], _ store: some KeyValueStore) throws {
        guard let raw = try store.get(.codes, key) else { return }
        var code = try CodeRecord.decode(raw)
        guard code.status == .unused else { return }
        code.status = .revoked
        try store.put(.codes, key, code.bytes)
    }

    private static func revoke(_ key: [UInt8], _ store: some KeyValueStore) throws {
        guard let raw = try store.get(.tokens, key) else { return }
        var token = try TokenRecord.decode(raw)
        guard token.status == .active else { return }
        token.status = .revoked
        try store.put(.tokens, key, token.bytes)
    }

    private static func putToken(_ token: TokenRecord, _ store: some KeyValueStore) throws {
        try store.put(.tokens, Keys.hashPrefix(token.hash), token.bytes)
        try store.put(.tokenFamilies, Keys.tokenFamily(token.family, token.hash), [])
    }

    private static func load<R: ProjectionRow>(_: R.Type, _ table: Table, _ key: [UInt8], _ store: some KeyValueStore) throws -> R {
        guard let raw = try store.get(table, key) else { throw ProjectionError(table, "missing row \(key)") }
        return try R.decode(raw)
    }

    private static func bump(_ counter: Keys.Counter, to value: UInt32, in store: some KeyValueStore) throws {
        let key = [counter.rawValue]
        let current = try store.get(.counters, key).flatMap { UInt32(bigEndianBytes: $0) } ?? 0
        if value > current { try store.put(.counters, key, value.bigEndianBytes) }
    }
}

/// A small open-addressing hash table from 128-bit keys to dense slot numbers (0, 1, 2, … in insertion order),
/// for the posting fold's lists beyond its direct-indexed ids (`PostingIndex.FoldScratch`): a multiply-and-shift
/// hash per lookup instead of SipHash, no allocation once warm, and clearing touches only the used buckets.
struct SlotTable {
    private var keys0: [UInt64] = []
    private var keys1: [UInt64] = []
    /// Slot + 1 per bucket; 0 = empty.
    private var slots: [Int32] = []
    private var used: [Int] = []
    private var shift: UInt64 = 64

    /// Slots handed out since the last `removeAll`.
    private(set) var count = 0

    init() { resize(buckets: 64) }

    private mutating func resize(buckets: Int) {
        let oldKeys0 = keys0, oldKeys1 = keys1, oldSlots = slots, oldUsed = used
        keys0 = Array(repeating: 0, count: buckets)
        keys1 = Array(repeating: 0, count: buckets)
        slots = Array(repeating: 0, count: buckets)
        used = []
        used.reserveCapacity(buckets / 2 + 1)
        shift = UInt64(64 - buckets.trailingZeroBitCount)
        for b in oldUsed { insert(oldKeys0[b], oldKeys1[b], slot: oldSlots[b]) }
    }

    @inline(__always)
    private func bucket(_ k0: UInt64, _ k1: UInt64) -> Int {
        var h = k0 &* 0x9E37_79B9_7F4A_7C15
        h ^= (k1 &+ 0x632B_E59B_D9B4_E019) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: h >> shift)
    }

    private mutating func insert(_ k0: UInt64, _ k1: UInt64, slot: Int32) {
        let mask = slots.count - 1
        var b = bucket(k0, k1)
        while slots[b] != 0 { b = (b + 1) & mask }
        keys0[b] = k0
        keys1[b] = k1
        slots[b] = slot
        used.append(b)
    }

    /// The slot of the key, and whether it was just created (the caller then initialises the slot's data).
    @inline(__always)
    mutating func slot(_ k0: UInt64, _ k1: UInt64) -> (slot: Int, isNew: Bool) {
        let mask = slots.count - 1
        var b = bucket(k0, k1)
        while true {
            let s = slots[b]
            if s == 0 { break }
            if keys0[b] == k0 && keys1[b] == k1 { return (Int(s) - 1, false) }
            b = (b + 1) & mask
        }
        let slot = count
        count += 1
        keys0[b] = k0
        keys1[b] = k1
        slots[b] = Int32(truncatingIfNeeded: slot + 1)
        used.append(b)
        if used.count * 2 > slots.count { resize(buckets: slots.count * 2) }
        return (slot, true)
    }

    /// Forgets every key, keeping the storage.
    mutating func removeAll() {
        for b in used { slots[b] = 0 }
        used.removeAll(keepingCapacity: true)
        count = 0
    }
}
