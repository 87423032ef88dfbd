import CredLedgerCore
import CredLedgerProjections
import LMDB

/// What the reading services share: the environment, its tables, and where the head is (the writer's committed head,
/// or the log's when read-only). Reads never queue behind the writer.
struct LedgerReads: Sendable {
    let environment: Environment
    let schema: Schema
    /// Only for its statistics and the access service's uses: reads never go through it.
    let writer: GroupCommitWriter?

    /// The chain head as committed in the environment: last seq, its hash and time. Read from the log, not from this
    /// process's writer, whose head moves only with its own batches: a long-running server's audit reads must see
    /// what another process (the CLI) committed a moment ago. One short read.
    var head: ChainHead {
        (try? environment.read { txn in try EventLog.head(schema: schema, in: txn) }) ?? writer?.head ?? .empty
    }

    /// Runs `body` on a read snapshot of the projections.
    @inline(__always)
    func withState<R>(_ body: (StateReader<LMDBStore>) throws -> R) throws -> R {
        try environment.read { txn in try body(StateReader(LMDBStore(txn: txn, schema: schema))) }
    }
}

/// A service that reads the ledger's tables: `environment`, `schema`, `head` and `withState` for its methods' bodies.
protocol ReadsLedger {
    var reads: LedgerReads { get }
}

extension ReadsLedger {
    var environment: Environment { reads.environment }
    var schema: Schema { reads.schema }
    var head: ChainHead { reads.head }

    @inline(__always)
    func withState<R>(_ body: (StateReader<LMDBStore>) throws -> R) throws -> R { try reads.withState(body) }
}
