import CredLedger
import CredLedgerCore

/// An operation of the API model: a request value that knows how it becomes an engine call and how the call's answer
/// becomes its response value. The one mapping both fronts use — the CLI (blocking, from parsed arguments) and the
/// HTTP server (async, from JSON bodies) — so neither holds domain logic. A request with a value the engine cannot
/// take (an unknown role or type name, a malformed time) throws `invalid_request` and reaches nothing.
public protocol APIRequest: Sendable {
    associatedtype Response: Sendable
    /// Answers the request, blocking until its batch is durable (a state change) or its read is done.
    func respond(_ ledger: Ledger) throws -> Response
    /// Answers the request without holding a thread while it waits (the writer's acknowledgement, the reader pool).
    func respond(_ ledger: Ledger) async throws -> Response
}

/// A request that changes state: one typed command, whose result becomes the response.
public protocol CommandRequest: APIRequest {
    associatedtype Command: LedgerCommand
    /// The typed command (inputs parsed; the command itself validates them before it is queued).
    func command(_ ledger: Ledger) throws -> Command
    /// The response to the command's result.
    func response(_ result: Command.Result) -> Response
}

extension CommandRequest {
    public func respond(_ ledger: Ledger) throws -> Response {
        response(try ledger.perform(try command(ledger)))
    }

    public func respond(_ ledger: Ledger) async throws -> Response {
        response(try await ledger.perform(try command(ledger)))
    }
}

/// A request that only reads: one blocking read, run on the reader pool in its async form.
public protocol ReadRequest: APIRequest {
    /// Reads the answer.
    func read(_ ledger: Ledger) throws -> Response
}

extension ReadRequest {
    public func respond(_ ledger: Ledger) throws -> Response { try read(ledger) }

    public func respond(_ ledger: Ledger) async throws -> Response {
        try await ledger.audit.read { _ in try read(ledger) }
    }
}

/// The engine behind the API model: takes a request value, returns its response value (or throws the engine's
/// error: a `LedgerError` → `API.ErrorBody`, an `OAuthError` → `API.OAuthErrorBody`).
public struct APIService: Sendable {
    public let ledger: Ledger

    public init(_ ledger: Ledger) { self.ledger = ledger }

    /// Answers `request` without holding a thread while it waits: the form a server uses.
    public func respond<R: APIRequest>(to request: R) async throws -> R.Response {
        try await request.respond(ledger)
    }

    /// Answers `request`, blocking the calling thread: the form the CLI uses.
    public func respondBlocking<R: APIRequest>(to request: R) throws -> R.Response {
        try request.respond(ledger)
    }
}

extension API {
    /// A request value the engine cannot take (checked before anything is read or queued).
    static func invalid(_ message: String) -> LedgerError {
        LedgerError("invalid_request", message, kind: .badInput)
    }

    /// An RFC 3339 time of a request, or nil when absent.
    static func time(_ text: String?, _ field: String) throws -> Timestamp? {
        guard let text else { return nil }
        guard let t = TimeFormat.parseRFC3339(text) else {
            throw invalid("\(field) takes an RFC 3339 time like 2026-01-31T12:00:00Z, not '\(text)'")
        }
        return t
    }
}

extension API.AsOfQuery {
    /// The point it names: `at` or `seq` (not both), or nil for now.
    public func point() throws -> AsOfPoint? {
        switch (at, seq) {
        case (nil, nil): return nil
        case (_?, _?): throw API.invalid("give at or seq, not both")
        case (let text?, nil): return .time(try API.time(text, "at") ?? 0)
        case (nil, let seq?): return .seq(seq)
        }
    }
}
