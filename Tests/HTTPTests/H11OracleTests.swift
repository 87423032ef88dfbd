@testable import CredLedgerHTTP
import Foundation
import TestSupport
import XCTest

/// Python's h11 (PyPI, installed into a venv under .build when missing) as an independent oracle: whenever our
/// parser accepts a request, h11 must read the same method, target, headers, body and message boundary. We may
/// refuse where h11 is lenient (bare LF, obs-fold, CL+TE, TE in 1.0, chunk-size whitespace…), never the reverse.
final class H11OracleTests: XCTestCase {
    /// PortSwigger's request-smuggling seeds (CL.TE, TE.CL, TE.TE obfuscations) and other framing edge cases.
    static let smugglingSeeds: [String] = [
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nX: X\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\r\n : chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \u{b}chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\t;a=b\r\nhello\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  5 \r\n\r\nhello",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  folded\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\n\n",
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    ]

    private static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// A python3 that can import h11: the system one, else a venv under .build with h11 from PyPI.
    static func pythonWithH11() throws -> String {
        if (try? ExternalOracle.status(["python3", "-c", "import h11"]))?.code == 0 { return "python3" }
        let venv = root.appendingPathComponent(".build/http-oracle-venv").path
        let python = venv + "/bin/python"
        if (try? ExternalOracle.status([python, "-c", "import h11"]))?.code == 0 { return python }
        let create = try ExternalOracle.status(["python3", "-m", "venv", venv])
        guard create.code == 0 else { throw SocketClient.Failure(description: "python3 -m venv failed: \(create.output)") }
        let install = try ExternalOracle.status([python, "-m", "pip", "install", "--quiet", "h11"])
        guard install.code == 0 else { throw SocketClient.Failure(description: "pip install h11 failed: \(install.output)") }
        return python
    }

    /// One request as either side read it.
    struct Read: Equatable, Codable {
        var method: String
        var target: String
        var headers: [[String]]
        var body: String
        var rest: Int
    }

    private static let script = #"""
import sys, json, h11
for line in open(sys.argv[1]):
    data = bytes.fromhex(line.strip())
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    out, current, body = [], None, b""
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
            if isinstance(event, h11.Request):
                current, body = event, b""
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                rest = len(conn.trailing_data[0])
                out.append({"method": current.method.decode("latin-1"), "target": current.target.decode("latin-1"),
                            "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in current.headers],
                            "body": body.hex(), "rest": rest})
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    break
                conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                conn.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                break
        print(json.dumps({"requests": out}))
    except h11.RemoteProtocolError as error:
        print(json.dumps({"requests": out, "error": str(error)}))
"""#

    /// What our parser completed: every request up to the first error or the end of the input.
    private func ours(_ bytes: [UInt8]) -> (reads: [Read], refused: Bool) {
        var parser = HTTPParser()
        var offset = 0
        var reads: [Read] = []
        var head: HTTPRequestHead?
        while true {
            let step = parser.parse(bytes[offset...])
            offset += step.consumed
            guard let event = step.event else { break }
            switch event {
            case .head(let h):
                head = h
            case .end(let body):
                guard let h = head else { return (reads, true) }
                reads.append(Read(method: h.method.rawValue, target: h.target,
                                  headers: h.headers.fields.map { field in
                                      // h11 lowercases the Transfer-Encoding value it checked; so do we, to compare.
                                      let name = field.name.lowercased()
                                      return [name, name == "transfer-encoding" ? field.value.lowercased() : Self.latin1(field.value)]
                                  },
                                  body: body.map { String(format: "%02x", $0) }.joined(), rest: bytes.count - offset))
                // h11 never keeps an HTTP/1.0 connection alive (it has no keep-alive extension): compare up to there.
                if !h.keepAlive || h.version.minor == 0 { return (reads, false) }
            case .error:
                return (reads, true)
            }
        }
        return (reads, false)
    }

    /// h11 reports bytes as latin-1 text; our values are UTF-8 strings: compare the same bytes.
    private static func latin1(_ text: String) -> String {
        String(text.utf8.map { Character(Unicode.Scalar($0)) })
    }

    /// Deterministic mutants of a seed: byte flips, inserted separators, deleted bytes, duplicated lines.
    static func mutants(of seed: [UInt8], count: Int, random: inout SplitMix) -> [[UInt8]] {
        let alphabet: [UInt8] = Array(" \t\r\n:;,=\"0aF-\u{b}\u{0}x".utf8) + [0x7F, 0xC3, 0xFF]
        return (0..<count).map { _ in
            var m = seed
            for _ in 0..<(1 + Int(random.next() % 3)) where !m.isEmpty {
                let i = Int(random.next() % UInt64(m.count))
                switch random.next() % 4 {
                case 0: m[i] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: m.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: i)
                case 2: m.remove(at: i)
                default:
                    let lineStart = m[..<i].lastIndex(of: 10).map { $0 + 1 } ?? 0
                    let lineEnd = m[i...].firstIndex(of: 10).map { $0 + 1 } ?? m.count
                    m.insert(contentsOf: m[lineStart..<lineEnd], at: lineEnd)
                }
            }
            return m
        }
    }

    func testH11AgreesWheneverWeAccept() throws {
        let python = try Self.pythonWithH11()
        var corpus: [[UInt8]] = (ParserTests.validFixtures + Self.smugglingSeeds).map { Array($0.utf8) }
        for (i, a) in ParserTests.validFixtures.enumerated() {
            corpus.append(Array((a + ParserTests.validFixtures[(i + 1) % ParserTests.validFixtures.count]).utf8))
        }
        var random = SplitMix(seed: 20_260_113)
        for seed in Array(corpus) { corpus += Self.mutants(of: seed, count: 60, random: &random) }

        let input = FileManager.default.temporaryDirectory.appendingPathComponent("h11-corpus-\(UUID().uuidString).txt")
        let scriptURL = FileManager.default.temporaryDirectory.appendingPathComponent("h11-oracle-\(UUID().uuidString).py")
        try corpus.map { $0.map { String(format: "%02x", $0) }.joined() }.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        try Self.script.write(to: scriptURL, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: scriptURL)
        }
        let run = try ExternalOracle.status([python, scriptURL.path, input.path])
        XCTAssertEqual(run.code, 0, run.output)
        let lines = run.output.split(separator: "\n")
        XCTAssertEqual(lines.count, corpus.count, "h11 answered every input")
        struct Answer: Decodable {
            let requests: [Read]
            let error: String?
        }
        var accepted = 0, refusedByUsOnly = 0
        for (bytes, line) in zip(corpus, lines) {
            let h11 = try JSONDecoder().decode(Answer.self, from: Data(line.utf8))
            let (reads, _) = ours(bytes)
            let text = String(decoding: bytes, as: UTF8.self).debugDescription
            XCTAssertLessThanOrEqual(reads.count, h11.requests.count, "we accepted a request h11 refused: \(text) h11: \(h11.error ?? "-")")
            for (mine, theirs) in zip(reads, h11.requests) {
                XCTAssertEqual(mine, theirs, text)
            }
            accepted += reads.count
            if reads.count < h11.requests.count { refusedByUsOnly += 1 }
        }
        // The corpus exercises both sides: plenty accepted, and cases where we are stricter than h11.
        XCTAssertGreaterThan(accepted, 300)
        XCTAssertGreaterThan(refusedByUsOnly, 10)
        print("h11 oracle: \(corpus.count) inputs, \(accepted) requests agreed, \(refusedByUsOnly) inputs refused only by us")
    }
}

/// A small deterministic generator (SplitMix64) for the corpora.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
