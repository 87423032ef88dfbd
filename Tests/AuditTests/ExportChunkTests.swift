@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB
import XCTest

/// Issue 15: the export formats chunks of events on two workers. Its files must equal, byte for byte, the lines
/// one thread writes reading the log in one pass, across many chunks and read transactions; and a damaged event
/// in a later chunk must stop the export there, with the earliest damage named.
final class ExportChunkTests: XCTestCase {
    /// A varied history, then enough uses that the export spans several chunks (`RawEventChunk.maxEvents`).
    private func chunkedLedger(_ label: String) throws -> TestLedger {
        let t = try TestLedger(label)
        try RandomHistory(t, seed: 9).run(steps: 120)
        let key = try t.create(.staticKey, .global, name: "chunks")
        let decision = try t.ledger.access.authorize(header: "Apikey " + key.secret!, company: World.acme, project: "bridge", operation: .read)
        var left = 3 * RawEventChunk.maxEvents + 777
        while left > 0 {
            let n = min(left, 2_000)
            try t.ledger.access.record(batch: Array(repeating: decision, count: n))
            left -= n
        }
        return t
    }

    /// The events file as one thread formats it, event after event, in one read transaction.
    private func oneThreadLines(_ t: TestLedger, format: ExportRequest.Format) throws -> [UInt8] {
        let audit = t.ledger.audit
        let fields = try EventFields(audit: audit)
        var writer = EventRowWriter(sink: ExportSink(inMemory: "reference", capacity: 1 << 20), fields: fields, format: format)
        if format == .csv {
            writer.sink.ascii("seq,time,type,company,actor,payload,prev_hash,hash,record")
            try writer.sink.endLine()
        }
        var previous = HashChain.genesis
        try audit.environment.read { txn in
            try EventLog.scanRaw(from: 1, schema: audit.schema, in: txn) { seq, record in
                let stored = try EventLog.decodeOrThrow(seq: seq, record: record)
                try writer.write(stored, body: UnsafeRawBufferPointer(rebasing: record[0..<(record.count - EventCodec.hashSize)]),
                                 previous: previous)
                previous = stored.hash
                return true
            }
        }
        return writer.sink.takeBytes()
    }

    func testChunkedExportEqualsOneThreadLinesInBothFormats() throws {
        let t = try chunkedLedger("export-chunks")
        defer { t.remove() }
        let head = t.ledger.head
        XCTAssertGreaterThan(head.seq, UInt64(3 * RawEventChunk.maxEvents))
        for format in ExportRequest.Format.allCases {
            let expected = try oneThreadLines(t, format: format)
            // Small read transactions too, so chunks span transactions.
            for budget in [ReadBudget.standard, ReadBudget(maxEvents: 1_000, maxNanoseconds: .max)] {
                let dir = t.directory.path + "/\(format.rawValue)-\(budget.maxEvents)"
                let summary = try t.ledger.audit.export(ExportRequest(company: nil, format: format, directory: dir), budget: budget)
                let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/events.\(format.rawValue)")))
                XCTAssertEqual(written.count, expected.count, "\(format) \(budget.maxEvents)")
                XCTAssertTrue(written == expected, "\(format) with \(budget.maxEvents) events per transaction differs from one pass")
                XCTAssertEqual(summary.events, head.seq)
                XCTAssertEqual(summary.head, head)
                XCTAssertEqual(summary.files.first?.sha256, SHA256.hash(expected))
                XCTAssertEqual(summary.files.first?.lines, UInt64(expected.filter { $0 == 0x0A }.count))
            }
        }
    }

    func testDamageInALaterChunkStopsTheExportAtTheEarliestBadEvent() throws {
        let t = try chunkedLedger("export-chunk-damage")
        defer { t.remove() }
        let bad = UInt64(2 * RawEventChunk.maxEvents + 100), missing = bad + 500
        t.close()
        try rawEvents(t) { txn, events in
            guard var record = try txn.get(events, bad.bigEndianBytes) else { throw LedgerError("test", "no event \(bad)") }
            record[record.count - 1] ^= 0x01   // its stored hash: it still decodes, its link breaks
            try txn.put(events, bad.bigEndianBytes, record)
            _ = try txn.delete(events, missing.bigEndianBytes)
        }
        try t.reopen(readOnly: true)
        // The missing event is found by the reader after the damaged one went to a worker: the damaged one is named.
        let dir = t.directory.path + "/damaged"
        XCTAssertThrowsError(try t.ledger.audit.export(ExportRequest(company: nil, format: .jsonl, directory: dir),
                                                       budget: ReadBudget(maxEvents: 300, maxNanoseconds: .max))) { error in
            let e = error as? LedgerError
            XCTAssertEqual(e?.code, "chain_broken", "\(error)")
            XCTAssertTrue(e?.message.contains("event \(bad)") ?? false, "\(error)")
        }
        // Nothing at or after the damaged event reached the file.
        let text = try String(contentsOfFile: dir + "/events.jsonl", encoding: .utf8)
        let seqs = text.split(separator: "\n").compactMap { line -> UInt64? in
            guard let r = line.range(of: "{\"seq\":"), let end = line[r.upperBound...].firstIndex(of: ",") else { return nil }
            return UInt64(line[r.upperBound..<end])
        }
        XCTAssertTrue(seqs.allSatisfy { $0 < bad }, "lines at or after event \(bad) were written")
        XCTAssertEqual(seqs, seqs.sorted())
    }

    private func rawEvents(_ t: TestLedger, _ body: (borrowing Transaction, Database) throws -> Void) throws {
        var configuration = Environment.Configuration()
        configuration.maxDatabases = 64
        configuration.mapSize = 64 << 20
        let environment = try Environment(path: t.path, configuration: configuration)
        defer { environment.close() }
        let events = try environment.openDatabases(["events"], flags: [])[0]
        try environment.write { txn in try body(txn, events) }
    }

    /// A write that fails (the disk is full: `/dev/full`) is reported by a later hand-over or by `finish`, never lost;
    /// the buffers handed over before the failure are not waited for one by one (no `queue.sync` per buffer).
    func testAFailedWriteIsReportedNotLost() throws {
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw XCTSkip("no /dev/full on this system") }
        let file = ExportFile(fd, name: "events.jsonl")
        let buffer = [UInt8](repeating: 0x61, count: 1 << 20)
        var reported: Error?
        for _ in 0..<8 where reported == nil {
            do { try file.submit(buffer) } catch { reported = error }
        }
        if reported == nil {
            XCTAssertThrowsError(try file.finish()) { reported = $0 }
        } else {
            XCTAssertThrowsError(try file.finish(), "the failure stays")
        }
        XCTAssertEqual((reported as? LedgerError)?.code, "export_failed")
        XCTAssertTrue("\(reported.map { "\($0)" } ?? "")".contains("No space left"), "\(String(describing: reported))")
    }
}
