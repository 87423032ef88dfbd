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
struct CurlReply {
    let status: Int
    let headers: HTTPHeaders
    let body: String

    subscript(name: String) -> String? { headers[name] }
}

enum CurlClient {
    /// Installs curl (Debian package) when missing, once per test process: a fresh machine has only Swift.
    static let installed: Result<Void, TestClientFailure> = {
        if (try? ExternalOracle.status(["curl", "--version"]))?.code == 0 { return .success(()) }
        let sudo = getuid() == 0 ? [] : ["sudo"]
        _ = try? ExternalOracle.status(sudo + ["apt-get", "update"])
        let install = try? ExternalOracle.status(sudo + ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "curl"])
        guard (try? ExternalOracle.status(["curl", "--version"]))?.code == 0 else {
            return .failure(TestClientFailure(description: "curl is missing and apt-get install curl failed: \(install?.output ?? "")"))
        }
        return .success(())
    }()

    /// Runs curl with `arguments` (the URL among them) and parses the response (`-i`, no redirects followed).
    static func run(_ arguments: [String]) throws -> CurlReply {
        try installed.get()
        let result = try ExternalOracle.status(["curl", "-s", "-i", "--max-time", "20"] + arguments)
        guard result.code == 0 else { throw TestClientFailure(description: "curl \(arguments) exited \(result.code): \(result.output)") }
        return try parse(result.output)
    }

    static func parse(_ output: String) throws -> CurlReply {
        var text = Substring(output)
        // Skip interim 100 Continue heads.
        while text.hasPrefix("HTTP/1.1 100") {
            guard let end = text.range(of: "\r\n\r\n") else { break }
            text = text[end.upperBound...]
        }
        guard let end = text.range(of: "\r\n\r\n") else { throw TestClientFailure(description: "no response head in: \(output)") }
        let lines = text[..<end.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw TestClientFailure(description: "bad status line \(lines[0])")
        }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return CurlReply(status: status, headers: headers, body: String(text[end.upperBound...]))
    }
}

extension CurlReply {
    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }
}

/// A failure of a test-side client (curl, python) with what it printed.
struct TestClientFailure: Error, CustomStringConvertible {
    let description: String
}
