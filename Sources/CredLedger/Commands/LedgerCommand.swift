import CredLedgerCore
import CredLedgerProjections

/// A state change as a value: what the writer runs, on its thread, for one request. `decide` reads the state as of
/// its place in the batch (`ctx.state`) and stages events (`ctx.emit`); the writer appends them in a child transaction
/// of the batch, so a failure undoes exactly this command. An error thrown from `decide` writes nothing and is the
/// caller's error alone — except `RecordedRefusal`, whose staged events are committed before its error is thrown.
public protocol LedgerCommand: Sendable {
    /// What the caller gets once the command's batch is durable.
    associatedtype Result: Sendable
    /// Checks the inputs that need no state, on the caller's thread before the command is queued (so bad input never
    /// reaches the writer nor a key); a thrown error writes nothing. Defaults to no check.
    func validate() throws
    /// Reads state and stages events; runs on the writer thread, so it must not block or call the ledger.
    func decide(_ ctx: inout BatchContext) throws -> Result
}

extension LedgerCommand {
    public func validate() throws {}
}

/// Thrown by a command's `decide` to refuse a request whose refusal is itself a fact of the log (an OAuth denial):
/// the events staged so far are appended and committed, then `error` is thrown to the caller.
public struct RecordedRefusal: Error {
    public var error: any Error
    public init(_ error: any Error) { self.error = error }
}

/// A queued command, type-erased for the writer's queue: runs the command and keeps its typed outcome for its caller.
/// A class, so the writer fills in the outcome the caller reads after the acknowledgement (which orders the two).
final class QueuedCommand<C: LedgerCommand>: CommandRun, @unchecked Sendable {
    let command: C
    /// Set by `run` on the writer thread; read by the caller once the request is acknowledged without error.
    private(set) var outcome: Swift.Result<C.Result, any Error>?

    init(_ command: C) { self.command = command }

    func run(_ ctx: inout BatchContext) throws {
        do {
            outcome = .success(try command.decide(&ctx))
        } catch let refusal as RecordedRefusal {
            outcome = .failure(refusal.error)
        }
    }

    /// The caller's answer once the writer acknowledged the request without error.
    func result() throws -> C.Result {
        guard let outcome else { throw LedgerError("internal", "command finished without a result", kind: .integrity) }
        return try outcome.get()
    }
}

/// What the writer's queue holds for a command: one call that decides (reads, stages) and keeps its outcome. A thrown
/// error means nothing of it is written.
protocol CommandRun: AnyObject, Sendable {
    func run(_ ctx: inout BatchContext) throws
}

extension Ledger {
    /// Runs `command` on the writer and blocks until its batch is durable; returns its result or throws its own error.
    public func perform<C: LedgerCommand>(_ command: C) throws -> C.Result {
        try commands.perform(command)
    }

    /// Runs `command` on the writer and suspends (no thread blocked) until its batch is durable: the continuation is
    /// resumed by the writer's acknowledgement. Returns its result or throws its own error.
    public func perform<C: LedgerCommand>(_ command: C) async throws -> C.Result {
        try await commands.perform(command)
    }
}
