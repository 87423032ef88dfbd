import CredLedgerCore

/// What every projection declares: the checkpoint, the digest and `verify` are derived from it alone.
/// The built-in projections (`ProjectionName`) and every registered `Projection` conform.
public protocol ProjectionDescription: Sendable {
    /// Stable name: the checkpoint row is `meta["projection/<name>"]` and `verify` reports it.
    var name: String { get }
    /// Bumped when the projection's code changes what it writes; a mismatch at a read-write open triggers a rebuild.
    var codeVersion: UInt32 { get }
    /// Its tables (one LMDB named database each), in digest order (`ProjectionDigest`).
    var tableNames: [String] { get }
}

extension ProjectionName: ProjectionDescription {
    public var name: String { rawValue }
    public var tableNames: [String] { tables.map(\.rawValue) }
}

/// A projection registered beside the four built-in ones (`Ledger.Options.projections`): the seam for new projections.
///
/// The `Projector` applies every event to the built-in projections first (statically dispatched: the hot path), then
/// to each registered projection in registration order, with the record's chain hash (a Merkle tree over the log needs
/// it). Everything else follows from the description: its tables are opened with the ledger's, emptied and refilled by
/// `rebuild`, its checkpoint moves with the others in every batch, its digest is checked by `verify`, and a checkpoint
/// of another `codeVersion` (or none, the first time it is registered) rebuilds the projections at a read-write open.
/// A projection reads and writes only its own tables (`KeyValueStore`'s named-table operations), derived only from the
/// events, deterministically, so a rebuild gives byte-identical tables.
public protocol Projection: ProjectionDescription {
    /// Applies event `event` (seq `event.seq`, which follows the previous one) whose stored record hashes to `hash`
    /// (docs/FORMAT.md §3). It may write at once or accumulate until `flush`.
    mutating func apply(_ event: Event, hash: SHA256Digest, to store: some KeyValueStore) throws
    /// Writes what `apply` accumulated (once per batch, and periodically during a rebuild).
    mutating func flush(to store: some KeyValueStore) throws
    /// How much is accumulated and unflushed: `rollBack(to:)` forgets what came after (a command whose events were undone).
    var mark: Int { get }
    mutating func rollBack(to mark: Int)
    /// Forgets everything accumulated (the batch was rolled back).
    mutating func discard()
}

extension Projection {
    /// A projection that writes at once accumulates nothing.
    public mutating func flush(to store: some KeyValueStore) throws {}
    public var mark: Int { 0 }
    public mutating func rollBack(to mark: Int) {}
    public mutating func discard() {}
}

/// A named table that no projection of the store declares.
public struct UnknownTableError: Error, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }
    public var description: String { "no projection table named \(name)" }
}
