import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
// The helpers every test target shares (TestLedger, World, PKCEPair, TemporaryDirectory, CLIResult, …), visible
// to every file of this target.
@_exported import TestSupport
import XCTest

// Helpers of the ledger tests: a small company fixture on the shared TestLedger, refusal assertions that prove
// the log did not move, OAuth helpers, and a CLI runner that captures standard output and error.

// MARK: - A standard world

extension TestLedger {
    /// acme (mail domain acme.example, API module on, projects bridge + tunnel, members bob and carol) and
    /// beta (default mail domain, API module on, project pb).
    func makeWorld(enableAPI: Bool = true) throws {
        try ledger.administration.registerCompany(World.acme, admin: World.alice, name: "Acme Corp", mailDomain: "acme.example")
        if enableAPI { try ledger.administration.setAPIModule(World.acme, enabled: true, as: World.alice) }
        try ledger.administration.createProject(World.acme, project: World.bridge, name: "Bridge build", as: World.alice)
        try ledger.administration.createProject(World.acme, project: World.tunnel, as: World.alice)
        try ledger.administration.setMemberRole(World.acme, email: World.bob, role: .member, as: World.alice)
        try ledger.administration.setMemberRole(World.acme, email: World.carol, role: .member, as: World.alice)
        try ledger.administration.registerCompany(World.beta, admin: World.bea)
        if enableAPI { try ledger.administration.setAPIModule(World.beta, enabled: true, as: World.bea) }
        try ledger.administration.createProject(World.beta, project: World.betaProject, as: World.bea)
    }

    /// Creates a credential in acme as alice (PKCE types get the standard redirect URIs).
    func create(_ type: CredentialType, _ scope: Scope, name: String? = nil, company: String = World.acme,
                as actor: String = World.alice) throws -> IssuedCredential {
        let uris = type.isUserDelegated ? [World.redirect, World.redirect2, World.loopback] : []
        return try ledger.administration.createCredential(company, NewCredential(name: name ?? "\(type.name) \(scope.name)", type: type, scope: scope,
                                                                   redirectURIs: uris), as: actor)
    }

    /// The credential's row of the API keys table (deleted ones included).
    func row(_ id: String, company: String = World.acme, as actor: String = World.alice) throws -> CredentialRow {
        let rows = try ledger.audit.credentialTable(company, as: actor, includeDeleted: true)
        guard let row = rows.first(where: { $0.id == id }) else { throw LedgerError("test", "no row \(id)") }
        return row
    }
}

// MARK: - OAuth helpers

extension TestLedger {
    /// authorize (as `user`) + exchange for a PKCE client; returns the token response.
    func pkceTokens(_ issued: IssuedCredential, user: String, company: String = World.acme,
                    redirect: String = World.redirect) throws -> TokenResponse {
        let grant = try ledger.oauth.approveClient(company: company, clientID: issued.clientID!, user: user, redirectURI: redirect,
                                         codeChallenge: PKCEPair.challenge, codeChallengeMethod: "S256", state: "s1")
        return try ledger.oauth.exchangeCode(clientID: issued.clientID!, clientSecret: issued.clientSecret, code: grant.code,
                                       codeVerifier: PKCEPair.verifier, redirectURI: redirect)
    }

    /// The header that authenticates as this credential: `Apikey` for static keys, a Bearer token otherwise
    /// (client_credentials for OAuth API users, authorize + exchange by `user` for PKCE types).
    func header(for issued: IssuedCredential, user: String = World.bob) throws -> String {
        switch issued.type {
        case .staticKey: return "Apikey " + issued.secret!
        case .oauth: return "Bearer " + (try ledger.oauth.clientCredentialsToken(clientID: issued.clientID!, clientSecret: issued.clientSecret!).accessToken)
        case .pkce, .pkcePublic: return "Bearer " + (try pkceTokens(issued, user: user).accessToken)
        }
    }

    @discardableResult
    func check(_ header: String, _ project: String, _ op: CredLedgerCore.Operation, company: String = World.acme) throws -> Decision {
        try ledger.access.check(header: header, company: company, project: project, operation: op)
    }
}

// MARK: - Assertions

/// Runs `body`, expecting a `LedgerError` with `code` (and `kind` when given), and proves the log did not move:
/// the head's seq and hash are identical before and after.
func assertRefused(_ code: String, kind: LedgerError.Kind? = nil, _ t: TestLedger, file: StaticString = #filePath, line: UInt = #line,
                   _ body: () throws -> Void) {
    let before = t.head
    do {
        try body()
        XCTFail("expected \(code), but the call succeeded", file: file, line: line)
    } catch let error as LedgerError {
        XCTAssertEqual(error.code, code, "wrong code: \(error)", file: file, line: line)
        if let kind { XCTAssertEqual(error.kind, kind, "wrong kind for \(error.code)", file: file, line: line) }
        XCTAssertFalse(error.message.isEmpty, file: file, line: line)
    } catch {
        XCTFail("expected LedgerError \(code), got \(error)", file: file, line: line)
    }
    let after = t.head
    XCTAssertEqual(after.seq, before.seq, "a refused call (\(code)) appended events", file: file, line: line)
    XCTAssertEqual(after.hash, before.hash, "a refused call (\(code)) moved the chain head", file: file, line: line)
}

/// Runs an OAuth call expecting `OAuthError` with `reason`, then checks the log gained exactly one
/// `oauth_request_denied` event with that reason (plus any revocation it triggers).
@discardableResult
func assertOAuthDenied(_ reason: DenialReason, _ t: TestLedger, file: StaticString = #filePath, line: UInt = #line,
                       _ body: () throws -> Void) -> [StoredEvent] {
    let before = t.head
    do {
        try body()
        XCTFail("expected OAuth denial \(reason.code), but the call succeeded", file: file, line: line)
    } catch let error as OAuthError {
        XCTAssertEqual(error.reason, reason, "wrong reason: \(error)", file: file, line: line)
    } catch {
        XCTFail("expected OAuthError \(reason.code), got \(error)", file: file, line: line)
    }
    let added = (try? t.events(after: before.seq)) ?? []
    let denials = added.compactMap { stored -> DenialReason? in
        if case .oauthRequestDenied(_, _, _, let r) = stored.event.payload { return r }
        return nil
    }
    XCTAssertEqual(denials, [reason], "the denial must be recorded once as oauth_request_denied", file: file, line: line)
    XCTAssertFalse(added.contains { if case .tokenIssued = $0.event.payload { true } else if case .tokenRefreshed = $0.event.payload { true } else { false } },
                   "a denied request issued tokens", file: file, line: line)
    return added
}

/// Asserts a decision is a denial with `reason`.
func assertDenied(_ decision: Decision, _ reason: DenialReason, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(decision.allowed, "expected \(reason.code), got allowed", file: file, line: line)
    XCTAssertEqual(decision.denial?.code, reason.code, file: file, line: line)
    XCTAssertEqual(decision.code, reason.code, file: file, line: line)
}

func assertAllowed(_ decision: Decision, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(decision.allowed, "expected allowed, got \(decision.code)", file: file, line: line)
    XCTAssertEqual(decision.code, "allowed", file: file, line: line)
}

// MARK: - CLI runner

/// Runs `credledger` in-process against one database directory with a manual clock and a seeded random source.
final class CLI {
    let directory: TemporaryDirectory
    let clock = ManualClock()
    let random: SeededRandom
    var db: String { directory.appending("db") }

    init(_ label: String, seed: UInt64 = 7) throws {
        directory = try TemporaryDirectory(label)
        random = SeededRandom(seed: seed)
    }

    var options: Ledger.Options {
        var o = Ledger.Options()
        o.clock = clock
        o.random = random
        o.initialMapSize = 32 << 20
        return o
    }

    /// Runs one command line; `standardInput` feeds a secret option given as `-` (none by default: the tests' own
    /// standard input is never read).
    @discardableResult
    func run(_ arguments: [String], standardInput: @escaping () -> String? = { nil }) -> CLIResult {
        runCLI(db: db, arguments, options: options, standardInput: standardInput)
    }

    @discardableResult
    func run(_ words: String...) -> CLIResult { run(words) }

    /// The chain head, read with a short-lived read-only ledger (the CLI opens and closes its own).
    func head() throws -> ChainHead {
        var o = options
        o.readOnly = true
        let ledger = try Ledger(path: db, options: o)
        defer { ledger.close() }
        return ledger.head
    }

    func remove() { directory.remove() }
}

/// Runs `body` with standard input redirected from /dev/null (so "is stdin a terminal?" is false even
/// when the tests run in a terminal).
func withStdinFromDevNull<T>(_ body: () throws -> T) rethrows -> T {
    let saved = dup(0)
    let null = open("/dev/null", O_RDONLY)
    dup2(null, 0)
    close(null)
    defer {
        dup2(saved, 0)
        close(saved)
    }
    return try body()
}

// MARK: - Secrets

extension String {
    /// The random body and checksum of a secret (everything after `cxk_` etc.).
    var secretBody: String { String(dropFirst(SecretFormat.prefixLength)) }
    /// The random part alone (36 characters, no prefix, no checksum).
    var secretRandomPart: String { String(dropFirst(SecretFormat.prefixLength).prefix(SecretFormat.bodyLength)) }
}

/// Deterministic choices for randomized tests (SplitMix64; independent of the ledger's random source).
struct Dice {
    private var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
}

/// Live digests of every projection, computed from a read snapshot.
func liveDigests(_ ledger: Ledger) throws -> [String: SHA256Digest] {
    try ledger.audit.withState { state in
        var out: [String: SHA256Digest] = [:]
        for p in ProjectionName.allCases { out[p.rawValue] = try ProjectionDigest.compute(p, in: state.store) }
        // The transparency tree, which the engine registers on every ledger.
        out["merkle"] = try ProjectionDigest.compute(MerkleTreeProjection() as any ProjectionDescription, in: state.store)
        return out
    }
}
