import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB

extension Ledger {
    /// Operator work: rebuilding the projections (through the writer, alone in its batch), backups, and the storage and
    /// writer statistics. Holds the tables, the writer's door and the ledger's directory.
    public final class Maintenance: ReadsLedger, Sendable {
        let reads: LedgerReads
        let commands: CommandRunner
        let path: String

        init(_ reads: LedgerReads, commands: CommandRunner, path: String) {
            self.reads = reads
            self.commands = commands
            self.path = path
        }
    }
}

extension Ledger.Maintenance {
    /// Rebuilds every projection from the log in one write transaction (readers keep their snapshot),
    /// and records each projection's digest in its checkpoint. This accepts the log as it is: checkpoints that
    /// disagreed with its head (a cut or forged tail, which makes every write refuse) are reported in the result,
    /// and the acceptance is appended to the log in the same transaction (`log_accepted`), so the chain itself keeps
    /// the trace of what was accepted.
    @discardableResult
    public func rebuildProjections() throws -> RebuildResult {
        try commands.maintain(RebuildProjections(schema: schema, environment: environment))
    }

    /// `rebuildProjections()` one-threaded (`pipelined: false`, the reference) or with the batch and flush sizes chosen
    /// (tests put the pipeline's boundaries anywhere).
    @discardableResult
    func rebuildProjections(pipelined: Bool, batchEvents: Int = 4096, flushEvery: Int = 200_000) throws -> RebuildResult {
        try commands.maintain(RebuildProjections(schema: schema, environment: environment, pipelined: pipelined,
                                                 batchEvents: batchEvents, flushEvery: flushEvery))
    }

    /// Async form of `rebuildProjections()`: suspends until the rebuild's batch is durable (no thread blocked).
    @discardableResult
    public func rebuildProjections() async throws -> RebuildResult {
        try await commands.maintain(RebuildProjections(schema: schema, environment: environment))
    }

    /// The writer's counters; all zero for a read-only ledger.
    public var writerStatistics: WriterStatistics { reads.writer?.statistics ?? WriterStatistics() }

    /// Disk use: the environment's file size and entry counts.
    public func storageInfo() throws -> (fileBytes: Int, events: Int) {
        let attributes = try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let events = try environment.read { txn in try txn.entryCount(schema.events) }
        return (size, events)
    }

    /// A compacted copy of the environment (freed pages, which may hold old bytes, are not copied).
    public func backup(to directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try environment.copy(to: directory, compact: true)
        } catch let error as LMDBError {
            throw LedgerError.storage(error, "backup to \(directory) failed")
        }
    }
}
