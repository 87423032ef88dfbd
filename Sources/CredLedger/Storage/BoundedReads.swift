import CredLedgerCore
import Foundation
import LMDB

/// How much one read transaction of a long reader (verify, replay, export, `log`) may do before it ends and the
/// next one begins.
///
/// Map growth takes the environment's growth lock exclusively, so it waits for every transaction of the process to
/// end, and the lock prefers the writer: while growth waits, new transactions wait too. A reader that held one
/// transaction for a whole verify or export therefore stalled the writer and every new reader until it finished.
/// Long readers instead pin the log head when they start and read seq ranges in a series of short transactions:
/// events up to the pinned head never change (the log is append-only), so what they read is exactly what one
/// transaction over the pinned range would have read.
struct ReadBudget: Sendable {
    /// Most events read in one transaction.
    var maxEvents: UInt64
    /// Longest time one transaction stays open (checked every 256 events).
    var maxNanoseconds: UInt64

    /// 64 Ki events or 20 ms, whichever comes first.
    static let standard = ReadBudget(maxEvents: 1 << 16, maxNanoseconds: 20_000_000)

    init(maxEvents: UInt64, maxNanoseconds: UInt64) {
        self.maxEvents = max(maxEvents, 1)
        self.maxNanoseconds = maxNanoseconds
    }
}

/// One transaction's share of a `ReadBudget`.
struct ReadAllowance {
    let budget: ReadBudget
    private let started = DispatchTime.now().uptimeNanoseconds
    private(set) var events: UInt64 = 0

    init(_ budget: ReadBudget) { self.budget = budget }

    /// Counts one event read; false once the transaction has had its share and should end.
    @inline(__always)
    mutating func spend() -> Bool {
        events &+= 1
        if events >= budget.maxEvents { return false }
        if events & 0xFF == 0, DispatchTime.now().uptimeNanoseconds &- started >= budget.maxNanoseconds { return false }
        return true
    }
}

/// Runs a long read as a series of short read transactions.
enum BoundedReads {
    /// Calls `body` in one read transaction after another until it returns false (done); `between` runs after
    /// each transaction that is not the last, with no transaction of this thread open (progress reports go there).
    static func run(_ environment: Environment, budget: ReadBudget, between: (() throws -> Void)? = nil,
                    _ body: (borrowing Transaction, inout ReadAllowance) throws -> Bool) throws {
        while true {
            var allowance = ReadAllowance(budget)
            let more = try environment.read { txn in try body(txn, &allowance) }
            guard more else { return }
            try between?()
        }
    }
}

extension EventLog {
    /// The seq of the last stored key: where a long reader pins its range. Decodes nothing (a damaged last record is
    /// reported where the scan reaches it); a key that is not 8 bytes pins nothing (`UInt64.max`).
    static func lastSeq(schema: Schema, in txn: borrowing Transaction) throws -> UInt64 {
        try txn.withCursor(schema.events) { cursor in
            guard let last = try cursor.last() else { return 0 }
            guard last.key.count == 8, let seq = UInt64(bigEndianBytes: last.key) else { return UInt64.max }
            return seq
        }
    }

    /// `scanRaw` over seqs `from…last` in bounded read transactions: visits the stored records with seq in the
    /// range, ascending, until `body` returns false or the log ends. A record is valid only inside `body`, and
    /// consecutive calls may come from different transactions: keep what must outlive a call (e.g. the previous
    /// hash) as values. Exact for `last` ≤ a head read earlier (those records never change).
    static func scanRaw(from: UInt64, through last: UInt64, schema: Schema, environment: Environment,
                        budget: ReadBudget = .standard, between: (() throws -> Void)? = nil,
                        _ body: (UInt64, UnsafeRawBufferPointer) throws -> Bool) throws {
        guard from <= last else { return }
        var next = from
        try BoundedReads.run(environment, budget: budget, between: between) { txn, allowance in
            var more = false
            try scanRaw(from: next, schema: schema, in: txn) { seq, record in
                guard seq <= last, try body(seq, record) else { return false }
                guard seq < last else { return false }
                next = seq + 1
                if !allowance.spend() {
                    more = true
                    return false
                }
                return true
            }
            return more
        }
    }
}
