import CredLedger
import CredLedgerCore
import Foundation

/// An open ledger in its own temporary directory, driven by a `ManualClock` and a `SeededRandom`.
public final class TestLedger {
    public let directory: TemporaryDirectory
    public let clock: ManualClock
    public let random: SeededRandom
    public let options: Ledger.Options
    public private(set) var ledger: Ledger!

    /// The ledger's own directory (inside the temporary one, so a verify scratch or backup can sit beside it).
    public var path: String { directory.appending("ledger") }

    public init(_ label: String, seed: UInt64 = 1, configure: (inout Ledger.Options) -> Void = { _ in }) throws {
        directory = try TemporaryDirectory(label)
        clock = ManualClock()
        random = SeededRandom(seed: seed)
        var options = Ledger.Options()
        options.clock = clock
        options.random = random
        options.initialMapSize = 32 << 20
        configure(&options)
        self.options = options
        ledger = try Ledger(path: directory.appending("ledger"), options: options)
    }

    /// Closes and opens the ledger again with its options (read-only when `readOnly`).
    public func reopen(readOnly: Bool = false) throws {
        close()
        var options = self.options
        if readOnly { options.readOnly = true }
        ledger = try Ledger(path: path, options: options)
    }

    /// Closes the ledger (the directory stays until `remove`).
    public func close() {
        ledger?.close()
        ledger = nil
    }

    public func remove() {
        close()
        directory.remove()
    }

    public var head: ChainHead { ledger.head }

    /// Advances the clock so that the next events are strictly later than anything so far.
    public func tick(_ seconds: Double = 1) { clock.advance(seconds: seconds) }

    /// Events appended after `seq`.
    public func events(after seq: UInt64) throws -> [StoredEvent] { try ledger.audit.events(from: seq + 1) }
}

/// Names used by most tests.
public enum World {
    public static let acme = "acme"
    public static let alice = "alice@acme.example"      // acme's admin
    public static let bob = "bob@acme.example"          // acme member
    public static let carol = "carol@acme.example"      // acme member (second approving user)
    public static let dave = "dave@acme.example"        // acme member (in the audit tests' world)
    public static let mallory = "mallory@evil.example"  // no company at all
    public static let beta = "beta"
    public static let bea = "bea@beta.example"          // beta's admin
    public static let bridge = "bridge"
    public static let tunnel = "tunnel"
    public static let betaProject = "pb"
    public static let redirect = "https://client.example/callback"
    public static let redirect2 = "https://client.example/other"
    public static let loopback = "http://127.0.0.1:8765/cb"
}

/// A fixed, valid PKCE verifier and its challenge (different from the RFC example so both are exercised).
public enum PKCEPair {
    public static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    public static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    public static let otherVerifier = "Zm9vYmFyLWJhei1xdXV4LWNvcmdlLWdyYXVsdC1nYXJwbHk"
}
