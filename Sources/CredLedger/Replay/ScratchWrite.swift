import LMDB

/// A replay's scratch environments are written, digested and thrown away: their one write transaction is aborted, not
/// committed, since committing would write every page of the rebuilt tables to a file nobody reads (measured: a
/// quarter to half a second of a 1.5M-event replay, on its critical path).
enum ScratchWrite {
    private struct Discard: Error {}

    /// Runs `body` in a write transaction of `scratch` (re-run from the start if the map grows) and aborts it.
    static func run(_ scratch: Environment, _ body: (borrowing Transaction) throws -> Void) throws {
        do {
            try scratch.write { txn in
                try body(txn)
                throw Discard()
            }
        } catch is Discard {}
    }
}
