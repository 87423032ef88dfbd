import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation
import LMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Seeded fuzzing of every parser that takes outside input. Each target checks properties, not just "no crash":
/// a rejected input gets a specific error, an accepted one is exactly what a valid input gives.
enum FuzzEngine {
    enum Target: String, CaseIterable {
        case codec, header, secret, base64, pkce, cliParse = "cli-parse", cliRun = "cli-run", export

        /// Share of the input budget.
        var weight: Double {
            switch self {
            case .codec: 0.35
            case .header: 0.2
            case .secret: 0.1
            case .base64: 0.1
            case .pkce: 0.05
            case .cliParse: 0.185
            case .cliRun: 0.01
            case .export: 0.005
            }
        }
    }

    struct Config {
        var directory: String
        var inputs = 100_000
        var seed: UInt64 = 1
        var targets = Target.allCases
        /// `Tools/verify_export.py` (the export reader); the `export` target is skipped without it.
        var exportVerifier: String?
        var log: ((String) -> Void)?
        init(directory: String) { self.directory = directory }
    }

    struct Summary {
        var inputs: [String: Int] = [:]
        var accepted: [String: Int] = [:]
        /// Longest single input, per target (seconds).
        var slowest: [String: Double] = [:]
        var seconds = 0.0
        var failures: [String] = []
        var skipped: [String] = []
        /// Target-specific counts (e.g. the export reader's detected / crashed).
        var notes: [String: Int] = [:]
        var total: Int { inputs.values.reduce(0, +) }

        var json: [String: Any] {
            ["inputs": inputs, "accepted": accepted, "slowest_seconds": slowest, "total": total, "seconds": seconds, "failures": failures,
             "skipped": skipped, "notes": notes]
        }

        var text: String {
            var s = "fuzz: \(total) inputs — "
            s += Target.allCases.compactMap { t in
                inputs[t.rawValue].map { "\(t.rawValue) \($0) (\(accepted[t.rawValue] ?? 0) accepted, slowest \(String(format: "%.1f", (slowest[t.rawValue] ?? 0) * 1000)) ms)" }
            }.joined(separator: ", ")
            s += String(format: " — %.1f s", seconds)
            if !notes.isEmpty { s += " — " + notes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
            if !skipped.isEmpty { s += " — skipped: " + skipped.joined(separator: "; ") }
            s += failures.isEmpty ? " — ok" : "\nFAILURES (\(failures.count)):\n" + failures.prefix(30).joined(separator: "\n")
            return s
        }
    }

    /// Collects a target's counts and failures (at most 20 failures kept per target).
    final class Tally {
        var inputs = 0
        var accepted = 0
        var slowest = 0.0
        var failures: [String] = []
        var notes: [String: Int] = [:]
        func fail(_ s: String) { if failures.count < 20 { failures.append(s) } }
        func timed(_ body: () -> Void) {
            let start = DispatchTime.now()
            body()
            slowest = max(slowest, StressSupport.seconds(since: start))
            inputs += 1
        }
    }

    static func run(_ config: Config) -> Summary {
        let started = DispatchTime.now()
        var summary = Summary()
        let weights = config.targets.reduce(0) { $0 + $1.weight }
        var corpus: [[UInt8]] = []
        var secrets: [String] = []
        if config.targets.contains(.codec) || config.targets.contains(.header) || config.targets.contains(.cliRun) {
            do {
                (corpus, secrets) = try makeCorpus(config.directory + "/corpus", seed: config.seed)
            } catch {
                summary.failures.append("cannot build the corpus: \(error)")
                return summary
            }
        }
        for (index, target) in config.targets.enumerated() {
            let budget = max(1, Int(Double(config.inputs) * target.weight / weights))
            var rng = StressRandom(seed: config.seed &+ UInt64(index) &* 0x1000_0001)
            let tally = Tally()
            switch target {
            case .codec: fuzzCodec(corpus, budget, &rng, tally)
            case .header:
                do { try fuzzHeader(secrets, budget, &rng, tally) } catch { tally.fail("the seeded generator failed: \(error)") }
            case .secret:
                do { try fuzzSecret(budget, &rng, tally) } catch { tally.fail("the seeded generator failed: \(error)") }
            case .base64: fuzzBase64(budget, &rng, tally)
            case .pkce: fuzzPKCE(budget, &rng, tally)
            case .cliParse: fuzzCLIParse(budget, &rng, tally)
            case .cliRun: fuzzCLIRun(config.directory + "/cli", secrets, budget, &rng, tally)
            case .export:
                guard let verifier = config.exportVerifier, FileManager.default.fileExists(atPath: verifier) else {
                    summary.skipped.append("export: no export reader (Tools/verify_export.py) given or found")
                    continue
                }
                fuzzExport(config.directory + "/export", verifier: verifier, budget, &rng, tally)
            }
            summary.inputs[target.rawValue] = tally.inputs
            summary.accepted[target.rawValue] = tally.accepted
            summary.slowest[target.rawValue] = tally.slowest
            summary.failures += tally.failures.map { "\(target.rawValue): \($0)" }
            for (k, v) in tally.notes { summary.notes["\(target.rawValue).\(k)"] = v }
            config.log?("fuzz \(target.rawValue): \(tally.inputs) inputs, \(tally.accepted) accepted, \(tally.failures.count) failures")
        }
        summary.seconds = StressSupport.seconds(since: started)
        return summary
    }

    /// Every record of the scenario ledger (all 19 event types), and the secrets it issued.
    static func makeCorpus(_ path: String, seed: UInt64) throws -> ([[UInt8]], [String]) {
        try? FileManager.default.removeItem(atPath: path)
        var options = Ledger.Options()
        options.clock = ManualClock()
        options.random = SeededRandom(seed: seed)
        options.durability = .ackBeforeSync
        let ledger = try Ledger(path: path, options: options)
        defer {
            ledger.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        let scenario = try StressScenario.populate(ledger, extraUses: 5)
        var records: [[UInt8]] = []
        try ledger.audit.forEachEvent { e in
            var w = ByteWriter(capacity: 256)
            EventCodec.encodeBody(e.event, into: &w)
            e.hash.withUnsafeBytes { w.write(bytes: $0) }
            records.append(w.bytes)
            return true
        }
        return (records, scenario.secrets)
    }

    // MARK: codec

    /// Mutates `bytes` in one of several ways (bit flip, byte set, insert, delete, truncate, splice, length field).
    static func mutate(_ bytes: [UInt8], _ rng: inout StressRandom, corpus: [[UInt8]]) -> [UInt8] {
        var b = bytes
        let rounds = rng.chance(0.7) ? 1 : rng.int(2...6)
        for _ in 0..<rounds {
            switch rng.int(0..<10) {
            case 0, 1:
                if !b.isEmpty { b[rng.int(0..<b.count)] ^= UInt8(1) << UInt8(rng.int(0..<8)) }
            case 2:
                if !b.isEmpty { b[rng.int(0..<b.count)] = rng.pick([0, 1, 0x7F, 0x80, 0xFF, rng.byte()]) }
            case 3:
                b.insert(rng.byte(), at: rng.int(0...b.count))
            case 4:
                if !b.isEmpty { b.remove(at: rng.int(0..<b.count)) }
            case 5:
                b = Array(b.prefix(rng.int(0...b.count)))
            case 6:
                let other = rng.pick(corpus)
                let cut = rng.int(0...min(b.count, other.count))
                b = Array(b.prefix(cut)) + Array(other.dropFirst(cut))
            case 7:
                if b.count >= 22 {  // payload length field
                    let v = rng.pick([0, 1, 0xFFFF, rng.int(0...0xFFFF), max(0, b.count - 54 + rng.int(-3...3))])
                    b[20] = UInt8((v >> 8) & 0xFF); b[21] = UInt8(v & 0xFF)
                }
            case 8:
                if b.count >= 4 { b[rng.int(0..<4)] = rng.byte() }  // version, type, schema, actor kind
            default:
                if !b.isEmpty {  // a string length prefix somewhere in the payload
                    let at = rng.int(0..<b.count)
                    b[at] = rng.pick([0, 0xFF, rng.byte()])
                    if at + 1 < b.count { b[at + 1] = rng.byte() }
                }
            }
        }
        return b
    }

    static func reencode(_ stored: StoredEvent) -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        EventCodec.encodeBody(stored.event, into: &w)
        stored.hash.withUnsafeBytes { w.write(bytes: $0) }
        return w.bytes
    }

    /// Properties: decode never traps; an error names the seq and an offset inside the record; a success
    /// re-encodes to exactly the input (the encoding is canonical; an older schema only changes byte 2); a changed
    /// record never passes the chain check.
    static func fuzzCodec(_ corpus: [[UInt8]], _ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        guard !corpus.isEmpty else { tally.fail("empty corpus"); return }
        // Every truncated prefix of every record must be rejected (SwiftNIO decoder-verifier style).
        for (i, record) in corpus.enumerated() where tally.inputs < budget / 4 {
            for cut in 0..<record.count {
                tally.timed {
                    let prefix = Array(record.prefix(cut))
                    let result: Result<StoredEvent, EventCodecError> = prefix.withUnsafeBytes { raw in
                        do throws(EventCodecError) { return .success(try EventCodec.decode(seq: UInt64(i + 1), record: raw)) } catch { return .failure(error) }
                    }
                    if case .success = result { tally.fail("a \(cut)-byte prefix of record \(i + 1) decoded") }
                }
            }
        }
        while tally.inputs < budget {
            let index = rng.int(0..<corpus.count)
            let original = corpus[index]
            let seq = UInt64(index + 1)
            let input: [UInt8] = rng.chance(0.03) ? rng.bytes(rng.int(0...300)) : mutate(original, &rng, corpus: corpus)
            tally.timed {
                input.withUnsafeBytes { raw in
                    do throws(EventCodecError) {
                        let stored = try EventCodec.decode(seq: seq, record: raw)
                        tally.accepted += 1
                        if stored.event.seq != seq { tally.fail("decoded seq \(stored.event.seq) for \(seq)") }
                        let again = reencode(stored)
                        // A record of an older schema upcasts: it re-encodes with the current schema in byte 2 (FORMAT §7).
                        var canonical = input
                        canonical[2] = stored.event.payload.schema
                        if again != canonical { tally.fail("non-canonical: \(hex(input)) decodes but re-encodes to \(hex(again))") }
                    } catch {
                        if error.seq != seq || error.offset < 0 || error.offset > input.count {
                            tally.fail("error \(error) for a \(input.count)-byte record \(seq)")
                        }
                        if error.description.isEmpty { tally.fail("empty error description") }
                    }
                    if input != original {
                        // The chain rule: with the true predecessor hash, the original links and any change does not.
                        let previous = previousHash(corpus, index)
                        if case .success = HashChain.check(seq: seq, record: raw, previous: previous) {
                            tally.fail("a changed record passes the chain check: \(hex(input))")
                        }
                    }
                }
            }
        }
    }

    /// The stored hash of the record before `index` (the corpus is the log in order from seq 1).
    static func previousHash(_ corpus: [[UInt8]], _ index: Int) -> SHA256Digest {
        guard index > 0 else { return HashChain.genesis }
        return SHA256Digest(bytes: Array(corpus[index - 1].suffix(32))) ?? HashChain.genesis
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(80).map { String(format: "%02x", $0) }.joined()
        return bytes.count > 80 ? shown + "…(\(bytes.count) bytes)" : shown
    }

    // MARK: header and secret

    static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Properties: parse never traps; a failure is one of the three header reasons; a success carries a secret that
    /// validates for the scheme's kind; every single-character typo in a valid secret is rejected without a lookup.
    static func fuzzHeader(_ secrets: [String], _ budget: Int, _ rng: inout StressRandom, _ tally: Tally) throws {
        let valid = secrets.filter { $0.hasPrefix("cxk_") || $0.hasPrefix("cxa_") }
        let seeds = valid.isEmpty ? [try SecretFormat.generate(.apiKey, using: SeededRandom(seed: 1))] : valid
        let allowedFailures: Set<DenialReason> = [.malformedHeader, .unsupportedScheme, .badChecksum]
        let alphabet = Array(" \t\r\n\0AaBbKkEeYy_-=:.,;/+%\"'\\éß€🙂\u{7F}\u{85}\u{2028}".unicodeScalars)
        while tally.inputs < budget {
            let secret = rng.pick(seeds)
            let scheme = secret.hasPrefix("cxk_") ? rng.pick(["Apikey", "APIKEY", "apikey", "ApiKey"]) : rng.pick(["Bearer", "bearer", "BEARER"])
            var text = scheme + String(repeating: " ", count: rng.int(1...3)) + secret
            let mode = rng.int(0..<8)
            var typo = false
            switch mode {
            case 0:  // one typo in the secret's random part or checksum, with another base62 character
                var chars = Array(text.utf8)
                let at = chars.count - SecretFormat.length + SecretFormat.prefixLength + rng.int(0..<(SecretFormat.bodyLength + SecretFormat.checksumLength))
                var replacement = rng.pick(base62)
                while replacement == chars[at] { replacement = rng.pick(base62) }
                chars[at] = replacement
                text = String(decoding: chars, as: UTF8.self)
                typo = true
            case 1:  // adjacent transposition inside the secret
                var chars = Array(text.utf8)
                let at = chars.count - SecretFormat.length + SecretFormat.prefixLength + rng.int(0..<(SecretFormat.bodyLength + SecretFormat.checksumLength - 1))
                if chars[at] != chars[at + 1] {
                    chars.swapAt(at, at + 1)
                    typo = true
                }
                text = String(decoding: chars, as: UTF8.self)
            case 2:  // random scalars inserted, deleted or replaced
                var scalars = Array(text.unicodeScalars)
                for _ in 0..<rng.int(1...4) {
                    switch rng.int(0..<3) {
                    case 0: scalars.insert(rng.pick(alphabet), at: rng.int(0...scalars.count))
                    case 1: if !scalars.isEmpty { scalars.remove(at: rng.int(0..<scalars.count)) }
                    default: if !scalars.isEmpty { scalars[rng.int(0..<scalars.count)] = rng.pick(alphabet) }
                    }
                }
                var s = ""
                s.unicodeScalars.append(contentsOf: scalars)
                text = s
            case 3:  // length games
                text = rng.pick(["", " ", scheme, scheme + " ", text + " " + secret, String(repeating: "A", count: rng.int(200...400)),
                                 scheme + " " + String(repeating: "x", count: rng.int(0...300)), text + String(repeating: " ", count: rng.int(0...260))])
            case 4:  // wrong kind for the scheme
                let other = try SecretFormat.generate(rng.pick(SecretKind.allCases), using: SeededRandom(seed: rng.next()))
                text = scheme + " " + other
            case 5:  // random printable bytes
                text = String(decoding: (0..<rng.int(0...80)).map { _ in UInt8(rng.int(0x20...0x7E)) }, as: UTF8.self)
            case 6:  // random bytes, including invalid UTF-8 (repaired by String) and controls
                text = String(decoding: rng.bytes(rng.int(0...80)), as: UTF8.self)
            default:
                break  // the valid header itself
            }
            let input = text
            tally.timed {
                switch AuthorizationHeader.parse(input) {
                case .success(let parsed):
                    tally.accepted += 1
                    if typo { tally.fail("a typo'd secret was accepted: \(input.prefix(12))…") }
                    let (secretText, kind): (String, SecretKind) = {
                        switch parsed {
                        case .apiKey(let s): return (s, .apiKey)
                        case .bearer(let s): return (s, .accessToken)
                        }
                    }()
                    if SecretFormat.validate(secretText, expecting: [kind]).problem != nil { tally.fail("accepted an invalid secret") }
                    if !input.contains(secretText) { tally.fail("the parsed secret is not in the header") }
                case .failure(let reason):
                    if !allowedFailures.contains(reason) { tally.fail("unexpected reason \(reason.code)") }
                    if typo && reason != .badChecksum { tally.fail("a typo gave \(reason.code), expected bad_checksum") }
                    if mode == 7 { tally.fail("a valid header was refused: \(reason.code)") }
                }
            }
        }
    }

    /// Properties: validate never traps on any bytes; it accepts exactly the generated secrets and their kinds.
    static func fuzzSecret(_ budget: Int, _ rng: inout StressRandom, _ tally: Tally) throws {
        while tally.inputs < budget {
            let kind = rng.pick(SecretKind.allCases)
            let genuine = try SecretFormat.generate(kind, using: SeededRandom(seed: rng.next()))
            var bytes = Array(genuine.utf8)
            let mode = rng.int(0..<5)
            switch mode {
            case 0: bytes = rng.bytes(rng.int(0...60))
            case 1: bytes[rng.int(0..<bytes.count)] = rng.byte()
            case 2: bytes = Array(bytes.prefix(rng.int(0..<bytes.count))) + (rng.chance(0.5) ? rng.bytes(rng.int(0...3)) : [])
            case 3: bytes[rng.int(4..<bytes.count)] = rng.pick(base62)
            default: break
            }
            let input = bytes
            let expectKinds = rng.chance(0.8) ? [kind] : SecretKind.allCases
            tally.timed {
                let result = input.withUnsafeBytes { SecretFormat.validate($0, expecting: expectKinds) }
                if result.problem == nil {
                    tally.accepted += 1
                    if input.count != SecretFormat.length { tally.fail("accepted \(input.count) bytes") }
                    guard let k = result.kind, expectKinds.contains(k), input.starts(with: Array(k.prefix.utf8)) else {
                        tally.fail("accepted with the wrong kind"); return
                    }
                    // The checksum was recomputed independently by regenerating the text: a match means same CRC.
                } else if mode == 4 {
                    tally.fail("a generated \(kind) secret was refused: \(result.problem!.code)")
                }
                if mode == 3 && input != Array(genuine.utf8) && result.problem == nil {
                    tally.fail("a one-character change was accepted")
                }
            }
        }
    }

    // MARK: base64url and PKCE

    /// Properties: encode/decode round-trip for any bytes; decode of any text never traps, returns nil for
    /// characters outside the alphabet and impossible lengths, and otherwise ⌊6n/8⌋ bytes.
    static func fuzzBase64(_ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let noise = Array("=+/ .\n\0é".utf8)
        while tally.inputs < budget {
            if rng.chance(0.5) {
                let bytes = rng.bytes(rng.int(0...70))
                tally.timed {
                    let text = Base64URL.encode(bytes)
                    if Base64URL.decode(text) != bytes { tally.fail("round trip failed for \(hex(bytes))") } else { tally.accepted += 1 }
                    if text.contains("=") { tally.fail("padding in output") }
                }
            } else {
                var chars = (0..<rng.int(0...70)).map { _ in rng.pick(alphabet) }
                if rng.chance(0.3), !chars.isEmpty { chars[rng.int(0..<chars.count)] = rng.pick(noise) }
                let text = String(decoding: chars, as: UTF8.self)
                tally.timed {
                    let decoded = Base64URL.decode(text)
                    let valid = text.utf8.allSatisfy { alphabet.contains($0) } && text.utf8.count % 4 != 1
                    if let decoded {
                        tally.accepted += 1
                        if !valid { tally.fail("decoded invalid text '\(text)'") }
                        if decoded.count != text.utf8.count * 6 / 8 { tally.fail("'\(text)' decoded to \(decoded.count) bytes") }
                    } else if valid {
                        tally.fail("refused valid text '\(text)'")
                    }
                }
            }
        }
    }

    /// Properties: a verifier is valid exactly when 43…128 unreserved characters; a challenge decodes only from
    /// 43 base64url characters, and the challenge of a verifier always decodes to SHA-256 of the verifier.
    static func fuzzPKCE(_ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        let unreserved = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        let other = Array("+/= %é\0\n!".utf8)
        while tally.inputs < budget {
            var chars = (0..<rng.int(0...140)).map { _ in rng.pick(unreserved) }
            if rng.chance(0.2), !chars.isEmpty { chars[rng.int(0..<chars.count)] = rng.pick(other) }
            let verifier = String(decoding: chars, as: UTF8.self)
            tally.timed {
                let expected = (43...128).contains(verifier.utf8.count) && verifier.utf8.allSatisfy { unreserved.contains($0) }
                if PKCE.isValidVerifier(verifier) != expected { tally.fail("isValidVerifier wrong for '\(verifier)'") }
                let challenge = PKCE.challenge(for: verifier)
                guard let digest = PKCE.decodeChallenge(challenge), digest == SHA256.hash(verifier) else {
                    tally.fail("challenge of '\(verifier)' does not decode to its SHA-256"); return
                }
                tally.accepted += 1
                var mangled = Array(challenge.utf8)
                mangled[rng.int(0..<mangled.count)] = rng.pick(other)
                if PKCE.decodeChallenge(String(decoding: mangled, as: UTF8.self)) != nil { tally.fail("a challenge with a bad character decoded") }
                if PKCE.decodeChallenge(String(challenge.dropLast())) != nil { tally.fail("a 42-character challenge decoded") }
            }
        }
    }

    // MARK: command line

    /// A random word for an argv: option-looking, flag-looking, separators, junk, long, unicode, empty.
    static func randomWord(_ rng: inout StressRandom, spec: CommandSpec?) -> String {
        let names = (spec?.options ?? []) + (spec?.flags ?? []) + ["json", "help", "db", "x", ""]
        switch rng.int(0..<12) {
        case 0: return "--" + rng.pick(names)
        case 1: return "--" + rng.pick(names) + "=" + rng.pick(["", "v", "=", "--x", "a=b"])
        case 2: return rng.pick(["--", "-", "---", "-h", "--=", "--=x", "=", "-x"])
        case 3: return ""
        case 4: return String(repeating: rng.pick(["a", "-", "é", "🙂"]), count: rng.int(1...300))
        case 5: return String(decoding: rng.bytes(rng.int(1...12)), as: UTF8.self)
        case 6: return String(rng.int(-5...1_000_000_000))
        case 7: return rng.pick(["0", "-1", "99999999999999999999", "1e9", "0x10", " 1", "NaN", "9223372036854775807"])
        case 8: return rng.pick(CommandLineTool.commands).path.joined(separator: " ")
        default: return rng.pick(["acme", "bridge", "alice@acme.example", "cred_x", "read", "write", "static", "global", "oauth", "pkce",
                                  "viewer", "24h", "0", "S256", "plain", "https://app.example/callback", "authorization_code"])
        }
    }

    /// Properties of `CommandSpec.parse`: it never traps; it either throws a UsageError with a message or returns an
    /// invocation with exactly the declared positionals and only declared options and flags.
    static func fuzzCLIParse(_ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        let specs = CommandLineTool.commands
        guard !specs.isEmpty else { tally.fail("no commands"); return }
        while tally.inputs < budget {
            let spec = rng.pick(specs)
            var words: [String] = []
            for _ in 0..<rng.int(0...8) {
                switch rng.int(0..<4) {
                case 0 where !spec.options.isEmpty:
                    let name = rng.pick(spec.options)
                    if rng.chance(0.5) { words += ["--" + name, randomWord(&rng, spec: spec)] } else { words.append("--\(name)=\(randomWord(&rng, spec: spec))") }
                case 1 where !spec.flags.isEmpty:
                    words.append("--" + rng.pick(spec.flags))
                default:
                    words.append(randomWord(&rng, spec: spec))
                }
            }
            if rng.chance(0.5) { words.shuffle(using: &rng) }
            let input = words
            tally.timed {
                do {
                    let invocation = try spec.parse(input)
                    tally.accepted += 1
                    if invocation.positionals.count != spec.positionals.count { tally.fail("\(spec.path): wrong positional count for \(input)") }
                    if !Set(invocation.options.keys).isSubset(of: Set(spec.options)) { tally.fail("\(spec.path): undeclared option from \(input)") }
                    if !invocation.flags.isSubset(of: Set(spec.flags)) { tally.fail("\(spec.path): undeclared flag from \(input)") }
                } catch let error as UsageError {
                    if error.message.isEmpty { tally.fail("\(spec.path): empty usage message for \(input)") }
                } catch {
                    tally.fail("\(spec.path): unexpected error type \(type(of: error)): \(error)")
                }
            }
        }
    }

    /// Command groups that the in-process CLI fuzzer never runs: they write files where they are told (their parsers
    /// are still covered by `cli-parse`), or, for `serve`, listen until a signal (a run would never return). The stress
    /// and bench commands are not in the product CLI.
    static let unsafeGroups: Set<String> = ["export", "serve"]

    /// Properties of `CommandLineTool.run` with random argv on a populated ledger: never traps, exit code is one of
    /// 0…3, a non-zero exit always prints a message, no random command ever reports an integrity failure, and the
    /// ledger still verifies at the end.
    static func fuzzCLIRun(_ path: String, _ secrets: [String], _ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        try? FileManager.default.removeItem(atPath: path)
        var scenario: StressScenario.Result
        do {
            var options = Ledger.Options()
            options.clock = ManualClock()
            options.random = SeededRandom(seed: rng.next())
            options.durability = .ackBeforeSync
            let ledger = try Ledger(path: path, options: options)
            defer { ledger.close() }
            scenario = try StressScenario.populate(ledger, extraUses: 3)
        } catch {
            tally.fail("cannot populate the CLI ledger: \(error)")
            return
        }
        let specs = CommandLineTool.commands.filter { !unsafeGroups.contains($0.path[0]) }
        let values = ["acme", "bridge", "tunnel", "attic", "nope", scenario.admin, scenario.member, "eve@acme.example", "read", "write",
                      "read-write", "global", "static", "oauth", "pkce", "pkce-public", "viewer", "editor", "project-admin", "none",
                      "admin", "member", "removed", "0", "24h", "-1", "31d", "S256", "plain", StressScenario.redirect, "https://evil.example/cb",
                      "authorization_code", "refresh_token", "client_credentials", "x", "", String(repeating: "n", count: 120)]
            + secrets.prefix(6) + [scenario.header]
        // Values that fit an option's name, so that most generated commands get past the parser into the ledger.
        let fitting: [String: [String]] = [
            "as": [scenario.admin, scenario.admin, scenario.member, "eve@acme.example"], "admin": [scenario.admin, "new@fz.example"],
            "type": ["static", "oauth", "pkce", "pkce-public", "bogus"], "scope": ["read", "read-write", "global", "all"],
            "role": ["viewer", "editor", "project-admin", "admin", "member", "removed", "none"], "op": ["read", "write", "delete"],
            "project": ["bridge", "tunnel", "attic", "nope"], "grace": ["0", "1h", "24h", "31d", "-1", "x"],
            "header": [scenario.header, "Apikey x", "Bearer " + (secrets.first ?? "x"), ""], "name": ["fuzz key", "", String(repeating: "n", count: 120)],
            "redirect-uri": [StressScenario.redirect, StressScenario.loopback, "https://evil.example/cb", "ftp://x"],
            "code-challenge-method": ["S256", "plain"], "grant": ["authorization_code", "refresh_token", "client_credentials", "password"],
            "limit": ["1", "5", "0", "-3", "100000000"], "from": ["1", "3", "0", "999999"], "expires-in": ["90d", "1h", "0", "-1d"],
            "mail-domain": ["fz.example", "bad domain"], "token": Array(secrets.prefix(4)) + ["x"], "client-secret": Array(secrets.prefix(4)),
        ]
        var options = Ledger.Options()
        options.durability = .ackBeforeSync
        let interactive = isatty(0) == 1
        let filesDirectory = path + "-files"
        try? FileManager.default.createDirectory(atPath: filesDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: filesDirectory) }
        let workingDirectory = FileManager.default.currentDirectoryPath
        let before = Set((try? FileManager.default.contentsOfDirectory(atPath: workingDirectory)) ?? [])
        defer {
            let created = Set((try? FileManager.default.contentsOfDirectory(atPath: workingDirectory)) ?? []).subtracting(before)
            if !created.isEmpty { tally.fail("the CLI fuzz created files in the working directory: \(created.sorted().prefix(5))") }
        }
        while tally.inputs < budget {
            var words: [String]
            if rng.chance(0.1) || specs.isEmpty {
                words = (0..<rng.int(0...5)).map { _ in randomWord(&rng, spec: nil) }
            } else {
                let spec = rng.pick(specs)
                words = spec.path
                if rng.chance(0.1) { words.removeLast() }
                for p in spec.positionals where rng.chance(0.95) {
                    words.append(p == "company" && rng.chance(0.8) ? scenario.company : rng.pick(values))
                }
                for o in spec.options where rng.chance(0.7) {
                    let value = rng.chance(0.8) ? (fitting[o].map { rng.pick($0) } ?? rng.pick(values)) : (rng.chance(0.7) ? rng.pick(values) : randomWord(&rng, spec: spec))
                    words += ["--" + o, value]
                }
                for f in spec.flags where rng.chance(0.5) { words.append("--" + f) }
                if rng.chance(0.2) { words.append(randomWord(&rng, spec: spec)) }
                if rng.chance(0.3) { words.append("--json") }
            }
            words = words.filter { !$0.hasPrefix("--db") }
            if words.contains(where: { unsafeGroups.contains($0) }) { continue }
            // Options that name a file to write (a signing key, a checkpoint) write inside the fuzz directory, never
            // in the working directory (once a random `keygen --key 24h` left key files in the repository).
            for i in words.indices.dropLast() where words[i] == "--key" || words[i] == "--out" {
                words[i + 1] = filesDirectory + "/" + String(words[i + 1].map { $0 == "/" ? "_" : $0 }.prefix(100))
            }
            if interactive && words.contains("delete") && !words.contains("--yes") { words.append("--yes") }
            let input = words
            tally.timed {
                let r = CapturedCLI.run(input, database: path, options: options)
                if !(0...3).contains(r.code) { tally.fail("exit \(r.code) for \(input)") }
                if r.code != 0 && r.all.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { tally.fail("exit \(r.code) without a message for \(input)") }
                if r.code == ExitCode.integrity { tally.fail("integrity failure from \(input): \(r.all.prefix(300))") }
                if r.code == 0 { tally.accepted += 1 }
            }
        }
        do {
            var readOnly = Ledger.Options()
            readOnly.readOnly = true
            let ledger = try Ledger(path: path, options: readOnly)
            defer { ledger.close() }
            let report = try ledger.audit.verify()
            if !report.ok { tally.fail("the CLI-fuzzed ledger does not verify: \(report.chainFailure?.description ?? "projections differ")") }
        } catch {
            tally.fail("the CLI-fuzzed ledger does not reopen: \(error)")
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    // MARK: export reader

    /// The export reader (`Tools/verify_export.py`) on mutated exports of a scenario ledger, in one Python process:
    /// flips with and without re-digesting the manifest, truncations, deleted/swapped/duplicated lines, edited fields
    /// (re-digested), mutated manifests, garbage. Properties: never an uncaught exception (a traceback), never a hang;
    /// every change to a hashed or checked field is refused with a FAIL line.
    static func fuzzExport(_ path: String, verifier: String, _ budget: Int, _ rng: inout StressRandom, _ tally: Tally) {
        try? FileManager.default.removeItem(atPath: path)
        do {
            var options = Ledger.Options()
            options.clock = ManualClock()
            options.random = SeededRandom(seed: rng.next())
            options.durability = .ackBeforeSync
            let ledger = try Ledger(path: path + "/ledger", options: options)
            _ = try StressScenario.populate(ledger, extraUses: 20)
            ledger.close()
        } catch {
            tally.fail("cannot populate the export ledger: \(error)")
            return
        }
        for format in ["jsonl", "csv"] {
            let out = path + "/export-\(format)"
            let r = CapturedCLI.run(["export", "--all", "--format", format, "--out", out], database: path + "/ledger")
            guard r.code == 0 else {
                tally.fail("export --all --format \(format) failed (exit \(r.code)): \(r.all.prefix(300))")
                continue
            }
            let harness = path + "/harness.py"
            do {
                try exportHarness.write(toFile: harness, atomically: true, encoding: .utf8)
                let start = DispatchTime.now()
                let run = try ChildProcess.run("/usr/bin/env", ["python3", harness, verifier, out, path + "/work-\(format)",
                                                                String(max(1, budget / 2)), String(rng.next() >> 1)],
                                               timeout: 600)
                tally.slowest = max(tally.slowest, StressSupport.seconds(since: start) / Double(max(1, budget / 2)))
                if run.timedOut { tally.fail("\(format): the export reader harness hung"); continue }
                guard let line = run.stdout.split(separator: "\n").last, let data = line.data(using: .utf8),
                      let stats = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    tally.fail("\(format): harness output unreadable (exit \(run.status)): \(run.stdout.suffix(300)) \(run.stderr.suffix(500))")
                    continue
                }
                let inputs = (stats["inputs"] as? Int) ?? 0
                tally.inputs += inputs
                tally.accepted += (stats["accepted"] as? Int) ?? 0
                for key in ["detected", "crashed", "missed", "derived_field_edits_accepted"] {
                    tally.notes[key, default: 0] += (stats[key] as? Int) ?? 0
                }
                for problem in (stats["problems"] as? [String]) ?? [] { tally.fail("\(format): \(problem)") }
            } catch {
                tally.fail("\(format): cannot run the harness: \(error)")
            }
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The Python side of `fuzzExport` (standard library only). argv: verifier export-dir work-dir count seed.
    static let exportHarness = #"""
    import copy, hashlib, importlib.util, json, os, random, shutil, sys, traceback
    spec = importlib.util.spec_from_file_location("verify_export", sys.argv[1])
    ve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ve)
    source, work, count, seed = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    rng = random.Random(seed)
    files = {n: open(os.path.join(source, n), "rb").read() for n in os.listdir(source)}
    manifest = json.loads(files["manifest.json"])
    events = "events." + manifest["event_format"]
    csv_mode = events.endswith(".csv")
    stats = {"inputs": 0, "accepted": 0, "detected": 0, "crashed": 0, "missed": 0, "derived_field_edits_accepted": 0, "problems": []}

    seen = set()

    def problem(text, signature=None):
        signature = signature or text
        if signature not in seen and len(stats["problems"]) < 20:
            seen.add(signature)
            stats["problems"].append(text)

    def redigest(contents, m):
        for entry in m.get("files", []):
            if isinstance(entry, dict) and entry.get("name") in contents:
                data = contents[entry["name"]]
                entry["sha256"] = hashlib.sha256(data).hexdigest()
                entry["bytes"] = len(data)
                entry["lines"] = data.count(b"\n")
        contents["manifest.json"] = json.dumps(m).encode()

    def lines_of(data):
        parts = data.split(b"\n")
        return parts[:-1] if parts and parts[-1] == b"" else parts

    def edit_field(data):
        """Edits one field of one event line; returns (bytes, field)."""
        rows = lines_of(data)
        first = 1 if csv_mode else 0
        if len(rows) <= first:
            return data, None
        i = rng.randrange(first, len(rows))
        field = rng.choice(["seq", "time", "type", "prev_hash", "hash", "record", "payload", "company", "actor"])
        if csv_mode:
            import csv, io
            row = next(csv.reader(io.StringIO(rows[i].decode())))
            names = ve.EVENT_FIELDS
            k = names.index(field)
            value = row[k]
        else:
            obj = json.loads(rows[i])
            value = obj.get(field)
        if field == "seq":
            new = int(value) + rng.choice([-1, 1, 2, 1 << 20])
        elif field in ("prev_hash", "hash", "record"):
            s = list(value)
            j = rng.randrange(len(s))
            s[j] = rng.choice([c for c in "0123456789abcdef" if c != s[j]])
            new = "".join(s)
        elif field == "time":
            new = value.replace(value[-3], str((int(value[-3]) + 1) % 10)) if value[-3].isdigit() else value + "0"
        elif field == "type":
            new = rng.choice([t for t in ve.EVENT_TYPES.values() if t != value])
        elif field == "payload":
            if csv_mode:
                p = json.loads(value)
            else:
                p = value
            p = dict(p) if isinstance(p, dict) else {}
            p["injected"] = "x"
            new = json.dumps(p) if csv_mode else p
        else:
            new = str(value) + "x"
        if new == value:
            return data, None
        if csv_mode:
            import csv, io
            row[k] = str(new)
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(row)
            rows[i] = out.getvalue().encode()
        else:
            obj[field] = new
            rows[i] = json.dumps(obj, separators=(",", ":")).encode()
        return b"\n".join(rows) + b"\n", field

    def mutate_manifest(m):
        keys = ["format", "format_version", "event_format", "files", "chain", "counts", "range"]
        junk_values = [None, [], {}, [1], "x", 1, -1, 1 << 70, 1.5, True, {"a": 1}, [{"name": 3}], [None], ["events.jsonl"]]
        junk = lambda: copy.deepcopy(rng.choice(junk_values))
        for _ in range(rng.randint(1, 3)):
            choice = rng.randrange(4)
            if choice == 0:
                m[rng.choice(keys)] = junk()
            elif choice == 1:
                m.pop(rng.choice(keys), None)
            elif choice == 2 and isinstance(m.get("files"), list) and m["files"]:
                entry = rng.choice(m["files"])
                if isinstance(entry, dict):
                    entry[rng.choice(["name", "sha256", "bytes", "lines", "kind"])] = rng.choice([junk(), "../x", "manifest.json", events])
            else:
                for section in ("chain", "counts", "range"):
                    if isinstance(m.get(section), dict) and m[section]:
                        key = rng.choice(list(m[section]))
                        m[section][key] = junk()
        return m

    for n in range(count):
        contents = dict(files)
        m = json.loads(files["manifest.json"])
        data = bytearray(contents[events])
        mode = rng.randrange(9)
        must_fail = True
        derived = False
        if mode == 0:  # a flipped byte, manifest untouched
            data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
            contents[events] = bytes(data)
        elif mode == 1:  # truncated, with or without a re-digested manifest
            contents[events] = bytes(data[: rng.randrange(len(data))])
            if rng.random() < 0.5:
                redigest(contents, m)
        elif mode in (2, 3):  # a deleted, swapped or duplicated line, re-digested
            rows = lines_of(bytes(data))
            first = 1 if csv_mode else 0
            i = rng.randrange(first, len(rows))
            j = rng.randrange(first, len(rows))
            op = rng.randrange(3)
            if op == 0:
                del rows[i]
            elif op == 1:
                if i == j:
                    continue
                rows[i], rows[j] = rows[j], rows[i]
            else:
                rows.insert(i, rows[j])
            contents[events] = b"\n".join(rows) + b"\n"
            redigest(contents, m)
        elif mode in (4, 5):  # one field edited, re-digested
            new, field = edit_field(bytes(data))
            if field is None:
                continue
            contents[events] = new
            redigest(contents, m)
            derived = field in ("payload", "company", "actor")
            must_fail = not derived
        elif mode == 6:  # a mutated manifest: no crash is all we ask
            contents["manifest.json"] = json.dumps(mutate_manifest(m)).encode()
            must_fail = False
        elif mode == 7:  # garbage (invalid UTF-8, NULs, long lines), re-digested
            at = rng.randrange(len(data))
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            contents[events] = bytes(data[:at]) + junk + bytes(data[at:])
            redigest(contents, m)
        else:  # a byte flip, re-digested (a consistent attacker without the chain)
            data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
            contents[events] = bytes(data)
            redigest(contents, m)
            must_fail = False  # a flip in a derived field (payload, names) is not covered by the chain
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        for name, blob in contents.items():
            with open(os.path.join(work, name), "wb") as f:
                f.write(blob)
        stats["inputs"] += 1
        try:
            ve.verify(work)
            stats["accepted"] += 1
            if derived:
                stats["derived_field_edits_accepted"] += 1
            elif must_fail:
                stats["missed"] += 1
                problem("mode %d: a changed export was accepted" % mode)
        except ve.Failure as e:
            stats["detected"] += 1
            if not str(e):
                problem("mode %d: a failure without a message" % mode)
        except OSError:
            stats["detected"] += 1
        except Exception as e:
            stats["crashed"] += 1
            frames = [f for f in traceback.extract_tb(e.__traceback__) if os.path.basename(f.filename) == os.path.basename(sys.argv[1])]
            where = "%s:%d" % (os.path.basename(sys.argv[1]), frames[-1].lineno) if frames else "?"
            problem("mode %d: uncaught %s at %s: %s" % (mode, type(e).__name__, where, str(e)[:160]), (type(e).__name__, where))
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(stats))
    """#
}
