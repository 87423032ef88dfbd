import CLMDB
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One LMDB environment (`MDB_env`): a memory-mapped data file holding named databases.
///
/// Keep exactly one `Environment` per real path per process: LMDB's locks belong to the
/// process, so closing a second handle would silently drop the first one's locks. The
/// initializer enforces this with a process-wide registry keyed by `realpath`.
///
/// Transactions are closure-scoped (``read(_:)``, ``write(_:)``): the closure runs
/// synchronously on the calling thread, which is the only thread the transaction may be used
/// on, and a thread has at most one transaction of an environment at a time (nesting throws
/// ``LMDBError/badTransaction``). Never hold a closure open across an `await`; run all write
/// transactions on one dedicated thread.
///
/// The memory map grows on demand: every transaction holds a readers-writer lock shared for
/// its whole lifetime, and growth (`mdb_env_set_mapsize`) takes it exclusively, because LMDB
/// requires that no transaction of the process is active then. Long-running read closures
/// therefore delay growth (and stop page reuse): keep them short.
public final class Environment: @unchecked Sendable {
    /// The longest key LMDB 0.9.24 accepts (`mdb_env_get_maxkeysize`). Keys are 1...511 bytes.
    public static let maxKeySize = 511

    /// The path given to ``init(path:configuration:)`` (like `mdb_env_get_path`).
    public let path: String

    /// The configuration the environment was opened with.
    public let configuration: Configuration

    /// Whether the environment was opened with ``EnvironmentFlags/readOnly``.
    public let isReadOnly: Bool

    /// Process-unique identity, stamped on ``Database`` handles.
    let id: UInt64

    /// The registry key (`realpath`) of the environment.
    let realPath: String

    /// Read under the map lock shared, written (closed) under it exclusive. These and the properties under
    /// `stateMutex` or the pools' mutexes are `@exclusivity(unchecked)`: the locks already order every access, and the
    /// runtime's dynamic check (a thread-local access set insert and remove) ran several times per read transaction.
    @exclusivity(unchecked) private var handle: OpaquePointer?

    /// The map lock — held shared by every transaction (and map access), exclusively by growth and close — and the
    /// pool of idle read transactions, both split into stripes: a thread uses its own (``ReaderStripes``).
    ///
    /// The pool: read transactions waiting for the next read. With `MDB_NOTLS` a read transaction is not tied to a
    /// thread, so reusing one saves the begin's allocation and reader-table scan and the abort's free. Taken and given
    /// back only under the map lock shared; emptied (aborted) under it exclusive before a map resize or the close, and
    /// before `mdb_reader_check` on a full table. At most an eighth of the reader slots are kept, so other readers and
    /// processes keep theirs. See "Held snapshots" below.
    private let stripes: ReaderStripes

    /// Guards `currentMapSize` (also written only under the map lock exclusive, so a transaction reads it without this
    /// mutex) and `databases`.
    private let stateMutex = PosixMutex()
    @exclusivity(unchecked) private var currentMapSize: Int
    private var databases: [String: Database] = [:]
    /// Written with every pool's mutex held, read under any one (``ReaderStripes/withAllPools(_:)``).
    @exclusivity(unchecked) private var injector: (@Sendable (LMDBCall) -> Int32?)?

    // Held snapshots.
    //
    // A kept read transaction keeps its snapshot (`holdsSnapshot`) when that snapshot was still the newest commit as
    // its read ended: the next read takes it as it is if nothing has been committed since (the environment's last
    // txnid is still its txnid), which is what a new transaction would read, and so skips `mdb_txn_renew` and, above
    // all, the lookups of every named database's record that LMDB makes again in each renewed transaction
    // (`DB_STALE`); a decision reads seven tables. Otherwise it is reset (`mdb_txn_reset`: a reader slot, no
    // snapshot) and renewed.
    //
    // A held snapshot keeps the pages freed after it from reuse, so it must not outlive the next commit: every
    // write transaction of this environment that commits resets the held ones (`resetHeldSnapshots`), and a
    // read-only environment — whose commits all come from other processes — holds none. Other processes' commits
    // do not reach this process, so a held snapshot also lives at most `Configuration.heldSnapshotMillis`: then the held
    // ones are reset (`releaseHeldSnapshots`), however idle the process is, and the pages freed meanwhile by the
    // other processes' commits become reusable to their writers.
    //
    // LMDB also fixes a transaction's named databases when it begins or renews (`mt_numdbs`), and `openDatabases` of
    // databases that already exist commits without a new txnid: a held transaction is taken only while no database
    // was opened since it began (`databaseGeneration`), or it could not use a handle returned before its read.

    /// Counts `openDatabases` calls that opened a database (written with every pool's mutex held, read under any one),
    /// each raised after LMDB published the new handles, so a transaction begun or renewed after reading a value knows
    /// every database opened up to it.
    @exclusivity(unchecked) private var databaseGeneration: UInt64 = 0

    /// Serializes `mdb_dbi_open` (LMDB forbids concurrent calls from one process).
    private let databaseMutex = PosixMutex()

    // MARK: - Opening and closing

    /// Opens (creating if needed) the environment at `path`.
    ///
    /// Creates the directory if missing (unless read-only), checks `mdb_version()` ≥ 0.9, and
    /// calls `mdb_env_create`, `mdb_env_set_maxdbs`, `mdb_env_set_maxreaders`,
    /// `mdb_env_open` (always with `MDB_NOTLS`), `mdb_reader_check` and `mdb_env_set_mapsize`
    /// (keeping the larger of the recorded and the configured size).
    ///
    /// - Throws: ``LMDBError/alreadyOpen`` (this real path is already open in the process),
    ///   ``LMDBError/invalidArgument`` (invalid configuration), ``LMDBError/noEntry`` (read-only
    ///   and missing), ``LMDBError/accessDenied``, ``LMDBError/readOnlyFS``,
    ///   ``LMDBError/busy`` (locked by another process), ``LMDBError/versionMismatch``,
    ///   ``LMDBError/invalid`` (not an LMDB file), ``LMDBError/corrupted``, ``LMDBError/panic``.
    public init(path: String, configuration: Configuration = .init()) throws {
        try configuration.validate()
        let version = Environment.version
        guard version.major > 0 || version.minor >= 9 else {
            throw LMDBError(
                code: MDB_VERSION_MISMATCH, function: "mdb_version",
                detail: "LMDB \(version.major).\(version.minor).\(version.patch) is older than 0.9")
        }
        let flags = configuration.flags.intersection(.supported)
        let readOnly = flags.contains(.readOnly)
        let noSubdir = flags.contains(.noSubdir)
        if !readOnly {
            let directory = noSubdir ? FilePaths.parentDirectory(of: path) : path
            try FilePaths.createDirectory(directory, mode: configuration.directoryMode)
        }
        let key = try FilePaths.environmentKey(path, noSubdir: noSubdir)
        try EnvironmentRegistry.shared.register(key)
        let opened: (handle: OpaquePointer, mapSize: Int)
        do {
            opened = try Environment.openHandle(path: path, configuration: configuration, flags: flags)
        } catch {
            EnvironmentRegistry.shared.unregister(key)
            throw error
        }
        self.path = path
        self.configuration = configuration
        self.isReadOnly = readOnly
        self.id = EnvironmentRegistry.shared.nextID()
        self.realPath = key
        self.handle = opened.handle
        self.currentMapSize = opened.mapSize
        self.stripes = ReaderStripes(keepingAtMost: min(32, Int(configuration.maxReaders) / 8))
    }

    /// `mdb_env_create` … `mdb_env_open`, `mdb_reader_check`, `mdb_env_set_mapsize`; closes the
    /// handle on failure.
    private static func openHandle(path: String, configuration: Configuration, flags: EnvironmentFlags) throws -> (handle: OpaquePointer, mapSize: Int) {
        var created: OpaquePointer?
        try LMDBError.check(mdb_env_create(&created), "mdb_env_create").get()
        guard let env = created else {
            throw LMDBError(code: ENOMEM, function: "mdb_env_create", detail: "no environment returned")
        }
        do {
            try LMDBError.check(mdb_env_set_maxdbs(env, configuration.maxDatabases), "mdb_env_set_maxdbs").get()
            try LMDBError.check(mdb_env_set_maxreaders(env, configuration.maxReaders), "mdb_env_set_maxreaders").get()
            let openFlags = flags.rawValue | UInt32(MDB_NOTLS)
            let openCode = mdb_env_open(env, path, openFlags, configuration.fileMode)
            guard openCode == MDB_SUCCESS else {
                throw LMDBError(code: openCode, function: "mdb_env_open", detail: path)
            }
            var dead: Int32 = 0
            try LMDBError.check(mdb_reader_check(env, &dead), "mdb_reader_check").get()
            // No size was set before mdb_env_open, so LMDB used the recorded one (1 MiB for a new
            // file). Keep the larger of it and the configured size; no transaction is active yet.
            let recorded = mapSize(of: env)
            let wanted = max(recorded, roundUpToPage(configuration.mapSize, limit: Int.max))
            if wanted != recorded {
                try LMDBError.check(mdb_env_set_mapsize(env, wanted), "mdb_env_set_mapsize").get()
            }
            return (env, mapSize(of: env))
        } catch {
            mdb_env_close(env)
            throw error
        }
    }

    /// Closes the environment (`mdb_env_close`), waiting for running transactions of other
    /// threads to end. Idempotent; also called by `deinit`. Database handles become invalid and
    /// later calls throw ``LMDBError/invalidArgument``. Wraps `mdb_env_close`.
    ///
    /// Calling it inside one of this environment's transaction closures is a programming error
    /// (it would deadlock) and traps.
    public func close() {
        precondition(
            !currentThreadHasTransaction,
            "Environment.close() called inside a transaction of the environment at \(path)")
        let wasOpen: Bool = stripes.withExclusive {
            guard let env = handle else { return false }
            abortIdleReaders()
            handle = nil
            mdb_env_close(env)
            return true
        }
        if wasOpen {
            EnvironmentRegistry.shared.unregister(realPath)
        }
    }

    deinit {
        close()
    }

    // MARK: - Databases

    /// Opens (and with ``DatabaseFlags/create`` creates) the named databases, in one committed
    /// write transaction — a read transaction when the environment is read-only. Handles are
    /// cached: names opened before are not opened again. Wraps `mdb_dbi_open`.
    ///
    /// Call it once at start-up: a transaction that began before the databases were opened
    /// cannot use them.
    ///
    /// - Returns: one handle per name, in order.
    /// - Throws: ``LMDBError/notFound`` (missing database without `.create`, or read-only),
    ///   ``LMDBError/dbsFull`` (more than `maxDatabases`), ``LMDBError/incompatible`` (the name
    ///   is a key of the main database, or its flags differ), ``LMDBError/invalidArgument``
    ///   (empty name), ``LMDBError/badTransaction`` (called inside a transaction closure), and
    ///   the errors of ``write(_:)``.
    public func openDatabases(_ names: [String], flags: DatabaseFlags = [.create]) throws -> [Database] {
        let function = "mdb_dbi_open"
        if names.contains(where: \.isEmpty) {
            throw LMDBError(
                code: EINVAL, function: function,
                detail: "database names must be non-empty (the unnamed main database lists the named ones)")
        }
        try refuseNested("Environment.openDatabases")
        return try databaseMutex.withLock {
            var missing: [String] = []
            stateMutex.withLock {
                for name in names where databases[name] == nil && !missing.contains(name) {
                    missing.append(name)
                }
            }
            if !missing.isEmpty {
                let openFlags = isReadOnly ? 0 : flags.intersection(.supported).rawValue
                let environmentID = id
                let readOnly = isReadOnly
                let opened: [Database] = try runTransaction(
                    readOnly: readOnly, commitReadOnly: true, function: "Environment.openDatabases"
                ) { txn in
                    try missing.map { name in
                        var dbi: MDB_dbi = 0
                        let code = mdb_dbi_open(txn.pointer, name, openFlags, &dbi)
                        guard code == MDB_SUCCESS else {
                            let detail = code == MDB_NOTFOUND
                                ? "database '\(name)' does not exist" + (readOnly ? " (read-only environment: it cannot be created)" : "")
                                : "database '\(name)'"
                            throw txn.state.record(LMDBError(code: code, function: function, detail: detail))
                        }
                        return Database(name: name, dbi: dbi, environmentID: environmentID)
                    }
                }
                stateMutex.withLock {
                    for database in opened { databases[database.name] = database }
                }
                // After the commit published the handles: see "Held snapshots".
                stripes.withAllPools { databaseGeneration &+= 1 }
            }
            return try stateMutex.withLock {
                try names.map { name in
                    guard let database = databases[name] else {
                        throw LMDBError(code: MDB_NOTFOUND, function: function, detail: "database '\(name)'")
                    }
                    return database
                }
            }
        }
    }

    // MARK: - Transactions

    /// Runs `body` in a read-only transaction (`mdb_txn_begin(MDB_RDONLY)`, `mdb_txn_renew` of an idle one, or an
    /// idle one as it is while its snapshot is still the newest commit), ended when `body` returns (kept for the next
    /// read of a thread of the same stripe, its snapshot held only while it is the newest — see "Held snapshots";
    /// `mdb_txn_abort` once a few are kept) or throws (`mdb_txn_abort`). Either way `body` sees the latest committed
    /// snapshot.
    ///
    /// On `MDB_MAP_RESIZED` (another process grew the map) it adopts the new size and retries;
    /// on `MDB_READERS_FULL` it runs `mdb_reader_check` and retries once.
    ///
    /// - Returns: what `body` returns.
    /// - Throws: the error thrown by `body`, unchanged; ``LMDBError/readersFull``,
    ///   ``LMDBError/badTransaction`` (this thread already has a transaction of this
    ///   environment), ``LMDBError/invalidArgument`` (closed), ``LMDBError/panic``.
    @discardableResult
    public func read<R>(_ body: (borrowing Transaction) throws -> R) throws -> R {
        try runTransaction(readOnly: true, commitReadOnly: false, function: "Environment.read", body)
    }

    /// ``read(_:)`` for a body that returns nothing (it hands its result out through a captured variable). Not generic,
    /// so a caller in another module runs code specialised here: no generic metadata or value-witness calls per read
    /// (for hot paths such as the authorization decision).
    ///
    /// - Throws: as ``read(_:)``.
    public func readSnapshot(_ body: (borrowing Transaction) throws -> Void) throws {
        try runTransaction(readOnly: true, commitReadOnly: false, function: "Environment.read", body)
    }

    /// Runs `body` in a write transaction (`mdb_txn_begin`): returning commits
    /// (`mdb_txn_commit`), throwing aborts (`mdb_txn_abort`).
    ///
    /// On `MDB_MAP_FULL` — from a put or from the commit — the transaction is aborted, the map
    /// grows (× `growthFactor`, up to `maxMapSize`) and **`body` runs again from the start**, so
    /// it must be safe to re-run (compute from what it reads, keep no side effects outside the
    /// transaction). If a put failed in a way that left the transaction unusable and `body`
    /// swallowed the error, that first error is thrown instead of committing. On
    /// `MDB_MAP_RESIZED` from `mdb_txn_begin` it adopts the new size and retries.
    ///
    /// - Returns: what `body` returns.
    /// - Throws: the error thrown by `body`, unchanged (after the abort);
    ///   ``LMDBError/mapFull`` (the map reached `maxMapSize`; nothing was written),
    ///   ``LMDBError/accessDenied`` (read-only environment), ``LMDBError/noSpace`` and other
    ///   errno codes from the commit's writes and fsync, ``LMDBError/txnFull``,
    ///   ``LMDBError/readersFull``, ``LMDBError/badTransaction`` (nested on this thread),
    ///   ``LMDBError/invalidArgument`` (closed), ``LMDBError/panic``.
    @discardableResult
    public func write<R>(_ body: (borrowing Transaction) throws -> R) throws -> R {
        guard !isReadOnly else {
            throw LMDBError(
                code: EACCES, function: "Environment.write",
                detail: "the environment at \(path) was opened read-only (EnvironmentFlags.readOnly); write transactions are refused")
        }
        return try runTransaction(readOnly: false, commitReadOnly: false, function: "Environment.write", body)
    }

    /// What one attempt at a transaction came to.
    private enum Attempt<R> {
        case finished(R)
        case growMap(observedMapSize: Int)
        case adoptResizedMap
        case readersFull
    }

    /// The retry loop shared by ``read(_:)``, ``write(_:)`` and ``openDatabases(_:flags:)``.
    private func runTransaction<R>(
        readOnly: Bool, commitReadOnly: Bool, function: String, _ body: (borrowing Transaction) throws -> R
    ) throws -> R {
        let stripe = try enterTransactionScope(function)
        defer { leaveTransactionScope() }
        var checkedReaders = false
        var adoptedSizes = 0
        while true {
            let attempt = try stripes.withShared(stripe) {
                try attemptTransaction(readOnly: readOnly, commitReadOnly: commitReadOnly, stripe: stripe, body)
            }
            switch attempt {
            case .finished(let result):
                return result
            case .growMap(let observedMapSize):
                try growMap(after: observedMapSize)
            case .adoptResizedMap:
                adoptedSizes += 1
                guard adoptedSizes <= 8 else {
                    throw LMDBError(
                        code: MDB_MAP_RESIZED, function: "mdb_txn_begin",
                        detail: "the map kept being resized by another process")
                }
                try adoptResizedMap()
            case .readersFull:
                guard !checkedReaders else {
                    throw LMDBError(
                        code: MDB_READERS_FULL, function: "mdb_txn_begin",
                        detail: "all \(configuration.maxReaders) reader slots are in use, even after mdb_reader_check")
                }
                checkedReaders = true
                // Idle readers hold slots too: give them back first. Shared is enough (an idle reader is nobody's, and
                // the close and resizes, which need exclusive, empty the pool themselves); exclusive would wait for
                // the very readers that fill the table.
                // `mdb_reader_check` under the same lock: this thread counts as inside a transaction here, so
                // `readerCheck()` would take no lock and could race a close.
                try stripes.withShared(stripe) {
                    abortIdleReaders()
                    guard let env = handle else { throw closedError("mdb_reader_check") }
                    _ = try Environment.clearStaleReaders(env)
                }
            }
        }
    }

    /// One attempt, with the map lock held shared (in `stripe`) by the caller.
    private func attemptTransaction<R>(
        readOnly: Bool, commitReadOnly: Bool, stripe: Int, _ body: (borrowing Transaction) throws -> R
    ) throws -> Attempt<R> {
        guard let env = handle else { throw closedError("mdb_txn_begin") }
        let reusable = readOnly && !commitReadOnly
        // Written only under the map lock exclusive.
        let observedMapSize = currentMapSize
        // An idle reader of this thread's stripe (if the read may reuse one), the fault injector and the databases
        // opened so far under one lock section.
        let (idle, injector, generation) = stripes.withPool(stripe) { pool in
            (reusable ? pool.popLast() : nil, self.injector, databaseGeneration)
        }
        let state = TransactionState(environment: self, isReadOnly: readOnly, injector: injector)

        var begun: OpaquePointer?
        let beginCode: Int32
        // A held snapshot that is still the newest commit, begun after every database handed out was opened, is taken
        // as it is: it was settled when it began.
        var current = false
        // The databases `begun` knows: those opened up to `generation` (read before any begin or renew below).
        var begunGeneration = generation
        if let injected = state.injectedFault(.txnBegin) {
            if let idle { mdb_txn_abort(idle.txn) }
            beginCode = injected
        } else if let idle, idle.holdsSnapshot, idle.databaseGeneration == generation,
                  Environment.isNewestSnapshot(idle.txn, env) {
            begun = idle.txn
            beginCode = MDB_SUCCESS
            current = true
            begunGeneration = idle.databaseGeneration
        } else if let idle {
            if idle.holdsSnapshot { mdb_txn_reset(idle.txn) }
            // The renewed transaction reads the latest committed snapshot, as a new one would. On failure (a map
            // another process grew: MDB_MAP_RESIZED) it is dropped and a begin reports what LMDB says now.
            if mdb_txn_renew(idle.txn) == MDB_SUCCESS {
                begun = idle.txn
                beginCode = MDB_SUCCESS
            } else {
                mdb_txn_abort(idle.txn)
                beginCode = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &begun)
            }
        } else {
            beginCode = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &begun)
        }
        var settledCode = beginCode
        if beginCode == MDB_SUCCESS, readOnly, !current, let txn = begun {
            settledCode = Environment.settleReadSnapshot(txn, env)
            if settledCode != MDB_SUCCESS { mdb_txn_abort(txn) }
        }
        switch settledCode {
        case MDB_SUCCESS: break
        case MDB_MAP_RESIZED: return .adoptResizedMap
        case MDB_READERS_FULL: return .readersFull
        case EAGAIN:
            throw LMDBError(code: EAGAIN, function: "mdb_txn_begin", detail: "commits kept overtaking the read snapshot")
        default: throw LMDBError(code: settledCode, function: "mdb_txn_begin")
        }
        guard let txn = begun else {
            throw LMDBError(code: EINVAL, function: "mdb_txn_begin", detail: "no transaction returned")
        }

        let result: R
        do {
            defer { state.finish() }
            result = try body(Transaction(pointer: txn, state: state))
        } catch {
            mdb_txn_abort(txn)
            if !readOnly, LMDBError.mapFull ~= error {
                return .growMap(observedMapSize: observedMapSize)
            }
            throw error
        }

        // The body returned, but swallowed an error after which LMDB only allows an abort.
        if let poisoned = state.firstError {
            mdb_txn_abort(txn)
            if !readOnly, poisoned.code == MDB_MAP_FULL {
                return .growMap(observedMapSize: observedMapSize)
            }
            throw poisoned
        }

        if reusable {
            releaseReader(txn, databaseGeneration: begunGeneration, stripe: stripe)
            return .finished(result)
        }

        let commitCode: Int32
        if let injected = state.injectedFault(.commit) {
            // A failed mdb_txn_commit has freed the transaction; do the same for an injected one.
            mdb_txn_abort(txn)
            commitCode = injected
        } else {
            // On failure the transaction is already freed: it must not be aborted again.
            commitCode = mdb_txn_commit(txn)
        }
        // Committed or not, the held snapshots go: a commit made them old, and after a failed one (LMDB may have
        // flagged the environment as failed: `MDB_PANIC`) the next read reports what LMDB says, not a held snapshot.
        if !readOnly { resetHeldSnapshots() }
        switch commitCode {
        case MDB_SUCCESS:
            return .finished(result)
        case MDB_MAP_FULL where !readOnly:
            return .growMap(observedMapSize: observedMapSize)
        default:
            throw LMDBError(code: commitCode, function: "mdb_txn_commit")
        }
    }

    /// Makes sure a begun read transaction reads the snapshot of its own txnid (or one commit newer), never two.
    ///
    /// LMDB 0.9's read begin (`mdb_txn_renew0`) loads the published txnid N, picks meta page N & 1, and copies it a
    /// moment later. A reader preempted in between while the writer commits N+1 and N+2 copies the page N+2 has just
    /// rewritten. N+2 publishes its txnid only after its synchronous meta write returns, so this thread's next read can
    /// get N+1: a thread's snapshots would go back (a revoke seen, then unseen; `SnapshotOrderTests` caught it under
    /// load). So: when the newest meta page is two or more commits past the transaction's txnid, the page it copied
    /// may have been rewritten, and the snapshot is taken again (`mdb_txn_reset` + `mdb_txn_renew`). Cheap: one read
    /// of the two meta pages' txnids; a retry needs two commits inside one begin. What stays open is LMDB's own
    /// nanosecond window of a copy made while the kernel is still writing the rewritten page, before its txnid.
    ///
    /// - Returns: `MDB_SUCCESS`, a renew's error (the caller aborts `txn`), or `EAGAIN` after 1,000 overtaken tries.
    static func settleReadSnapshot(_ txn: OpaquePointer, _ env: OpaquePointer) -> Int32 {
        for _ in 0..<1_000 {
            guard let last = lastCommittedTxnID(env) else { return EINVAL }
            if last < mdb_txn_id(txn) &+ 2 { return MDB_SUCCESS }
            mdb_txn_reset(txn)
            let code = mdb_txn_renew(txn)
            guard code == MDB_SUCCESS else { return code }
        }
        return EAGAIN
    }

    // MARK: - Idle readers

    /// Ends a read transaction whose closure returned: kept in `stripe`'s pool for the next read (its snapshot held
    /// while it is the newest, else reset), or aborted when the stripe keeps enough (called under the map lock shared).
    private func releaseReader(_ txn: OpaquePointer, databaseGeneration begun: UInt64, stripe: Int) {
        var scheduleRelease = false
        let kept = stripes.withPool(stripe) { pool in
            guard !pool.isFull else { return false }
            // Keep the snapshot only while it is the newest (see "Held snapshots"): one that a commit has already
            // passed would pin pages until the next commit for nothing, as the next read renews it anyway. Decided
            // under the stripe's mutex, which a committing thread's `resetHeldSnapshots` takes after its commit:
            // either that commit is visible here, or the reset comes after this reader is in the pool.
            // One begun before a database was opened could not serve a read of it.
            let holds = !isReadOnly && configuration.heldSnapshotMillis > 0 && begun == databaseGeneration
                && handle.map { Environment.isNewestSnapshot(txn, $0) } == true
            if !holds { mdb_txn_reset(txn) }
            pool.append(ReaderStripes.IdleReader(txn: txn, holdsSnapshot: holds, databaseGeneration: begun))
            if holds && !pool.releaseScheduled {
                pool.releaseScheduled = true
                scheduleRelease = true
            }
            return true
        }
        if !kept { mdb_txn_abort(txn) }
        if scheduleRelease {
            let lifetime = DispatchTimeInterval.milliseconds(configuration.heldSnapshotMillis)
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + lifetime) { [weak self] in
                self?.releaseHeldSnapshots(stripe: stripe)
            }
        }
    }

    /// Resets `stripe`'s held snapshots a while after one was kept (see "Held snapshots"): a dispatch timer, at most
    /// one pending per stripe. Under traffic this costs each pooled reader one renew per lifetime; on a closed
    /// environment it does nothing.
    private func releaseHeldSnapshots(stripe: Int) {
        stripes.withShared(stripes.index(ordinal: ThreadTransactions.ordinal)) {
            stripes.withPool(stripe) { pool in
                pool.releaseScheduled = false
                guard handle != nil else { return }
                pool.resetHeld()
            }
        }
    }

    /// Whether `txn` reads the newest committed snapshot: the environment's last txnid is its own.
    static func isNewestSnapshot(_ txn: OpaquePointer, _ env: OpaquePointer) -> Bool {
        lastCommittedTxnID(env) == mdb_txn_id(txn)
    }

    /// The newest meta page's txnid (`mdb_env_info`'s `me_last_txnid`), or nil if LMDB refuses.
    private static func lastCommittedTxnID(_ env: OpaquePointer) -> Int? {
        var info = MDB_envinfo()
        return mdb_env_info(env, &info) == MDB_SUCCESS ? info.me_last_txnid : nil
    }

    /// Resets the idle readers that hold a snapshot, after a commit of this environment has made theirs old (called
    /// under the map lock shared, on the committing thread: a few `mdb_txn_reset` calls, each stripe under its mutex).
    private func resetHeldSnapshots() {
        stripes.forEachPool { $0.resetHeld() }
    }

    /// Aborts every idle reader, freeing its slot: under the map lock exclusive before `mdb_env_close` or
    /// `mdb_env_set_mapsize` (LMDB wants no transaction of this process then), under it shared on a full reader table.
    private func abortIdleReaders() {
        var idle: [ReaderStripes.IdleReader] = []
        stripes.forEachPool { idle += $0.removeAll() }
        for reader in idle { mdb_txn_abort(reader.txn) }
    }

    /// Read transactions kept for reuse (tests check that the pool is bounded and emptied).
    var idleReaderCount: Int {
        var total = 0
        stripes.forEachPool { total += $0.count }
        return total
    }

    /// Kept read transactions that hold their snapshot (tests check that a commit resets them).
    var heldSnapshotCount: Int {
        var total = 0
        stripes.forEachPool { total += $0.heldCount }
        return total
    }

    /// Idle readers kept at most: each stripe's share of an eighth of the reader slots (at most 32).
    var idleReaderCapacity: Int { stripes.count * stripes.capacity }

    // MARK: - Map size

    /// The current map size in bytes.
    public var mapSize: Int {
        stateMutex.withLock { currentMapSize }
    }

    /// Grows the map after `MDB_MAP_FULL` (`mdb_env_set_mapsize`), with no transaction of this
    /// process active. Does nothing if another thread already grew it past `observed`.
    ///
    /// - Throws: ``LMDBError/mapFull`` once `maxMapSize` is reached; errno codes from `mmap`.
    private func growMap(after observed: Int) throws {
        try stripes.withExclusive {
            guard let env = handle else { throw closedError("mdb_env_set_mapsize") }
            abortIdleReaders()
            let current = stateMutex.withLock { currentMapSize }
            guard current <= observed else { return }
            let limit = configuration.maxMapSize
            guard current < limit else {
                throw LMDBError(
                    code: MDB_MAP_FULL, function: "mdb_env_set_mapsize",
                    detail: "the map of \(path) is \(current) bytes and may not grow beyond maxMapSize (\(limit) bytes)")
            }
            let grown = Double(current) * configuration.growthFactor
            var target = grown >= Double(limit) ? limit : Int(grown)
            target = max(target, current + FilePaths.pageSize)
            target = Environment.roundUpToPage(target, limit: limit)
            let code = mdb_env_set_mapsize(env, target)
            guard code == MDB_SUCCESS else {
                throw LMDBError(code: code, function: "mdb_env_set_mapsize", detail: "growing to \(target) bytes")
            }
            let newSize = Environment.mapSize(of: env)
            stateMutex.withLock { currentMapSize = newSize }
        }
    }

    /// Adopts the size another process grew the map to (`mdb_env_set_mapsize(0)`), with no
    /// transaction of this process active. Never shrinks below the current size.
    private func adoptResizedMap() throws {
        try stripes.withExclusive {
            guard let env = handle else { throw closedError("mdb_env_set_mapsize") }
            abortIdleReaders()
            let previous = stateMutex.withLock { currentMapSize }
            try LMDBError.check(mdb_env_set_mapsize(env, 0), "mdb_env_set_mapsize").get()
            if Environment.mapSize(of: env) < previous {
                try LMDBError.check(mdb_env_set_mapsize(env, previous), "mdb_env_set_mapsize").get()
            }
            let newSize = Environment.mapSize(of: env)
            stateMutex.withLock { currentMapSize = newSize }
        }
    }

    /// `me_mapsize` from `mdb_env_info`.
    private static func mapSize(of env: OpaquePointer) -> Int {
        var info = MDB_envinfo()
        guard mdb_env_info(env, &info) == MDB_SUCCESS else { return 0 }
        return info.me_mapsize
    }

    /// `size` rounded up to the OS page size, without exceeding `limit`.
    private static func roundUpToPage(_ size: Int, limit: Int) -> Int {
        let page = FilePaths.pageSize
        let remainder = size % page
        guard remainder != 0 else { return min(size, limit) }
        let (rounded, overflow) = size.addingReportingOverflow(page - remainder)
        return overflow ? limit : min(rounded, limit)
    }

    // MARK: - Maintenance

    /// Flushes the data buffers to disk. Wraps `mdb_env_sync`.
    ///
    /// - Parameter force: flush even if the environment was opened with ``EnvironmentFlags/noSync``.
    /// - Throws: ``LMDBError/accessDenied`` (read-only environment), ``LMDBError/invalidArgument``
    ///   (closed), errno codes from `fsync`/`msync` (for example ``LMDBError/noSpace``).
    public func sync(force: Bool) throws {
        try withMapAccess("mdb_env_sync") { env in
            if let injected = faultInjector?(.sync), injected != MDB_SUCCESS {
                throw LMDBError(code: injected, function: "mdb_env_sync")
            }
            try LMDBError.check(mdb_env_sync(env, force ? 1 : 0), "mdb_env_sync").get()
        }
    }

    /// Copies the environment into `directory` (created if missing; it must not already hold
    /// a `data.mdb`). With `compact`, free pages are omitted and pages renumbered: the copy is
    /// smaller and holds no stale bytes of freed pages — good for backups.
    /// Wraps `mdb_env_copy2` (with `MDB_CP_COMPACT`).
    ///
    /// With ``EnvironmentFlags/noSubdir``, `directory` names the destination file instead.
    ///
    /// - Throws: `EEXIST` (the destination file exists), ``LMDBError/accessDenied``,
    ///   ``LMDBError/noSpace``, ``LMDBError/badTransaction`` (called inside a transaction
    ///   closure), ``LMDBError/invalidArgument`` (closed).
    public func copy(to directory: String, compact: Bool) throws {
        let function = "mdb_env_copy2"
        try refuseNested("Environment.copy")
        let noSubdir = configuration.flags.contains(.noSubdir)
        try FilePaths.createDirectory(
            noSubdir ? FilePaths.parentDirectory(of: directory) : directory, mode: configuration.directoryMode)
        try stripes.withShared(stripes.index(ordinal: ThreadTransactions.ordinal)) {
            guard let env = handle else { throw closedError(function) }
            let code = mdb_env_copy2(env, directory, compact ? UInt32(MDB_CP_COMPACT) : 0)
            guard code == MDB_SUCCESS else {
                throw LMDBError(code: code, function: function, detail: directory)
            }
        }
    }

    /// Environment information. Wraps `mdb_env_info`. All zero once closed.
    public func info() -> (mapSize: Int, lastPage: Int, lastTxnID: Int, maxReaders: Int, readers: Int) {
        let info = try? withMapAccess("mdb_env_info") { env -> MDB_envinfo in
            var info = MDB_envinfo()
            try LMDBError.check(mdb_env_info(env, &info), "mdb_env_info").get()
            return info
        }
        guard let info else { return (0, 0, 0, 0, 0) }
        return (
            mapSize: info.me_mapsize, lastPage: info.me_last_pgno, lastTxnID: info.me_last_txnid,
            maxReaders: Int(info.me_maxreaders), readers: Int(info.me_numreaders))
    }

    /// The id of the newest committed transaction (`mdb_env_info`'s `me_last_txnid`): one read of the meta pages, no
    /// transaction, no allocation. nil once closed. A commit of any process moves it.
    public func lastCommittedTransactionID() -> Int? {
        (try? withMapAccess("mdb_env_info") { env in Environment.lastCommittedTxnID(env) }) ?? nil
    }

    /// B-tree statistics of `db`, in a read transaction of its own. Wraps `mdb_stat`.
    ///
    /// - Throws: ``LMDBError/badDBI``, ``LMDBError/badTransaction`` (called inside a
    ///   transaction closure: use ``Transaction/stat(_:)``), and the errors of ``read(_:)``.
    public func stat(_ db: Database) throws -> (entries: Int, depth: Int, branchPages: Int, leafPages: Int, overflowPages: Int, pageSize: Int) {
        try read { txn in try txn.stat(db) }
    }

    /// Clears reader slots left by dead processes or threads. Wraps `mdb_reader_check`.
    ///
    /// - Returns: the number of stale slots cleared.
    /// - Throws: ``LMDBError/invalidArgument`` (closed), errno codes.
    public func readerCheck() throws -> Int {
        try withMapAccess("mdb_reader_check") { env in try Environment.clearStaleReaders(env) }
    }

    /// `mdb_reader_check`: the number of stale slots cleared.
    private static func clearStaleReaders(_ env: OpaquePointer) throws -> Int {
        var dead: Int32 = 0
        try LMDBError.check(mdb_reader_check(env, &dead), "mdb_reader_check").get()
        return Int(dead)
    }

    /// The version of the linked LMDB library. Wraps `mdb_version`.
    public static var version: (major: Int, minor: Int, patch: Int, string: String) {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        let string = mdb_version(&major, &minor, &patch).map { String(cString: $0) }
        return (Int(major), Int(minor), Int(patch), string ?? "LMDB \(major).\(minor).\(patch)")
    }

    // MARK: - Fault injection

    /// Test hook (swift-system style shim): when set, called before each `mdb_txn_begin`,
    /// `mdb_put`/`mdb_cursor_put`, `mdb_txn_commit`, `mdb_get`/`mdb_cursor_get` and
    /// `mdb_del`/`mdb_cursor_del`/`mdb_drop` with the call; a non-nil, non-zero return is
    /// treated as that C error code *from* the call, which is then not made. An injected
    /// commit failure frees the transaction, as a real one does. A transaction uses the hook that
    /// was set when it began.
    public var faultInjector: (@Sendable (LMDBCall) -> Int32?)? {
        get { stripes.withPool(0) { _ in injector } }
        set { stripes.withAllPools { injector = newValue } }
    }

    // MARK: - Thread bookkeeping

    /// Whether the calling thread is inside a transaction closure of this environment (and so
    /// already holds the map lock shared). Thread-local: no lock.
    private var currentThreadHasTransaction: Bool { ThreadTransactions.contains(id) }

    /// Marks the calling thread as having a transaction; throws ``LMDBError/badTransaction`` if
    /// it already has one (LMDB: one transaction per thread; also, the growth lock is not
    /// recursive). Thread-local, so a read takes no lock for it.
    ///
    /// - Returns: the thread's stripe of the map lock and the reader pool.
    private func enterTransactionScope(_ function: String) throws -> Int {
        guard let ordinal = ThreadTransactions.enter(id) else { throw nestedError(function) }
        return stripes.index(ordinal: ordinal)
    }

    private func leaveTransactionScope() {
        ThreadTransactions.leave(id)
    }

    private func refuseNested(_ function: String) throws {
        if currentThreadHasTransaction { throw nestedError(function) }
    }

    /// Runs `body` with the map guaranteed not to be remapped or closed: under the map lock
    /// shared, unless this thread's transaction already holds it.
    private func withMapAccess<R>(_ function: String, _ body: (OpaquePointer) throws -> R) throws -> R {
        if currentThreadHasTransaction {
            guard let env = handle else { throw closedError(function) }
            return try body(env)
        }
        return try stripes.withShared(stripes.index(ordinal: ThreadTransactions.ordinal)) {
            guard let env = handle else { throw closedError(function) }
            return try body(env)
        }
    }

    private func nestedError(_ function: String) -> LMDBError {
        LMDBError(
            code: MDB_BAD_TXN, function: function,
            detail: "this thread already has a transaction on \(path); LMDB allows one transaction per thread "
                + "(do not call read/write/openDatabases/stat/copy inside a transaction closure)")
    }

    private func closedError(_ function: String) -> LMDBError {
        LMDBError(code: EINVAL, function: function, detail: "the environment at \(path) is closed")
    }
}
