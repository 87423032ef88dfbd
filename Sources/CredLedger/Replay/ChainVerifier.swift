import CredLedgerCore
import Foundation
import LMDB

/// Verifies sequence, hash links and time order of a range of the log on several threads.
///
/// Every record stores its own hash, so the link of event n needs only its body and the *stored* hash of
/// event n−1: the range is cut into chunks that verify independently, each on a worker thread with its own
/// read transaction (LMDB: one transaction per thread at a time). A chunk starts from the stored hash and
/// time of the event before it. Because a chunk stops at its first bad event and every earlier chunk is
/// checked too, the smallest failing seq over all chunks is exactly the first break a sequential pass finds.
enum ChainVerifier {
    /// What a verification of `range` found.
    struct Outcome: Sendable {
        /// Events whose link was checked and found good.
        var verified: UInt64
        /// The first bad event, if any.
        var failure: ChainFailure?
        /// The last good event of the range (hash and time as stored).
        var last: ChainHead
    }

    /// Events per chunk: large enough that a chunk's anchor lookup and transaction cost nothing, small
    /// enough that two threads stay balanced and an early break stops the others soon.
    static let chunkSize: UInt64 = 1 << 17

    /// Verifies events `range` (inclusive). `range.lowerBound` ≥ 1; events after `range.upperBound` are not read.
    /// The link of the first event is checked against the stored hash of the event before it (genesis for seq 1).
    /// With `decodePayloads`, every payload is decoded too (§3.2 rule 7); `replay` leaves that to its rebuild.
    /// `besideRebuild`: a replay's rebuild runs at the same time, and the worker threads yield to it (`HelperPriority`).
    static func verify(environment: Environment, schema: Schema, range: ClosedRange<UInt64>, threads: Int,
                       chunkSize: UInt64 = ChainVerifier.chunkSize, decodePayloads: Bool = true,
                       besideRebuild: Bool = false) throws -> Outcome {
        let first = max(range.lowerBound, 1)
        guard first <= range.upperBound else { return Outcome(verified: 0, failure: nil, last: .empty) }
        let total = range.upperBound - first + 1
        let chunkSize = max(chunkSize, 1)
        let chunkCount = Int((total + chunkSize - 1) / chunkSize)
        let shared = SharedProgress(chunks: chunkCount)
        let job = Job(environment: environment, schema: schema, first: first, last: range.upperBound, chunkSize: chunkSize,
                      decodePayloads: decodePayloads, shared: shared)
        let workers = max(1, min(threads, chunkCount))
        if workers == 1 {
            job.work()
        } else {
            let group = DispatchGroup()
            for i in 0..<workers {
                group.enter()
                let thread = Thread {
                    if besideRebuild { HelperPriority.lowerCallingThread(by: HelperPriority.verifier) }
                    job.work()
                    group.leave()
                }
                thread.name = "credledger-verify-\(i)"
                thread.stackSize = 1 << 20
                thread.start()
            }
            group.wait()
        }
        if let error = shared.error { throw error }
        return shared.outcome(first: first)
    }

    /// One verification run: what the worker threads share (the environment is thread-safe; each worker
    /// opens its own read transaction per chunk).
    private final class Job: @unchecked Sendable {
        let environment: Environment
        let schema: Schema
        let first: UInt64
        let last: UInt64
        let chunkSize: UInt64
        let decodePayloads: Bool
        let shared: SharedProgress

        init(environment: Environment, schema: Schema, first: UInt64, last: UInt64, chunkSize: UInt64, decodePayloads: Bool,
             shared: SharedProgress) {
            self.environment = environment
            self.schema = schema
            self.first = first
            self.last = last
            self.chunkSize = chunkSize
            self.decodePayloads = decodePayloads
            self.shared = shared
        }

        func work() {
            while let index = shared.nextChunk() {
                let lo = first + UInt64(index) * chunkSize
                let hi = min(lo + chunkSize - 1, last)
                // A break already found before this chunk makes it irrelevant.
                if let stop = shared.firstFailureSeq, stop < lo { continue }
                do {
                    let schema = self.schema, decode = decodePayloads
                    let result = try environment.read { txn in
                        try ChainVerifier.verifyChunk(lo...hi, schema: schema, txn: txn, decodePayloads: decode)
                    }
                    shared.finish(index, result)
                } catch {
                    shared.fail(error)
                }
            }
        }
    }

    /// Result of one chunk.
    struct ChunkResult: Sendable {
        var verified: UInt64
        var failure: ChainFailure?
        var last: ChainHead
    }

    /// Verifies one chunk in one read transaction.
    static func verifyChunk(_ range: ClosedRange<UInt64>, schema: Schema, txn: borrowing Transaction, decodePayloads: Bool) throws -> ChunkResult {
        try txn.withCursor(schema.events) { cursor in
            var previous = ChainHead.empty
            var entry: Cursor.Entry?
            if range.lowerBound == 1 {
                previous.timestamp = Int64.min
                entry = try cursor.seek(atLeast: UInt64(1).bigEndianBytes)
            } else {
                // The anchor: the stored hash and time of the event before the chunk. If it is missing or
                // unreadable the chunk before reports it (it is checked there as its last event).
                let anchorSeq = range.lowerBound - 1
                guard let anchor = try cursor.seek(exactly: anchorSeq.bigEndianBytes),
                      let header = try? EventCodec.decodeHeader(seq: anchorSeq, record: anchor.value),
                      let hash = SHA256Digest(bytes: UnsafeRawBufferPointer(rebasing: anchor.value[header.bodyLength...]))
                else {
                    return ChunkResult(verified: 0, failure: ChainFailure(seq: anchorSeq, reason: "missing or unreadable"), last: .empty)
                }
                previous = ChainHead(seq: anchorSeq, hash: hash, timestamp: header.timestamp)
                entry = try cursor.next()
            }
            var expected = range.lowerBound
            var verified: UInt64 = 0
            func stop(_ seq: UInt64, _ reason: String) -> ChunkResult {
                ChunkResult(verified: verified, failure: ChainFailure(seq: seq, reason: reason), last: previous)
            }
            while expected <= range.upperBound {
                guard let e = entry else { return stop(expected, "missing (the log ends at event \(expected - 1))") }
                guard e.key.count == 8, let seq = UInt64(bigEndianBytes: e.key) else {
                    return stop(expected, "a log key is not an 8-byte sequence number")
                }
                guard seq == expected else { return stop(expected, "missing (next stored is \(seq))") }
                let header: EventCodec.Header
                do {
                    header = try EventCodec.decodeHeader(seq: seq, record: e.value)
                } catch {
                    return stop(seq, "\(error)")
                }
                let body = UnsafeRawBufferPointer(rebasing: e.value[0..<header.bodyLength])
                let stored = UnsafeRawBufferPointer(rebasing: e.value[header.bodyLength...])
                let computed = HashChain.link(previous: previous.hash, seq: seq, body: body)
                guard computed.withUnsafeBytes({ constantTimeEquals($0, stored) }) else {
                    return stop(seq, "hash does not match its content and predecessor")
                }
                guard header.timestamp >= previous.timestamp else { return stop(seq, "timestamp goes backwards") }
                if decodePayloads {
                    do {
                        _ = try EventCodec.decodePayload(header.type, schema: header.schema, seq: seq,
                                                         bytes: UnsafeRawBufferPointer(rebasing: e.value[EventCodec.headerSize..<header.bodyLength]))
                    } catch {
                        return stop(seq, "\(error)")
                    }
                }
                previous = ChainHead(seq: seq, hash: computed, timestamp: header.timestamp)
                verified += 1
                expected += 1
                entry = try cursor.next()
            }
            return ChunkResult(verified: verified, failure: nil, last: previous)
        }
    }

    /// Chunk hand-out and results, shared by the workers under a lock.
    private final class SharedProgress: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private let count: Int
        private var results: [ChunkResult?]
        private var firstError: Error?
        private var failureSeq: UInt64?

        init(chunks: Int) {
            count = chunks
            results = Array(repeating: nil, count: chunks)
        }

        func nextChunk() -> Int? {
            lock.withLock {
                guard next < count, firstError == nil else { return nil }
                defer { next += 1 }
                return next
            }
        }

        var firstFailureSeq: UInt64? { lock.withLock { failureSeq } }
        var error: Error? { lock.withLock { firstError } }

        func finish(_ index: Int, _ result: ChunkResult) {
            lock.withLock {
                results[index] = result
                if let f = result.failure { failureSeq = min(failureSeq ?? .max, f.seq) }
            }
        }

        func fail(_ error: Error) {
            lock.withLock { if firstError == nil { firstError = error } }
        }

        /// Merges chunk results in order: counts up to the first failure, which is the earliest one.
        func outcome(first: UInt64) -> Outcome {
            lock.withLock {
                var outcome = Outcome(verified: 0, failure: nil, last: .empty)
                for result in results {
                    guard let result else { break }   // skipped: a break was found before it
                    outcome.verified += result.verified
                    if result.verified > 0 || result.failure == nil { outcome.last = result.last }
                    if let f = result.failure {
                        outcome.failure = f
                        break
                    }
                }
                return outcome
            }
        }
    }
}
