@testable import CredLedger
import CredLedgerCore
import Foundation
import XCTest

/// Issue 15: the bench's CPU-side limit of the export is the same export with the events' bytes dropped. It must
/// format and hash exactly the bytes a real export writes (same count, same digest), and write no events file.
final class ExportDiscardTests: XCTestCase {
    func testDiscardingExportHashesTheSameBytesAndWritesNoEventsFile() throws {
        let t = try TestLedger("export-discard")
        defer { t.remove() }
        try RandomHistory(t, seed: 21).run(steps: 80)
        for format in ExportRequest.Format.allCases {
            let real = try t.ledger.audit.export(ExportRequest(company: nil, format: format, directory: t.directory.path + "/real-\(format)"))
            let dropped = t.directory.path + "/dropped-\(format)"
            let discarded = try t.ledger.audit.export(ExportRequest(company: nil, format: format, directory: dropped), discardingEvents: true)
            XCTAssertGreaterThan(real.events, 0)
            XCTAssertEqual(discarded.events, real.events)
            XCTAssertEqual(discarded.head, real.head)
            let realEvents = try XCTUnwrap(real.files.first { $0.kind == "events" })
            let droppedEvents = try XCTUnwrap(discarded.files.first { $0.kind == "events" })
            XCTAssertEqual(droppedEvents, realEvents, "the discarded bytes are not the file's")
            let onDisk = try Data(contentsOf: URL(fileURLWithPath: t.directory.path + "/real-\(format)/events.\(format.rawValue)"))
            XCTAssertEqual(UInt64(onDisk.count), droppedEvents.bytes)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dropped + "/events.\(format.rawValue)"))
        }
    }
}
