import CredLedgerCore
import CredLedgerProjections
import LMDB

/// Reads posting lists (`ix` table) in place, without copying blocks: the audit tool's fast path.
///
/// Layout (Projections/PostingIndex.swift): key = kind u8 + id (u32 BE, or u8 for `type`) + first seq of the
/// block u64 BE; value = count u16 BE, then `count` u32 BE words: bits 0…29 = seq − first seq, bits 30…31 = flag.
struct PostingReader {
    let schema: Schema

    /// The key prefix of a list.
    static func prefix(_ list: PostingIndex.ListKey) -> [UInt8] {
        list.kind == .type ? [list.kind.rawValue, UInt8(truncatingIfNeeded: list.id)] : [list.kind.rawValue] + list.id.bigEndianBytes
    }

    /// One block of a list, pointing into the map (valid only inside the visit).
    struct Block {
        var first: UInt64
        var words: UnsafeRawBufferPointer
        var count: Int { words.count / 4 }

        @inline(__always) func word(_ i: Int) -> UInt32 {
            UInt32(bigEndian: words.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
        }
        @inline(__always) func seq(_ i: Int) -> UInt64 { first + UInt64(word(i) & 0x3FFF_FFFF) }
        @inline(__always) func flag(_ i: Int) -> UInt32 { word(i) >> 30 }
        var lastSeq: UInt64 { count == 0 ? first : seq(count - 1) }
    }

    /// Visits the blocks of `list` that may hold seqs in `range`, ascending or descending, until `body` returns false.
    func visitBlocks(_ list: PostingIndex.ListKey, range: ClosedRange<UInt64>, descending: Bool, txn: borrowing Transaction,
                     _ body: (Block) throws -> Bool) throws {
        let prefix = PostingReader.prefix(list)
        let database = schema.database(.index)
        try txn.withCursor(database) { cursor in
            func block(_ e: Cursor.Entry) throws -> Block? {
                guard e.key.count == prefix.count + 8, e.key.starts(with: prefix) else { return nil }
                let first = UInt64(bigEndian: e.key.loadUnaligned(fromByteOffset: prefix.count, as: UInt64.self))
                guard e.value.count >= 2 else { throw corrupt(list) }
                let count = Int(e.value[0]) << 8 | Int(e.value[1])
                guard e.value.count == 2 + 4 * count else { throw corrupt(list) }
                return Block(first: first, words: UnsafeRawBufferPointer(rebasing: e.value[2...]))
            }
            if descending {
                // The last block whose first seq ≤ upper bound.
                var entry: Cursor.Entry?
                let start = prefix + range.upperBound.bigEndianBytes
                if let e = try cursor.seek(atLeast: start) {
                    entry = e.key.elementsEqual(start) ? e : try cursor.previous()
                } else {
                    entry = try cursor.last()
                }
                while let e = entry, let b = try block(e) {
                    guard try body(b) else { return }
                    if b.first <= range.lowerBound { return }
                    entry = try cursor.previous()
                }
            } else {
                // Start at the last block whose first seq ≤ lower bound (it may hold it), else the first block after.
                let start = prefix + range.lowerBound.bigEndianBytes
                var entry = try cursor.seek(atLeast: start)
                if entry.map({ !$0.key.elementsEqual(start) }) ?? true {
                    if let before = try (entry == nil ? cursor.last() : cursor.previous()), try block(before) != nil {
                        entry = before
                    } else {
                        entry = try cursor.seek(atLeast: start)
                    }
                }
                while let e = entry, let b = try block(e) {
                    if b.first > range.upperBound { return }
                    guard try body(b) else { return }
                    entry = try cursor.next()
                }
            }
        }
    }

    /// Visits the entries of `list` with seq in `range`, in the given order, until `body` returns false.
    func visit(_ list: PostingIndex.ListKey, range: ClosedRange<UInt64>, descending: Bool, txn: borrowing Transaction,
               _ body: (_ seq: UInt64, _ flag: PostingIndex.Flag) throws -> Bool) throws {
        try visitBlocks(list, range: range, descending: descending, txn: txn) { block in
            let n = block.count
            if descending {
                var i = n - 1
                while i >= 0 {
                    let seq = block.seq(i)
                    if seq < range.lowerBound { return false }
                    if seq <= range.upperBound, try !body(seq, PostingIndex.Flag(rawValue: block.flag(i)) ?? .other) { return false }
                    i -= 1
                }
            } else {
                for i in 0..<n {
                    let seq = block.seq(i)
                    if seq > range.upperBound { return false }
                    if seq >= range.lowerBound, try !body(seq, PostingIndex.Flag(rawValue: block.flag(i)) ?? .other) { return false }
                }
            }
            return true
        }
    }

    /// Counts allowed and denied uses in `range` (flags only: no event is read).
    func countUses(_ list: PostingIndex.ListKey, range: ClosedRange<UInt64>, txn: borrowing Transaction) throws -> (allowed: UInt64, denied: UInt64) {
        var allowed: UInt64 = 0, denied: UInt64 = 0
        let allowedFlag = PostingIndex.Flag.allowedUse.rawValue, deniedFlag = PostingIndex.Flag.deniedUse.rawValue
        try visitBlocks(list, range: range, descending: false, txn: txn) { block in
            let n = block.count
            if block.first >= range.lowerBound, block.lastSeq <= range.upperBound {
                // Whole block inside the range: count flags only.
                for i in 0..<n {
                    let f = block.flag(i)
                    if f == allowedFlag { allowed += 1 } else if f == deniedFlag { denied += 1 }
                }
            } else {
                for i in 0..<n {
                    let seq = block.seq(i)
                    guard seq >= range.lowerBound else { continue }
                    if seq > range.upperBound { return false }
                    let f = block.flag(i)
                    if f == allowedFlag { allowed += 1 } else if f == deniedFlag { denied += 1 }
                }
            }
            return true
        }
        return (allowed, denied)
    }

    private func corrupt(_ list: PostingIndex.ListKey) -> LedgerError {
        LedgerError("corrupt_index", "a block of posting list \(list.kind) \(list.id) is malformed: run `credledger rebuild`", kind: .integrity)
    }
}
