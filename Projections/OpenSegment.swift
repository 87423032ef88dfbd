import CredLedgerCore

/// One event of the log as the usage and index projections see it: its postings (flag and lists) and, for a use of a
/// credential, the use. The open segment (docs/FORMAT.md §6.0) is not stored by those projections: readers and folds
/// make these from the log's events (`KeyValueStore.visitLog`), in place for a use.
public struct LogEntry {
    /// Most lists an event belongs to: type, admin, user, company, credential, project.
    public static let maxLists = 6

    public let seq: UInt64
    public let flag: PostingIndex.Flag
    /// The use, when the event is a use of a credential (credential ≠ 0): what `usage` counts.
    public let use: RecentUse?
    /// How many lists the event belongs to (0: none, e.g. a use with no company, credential or project).
    public private(set) var count = 0
    private var lists: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)

    /// The entry of a use (`credential_used`) from its fields, in `PostingIndex.lists(for:)` order: company,
    /// credential, project.
    @inline(__always)
    public init(seq: UInt64, company: UInt32, credential: UInt32, project: UInt32, allowed: Bool, time: Timestamp) {
        self.init(seq: seq, flag: allowed ? .allowedUse : .deniedUse,
                  use: credential != 0 ? RecentUse(seq: seq, credential: credential, project: project, allowed: allowed, time: time) : nil)
        if company != 0 { add(PostingIndex.ListKey(.company, company).packed) }
        if credential != 0 { add(PostingIndex.ListKey(.credential, credential).packed) }
        if project != 0 { add(PostingIndex.ListKey(.project, project).packed) }
    }

    /// The entry of any event (the reference the in-place use path must match).
    public init(_ event: Event) {
        if case .credentialUsed(let u) = event.payload {
            self.init(seq: event.seq, company: event.company, credential: u.credential, project: u.project, allowed: u.allowed,
                      time: event.timestamp)
            return
        }
        self.init(seq: event.seq, flag: .other, use: nil)
        var scratch: [(PostingIndex.ListKey, PostingIndex.Flag)] = []
        PostingIndex.lists(for: event, into: &scratch)
        for (list, _) in scratch { add(list.packed) }
    }

    @inline(__always)
    private init(seq: UInt64, flag: PostingIndex.Flag, use: RecentUse?) {
        self.seq = seq
        self.flag = flag
        self.use = use
    }

    @inline(__always)
    private mutating func add(_ packed: UInt64) {
        precondition(count < Self.maxLists, "an event belongs to at most \(Self.maxLists) lists")
        withUnsafeMutableBytes(of: &lists) { $0.storeBytes(of: packed, toByteOffset: 8 * count, as: UInt64.self) }
        count += 1
    }

    /// The i-th list, packed (`ListKey.packed`).
    @inline(__always)
    public func list(_ i: Int) -> UInt64 {
        precondition(i >= 0 && i < count)
        return withUnsafeBytes(of: lists) { $0.load(fromByteOffset: 8 * i, as: UInt64.self) }
    }

    public func contains(_ packed: UInt64) -> Bool {
        for i in 0..<count where list(i) == packed { return true }
        return false
    }
}

extension PostingIndex {
    /// The seqs of segment `segment` (seq 0 never exists: segment 0 starts at 1).
    @inline(__always)
    public static func seqs(of segment: UInt32) -> ClosedRange<UInt64> {
        max(1, firstSeq(of: segment))...(firstSeq(of: segment) + (1 << segmentShift) - 1)
    }

    /// The open segment of a projection last applied through `head` (docs/FORMAT.md §6.0): the seqs of `head`'s
    /// segment up to `head`, or nil for an empty log. Every earlier segment is folded into the projection's tables.
    @inline(__always)
    public static func openSegment(head: UInt64) -> ClosedRange<UInt64>? {
        head == 0 ? nil : seqs(of: segment(of: head)).lowerBound...head
    }
}
