import CredLedgerCore
import CredLedgerProjections

/// The writer's door, shared by the services that change state: validates a typed command on the caller's thread,
/// queues it, and waits for its batch (blocking) or suspends until it (async). Holds only the writer.
struct CommandRunner: Sendable {
    /// nil for a read-only ledger: every command is then `read_only`.
    let writer: GroupCommitWriter?

    func requireWriter() throws -> GroupCommitWriter {
        guard let writer else { throw LedgerError("read_only", "the ledger was opened read-only", kind: .badInput) }
        return writer
    }

    /// Runs `command` on the writer and blocks until its batch is durable; returns its result or throws its own error.
    func perform<C: LedgerCommand>(_ command: C) throws -> C.Result {
        try command.validate()
        let queued = QueuedCommand(command)
        try requireWriter().submitAndWait(WriteRequest(.command(queued)))
        return try queued.result()
    }

    /// Runs `command` on the writer and suspends (no thread blocked) until its batch is durable: the continuation is
    /// resumed by the writer's acknowledgement.
    func perform<C: LedgerCommand>(_ command: C) async throws -> C.Result {
        try command.validate()
        let writer = try requireWriter()
        let queued = QueuedCommand(command)
        return try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<C.Result, Error>) in
            // The writer completes every request exactly once (after its batch, or at once when the ledger is closed).
            writer.submit(WriteRequest(.command(queued)) { error in
                if let error {
                    continuation.resume(throwing: error)
                } else {
                    continuation.resume(with: Swift.Result { try queued.result() })
                }
            })
        }
    }

    /// Runs maintenance on the writer, alone in its batch, and waits for its commit.
    func maintain<M: MaintenanceCommand>(_ command: M) throws -> M.Result {
        let queued = QueuedMaintenance(command)
        try requireWriter().submitAndWait(WriteRequest(.maintenance(queued)))
        return try queued.value()
    }

    /// Async form of `maintain`: suspends until the maintenance batch is durable (no thread blocked).
    func maintain<M: MaintenanceCommand>(_ command: M) async throws -> M.Result {
        let writer = try requireWriter()
        let queued = QueuedMaintenance(command)
        return try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<M.Result, Error>) in
            writer.submit(WriteRequest(.maintenance(queued)) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume(with: Result { try queued.value() }) }
            })
        }
    }
}
