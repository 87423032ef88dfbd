import CredLedger
import CredLedgerCore
import CredLedgerServer
import Foundation
import TestSupport
import XCTest

/// The gateway tests' world: acme (API module on, projects bridge and tunnel, member bob) and beta (project pb), with
/// keys of each scope and a PKCE token approved by bob.
struct GatewayWorld {
    let test: TestLedger
    /// `Apikey …` headers: read (viewer on bridge), read-write (editor on bridge), global; beta's read-write key.
    let readKey: String, writeKey: String, globalKey: String, betaKey: String
    let readID: String, writeID: String
    /// A Bearer access token of a PKCE client, approved by bob (member, editor on bridge).
    let bobToken: String
    /// A well-formed key this ledger has never seen.
    let unknownKey: String
    let readServiceUser: String

    init(_ label: String) throws {
        test = try TestLedger(label)
        let admin = test.ledger.administration
        try admin.registerCompany("acme", admin: World.alice, name: "Acme", mailDomain: "acme.example")
        try admin.setAPIModule("acme", enabled: true, as: World.alice)
        try admin.createProject("acme", project: "bridge", name: "Bridge", as: World.alice)
        try admin.createProject("acme", project: "tunnel", as: World.alice)
        try admin.setMemberRole("acme", email: World.bob, role: .member, as: World.alice)
        try admin.setUserProjectRole("acme", project: "bridge", email: World.bob, role: .editor, as: World.alice)
        try admin.registerCompany("beta", admin: World.bea)
        try admin.setAPIModule("beta", enabled: true, as: World.bea)
        try admin.createProject("beta", project: "pb", as: World.bea)
        func key(_ company: String, _ scope: Scope, _ actor: String) throws -> IssuedCredential {
            try admin.createCredential(company, NewCredential(name: "\(company) \(scope.name)", type: .staticKey, scope: scope), as: actor)
        }
        let read = try key("acme", .read, World.alice), write = try key("acme", .readWrite, World.alice)
        let global = try key("acme", .global, World.alice), beta = try key("beta", .readWrite, World.bea)
        _ = try admin.grantAccess("acme", credential: read.id, project: "bridge", role: .viewer, as: World.alice)
        _ = try admin.grantAccess("acme", credential: write.id, project: "bridge", role: .editor, as: World.alice)
        _ = try admin.grantAccess("beta", credential: beta.id, project: "pb", role: .editor, as: World.bea)
        readKey = "Apikey " + (read.secret ?? "")
        writeKey = "Apikey " + (write.secret ?? "")
        globalKey = "Apikey " + (global.secret ?? "")
        betaKey = "Apikey " + (beta.secret ?? "")
        (readID, writeID, readServiceUser) = (read.id, write.id, read.serviceUser ?? "")
        let pkce = try admin.createCredential("acme", NewCredential(name: "cli", type: .pkce, scope: .readWrite, redirectURIs: [World.redirect]),
                                              as: World.alice)
        let grant = try test.ledger.oauth.approveClient(company: "acme", clientID: pkce.clientID ?? "", user: World.bob, redirectURI: World.redirect,
                                                       codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "s")
        bobToken = "Bearer " + (try test.ledger.oauth.exchangeCode(clientID: pkce.clientID ?? "", clientSecret: pkce.clientSecret, code: grant.code,
                                                                  codeVerifier: PKCEPair.verifier, redirectURI: World.redirect).accessToken)
        // A key made in another ledger: well-formed, checksum right, unknown here.
        let other = try TestLedger(label + "-other", seed: 99)
        defer { other.remove() }
        try other.ledger.administration.registerCompany("acme", admin: World.alice)
        try other.ledger.administration.setAPIModule("acme", enabled: true, as: World.alice)
        unknownKey = "Apikey " + (try other.ledger.administration.createCredential("acme", NewCredential(name: "x", type: .staticKey, scope: .read),
                                                                                   as: World.alice).secret ?? "")
    }

    /// `credential_used` events in the log.
    func uses() throws -> [CredentialUse] {
        try test.ledger.audit.events(from: 1).compactMap {
            if case .credentialUsed(let use) = $0.event.payload { return use }
            return nil
        }
    }
}

/// One HTTP exchange made with curl: status, response header fields (names lower-cased, repeats kept), body.
struct CurlResponse {
    let status: Int
    let headers: [(name: String, value: String)]
    let body: String

    func header(_ name: String) -> String? { headers.first { $0.name == name.lowercased() }?.value }
    func values(_ name: String) -> [String] { headers.filter { $0.name == name.lowercased() }.map(\.value) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
}

enum Curl {
    /// Runs curl once (`--path-as-is`: the target goes out exactly as written) and parses its `-i` output.
    static func request(_ url: String, method: String = "GET", headers: [(String, String)] = [], data: String? = nil,
                        file: StaticString = #filePath, line: UInt = #line) throws -> CurlResponse {
        var arguments = ["curl", "-s", "-i", "--path-as-is", "--max-time", "10", "-X", method]
        if method == "HEAD" { arguments = ["curl", "-s", "-i", "--path-as-is", "--max-time", "10", "-I"] }
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        if let data { arguments += ["--data-binary", data] }
        arguments.append(url)
        let result = try ExternalOracle.status(arguments)
        guard result.code == 0 else { throw TestFailure( "curl exited \(result.code): \(result.output)") }
        return try parse(result.output)
    }

    static func parse(_ output: String) throws -> CurlResponse {
        guard let split = output.range(of: "\r\n\r\n") else { throw TestFailure( "no response head in \(output)") }
        let lines = output[..<split.lowerBound].components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw TestFailure( "bad status line \(lines[0])") }
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return CurlResponse(status: status, headers: headers, body: String(output[split.upperBound...]))
    }
}

/// Collects the server's log lines (to prove no secret reaches them).
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var sink: @Sendable (String) -> Void { { [self] line in lock.withLock { lines.append(line) } } }
    var all: [String] { lock.withLock { lines } }
}

/// Locates an executable of this build (`credledger`, `credledger-bench`): next to the test bundle, else
/// `.build/debug` above this file. `swift build --build-tests` builds them.
func builtExecutable(_ name: String, file: StaticString = #filePath) throws -> String {
    var candidates: [String] = []
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent(name).path)
    }
    if let first = CommandLine.arguments.first {
        candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent().appendingPathComponent(name).path)
    }
    let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(root.appendingPathComponent(".build/debug/\(name)").path)
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw TestFailure( "\(name) not built (looked at \(candidates)): run `swift build --build-tests`")
    }
    return found
}

/// A test helper's failure, with what went wrong.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
