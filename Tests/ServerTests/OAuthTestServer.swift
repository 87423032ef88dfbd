import CredLedger
import CredLedgerCore
import CredLedgerHTTP
import CredLedgerServer
import Foundation
import TestSupport
import XCTest

/// A `LedgerServer` on port 0 over a test ledger, with its log lines captured (the OAuth and identity tests check
/// that no secret reaches them).
final class OAuthTestServer {
    let test: TestLedger
    let server: LedgerServer
    let logLines = Locked<[String]>([])

    var url: String { server.url }
    var context: ServerContext { server.context }
    var clock: ManualClock { test.clock }
    var ledger: Ledger { test.ledger }

    init(_ label: String, test existing: TestLedger? = nil, configure: (inout ServerSettings) -> Void = { _ in }) throws {
        test = try existing ?? TestLedger(label)
        var settings = ServerSettings()
        settings.port = 0
        configure(&settings)
        let lines = logLines
        server = try LedgerServer(ledger: test.ledger, settings: settings, log: { line in lines.withLock { $0.append(line) } })
        try server.start()
    }

    func stop() {
        server.shutdown()
        server.wait()
    }

    func remove() {
        stop()
        test.remove()
    }
}

/// One curl exchange: status, headers (last response), body.
struct CurlResponse {
    let status: Int
    let headers: HTTPHeaders
    let body: String

    subscript(name: String) -> String? { headers[name] }
}

enum Curl {
    /// Runs curl with `arguments` (the URL among them) and parses the response (`-i`, no redirects followed).
    static func run(_ arguments: [String]) throws -> CurlResponse {
        let result = try ExternalOracle.status(["curl", "-s", "-i", "--max-time", "20"] + arguments)
        guard result.code == 0 else { throw ClientFailure(description: "curl \(arguments) exited \(result.code): \(result.output)") }
        return try parse(result.output)
    }

    static func parse(_ output: String) throws -> CurlResponse {
        var text = Substring(output)
        // Skip interim 100 Continue heads.
        while text.hasPrefix("HTTP/1.1 100") {
            guard let end = text.range(of: "\r\n\r\n") else { break }
            text = text[end.upperBound...]
        }
        guard let end = text.range(of: "\r\n\r\n") else { throw ClientFailure(description: "no response head in: \(output)") }
        let lines = text[..<end.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw ClientFailure(description: "bad status line \(lines[0])")
        }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return CurlResponse(status: status, headers: headers, body: String(text[end.upperBound...]))
    }
}

extension CurlResponse {
    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}

/// A failure of a test-side client (curl, python) with what it printed.
struct ClientFailure: Error, CustomStringConvertible {
    let description: String
}
