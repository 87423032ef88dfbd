import CredLedgerCore
import CredLedgerProjections
import LMDB

/// Reads posting lists in place from one read transaction: closed segments from `ix` (one row per list and
/// segment), the open segment from the log's events (`LogEntry`). Layout: docs/FORMAT.md §6.6 and
/// `Projections/PostingIndex.swift`, which owns the row format (`SegmentRow`).
struct PostingReader {
    let schema: Schema

    /// One folded row of a list (valid only inside the visit).
    typealias Row = PostingIndex.SegmentRow

    private func corrupt(_ what: String) -> LedgerError {
        LedgerError("corrupt_index", "\(what) is malformed: run `credledger rebuild`", kind: .integrity)
    }

    /// The last folded segment, or nil.
    func lastFoldedSegment(txn: borrowing Transaction) throws -> UInt32? {
        try txn.withCursor(schema.database(.index)) { cursor in
            guard let e = try cursor.last(), e.key.count == PostingIndex.segmentKeyLength else { return nil }
            return UInt32(bigEndian: e.key.loadUnaligned(as: UInt32.self))
        }
    }

    /// Visits the folded rows of `kind` in one segment, in id order, until `body` returns false (then returns false).
    private func visitSegment(_ segment: UInt32, _ kind: PostingIndex.Kind, cursor: inout Cursor,
                              _ body: (_ id: UInt32, _ value: UnsafeRawBufferPointer) throws -> Bool) throws -> Bool {
        var entry = try cursor.seek(atLeast: segment.bigEndianBytes + [kind.rawValue] + UInt32(0).bigEndianBytes)
        while let e = entry, e.key.count == PostingIndex.segmentKeyLength, e.key[4] == kind.rawValue,
              UInt32(bigEndian: e.key.loadUnaligned(as: UInt32.self)) == segment {
            guard try body(UInt32(bigEndian: e.key.loadUnaligned(fromByteOffset: 5, as: UInt32.self)), e.value) else { return false }
            entry = try cursor.next()
        }
        return true
    }

    /// Visits the open segment's events (read from the log, docs/FORMAT.md §6.0) with seq in `range`, ascending or
    /// descending, until `body` returns false.
    func visitRecent(range: ClosedRange<UInt64>, descending: Bool, txn: borrowing Transaction,
                     _ body: (LogEntry) throws -> Bool) throws {
        let store = LMDBStore(txn: copy txn, schema: schema)
        guard let open = try store.openSegment(.indexes), open.overlaps(range) else { return }
        try store.visitLog(open.clamped(to: range), descending: descending, body)
    }

    /// Visits the folded rows of `list` for the segments overlapping `range`, in order, until `body` returns false.
    func visitRows(_ list: PostingIndex.ListKey, range: ClosedRange<UInt64>, descending: Bool, txn: borrowing Transaction,
                   _ body: (Row) throws -> Bool) throws {
        guard let last = try lastFoldedSegment(txn: txn) else { return }
        let low = PostingIndex.segment(of: range.lowerBound), high = min(PostingIndex.segment(of: range.upperBound), last)
        guard low <= high else { return }
        let database = schema.database(.index)
        var segment = descending ? high : low
        while true {
            let key = PostingIndex.segmentKey(list, segment)
            let goOn: Bool = try key.withUnsafeBytes { k in
                guard let value = try txn.get(database, k) else { return true }
                guard let row = Row(segment: segment, value: value) else { throw corrupt("the row of posting list \(list.kind) \(list.id) in segment \(segment)") }
                return try body(row)
            }
            guard goOn, descending ? segment > low : segment < high else { return }
            segment = descending ? segment - 1 : segment + 1
        }
    }

    /// Visits the entries of `list` with seq in `range`, in the given order, until `body` returns false.
    func visit(_ list: PostingIndex.ListKey, range: ClosedRange<UInt64>, descending: Bool, txn: borrowing Transaction,
               _ body: (_ seq: UInt64, _ flag: PostingIndex.Flag) throws -> Bool) throws {
        var keepGoing = true
        func rows() throws {
            try visitRows(list, range: range, descending: descending, txn: txn) { row in
                keepGoing = try row.visit(range, descending: descending, body)
                return keepGoing
            }
        }
        func recent() throws {
            let packed = list.packed
            try visitRecent(range: range, descending: descending, txn: txn) { row in
                if row.contains(packed) { keepGoing = try body(row.seq, row.flag) }
                return keepGoing
            }
        }
        if descending {
            try recent()
            if keepGoing { try rows() }
        } else {
            try rows()
            if keepGoing { try recent() }
        }
    }

    /// Allowed and denied uses in `range` of every list of `kind` whose id is in `ids`, in one pass over the kind's
    /// folded rows and the recent rows (as-of state counts thousands of credentials this way).
    func countUses(_ kind: PostingIndex.Kind, ids: Set<UInt32>, range: ClosedRange<UInt64>,
                   txn: borrowing Transaction) throws -> [UInt32: (allowed: UInt64, denied: UInt64)] {
        var counts: [UInt32: (allowed: UInt64, denied: UInt64)] = [:]
        guard !ids.isEmpty else { return counts }
        if let last = try lastFoldedSegment(txn: txn) {
            let low = PostingIndex.segment(of: range.lowerBound), high = min(PostingIndex.segment(of: range.upperBound), last)
            if low <= high {
                try txn.withCursor(schema.database(.index)) { cursor in
                    for segment in low...high {
                        _ = try visitSegment(segment, kind, cursor: &cursor) { id, value in
                            guard ids.contains(id) else { return true }
                            guard let row = Row(segment: segment, value: value) else { throw corrupt("a row of posting list \(kind) \(id)") }
                            let counted = row.countUses(row.indices(in: range))
                            counts[id, default: (0, 0)].allowed += counted.allowed
                            counts[id, default: (0, 0)].denied += counted.denied
                            return true
                        }
                    }
                }
            }
        }
        try visitRecent(range: range, descending: false, txn: txn) { row in
            guard row.flag != .other else { return true }
            for i in 0..<row.count {
                let list = row.list(i)
                guard list >> 32 == UInt64(kind.rawValue), ids.contains(UInt32(truncatingIfNeeded: list)) else { continue }
                let id = UInt32(truncatingIfNeeded: list)
                if row.flag == .allowedUse { counts[id, default: (0, 0)].allowed += 1 } else { counts[id, default: (0, 0)].denied += 1 }
            }
            return true
        }
        return counts
    }

    /// The seq of the last allowed and of the last denied use ≤ `seq` of each list of `kind` in `ids` (nil if none):
    /// newest first through the recent rows, then the folded segments downwards, stopping once every wanted seq is
    /// found. Few lists are looked up row by row, many in one walk per segment.
    func lastUses(_ kind: PostingIndex.Kind, ids: Set<UInt32>, atMost seq: UInt64, wantAllowed: Set<UInt32>, wantDenied: Set<UInt32>,
                  txn: borrowing Transaction) throws -> [UInt32: (allowed: UInt64?, denied: UInt64?)] {
        var found: [UInt32: (allowed: UInt64?, denied: UInt64?)] = [:]
        var needAllowed = wantAllowed.intersection(ids), needDenied = wantDenied.intersection(ids)
        func take(_ id: UInt32, _ s: UInt64, _ flag: PostingIndex.Flag) {
            if flag == .allowedUse, needAllowed.remove(id) != nil { found[id, default: (nil, nil)].allowed = s }
            if flag == .deniedUse, needDenied.remove(id) != nil { found[id, default: (nil, nil)].denied = s }
        }
        try visitRecent(range: 1...seq, descending: true, txn: txn) { row in
            guard row.flag != .other else { return true }
            for i in 0..<row.count {
                let list = row.list(i)
                if list >> 32 == UInt64(kind.rawValue) { take(UInt32(truncatingIfNeeded: list), row.seq, row.flag) }
            }
            return !needAllowed.isEmpty || !needDenied.isEmpty
        }
        guard !needAllowed.isEmpty || !needDenied.isEmpty, let last = try lastFoldedSegment(txn: txn) else { return found }
        var segment = min(PostingIndex.segment(of: seq), last)
        func scanRow(_ id: UInt32, _ row: Row) {
            _ = row.visit(0...seq, descending: true) { s, flag in
                take(id, s, flag)
                return needAllowed.contains(id) || needDenied.contains(id)
            }
        }
        try txn.withCursor(schema.database(.index)) { cursor in
            while !needAllowed.isEmpty || !needDenied.isEmpty {
                let wanted = needAllowed.union(needDenied)
                if wanted.count <= 16 {
                    for id in wanted.sorted() {
                        let key = PostingIndex.segmentKey(PostingIndex.ListKey(kind, id), segment)
                        guard let e = try cursor.seek(atLeast: key), e.key.elementsEqual(key) else { continue }
                        guard let row = Row(segment: segment, value: e.value) else { throw corrupt("a row of posting list \(kind) \(id)") }
                        scanRow(id, row)
                    }
                } else {
                    _ = try visitSegment(segment, kind, cursor: &cursor) { id, value in
                        guard wanted.contains(id) else { return true }
                        guard let row = Row(segment: segment, value: value) else { throw corrupt("a row of posting list \(kind) \(id)") }
                        scanRow(id, row)
                        return true
                    }
                }
                if segment == 0 { break }
                segment -= 1
            }
        }
        return found
    }
}
