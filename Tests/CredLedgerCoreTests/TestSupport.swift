import Foundation
// The helpers every test target shares (hex fixtures, ExternalOracle, …), visible to every file of this target.
@_exported import TestSupport
import XCTest

import CredLedgerCore
import CredLedgerProjections

// Helpers of the core tests: hex fixtures, record encoding, a trap probe, and one sample event per event type.

func digest(_ text: String) -> SHA256Digest { SHA256Digest(hex: text)! }

/// A digest whose 32 bytes are `fill`, `fill+1`, … (recognisable in hex dumps).
func sampleDigest(_ fill: UInt8) -> SHA256Digest {
    SHA256Digest(bytes: (0..<32).map { fill &+ UInt8($0) })!
}

/// The hashed body of `event` (record without its hash).
func body(_ event: Event) -> [UInt8] {
    var w = ByteWriter()
    EventCodec.encodeBody(event, into: &w)
    return w.bytes
}

/// The stored record of `event`: body + hash, the hash linked to `previous`.
func record(_ event: Event, previous: SHA256Digest = HashChain.genesis) -> (record: [UInt8], hash: SHA256Digest) {
    let b = body(event)
    let h = b.withUnsafeBytes { HashChain.link(previous: previous, seq: event.seq, body: $0) }
    return (b + h.bytes, h)
}

func decode(_ bytes: [UInt8], seq: UInt64) throws(EventCodecError) -> StoredEvent {
    let result = bytes.withUnsafeBytes { raw in
        Result { () throws(EventCodecError) in try EventCodec.decode(seq: seq, record: raw) }
    }
    return try result.get()
}

/// The reason `decode` fails with, or nil when it succeeds.
func decodeFailure(_ bytes: [UInt8], seq: UInt64 = 1) -> EventCodecError? {
    do {
        _ = try decode(bytes, seq: seq)
        return nil
    } catch {
        return error
    }
}

/// Runs `body` in a forked child process and reports whether it finished without trapping
/// (a Swift runtime trap would otherwise kill the whole test run).
func runsWithoutTrapping(_ body: () -> Void) -> Bool {
    #if os(Linux)
    fflush(nil)
    let pid = fork()
    if pid == 0 {
        // Child: turn a trap into a distinctive exit status, quickly and without a backtrace.
        for sig in [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE] { signal(sig) { _ in _exit(86) } }
        body()
        _exit(0)
    }
    precondition(pid > 0, "fork failed")
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    // WIFEXITED(status) && WEXITSTATUS(status) == 0
    return status & 0x7F == 0 && (status >> 8) & 0xFF == 0
    #else
    // No fork on this platform: run in process (a trap ends the run, which still fails loudly).
    body()
    return true
    #endif
}

/// 2026-01-01T00:00:00Z in µs.
let t2026: Timestamp = 1_767_225_600_000_000

/// One or more sample payloads per event type, covering optional fields present and absent and every enum.
enum Samples {
    static let payloads: [EventPayload] = {
        var out: [EventPayload] = [
            .companyRegistered(slug: "acme", name: "Acme AB — Ünïcödé ✓", mailDomain: "acme.example"),
            .companyRegistered(slug: "", name: "", mailDomain: ""),
            .apiModuleEnabled,
            .apiModuleDisabled,
            .projectCreated(project: 7, slug: "site-a", name: "Site A"),
            .projectArchived(project: 0xFFFF_FFFF),
            .credentialCreated(CredentialCreated(
                credential: 1, type: .staticKey, scope: .read, publicID: "cred_0123456789abcdef", name: "CI key",
                serviceUser: "apiservice+abc123def456@acme.example", displayPrefix: "cxk_Ab3dEf", clientID: "",
                secretHash: sampleDigest(0x10), expiresAt: 0, redirectURIs: [])),
            .credentialCreated(CredentialCreated(
                credential: 2, type: .oauth, scope: .global, publicID: "cred_x", name: "Sync", serviceUser: "apiservice+x@a.b",
                displayPrefix: "cxc_abc", clientID: "cxc_abc", secretHash: sampleDigest(0x20), expiresAt: t2026 + 1, redirectURIs: [])),
            .credentialCreated(CredentialCreated(
                credential: 3, type: .pkce, scope: .readWrite, publicID: "cred_y", name: "App", serviceUser: "",
                displayPrefix: "cxc_def", clientID: "cxc_def", secretHash: sampleDigest(0x30), expiresAt: -1,
                redirectURIs: ["https://app.example/cb", "http://localhost:8080/cb"])),
            .credentialCreated(CredentialCreated(
                credential: 4, type: .pkcePublic, scope: .read, publicID: "cred_z", name: "SPA", serviceUser: "",
                displayPrefix: "cxc_ghi", clientID: "cxc_ghi", secretHash: nil, expiresAt: Int64.max,
                redirectURIs: ["https://spa.example/cb"])),
            .secretRotated(credential: 1, secretHash: sampleDigest(0x40), displayPrefix: "cxk_Zz9yXw", graceUntil: t2026 + 86_400_000_000),
            .credentialDeleted(credential: 9),
            .userProjectRoleSet(user: 5, project: 6, role: nil),
            .consentGiven(ConsentGiven(credential: 3, user: 5, codeHash: sampleDigest(0x50), challenge: sampleDigest(0x60),
                                       redirectURI: "https://app.example/cb", expiresAt: t2026 + 60_000_000)),
            .tokenIssued(TokenIssued(credential: 2, user: 0, grant: .clientCredentials, accessHash: sampleDigest(0x70),
                                     accessExpiresAt: t2026 + 3_600_000_000, refreshHash: nil, refreshExpiresAt: 0, codeHash: nil)),
            .tokenIssued(TokenIssued(credential: 3, user: 5, grant: .authorizationCode, accessHash: sampleDigest(0x80),
                                     accessExpiresAt: t2026 + 3_600_000_000, refreshHash: sampleDigest(0x90),
                                     refreshExpiresAt: t2026 + 86_400_000_000, codeHash: sampleDigest(0x50))),
            // Schema 2 (issue 13): the RFC 8707 resource, trailing, only when present.
            .consentGiven(ConsentGiven(credential: 3, user: 5, codeHash: sampleDigest(0x52), challenge: sampleDigest(0x62),
                                       redirectURI: "https://app.example/cb", expiresAt: t2026 + 60_000_000,
                                       resource: "https://api.example/mcp")),
            .tokenIssued(TokenIssued(credential: 2, user: 0, grant: .clientCredentials, accessHash: sampleDigest(0x72),
                                     accessExpiresAt: t2026 + 3_600_000_000, refreshHash: nil, refreshExpiresAt: 0, codeHash: nil,
                                     resource: "urn:example:api")),
            .tokenRefreshed(TokenRefreshed(credential: 3, family: 0x0102_0304_0506_0708, spentRefreshHash: sampleDigest(0x90),
                                           accessHash: sampleDigest(0xA0), accessExpiresAt: t2026 + 7_200_000_000,
                                           refreshHash: sampleDigest(0xB0), refreshExpiresAt: t2026 + 2 * 86_400_000_000)),
            .tokenRevoked(TokenRevoked(credential: 3, family: 77, tokenHash: sampleDigest(0xC0), wholeFamily: true, reason: .refreshReuse)),
            .tokenRevoked(TokenRevoked(credential: 3, family: 78, tokenHash: sampleDigest(0xC1), wholeFamily: false, reason: .clientRequest)),
            .tokenRevoked(TokenRevoked(credential: 3, family: 79, tokenHash: sampleDigest(0xC2), wholeFamily: true, reason: .codeReuse)),
            .tokenRevoked(TokenRevoked(credential: 3, family: 80, tokenHash: sampleDigest(0xC3), wholeFamily: true, reason: .userRemoved)),
            .codeRevoked(CodeRevoked(credential: 3, user: 5, codeHash: sampleDigest(0x50), reason: .userRemoved)),
            .logAccepted(LogAccepted(logHead: 1281, checkpoints: 1283)),
            .credentialUsed(CredentialUse(credential: 0, project: 0, operation: .read, denial: .unknownCredential)),
        ]
        for role in CompanyRole.allCases {
            out.append(.memberRoleSet(user: 42, email: "first.last+\(role.name)@acme.example", role: role))
        }
        for role in ProjectRole.allCases {
            out.append(.projectAccessGranted(credential: 1, project: 7, role: role))
            out.append(.projectAccessChanged(credential: 1, project: 8, role: role))
            out.append(.userProjectRoleSet(user: 5, project: 7, role: role))
        }
        out.append(.projectAccessRevoked(credential: 1, project: 7))
        for op in Operation.allCases {
            out.append(.credentialUsed(CredentialUse(credential: 1, project: 7, operation: op, denial: nil)))
            for reason in DenialReason.allCases {
                out.append(.credentialUsed(CredentialUse(credential: 1, project: 7, operation: op, denial: reason)))
            }
        }
        for grant in GrantKind.allCases {
            out.append(.oauthRequestDenied(credential: 3, user: 5, grant: grant, reason: .pkceVerifierMismatch))
        }
        for reason in DenialReason.allCases {
            out.append(.oauthRequestDenied(credential: 0, user: 0, grant: .none, reason: reason))
        }
        return out
    }()

    static let actors: [Actor] = [.system, .user(1), .user(0xFFFF_FFFF), .credential(3)]

    /// Events with varied headers around the sample payloads.
    static let events: [Event] = payloads.enumerated().map { i, payload in
        Event(seq: UInt64(i + 1) * 0x0101_0101, timestamp: t2026 + Int64(i) * 1_234_567 - (i % 5 == 0 ? 2 * t2026 : 0),
              company: UInt32(i % 3), actor: actors[i % actors.count], payload: payload)
    }
}

/// A KeyValueStore over sorted arrays (binary search), so the big projection tests stay fast; it also
/// serves as a second implementation of the scan semantics MemoryStore and the LMDB store share.
final class SortedStore: KeyValueStore {
    private(set) var rows: [Table: (keys: [[UInt8]], values: [[UInt8]])] = [:]

    /// The first index whose key is ≥ `key`.
    private func lowerBound(_ keys: [[UInt8]], _ key: [UInt8]) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keys[mid].lexicographicallyPrecedes(key) { low = mid + 1 } else { high = mid }
        }
        return low
    }

    func get(_ table: Table, _ key: [UInt8]) -> [UInt8]? {
        guard let t = rows[table] else { return nil }
        let i = lowerBound(t.keys, key)
        return i < t.keys.count && t.keys[i] == key ? t.values[i] : nil
    }

    func put(_ table: Table, _ key: [UInt8], _ value: [UInt8]) {
        var t = rows.removeValue(forKey: table) ?? ([], [])
        let i = lowerBound(t.keys, key)
        if i < t.keys.count && t.keys[i] == key {
            t.values[i] = value
        } else {
            t.keys.insert(key, at: i)
            t.values.insert(value, at: i)
        }
        rows[table] = t
    }

    func delete(_ table: Table, _ key: [UInt8]) {
        guard var t = rows.removeValue(forKey: table) else { return }
        let i = lowerBound(t.keys, key)
        if i < t.keys.count && t.keys[i] == key {
            t.keys.remove(at: i)
            t.values.remove(at: i)
        }
        rows[table] = t
    }

    func scan(_ table: Table, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        guard let t = rows[table] else { return }
        var i = lowerBound(t.keys, start)
        while i < t.keys.count {
            guard try body(t.keys[i], t.values[i]) else { return }
            i += 1
        }
    }

    func scanBackward(_ table: Table, from start: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        guard let t = rows[table] else { return }
        let lb = lowerBound(t.keys, start)
        var i = lb < t.keys.count && t.keys[lb] == start ? lb : lb - 1
        while i >= 0 {
            guard try body(t.keys[i], t.values[i]) else { return }
            i -= 1
        }
    }

    /// The log the projections were applied from (ascending seqs), as in `MemoryStore`.
    var log: [Event] = []

    func openSegment(_ projection: ProjectionName) -> ClosedRange<UInt64>? {
        log.last.flatMap { PostingIndex.openSegment(head: $0.seq) }
    }

    func visitLog(_ range: ClosedRange<UInt64>, descending: Bool, _ body: (LogEntry) throws -> Bool) throws {
        let events = log.filter { range.contains($0.seq) }
        for e in descending ? events.reversed() : events where try !body(LogEntry(e)) { return }
    }

    /// The same content as MemoryStore's `tables`, for direct comparison.
    var tables: [Table: [[UInt8]: [UInt8]]] {
        var out: [Table: [[UInt8]: [UInt8]]] = [:]
        for (table, t) in rows where !t.keys.isEmpty {
            out[table] = Dictionary(uniqueKeysWithValues: zip(t.keys, t.values))
        }
        return out
    }
}
