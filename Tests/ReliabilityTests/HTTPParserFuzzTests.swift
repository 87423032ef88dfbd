import CredLedgerHTTP
import Foundation
import HTTPParserFuzzer
import XCTest

/// The HTTP request parser under 1,000,000 mutated inputs (issue 13), driven by `HTTPParserFuzzer` (built optimized even
/// in debug builds). `CREDLEDGER_HTTP_FUZZ_INPUTS` changes the budget, `CREDLEDGER_SEED` the seed.
final class HTTPParserFuzzTests: ReliabilityTestCase {
    func testParserUnderAMillionMutatedInputs() {
        let budget = Self.budget("CREDLEDGER_HTTP_FUZZ_INPUTS", 1_000_000)
        let started = Date()
        let report = HTTPParserFuzzer.run(budget: budget, seed: Self.seed)
        let seconds = Date().timeIntervalSince(started)
        print("HTTP parser fuzz: \(report.inputs) inputs in \(String(format: "%.1f", seconds)) s, \(report.requests) requests accepted, "
              + "errors by status \(report.errorsByStatus.sorted { $0.key < $1.key }) (seed \(Self.seed))")
        XCTAssertEqual(report.failures, [], "seed \(Self.seed)")
        XCTAssertEqual(report.inputs, budget, "the run stopped early")
        // The mutants reach the accepting path and every refusal status of the table.
        XCTAssertGreaterThan(report.requests, budget / 20)
        for status in [400, 413, 414, 417, 431, 501, 505] {
            XCTAssertGreaterThan(report.errorsByStatus[status] ?? 0, 0, "no input reached \(status)")
        }
    }
}
