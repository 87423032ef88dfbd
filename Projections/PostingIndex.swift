import CredLedgerCore

/// Posting lists: the seqs of the events that belong to a company, credential, project, acting user or type.
///
/// The log is cut into segments of 65,536 seqs (`segment(of:)`). The entries of closed segments live in `ix`, one
/// row per list and segment, written once when the segment is folded (by the batch holding the first event of a
/// later segment); the open segment's entries are not stored: readers take them from the log's events
/// (`KeyValueStore.visitLog`), so a use appends no posting row at all and a fold appends at the end of each kind's
/// range in `ix`. Every row depends only on the log, never on how events were batched — live writes and a rebuild
/// produce identical bytes (docs/FORMAT.md §6.6).
public enum PostingIndex {
    /// log2 of the segment size: a folded row stores seq offsets as `u16`.
    public static let segmentShift: UInt64 = 16

    /// The segment holding `seq`.
    @inline(__always)
    public static func segment(of seq: UInt64) -> UInt32 { UInt32(min(seq >> segmentShift, UInt64(UInt32.max))) }

    /// The first seq of a segment (offsets in its rows count from here).
    @inline(__always)
    public static func firstSeq(of segment: UInt32) -> UInt64 { UInt64(segment) << segmentShift }

    public enum Kind: UInt8, Sendable, CaseIterable {
        case company = 0x43      // 'C'
        case credential = 0x4B   // 'K'
        case project = 0x50      // 'P'
        case user = 0x55         // 'U' (events a user did)
        case type = 0x54         // 'T' (non-use event types)
        case admin = 0x41        // 'A' (every non-use event: as-of replays read only these)

        /// Position of a kind byte in `allCases`, or nil for an unknown byte.
        @inline(__always)
        static func index(of byte: UInt8) -> Int? {
            switch byte {
            case 0x43: 0
            case 0x4B: 1
            case 0x50: 2
            case 0x55: 3
            case 0x54: 4
            case 0x41: 5
            default: nil
            }
        }
    }

    /// What an entry points at: as-of counters count allowed uses without reading events.
    public enum Flag: UInt8, Sendable {
        case allowedUse = 0, deniedUse = 1, other = 2
    }

    public struct ListKey: Hashable, Sendable {
        public var kind: Kind
        public var id: UInt32
        public init(_ kind: Kind, _ id: UInt32) {
            self.kind = kind
            self.id = id
        }

        /// kind << 32 | id: the list's identity in buffers and sort keys.
        @inline(__always) public var packed: UInt64 { UInt64(kind.rawValue) << 32 | UInt64(id) }

        /// The list of a packed value, or nil for an unknown kind byte.
        public init?(packed: UInt64) {
            guard let kind = Kind(rawValue: UInt8(truncatingIfNeeded: packed >> 32)) else { return nil }
            self.init(kind, UInt32(truncatingIfNeeded: packed))
        }
    }

    public struct Entry: Equatable, Sendable {
        public var seq: UInt64
        public var flag: Flag
        public init(seq: UInt64, flag: Flag) {
            self.seq = seq
            self.flag = flag
        }
    }

    /// The lists an event belongs to.
    public static func lists(for event: Event, into out: inout [(ListKey, Flag)]) {
        let flag: Flag
        if case .credentialUsed(let use) = event.payload {
            flag = use.allowed ? .allowedUse : .deniedUse
        } else {
            flag = .other
            out.append((ListKey(.type, UInt32(event.type.rawValue)), flag))
            out.append((ListKey(.admin, 0), flag))
            if case .user(let u) = event.actor { out.append((ListKey(.user, u), flag)) }
        }
        if event.company != 0 { out.append((ListKey(.company, event.company), flag)) }
        if let c = event.payload.credential { out.append((ListKey(.credential, c), flag)) }
        if let p = event.payload.project { out.append((ListKey(.project, p), flag)) }
    }

    // MARK: - `ix`: one row per list and closed segment

    /// Bytes of an `ix` key: segment u32 ‖ kind u8 ‖ id u32 (big-endian). Segment first: a fold appends at the end.
    public static let segmentKeyLength = 9

    public static func segmentKey(_ list: ListKey, _ segment: UInt32) -> [UInt8] {
        segment.bigEndianBytes + [list.kind.rawValue] + list.id.bigEndianBytes
    }

    /// One `ix` row read in place: count u32 n (≥ 1), n × u16 offsets (seq − first seq of the segment, strictly
    /// ascending), then ⌈n/4⌉ bytes of 2-bit flags, entry i in byte i/4 at bits 7−2(i%4)…6−2(i%4).
    public struct SegmentRow {
        public let first: UInt64
        public let count: Int
        private let offsets: UnsafeRawBufferPointer
        private let flags: UnsafeRawBufferPointer

        /// Nil when the value is not a well-formed row (wrong length, offsets not ascending, flag 3).
        public init?(segment: UInt32, value: UnsafeRawBufferPointer) {
            guard value.count >= 4 else { return nil }
            let n = Int(UInt32(bigEndian: value.loadUnaligned(as: UInt32.self)))
            guard n >= 1, n <= 1 << Int(PostingIndex.segmentShift), value.count == 4 + 2 * n + (n + 3) / 4 else { return nil }
            first = PostingIndex.firstSeq(of: segment)
            count = n
            offsets = UnsafeRawBufferPointer(rebasing: value[4..<(4 + 2 * n)])
            flags = UnsafeRawBufferPointer(rebasing: value[(4 + 2 * n)...])
            var previous = -1
            for i in 0..<n {
                let o = Int(offset(i))
                guard o > previous, rawFlag(i) != 3 else { return nil }
                previous = o
            }
        }

        @inline(__always) func offset(_ i: Int) -> UInt16 { UInt16(bigEndian: offsets.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        @inline(__always) public func seq(_ i: Int) -> UInt64 { first + UInt64(offset(i)) }
        @inline(__always) public func rawFlag(_ i: Int) -> UInt8 { (flags[i >> 2] >> (6 - 2 * UInt8(i & 3))) & 3 }
        @inline(__always) public func flag(_ i: Int) -> Flag { Flag(rawValue: rawFlag(i)) ?? .other }
        public var lastSeq: UInt64 { seq(count - 1) }

        /// The first index whose seq is ≥ `seq` (count if none).
        public func lowerBound(_ seq: UInt64) -> Int {
            var low = 0, high = count
            while low < high {
                let mid = (low + high) / 2
                if self.seq(mid) < seq { low = mid + 1 } else { high = mid }
            }
            return low
        }

        /// The indices whose seqs lie in `range`.
        public func indices(in range: ClosedRange<UInt64>) -> Range<Int> {
            let from = lowerBound(range.lowerBound)
            let to = range.upperBound == .max ? count : lowerBound(range.upperBound + 1)
            return from..<max(from, to)
        }

        /// Visits the entries with seq in `range`, ascending or descending, until `body` returns false (then returns false).
        public func visit(_ range: ClosedRange<UInt64>, descending: Bool, _ body: (_ seq: UInt64, _ flag: Flag) throws -> Bool) rethrows -> Bool {
            let indices = indices(in: range)
            if descending {
                for i in indices.reversed() where try !body(seq(i), flag(i)) { return false }
            } else {
                for i in indices where try !body(seq(i), flag(i)) { return false }
            }
            return true
        }

        /// Allowed and denied uses among entries `range` (flags only).
        public func countUses(_ range: Range<Int>) -> (allowed: UInt64, denied: UInt64) {
            var allowed: UInt64 = 0, denied: UInt64 = 0
            for i in range {
                switch rawFlag(i) {
                case Flag.allowedUse.rawValue: allowed += 1
                case Flag.deniedUse.rawValue: denied += 1
                default: break
                }
            }
            return (allowed, denied)
        }
    }

    /// Reused storage of `foldRows` (a fold sees up to 65,536 events and a few hundred thousand postings).
    public struct FoldScratch {
        /// Ids below this get their slot from `direct`; larger ones (none in a sound ledger) from a hash table.
        static let directLimit = 1 << 22
        /// Slot + 1 of each list by kind (`Kind.index(of:)`) and id, 0 = not seen: ids are dense counters, so this is
        /// an array read per posting instead of a hash lookup.
        var direct: [[Int32]] = Array(repeating: [], count: Kind.allCases.count)
        var touched: [(kind: Int, id: Int)] = []
        var slots = SlotTable()
        var hashedSlot: [Int] = []
        var listOfSlot: [UInt64] = []
        var counts: [Int] = []
        var next: [Int] = []
        var slotOfPosting: [Int32] = []
        var order: [Int] = []
        /// list key << 24 | slot, sorted into `order`.
        var packed: [UInt64] = []
        var entries: [UInt32] = []   // per list, contiguous: offset << 2 | flag
        var value: [UInt8] = []
        public init() {}

        mutating func reset() {
            for (kind, id) in touched { direct[kind][id] = 0 }
            touched.removeAll(keepingCapacity: true)
            slots.removeAll()
            hashedSlot.removeAll(keepingCapacity: true)
            counts.removeAll(keepingCapacity: true)
            slotOfPosting.removeAll(keepingCapacity: true)
        }

        /// The dense slot of `list` (0, 1, 2, … in first-seen order), created on first sight.
        @inline(__always)
        mutating func slot(of list: UInt64) -> Int {
            let id = Int(UInt32(truncatingIfNeeded: list))
            if id < Self.directLimit, let kind = Kind.index(of: UInt8(truncatingIfNeeded: list >> 32)) {
                if id >= direct[kind].count {
                    direct[kind].append(contentsOf: repeatElement(0, count: max(id + 1, 2 * direct[kind].count) - direct[kind].count))
                }
                let stored = Int(direct[kind][id])
                if stored != 0 { return stored - 1 }
                let slot = newSlot(list)
                direct[kind][id] = Int32(truncatingIfNeeded: slot + 1)
                touched.append((kind, id))
                return slot
            }
            let (hashed, isNew) = slots.slot(list, 0)
            if isNew { hashedSlot.append(newSlot(list)) }
            return hashedSlot[hashed]
        }

        private mutating func newSlot(_ list: UInt64) -> Int {
            let slot = counts.count
            if slot < listOfSlot.count { listOfSlot[slot] = list } else { listOfSlot.append(list) }
            counts.append(0)
            return slot
        }
    }

    /// Folds the postings of one segment (`events` of `buffer`, default all: every event of the segment that has postings,
    /// ascending) into `ix`
    /// rows, handed to `emit` in key order (so they can be appended). Two passes, no sort of the postings: count
    /// per list, then place each posting at its list's next position; entries stay in seq order.
    public static func foldRows(_ buffer: PostingBuffer, events: Range<Int>? = nil, segment: UInt32, scratch s: inout FoldScratch,
                                _ emit: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) throws {
        s.reset()
        let first = firstSeq(of: segment)
        let events = events ?? 0..<buffer.count
        for e in events {
            precondition(PostingIndex.segment(of: buffer.seqs[e]) == segment, "fold: seq \(buffer.seqs[e]) is outside segment \(segment)")
            for l in buffer.listRange(e) {
                let slot = s.slot(of: buffer.lists[l])
                s.counts[slot] += 1
                s.slotOfPosting.append(Int32(truncatingIfNeeded: slot))
            }
        }
        let lists = s.counts.count
        s.order.removeAll(keepingCapacity: true)
        if lists < 1 << 24 {
            // A list key is 40 bits (kind ‖ id): sorted packed with its slot, a plain integer sort (the indirect
            // comparisons through `listOfSlot` cost a few per cent of a rebuild's applying thread).
            s.packed.removeAll(keepingCapacity: true)
            for slot in 0..<lists { s.packed.append(s.listOfSlot[slot] << 24 | UInt64(slot)) }
            s.packed.sort()
            for p in s.packed { s.order.append(Int(truncatingIfNeeded: p & 0xFF_FFFF)) }
        } else {
            s.order.append(contentsOf: 0..<lists)
            s.order.sort { [listOfSlot = s.listOfSlot] in listOfSlot[$0] < listOfSlot[$1] }
        }
        s.next = Array(repeating: 0, count: lists)
        var at = 0
        for slot in s.order {
            s.next[slot] = at
            at += s.counts[slot]
        }
        if s.entries.count < at { s.entries = Array(repeating: 0, count: at) }
        // The scatter and the rows' bytes go through raw buffers: one uniqueness check per array per fold, not one per
        // posting (these loops were most of a fold's time).
        s.entries.withUnsafeMutableBufferPointer { entries in
            s.next.withUnsafeMutableBufferPointer { next in
                s.slotOfPosting.withUnsafeBufferPointer { slotOfPosting in
                    var posting = 0
                    for e in events {
                        let entry = UInt32(truncatingIfNeeded: buffer.seqs[e] - first) << 2 | UInt32(buffer.flags[e])
                        for _ in buffer.listRange(e) {
                            let slot = Int(slotOfPosting[posting])
                            entries[next[slot]] = entry
                            next[slot] += 1
                            posting += 1
                        }
                    }
                }
            }
        }
        // The longest row: its count, 2 bytes of offset per entry, 2 bits of flag per entry.
        let longest = s.counts.max() ?? 0
        let valueCapacity = 4 + 2 * longest + (longest + 3) / 4
        if s.value.count < valueCapacity { s.value = [UInt8](repeating: 0, count: valueCapacity) }
        var key: (UInt64, UInt64) = (0, 0)
        try withUnsafeMutableBytes(of: &key) { key in
            key.storeBytes(of: segment.bigEndian, as: UInt32.self)
            try s.entries.withUnsafeBufferPointer { entries in
                try s.value.withUnsafeMutableBytes { value in
                    var start = 0
                    for slot in s.order {
                        let n = s.counts[slot], list = s.listOfSlot[slot]
                        key[4] = UInt8(truncatingIfNeeded: list >> 32)
                        key.storeBytes(of: UInt32(truncatingIfNeeded: list).bigEndian, toByteOffset: 5, as: UInt32.self)
                        value.storeBytes(of: UInt32(n).bigEndian, as: UInt32.self)
                        var o = 4
                        for i in start..<(start + n) {
                            let offset = entries[i] >> 2
                            value[o] = UInt8(truncatingIfNeeded: offset >> 8)
                            value[o + 1] = UInt8(truncatingIfNeeded: offset)
                            o += 2
                        }
                        var i = start
                        while i < start + n {
                            var byte: UInt8 = 0
                            for j in 0..<min(4, start + n - i) { byte |= UInt8(truncatingIfNeeded: entries[i + j] & 3) << (6 - 2 * UInt8(j)) }
                            value[o] = byte
                            o += 1
                            i += 4
                        }
                        try emit(UnsafeRawBufferPointer(rebasing: key[0..<segmentKeyLength]), UnsafeRawBufferPointer(rebasing: value[0..<o]))
                        start += n
                    }
                }
            }
        }
    }

    // MARK: - Reading through any store

    /// Visits a list's entries with seq in `range`, ascending or descending, until `body` returns false: the folded
    /// segments' rows, then the open segment's events from the log. (The LMDB reader, `PostingReader`, does the same
    /// in place.)
    public static func visit(_ list: ListKey, in store: some KeyValueStore, range: ClosedRange<UInt64> = 1...UInt64.max,
                             descending: Bool = false, _ body: (Entry) throws -> Bool) throws {
        let packed = list.packed
        let open = try store.openSegment(.indexes)
        // Folded segments to look at: those overlapping `range`, up to the last folded one (the one before the open
        // segment; with none open, the segment of `ix`'s last row, as `PostingReader` reads it).
        var lastFolded: UInt32?
        if let open {
            let first = segment(of: open.lowerBound)
            lastFolded = first > 0 ? first - 1 : nil
        } else {
            try store.scanBackward(.index, from: [UInt8](repeating: 0xFF, count: segmentKeyLength)) { key, _ in
                if key.count == segmentKeyLength { lastFolded = UInt32(bigEndianBytes: Array(key[0..<4])) }
                return false
            }
        }
        let low = segment(of: range.lowerBound)
        let segments: [UInt32] = lastFolded.map { last in
            let high = min(segment(of: range.upperBound), last)
            return low <= high ? Array(low...high) : []
        } ?? []
        var keepGoing = true
        func visitSegment(_ s: UInt32) throws {
            guard keepGoing, let value = try store.get(.index, segmentKey(list, s)) else { return }
            try value.withUnsafeBytes { v in
                guard let row = SegmentRow(segment: s, value: v) else { throw ProjectionError(.index, "malformed row for \(list) in segment \(s)") }
                keepGoing = try row.visit(range, descending: descending) { try body(Entry(seq: $0, flag: $1)) }
            }
        }
        func visitOpen() throws {
            guard keepGoing, let open, open.overlaps(range) else { return }
            try store.visitLog(open.clamped(to: range), descending: descending) { entry in
                if entry.contains(packed) { keepGoing = try body(Entry(seq: entry.seq, flag: entry.flag)) }
                return keepGoing
            }
        }
        if descending {
            try visitOpen()
            for s in segments.reversed() where keepGoing { try visitSegment(s) }
        } else {
            for s in segments where keepGoing { try visitSegment(s) }
            try visitOpen()
        }
    }
}

/// Postings of consecutive events, flat: the projector's per-batch buffer and the input of a fold.
public struct PostingBuffer {
    /// Seq of each event with at least one posting, ascending.
    public private(set) var seqs: [UInt64] = []
    /// `PostingIndex.Flag` raw value per event.
    public private(set) var flags: [UInt8] = []
    /// Event e's lists are `lists[ends[e − 1] ..< ends[e]]`.
    private var ends: [Int] = []
    /// `ListKey.packed` values.
    public private(set) var lists: [UInt64] = []

    public init() {}

    public var count: Int { seqs.count }
    public var isEmpty: Bool { seqs.isEmpty }

    @inline(__always) public func listRange(_ e: Int) -> Range<Int> { (e == 0 ? 0 : ends[e - 1])..<ends[e] }

    /// Starts an event; add its lists with `addList` (callers start only events that belong to at least one list).
    @inline(__always)
    public mutating func startEvent(_ seq: UInt64, _ flag: PostingIndex.Flag) {
        precondition(seqs.last.map { $0 < seq } ?? true, "postings must be added in seq order")
        seqs.append(seq)
        flags.append(flag.rawValue)
        ends.append(lists.count)
    }

    @inline(__always)
    public mutating func addList(_ list: PostingIndex.ListKey) {
        lists.append(list.packed)
        ends[ends.count - 1] = lists.count
    }

    /// Appends an event read from the log (one with at least one list).
    public mutating func append(_ entry: LogEntry) {
        startEvent(entry.seq, entry.flag)
        for i in 0..<entry.count { lists.append(entry.list(i)) }
        ends[ends.count - 1] = lists.count
    }

    /// Appends events `range` of another buffer.
    public mutating func append(_ other: PostingBuffer, _ range: Range<Int>) {
        for e in range {
            startEvent(other.seqs[e], PostingIndex.Flag(rawValue: other.flags[e]) ?? .other)
            lists.append(contentsOf: other.lists[other.listRange(e)])
            ends[ends.count - 1] = lists.count
        }
    }

    /// Drops the first `count` events and their lists (a folded segment's).
    public mutating func removeFirst(_ count: Int) {
        guard count > 0 else { return }
        guard count < seqs.count else { return removeAll() }
        let cut = ends[count - 1]
        lists.removeFirst(cut)
        seqs.removeFirst(count)
        flags.removeFirst(count)
        ends.removeFirst(count)
        for i in ends.indices { ends[i] -= cut }
    }

    /// Keeps the first `count` events and their lists.
    public mutating func truncate(to count: Int) {
        guard count < seqs.count else { return }
        guard count > 0 else { return removeAll() }
        lists.removeSubrange(ends[count - 1]...)
        seqs.removeSubrange(count...)
        flags.removeSubrange(count...)
        ends.removeSubrange(count...)
    }

    public mutating func removeAll() {
        seqs.removeAll(keepingCapacity: true)
        flags.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        lists.removeAll(keepingCapacity: true)
    }
}
