import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

/// An open credential ledger: the event log, its projections, and the single writer, reached through five services
/// with narrow surfaces — `administration`, `access`, `oauth`, `audit`, `maintenance` — and `perform` for any typed
/// command.
public final class Ledger: @unchecked Sendable {
    /// How a ledger is opened.
    public struct Options: Sendable {
        public var clock: any LedgerClock = SystemClock()
        public var random: any RandomBytesGenerator = SystemRandom()
        public var durability: Durability = .sync
        public var initialMapSize: Int = 1 << 30
        public var maxMapSize: Int = 1 << 40
        /// Most requests committed in one transaction.
        public var maxBatch: Int = 4096
        /// How long (µs) the writer keeps polling its queue after a batch before it sleeps, so that a caller coming
        /// straight back (one caller recording in a loop) needs no wake-up of the writer. Only after a batch that
        /// followed a short idle spell (steady traffic); 0 turns it off. Bounded per batch: an idle ledger never spins.
        public var writerPollMicros: Int = 100
        /// Whether `access` keeps the facts of recent decisions in memory (`DecisionCache`): a credential presented
        /// again is decided without a read transaction. Never stale (a change of the facts, by this process or
        /// another, invalidates them before anyone can see it); off, every decision reads the map.
        public var cachesDecisions = true
        public var readOnly = false
        /// Whether a missing ledger (no directory, or a directory without `data.mdb`) is created. The library
        /// default keeps `Ledger(path:)` an open-or-create for embedders and tests; the CLI passes false for every
        /// command but `company create`, so a mistyped path is `no_ledger` and creates nothing. Read-only opens
        /// never create.
        public var createIfMissing = true
        /// Lifetimes of OAuth artefacts.
        public var accessTokenLifetime: Int64 = 3_600_000_000
        public var refreshTokenLifetime: Int64 = 30 * 86_400_000_000
        public var authorizationCodeLifetime: Int64 = 60_000_000
        /// Projections kept beside the built-in ones (see `Projection`): applied live, checkpointed, rebuilt and verified
        /// with them. Registering one for the first time (or at another code version) rebuilds at a read-write open.
        /// The transparency tree (`MerkleTreeProjection`) is always registered before these (`Ledger.engineProjections`).
        public var projections: [any Projection] = []
        /// Benchmarks only: leaves the transparency tree out, for a same-run baseline (`credledger-bench`). A ledger
        /// that has a tree is never opened read-write without it (its checkpoint would fall behind the log).
        package var withoutTransparencyTree = false
        public init() {}

        /// Every registered projection: the engine's own first, then `projections`.
        var allProjections: [any Projection] {
            (withoutTransparencyTree ? [] : Ledger.engineProjections) + projections
        }
    }

    /// Projections the engine registers on every ledger: the transparency tree (docs/PROOFS.md).
    static var engineProjections: [any Projection] { [MerkleTreeProjection()] }

    public let path: String
    public let options: Options
    /// Companies, members, projects, credentials, grants: the admin commands.
    public let administration: Administration
    /// The access decision (`authorize`) and the record of a use (`record`, `check`): the hot path.
    public let access: Access
    /// The OAuth endpoints: token grants, client consent, introspection, revocation.
    public let oauth: OAuth
    /// Reads of the log and the projections: audit queries, as-of views, exports, `verify`, `replay`.
    public let audit: Audit
    /// Operator work: rebuild, backup, statistics.
    public let maintenance: Maintenance
    /// The transparency log: tree heads, proofs, signed checkpoints (docs/PROOFS.md).
    public let transparency: Transparency

    let environment: Environment
    let schema: Schema
    let writer: GroupCommitWriter?
    let commands: CommandRunner

    /// Opens the ledger in directory `path`, creating it if missing when `options.createIfMissing` (the default).
    /// A damaged data file (empty, cut, not LMDB's) is `corrupt_storage` and is never replaced by a new ledger; a
    /// symbolic link as `data.mdb` or `lock.mdb` is `symlinked_ledger_file` (`LedgerFiles.check`).
    public init(path: String, options: Options = Options()) throws {
        self.path = path
        self.options = options
        // Before LMDB sees the files: it would start a new environment over an empty data file, create a missing one
        // (through a dangling link too), or fault on pages a cut file lacks.
        try LedgerFiles.check(path: path, createIfMissing: options.createIfMissing && !options.readOnly)
        var configuration = Environment.Configuration()
        configuration.mapSize = options.initialMapSize
        configuration.maxMapSize = options.maxMapSize
        configuration.maxDatabases = UInt32(Schema.databaseCount(extensions: options.allProjections) + 2)
        if options.readOnly { configuration.flags.insert(.readOnly) }
        if options.durability == .ackBeforeSync { configuration.flags.insert(.noSync) }
        let environment: Environment
        do {
            environment = try Environment(path: path, configuration: configuration)
        } catch let error as LMDBError {
            throw LedgerError.storage(error, "cannot open the ledger at \(path)")
        }
        self.environment = environment
        let schema: Schema
        do {
            schema = try Schema(environment: environment, extensions: options.allProjections)
        } catch let error as LMDBError {
            defer { environment.close() }
            if error == .notFound {
                // A read-only open cannot create the tables a newer projection code added; the log may still be there.
                if options.readOnly, (try? environment.openDatabases([Schema.eventsName, Schema.metaName], flags: [])) != nil {
                    throw Ledger.staleProjections(path)
                }
                throw LedgerError("not_a_ledger", "\(path) holds no credledger databases", kind: .badInput)
            }
            throw LedgerError.storage(error, "cannot open the ledger databases")
        }
        self.schema = schema
        let head: ChainHead
        do {
            head = try environment.read { txn in try EventLog.head(schema: schema, in: txn) }
            try Ledger.checkFormat(environment: environment, schema: schema, readOnly: options.readOnly)
        } catch {
            environment.close()
            throw error
        }
        let checkpoints: CheckpointStatus
        do {
            // Head and checkpoints from one snapshot: another process may be appending meanwhile.
            checkpoints = try environment.read { txn in try CheckpointStatus.read(schema: schema, txn: txn) }
        } catch {
            environment.close()
            throw error
        }
        let writer: GroupCommitWriter?
        if options.withoutTransparencyTree && !options.readOnly {
            let hasTree = try environment.read { txn in try txn.get(schema.meta, Meta.projectionKey(MerkleTreeProjection.projectionName)) != nil }
            if hasTree {
                environment.close()
                throw LedgerError("transparency_tree_required", "\(path) has a transparency tree: it cannot be written without it", kind: .badInput)
            }
        }
        if options.readOnly {
            writer = nil
            // Projections of another code version would be read with the wrong layout. (A checkpoint that
            // disagrees with the log is left for `verify` to report: it is what tampering looks like.)
            if checkpoints.otherCodeVersion {
                environment.close()
                throw Ledger.staleProjections(path)
            }
        } else {
            writer = GroupCommitWriter(environment: environment, schema: schema, head: head, clock: options.clock,
                                       random: options.random, durability: options.durability, maxBatch: options.maxBatch,
                                       pollNanos: UInt64(max(0, min(options.writerPollMicros, 10_000))) * 1000,
                                       cachesDecisions: options.cachesDecisions,
                                       lifetimes: TokenLifetimes(accessToken: options.accessTokenLifetime,
                                                                 refreshToken: options.refreshTokenLifetime,
                                                                 authorizationCode: options.authorizationCodeLifetime))
            writer?.start()
        }
        self.writer = writer
        let reads = LedgerReads(environment: environment, schema: schema, writer: writer)
        let commands = CommandRunner(writer: writer)
        self.commands = commands
        administration = Administration(commands)
        access = Access(reads, clock: options.clock)
        oauth = OAuth(commands)
        audit = Audit(reads, clock: options.clock)
        maintenance = Maintenance(reads, commands: commands, path: path)
        transparency = Transparency(reads, audit: audit)
        // Projections of another code version (or one this build added) are rebuilt: the log is fine. Checkpoints
        // that disagree with the log head are not: the log was cut or extended behind the writer's back, and a
        // silent rebuild would absorb it. Writes refuse (the writer checks every batch) until an operator's
        // `rebuild` accepts the log as it is.
        if writer != nil, checkpoints.disagreement == nil, checkpoints.otherCodeVersion || checkpoints.missing {
            _ = try maintenance.rebuildProjections()
        }
    }

    deinit { close() }

    /// Stops the writer (finishing queued work) and closes the environment.
    public func close() {
        writer?.stop()
        environment.close()
    }

    /// The format version this code writes; a newer one on disk is refused.
    public static var formatVersion: UInt32 { Schema.formatVersion }

    private static func checkFormat(environment: Environment, schema: Schema, readOnly: Bool) throws {
        let stored = try environment.read { txn in try txn.get(schema.meta, Meta.formatKey).flatMap { UInt32(bigEndianBytes: $0) } }
        switch stored {
        case nil where !readOnly:
            try environment.write { txn in try txn.put(schema.meta, Meta.formatKey, Schema.formatVersion.bigEndianBytes) }
        case let v? where v > Schema.formatVersion:
            throw LedgerError("newer_format", "the ledger uses format version \(v); this build reads up to \(Schema.formatVersion): upgrade credledger", kind: .badInput)
        default:
            break
        }
    }

    private static func staleProjections(_ path: String) -> LedgerError {
        LedgerError("stale_projections", "the projections in \(path) were written by another version of credledger and a read-only open cannot rebuild them: open it once read-write (any command that writes, or `credledger rebuild`)", kind: .badInput)
    }

    /// The chain head: last seq, its hash and time.
    public var head: ChainHead { audit.head }

    func requireWriter() throws -> GroupCommitWriter { try commands.requireWriter() }

}

extension LedgerError {
    /// An LMDB or file-system failure, with the C code and message.
    static func storage(_ error: LMDBError, _ context: String) -> LedgerError {
        switch error {
        case .mapFull:
            return LedgerError("map_full", "\(context): the ledger reached its maximum size (\(error.message))", kind: .badInput)
        case .noSpace:
            return LedgerError("disk_full", "\(context): no space left on the device (\(error.message)); free disk space and retry", kind: .badInput)
        case LMDBError(code: EIO):
            return LedgerError("io_error", "\(context): input/output error: the disk is full or failing (\(error.message)); LMDB reports a short write this way", kind: .badInput)
        case .accessDenied, .readOnlyFS, LMDBError(code: EPERM):
            return LedgerError("read_only_storage", "\(context): \(error.message)", kind: .badInput)
        case .busy:
            return LedgerError("locked", "\(context): the ledger is locked by another process (\(error.message))", kind: .badInput)
        case .versionMismatch, .invalid, .corrupted:
            return LedgerError("corrupt_storage", "\(context): \(error.message)", kind: .integrity)
        default:
            return LedgerError("storage_error", "\(context): \(error.message) (code \(error.code))", kind: .badInput)
        }
    }
}
