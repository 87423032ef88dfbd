/// How a batch's entries are written to a projection that keeps its open segment apart (`ix_recent`, `usage_recent`):
/// the log is cut into segments of 65,536 seqs (`PostingIndex.segment(of:)`); a segment is folded into the
/// projection's main tables by the batch that holds the projection's first entry of a later segment (each projection
/// plans from its own entries: uses for usage, events with postings for indexes); until then its entries are rows of
/// the `…_recent` table. Because the plan depends only on the seqs, any batching gives the same bytes.
enum SegmentStep: Equatable {
    /// Fold segment `segment`: its stored recent rows (if `withStored`), then the batch's events `events`; the
    /// stored recent rows are removed.
    case fold(segment: UInt32, withStored: Bool, events: Range<Int>)
    /// Append the batch's events `events` to the recent rows.
    case append(events: Range<Int>)

    /// The steps for a batch of `count` events with ascending seqs (`seq(i)`), when the stored recent rows belong
    /// to segment `open`.
    static func plan(count: Int, seq: (Int) -> UInt64, open: UInt32?) -> [SegmentStep] {
        var steps: [SegmentStep] = []
        var open = open
        var start = 0
        while start < count {
            let segment = PostingIndex.segment(of: seq(start))
            var end = start + 1
            while end < count, PostingIndex.segment(of: seq(end)) == segment { end += 1 }
            if let stored = open, stored != segment {
                steps.append(.fold(segment: stored, withStored: true, events: start..<start))
                open = nil
            }
            if end < count {
                steps.append(.fold(segment: segment, withStored: open == segment, events: start..<end))
                open = nil
            } else {
                steps.append(.append(events: start..<end))
                open = segment
            }
            start = end
        }
        return steps
    }
}
