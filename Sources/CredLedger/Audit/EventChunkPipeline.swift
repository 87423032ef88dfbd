import CredLedgerCore
import Foundation

/// Raw stored records of consecutive exported events, copied out of a read transaction (so formatting can run
/// on another thread, after the transaction ended) into one buffer: one allocation per chunk, none per event.
struct RawEventChunk {
    struct Entry {
        var seq: UInt64
        var start: Int
        var end: Int
        /// The hash this event must link to: the stored hash of seq − 1.
        var previous: SHA256Digest
    }

    /// Cut a chunk at this many events or bytes of records, whichever comes first.
    static let maxEvents = 2048
    static let maxBytes = 512 * 1024

    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []

    init() {
        bytes.reserveCapacity(RawEventChunk.maxBytes + 4096)
        entries.reserveCapacity(RawEventChunk.maxEvents)
    }

    var isEmpty: Bool { entries.isEmpty }
    var isFull: Bool { entries.count >= RawEventChunk.maxEvents || bytes.count >= RawEventChunk.maxBytes }

    mutating func append(seq: UInt64, record: UnsafeRawBufferPointer, previous: SHA256Digest) {
        let start = bytes.count
        bytes.append(contentsOf: record)
        entries.append(Entry(seq: seq, start: start, end: bytes.count, previous: previous))
    }
}

/// A chunk's lines, formatted, and what the export tallies from them. `failure` is the first event that failed
/// (decode or chain link): `bytes` then holds only the lines before it.
struct FormattedEventChunk {
    var bytes: [UInt8] = []
    var lines: UInt64 = 0
    var first: (seq: UInt64, previous: SHA256Digest)?
    var last: ChainHead?
    var byType = [UInt64](repeating: 0, count: 256)
    var failure: Error?
}

/// Formats export chunks on two workers while the caller keeps reading, and hands the results back strictly in
/// submission (seq) order, on the caller's thread. At most two chunks are formatting at once, so memory stays
/// constant. Every event's link is re-checked by the worker that formats it (`previous` came from the log).
final class EventChunkPipeline: @unchecked Sendable {
    private final class Job: @unchecked Sendable {
        let raw: RawEventChunk
        // Written by the worker before `done` is signalled, read by the caller after waiting on it.
        var result = FormattedEventChunk()
        let done = DispatchSemaphore(value: 0)
        init(_ raw: RawEventChunk) { self.raw = raw }
    }

    // Immutable after init: the workers only read them.
    private let fields: EventFields
    private let format: ExportRequest.Format
    private let queue = DispatchQueue.global(qos: .userInitiated)
    /// Submitted, not yet consumed, oldest first (touched only on the caller's thread).
    private var pending: [Job] = []
    private static let inFlight = 2

    init(fields: EventFields, format: ExportRequest.Format) {
        self.fields = fields
        self.format = format
    }

    /// Starts formatting `raw`; first hands the oldest result to `consume` when two are already in flight.
    func submit(_ raw: RawEventChunk, consume: (FormattedEventChunk) throws -> Void) throws {
        if pending.count >= EventChunkPipeline.inFlight { try consume(takeOldest()) }
        let job = Job(raw)
        pending.append(job)
        queue.async { [self] in
            job.result = formatChunk(job.raw)
            job.done.signal()
        }
    }

    /// Hands every remaining result to `consume`, in order.
    func drain(consume: (FormattedEventChunk) throws -> Void) throws {
        while !pending.isEmpty { try consume(takeOldest()) }
    }

    /// Waits for the workers and drops their results (after an error: nothing more is written).
    func cancel() {
        for job in pending { job.done.wait() }
        pending.removeAll()
    }

    private func takeOldest() -> FormattedEventChunk {
        let job = pending.removeFirst()
        job.done.wait()
        return job.result
    }

    /// Decodes, checks and formats one chunk; stops at the first event that fails.
    private func formatChunk(_ raw: RawEventChunk) -> FormattedEventChunk {
        var out = FormattedEventChunk()
        var writer = EventRowWriter(sink: ExportSink(inMemory: "events", capacity: 4 * raw.bytes.count + 4096), fields: fields,
                                    format: format)
        raw.bytes.withUnsafeBytes { all in
            for entry in raw.entries {
                do {
                    let record = UnsafeRawBufferPointer(rebasing: all[entry.start..<entry.end])
                    let stored = try EventLog.decodeOrThrow(seq: entry.seq, record: record)
                    let body = UnsafeRawBufferPointer(rebasing: record[0..<(record.count - EventCodec.hashSize)])
                    guard HashChain.link(previous: entry.previous, seq: entry.seq, body: body) == stored.hash else {
                        throw LedgerError("chain_broken", "event \(entry.seq): hash does not match its content and predecessor; nothing after it was exported (run `credledger replay`)", kind: .integrity)
                    }
                    try writer.write(stored, body: body, previous: entry.previous)
                    if out.first == nil { out.first = (entry.seq, entry.previous) }
                    out.last = ChainHead(seq: entry.seq, hash: stored.hash, timestamp: stored.event.timestamp)
                    out.byType[Int(stored.event.type.rawValue)] += 1
                } catch {
                    out.failure = error
                    break
                }
            }
        }
        out.lines = writer.sink.lines
        out.bytes = writer.sink.takeBytes()
        return out
    }
}
