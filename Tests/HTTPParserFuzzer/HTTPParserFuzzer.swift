import CredLedgerHTTP

/// The HTTP parser fuzz driver (issue 13: ≥ 1,000,000 mutated inputs in the reliability suite). Its own target, built
/// optimized even in debug builds (Package.swift), with the parser's: a million inputs then take seconds, not minutes.
/// Each input is parsed in one shot and again in random pieces; nothing may trap, the parser's buffers stay within the
/// limits whatever the input, and every split gives exactly the one-shot events.
public enum HTTPParserFuzzer {
    /// What a run found.
    public struct Report: Sendable {
        public var inputs = 0
        public var requests = 0
        public var errorsByStatus: [Int: Int] = [:]
        /// Split disagreements and buffer overruns (the run stops at 5).
        public var failures: [String] = []
    }

    static let seeds: [String] = [
        "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET /v1/companies/acme/projects/web?limit=10 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        "POST /oauth/token HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\ngrant_type=client_credentials",
        "POST /v1/check HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;n=v;q=\"a\\\"b\"\r\n world\r\n0\r\nT: 1\r\n\r\n",
        "GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nHEAD /x HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\n\r\nDELETE /a%20b HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    ]

    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    }

    /// Small limits, so that mutants reach every limit path (431, 414, 413) quickly.
    static let limits = HTTPParser.Limits(headBytes: 512, fields: 8, body: 256)

    /// Parses `input` cut at `cuts`, as the server feeds it; returns the events and the largest buffer seen.
    static func parse(_ input: [UInt8], cuts: [Int]) -> (events: [HTTPParser.Event], maxBuffered: Int) {
        var parser = HTTPParser(limits: limits)
        var events: [HTTPParser.Event] = []
        var offset = 0
        var maxBuffered = 0
        for end in cuts + [input.count] where end >= offset {
            // Only bytes up to `end` have "arrived"; the parser keeps what it needs of them itself.
            while true {
                let step = parser.parse(input[offset..<end])
                offset += step.consumed
                maxBuffered = max(maxBuffered, parser.bufferedBytes)
                guard let event = step.event else { break }
                events.append(event)
                if case .error = event { return (events, maxBuffered) }
            }
        }
        return (events, maxBuffered)
    }

    /// Runs `budget` mutated inputs from `seed`.
    public static func run(budget: Int, seed: UInt64) -> Report {
        var report = Report()
        var random = Random(state: seed ^ 0x4854_5450)
        let alphabet: [UInt8] = Array(" \t\r\n:;,=\"0123456789abcdefABCDEF-/%?#*\u{b}\u{0}".utf8) + [0x7F, 0x80, 0xC3, 0xFF]
        let seeds = Self.seeds.map { Array($0.utf8) }
        let bound = Self.limits.headBytes + Self.limits.body + 64
        for _ in 0..<budget {
            var input = seeds[random.below(seeds.count)]
            if random.below(4) == 0 { input += seeds[random.below(seeds.count)] }
            for _ in 0..<(1 + random.below(4)) {
                let i = random.below(input.count + 1)
                switch random.below(6) {
                case 0 where i < input.count: input[i] = alphabet[random.below(alphabet.count)]
                case 1: input.insert(alphabet[random.below(alphabet.count)], at: i)
                case 2 where i < input.count: input.remove(at: i)
                case 3 where i < input.count: input[i] = UInt8(truncatingIfNeeded: random.next())
                case 4:
                    // Grow a line past the limits now and then.
                    input.insert(contentsOf: repeatElement(UInt8(ascii: "a"), count: random.below(700)), at: i)
                default:
                    let lineStart = input[..<i].lastIndex(of: 10).map { $0 + 1 } ?? 0
                    let lineEnd = input[i...].firstIndex(of: 10).map { $0 + 1 } ?? input.count
                    input.insert(contentsOf: input[lineStart..<lineEnd], at: lineEnd)
                }
            }
            let whole = Self.parse(input, cuts: [])
            var cuts = (0..<random.below(4)).map { _ in 1 + random.below(max(1, input.count - 1)) }
            cuts.sort()
            let split = Self.parse(input, cuts: cuts)
            if whole.events != split.events {
                report.failures.append("split \(cuts) of \(String(decoding: input, as: UTF8.self).debugDescription)")
            }
            if max(whole.maxBuffered, split.maxBuffered) > bound {
                report.failures.append("buffered \(max(whole.maxBuffered, split.maxBuffered)) bytes")
            }
            for event in whole.events {
                switch event {
                case .error(let error): report.errorsByStatus[error.status.code, default: 0] += 1
                case .end: report.requests += 1
                case .head: break
                }
            }
            report.inputs += 1
            if report.failures.count >= 5 { break }
        }
        return report
    }
}
