@testable import CredLedgerLab
@testable import CredLedgerTools
import Foundation
import XCTest

/// Issue 13, `credledger-bench http`: wrk's report is read right, and a tiny run of the whole command produces every
/// figure with the recorded uses covering every request wrk completed. No figure is asserted (no timed test).
final class HTTPBenchTests: XCTestCase {
    func testWrkReportIsParsed() throws {
        let report = """
        Running 5s test @ http://127.0.0.1:40000/auth/forward
          1 threads and 64 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency     2.10ms    1.01ms  31.20ms   90.00%
            Req/Sec    30.12k     1.20k   33.00k    70.00%
          Latency Distribution
             50%  627.00us
             75%    2.01ms
             90%    3.00ms
             99%    4.50ms
          150012 requests in 5.00s, 12.34MB read
          Socket errors: connect 0, read 2, write 0, timeout 1
          Non-2xx or 3xx responses: 7
        Requests/sec:  30002.40
        Transfer/sec:      2.47MB
        """
        let r = try XCTUnwrap(HTTPBench.parseWrk(report))
        XCTAssertEqual(r.requests, 150_012)
        XCTAssertEqual(r.perSecond, 30_002.40)
        XCTAssertEqual(r.p50, 627, accuracy: 0.001)
        XCTAssertEqual(r.p99, 4_500, accuracy: 0.001)
        XCTAssertEqual(r.non2xx, 7)
        XCTAssertEqual(r.socketErrors, 3)
        XCTAssertNil(HTTPBench.parseWrk("unable to connect to 127.0.0.1:1 Connection refused"))
        XCTAssertEqual(HTTPBench.micros("1.5s"), 1_500_000)
        XCTAssertEqual(HTTPBench.median([3, 1, 2]), 2)
        XCTAssertEqual(HTTPBench.median([4, 1, 2, 3]), 2.5)
    }

    func testATinyRunReportsEveryFigure() throws {
        let captured = OutputCapture.run {
            BenchTool.run(["http", "--connections", "4", "--runs", "1", "--seconds", "1", "--warmup", "1", "--json"], environment: [:],
                          standardInput: { nil })
        }
        XCTAssertEqual(captured.result, 0, captured.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(captured.stdout.utf8)) as? [String: Any])
        let results = try XCTUnwrap(json["results"] as? [[String: Any]])
        XCTAssertEqual(results.compactMap { $0["endpoint"] as? String }, ["/healthz", "/auth/forward"])
        for row in results {
            XCTAssertGreaterThan(row["req_per_s"] as? Double ?? 0, 0)
            XCTAssertEqual(row["non_2xx"] as? Int, 0, "every forward-auth request of the bench is allowed")
        }
        XCTAssertNotNil((json["ratio_forward_to_healthz"] as? [String: Any])?["4"])
        let recorded = try XCTUnwrap(json["recorded_uses"] as? Int), completed = try XCTUnwrap(json["forward_requests_completed"] as? Int)
        XCTAssertGreaterThan(completed, 0)
        XCTAssertGreaterThanOrEqual(recorded, completed, "a request wrk completed was answered, so its use is recorded")
        XCTAssertEqual((json["load_average_before"] as? [Double])?.count, 3)
    }
}
