@testable import CredLedger
import CredLedgerCore
import CredLedgerProjections
import Foundation
import LMDB
import XCTest

/// The transparency commands end to end (in process), checked by the independent stdlib verifier
/// (`Tools/verify_export.py`: its own Ed25519, RFC 9162 and note code), tampered documents included.
final class TransparencyCLITests: XCTestCase {
    private static let verifier = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Tools/verify_export.py").path

    /// Runs the verifier with `arguments`; (exit code, output).
    private func verify(_ arguments: [String]) throws -> (code: Int32, output: String) {
        try ExternalOracle.status(["python3", Self.verifier] + arguments)
    }

    private func write(_ text: String, _ path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    private struct Fixture {
        let t: TestLedger
        let dir: String
        var vkey: String
        func cli(_ args: [String]) -> CLIResult { runCLI(db: t.path, args, options: t.options) }
        /// The log head, read through a read-only open (the fixture's ledger is closed: the CLI opens its own).
        var head: UInt64 {
            var options = t.options
            options.readOnly = true
            guard let ledger = try? Ledger(path: t.path, options: options) else { return 0 }
            defer { ledger.close() }
            return ledger.head.seq
        }
    }

    private func world(_ label: String) throws -> Fixture {
        let t = try TestLedger(label)
        try t.makeWorld()
        let key = try t.create(.staticKey, .read, name: "k1")
        try t.ledger.administration.grantAccess(World.acme, credential: key.id, project: World.bridge, role: .viewer, as: World.alice)
        for _ in 0..<5 { _ = try t.ledger.access.check(header: "Apikey " + key.secret!, company: World.acme, project: World.bridge, operation: .read) }
        t.close()
        var w = Fixture(t: t, dir: t.directory.appending(""), vkey: "")
        let keygen = w.cli(["keygen", "--name", "test.example/credledger/one", "--json"])
        XCTAssertEqual(keygen.code, 0, keygen.all)
        w.vkey = keygen.object["verifier_key"] as? String ?? ""
        return w
    }

    func testKeyFileIsPrivateExclusiveAndNeverPrinted() throws {
        let w = try world("tl-key")
        defer { w.t.remove() }
        let path = SigningKeyFile.defaultPath(ledger: w.t.path)
        var status = stat()
        XCTAssertEqual(lstat(path, &status), 0)
        XCTAssertEqual(status.st_mode & 0o777, 0o600)
        let content = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(content.hasPrefix("PRIVATE+KEY+test.example/credledger/one+"))
        let seedPart = String(content.split(separator: "+").last!.dropLast())
        // keygen again: refused, the key unchanged.
        let again = w.cli(["keygen"])
        XCTAssertEqual(again.code, 2)
        XCTAssertTrue(again.err.contains("key_exists"), again.all)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), content)
        // Nothing printed the secret part, and the LMDB file does not hold it.
        let checkpoint = w.cli(["checkpoint", "--json"])
        XCTAssertEqual(checkpoint.code, 0, checkpoint.all)
        XCTAssertFalse(checkpoint.all.contains(seedPart))
        let data = try Data(contentsOf: URL(fileURLWithPath: w.t.path + "/data.mdb"))
        XCTAssertNil(data.range(of: Data(content.utf8.dropLast())))
        XCTAssertNil(data.range(of: Data(Base64.decode(seedPart)!)))
        // A key others can read is refused; so is a link to it.
        chmod(path, 0o640)
        let exposed = w.cli(["checkpoint"])
        XCTAssertEqual(exposed.code, 2)
        XCTAssertTrue(exposed.err.contains("key_file_exposed"), exposed.all)
        chmod(path, 0o600)
        let link = w.t.directory.appending("link.key")
        symlink(path, link)
        let linked = w.cli(["checkpoint", "--key", link])
        XCTAssertTrue(linked.err.contains("key_file_exposed"), linked.all)
        // No key: a clear error naming keygen.
        let none = w.cli(["checkpoint", "--key", w.t.directory.appending("missing.key")])
        XCTAssertTrue(none.err.contains("no_signing_key") && none.err.contains("keygen"), none.all)
        // A bad --name.
        XCTAssertEqual(w.cli(["keygen", "--key", w.t.directory.appending("k2"), "--name", "a b"]).code, 2)
        XCTAssertEqual(w.cli(["keygen", "--key", w.t.directory.appending("k2"), "--name", "a+b"]).code, 2)
    }

    func testProofsAndCheckpointsPassTheIndependentVerifierAndTamperingFails() throws {
        let w = try world("tl-proofs")
        defer { w.t.remove() }
        let cp = w.t.directory.appending("cp.txt")
        XCTAssertEqual(w.cli(["checkpoint", "--out", cp]).code, 0)
        // --out never replaces a file (the ledger's own data.mdb least of all) and never writes into the ledger
        // directory; a refusal changes nothing, the last-signed record included.
        let lastSigned = try Data(contentsOf: URL(fileURLWithPath: w.t.path + "/transparency.key.last"))
        let dataFile = try Data(contentsOf: URL(fileURLWithPath: w.t.path + "/data.mdb"))
        try Data("precious".utf8).write(to: URL(fileURLWithPath: w.t.directory.appending("other.txt")))
        for (target, code) in [(cp, "file_exists"), (w.t.directory.appending("other.txt"), "file_exists"), (w.t.path + "/data.mdb", "file_exists"),
                               (w.t.path + "/lock.mdb", "file_exists"), (w.t.path + "/new-checkpoint.txt", "inside_ledger")] {
            let refused = w.cli(["checkpoint", "--out", target])
            XCTAssertEqual(refused.code, 2, target)
            XCTAssertTrue(refused.err.contains(code), refused.all)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: w.t.path + "/data.mdb")), dataFile)
        XCTAssertEqual(try String(contentsOfFile: w.t.directory.appending("other.txt"), encoding: .utf8), "precious")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: w.t.path + "/transparency.key.last")), lastSigned)
        XCTAssertFalse(FileManager.default.fileExists(atPath: w.t.path + "/new-checkpoint.txt"))
        let ok = try verify(["checkpoint", cp, "--vkey", w.vkey])
        XCTAssertEqual(ok.code, 0, ok.output)
        // Another key does not verify it; a changed size does not either.
        let other = w.cli(["keygen", "--key", w.t.directory.appending("other.key"), "--name", "test.example/credledger/one", "--json"])
        let otherKey = other.object["verifier_key"] as? String ?? ""
        XCTAssertEqual(try verify(["checkpoint", cp, "--vkey", otherKey]).code, 1)
        let note = try String(contentsOfFile: cp, encoding: .utf8)
        let lines = note.split(separator: "\n", omittingEmptySubsequences: false)
        try write(note.replacingOccurrences(of: "\n\(lines[1])\n", with: "\n\(Int(lines[1])! + 1)\n"), cp + ".bad")
        XCTAssertEqual(try verify(["checkpoint", cp + ".bad", "--vkey", w.vkey]).code, 1)

        let head = w.head
        for (args, name) in [(["prove", "inclusion", "3"], "inc"), (["prove", "inclusion", "1", "--size", "7"], "inc7"),
                             (["prove", "consistency", "4", "\(head)"], "con"), (["prove", "consistency", "\(head)", "\(head)"], "same")] {
            let r = w.cli(args + ["--json"])
            XCTAssertEqual(r.code, 0, r.all)
            let file = w.t.directory.appending("\(name).json")
            try write(r.out, file)
            let v = try verify(["proof", file, "--vkey", w.vkey])
            XCTAssertEqual(v.code, 0, "\(name): \(v.output)")
            // Flip one proof hash, or claim another tree size: refused.
            var doc = r.object
            if var hashes = doc["hashes"] as? [String], !hashes.isEmpty {
                var raw = Base64.decode(hashes[0])!
                raw[5] ^= 1
                hashes[0] = Base64.encode(raw)
                doc["hashes"] = hashes
                try write(String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self), file + ".flip")
                XCTAssertEqual(try verify(["proof", file + ".flip", "--vkey", w.vkey]).code, 1, name)
            }
            doc = r.object
            doc["hashes"] = (doc["hashes"] as? [String] ?? []) + [doc["hashes"].flatMap { ($0 as? [String])?.first } ?? Base64.encode([UInt8](repeating: 0, count: 32))]
            try write(String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self), file + ".long")
            XCTAssertEqual(try verify(["proof", file + ".long", "--vkey", w.vkey]).code, 1, name)
        }
        // Proofs out of range are refused with a clear error.
        XCTAssertTrue(w.cli(["prove", "inclusion", "0"]).err.contains("bad_tree_size"))
        XCTAssertTrue(w.cli(["prove", "inclusion", "\(head + 1)"]).err.contains("bad_tree_size"))
        XCTAssertTrue(w.cli(["prove", "consistency", "5", "4"]).err.contains("bad_tree_size"))
        XCTAssertEqual(w.cli(["prove", "inclusion", "017"]).code, 2)
        XCTAssertEqual(w.cli(["prove", "inclusion", "+1"]).code, 2)
    }

    func testProvenAccessAnswerPassesTheVerifier() throws {
        let w = try world("tl-access")
        defer { w.t.remove() }
        let r = w.cli(["audit", "access", World.acme, World.bridge, "--prove", "--json"])
        XCTAssertEqual(r.code, 0, r.all)
        let events = r.object["events"] as? [[String: Any]] ?? []
        let types = Set(events.compactMap { $0["type"] as? String })
        XCTAssertTrue(types.isSuperset(of: ["company_registered", "credential_created", "project_access_granted"]), "\(types)")
        XCTAssertFalse(types.contains("credential_used"))
        let file = w.t.directory.appending("access.json")
        try write(r.out, file)
        let v = try verify(["access", file, "--vkey", w.vkey])
        XCTAssertEqual(v.code, 0, v.output)
        // A changed record (the role of the grant), a dropped proof hash, or a foreign event: refused.
        for mutate in ["record", "proof", "prev_hash"] {
            var doc = r.object
            var list = events
            let i = list.firstIndex { $0["type"] as? String == "project_access_granted" }!
            switch mutate {
            case "record":
                var record = list[i]["record"] as! String
                let last = record.removeLast()
                record.append(last == "1" ? "2" : "1")
                list[i]["record"] = record
            case "proof": list[i]["proof"] = Array((list[i]["proof"] as! [String]).dropLast())
            default: list[i]["prev_hash"] = String(repeating: "0", count: 64)
            }
            doc["events"] = list
            try write(String(decoding: try JSONSerialization.data(withJSONObject: doc), as: UTF8.self), file + ".\(mutate)")
            XCTAssertEqual(try verify(["access", file + ".\(mutate)", "--vkey", w.vkey]).code, 1, mutate)
        }
        // --prove without a key: a clear error.
        XCTAssertTrue(w.cli(["audit", "access", World.acme, World.bridge, "--prove", "--key", w.t.directory.appending("none")]).err.contains("no_signing_key"))
    }

    /// `verify --checkpoint`: consistent after growth; a cut tail is exit 3 naming the first missing event; and the
    /// ledger then refuses to sign a head inconsistent with the last one it signed.
    func testVerifyCheckpointAndTheSigningRule() throws {
        let w = try world("tl-verify")
        defer { w.t.remove() }
        let cp = w.t.directory.appending("cp.txt")
        XCTAssertEqual(w.cli(["checkpoint", "--out", cp]).code, 0)
        let size = w.head
        XCTAssertEqual(w.cli(["project", "create", World.acme, "later", "--as", World.alice]).code, 0)
        var r = w.cli(["verify", "--checkpoint", cp])
        XCTAssertEqual(r.code, 0, r.all)
        XCTAssertTrue(r.out.contains("consistent"), r.out)
        r = w.cli(["verify", "--checkpoint", cp, "--vkey", w.vkey, "--json"])
        XCTAssertEqual(r.object["ok"] as? Bool, true, r.all)
        // A checkpoint signed with another key is refused (exit 3), as is a damaged note (exit 3).
        let other = w.cli(["keygen", "--key", w.t.directory.appending("o.key"), "--name", "test.example/credledger/one", "--json"]).object["verifier_key"] as! String
        XCTAssertEqual(w.cli(["verify", "--checkpoint", cp, "--vkey", other]).code, 3)
        let note = try String(contentsOfFile: cp, encoding: .utf8)
        try write(note.replacingOccurrences(of: "\n\(size)\n", with: "\n\(size - 1)\n"), cp + ".bad")
        XCTAssertEqual(w.cli(["verify", "--checkpoint", cp + ".bad"]).code, 3)

        // Cut the last three events behind the ledger's back, accept the log (rebuild appends log_accepted).
        let head = w.head
        var configuration = Environment.Configuration()
        configuration.mapSize = 64 << 20
        let environment = try Environment(path: w.t.path, configuration: configuration)
        let events = try environment.openDatabases(["events"], flags: [])[0]
        try environment.write { txn in for seq in (head - 2)...head { _ = try txn.delete(events, seq.bigEndianBytes) } }
        environment.close()
        XCTAssertEqual(w.cli(["rebuild"]).code, 0)
        r = w.cli(["verify", "--checkpoint", cp, "--json"])
        XCTAssertEqual(r.code, 3, r.all)
        XCTAssertEqual(r.object["ok"] as? Bool, false)
        // Three cut, one log_accepted appended: the log is shorter than the checkpoint → a cut tail at head − 1.
        XCTAssertEqual(r.object["first_bad_size"] as? Int, Int(head) - 1, r.out)
        let human = w.cli(["verify", "--checkpoint", cp])
        XCTAssertTrue(human.out.contains("INCONSISTENT") && human.out.contains("missing"), human.out)
        // The last signed checkpoint covers more events than the log now has: nothing is signed.
        let refused = w.cli(["checkpoint"])
        XCTAssertEqual(refused.code, 3, refused.all)
        XCTAssertTrue(refused.err.contains("inconsistent_head"), refused.all)
    }

    func testExportCarriesACheckpointAndAConsistencyProof() throws {
        let w = try world("tl-export")
        defer { w.t.remove() }
        let first = w.t.directory.appending("e1"), second = w.t.directory.appending("e2")
        XCTAssertEqual(w.cli(["export", "--all", "--out", first]).code, 0)
        var v = try verify([first, "--vkey", w.vkey])
        XCTAssertEqual(v.code, 0, v.output)
        XCTAssertTrue(v.output.contains("whose root the events recompute"), v.output)
        let previous = w.t.directory.appending("e1-checkpoint.txt")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: first + "/transparency.json"))) as! [String: Any]
        try write(doc["checkpoint"] as! String, previous)
        XCTAssertEqual(w.cli(["project", "create", World.acme, "later", "--as", World.alice]).code, 0)
        let r = w.cli(["export", World.acme, "--out", second, "--since-checkpoint", previous])
        XCTAssertEqual(r.code, 0, r.all)
        v = try verify([second, "--vkey", w.vkey])
        XCTAssertEqual(v.code, 0, v.output)
        XCTAssertTrue(v.output.contains("consistent with the previous checkpoint"), v.output)
        // A consistency proof that does not hold: swap in another previous checkpoint's root.
        var tampered = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: second + "/transparency.json"))) as! [String: Any]
        var consistency = tampered["consistency"] as! [String: Any]
        consistency["hashes"] = Array((consistency["hashes"] as! [String]).reversed())
        tampered["consistency"] = consistency
        try JSONSerialization.data(withJSONObject: tampered).write(to: URL(fileURLWithPath: second + "/transparency.json"))
        XCTAssertEqual(try verify([second, "--vkey", w.vkey]).code, 1)
    }

    /// The verifier's Ed25519 against RFC 8032 §7.1 and the rules of docs/PROOFS.md §1 (small-order key, S ≥ L).
    func testPythonEd25519AgainstRFC8032() throws {
        let script = """
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("v", sys.argv[1] if len(sys.argv) > 1 else "\(Self.verifier)")
        v = importlib.util.module_from_spec(spec); spec.loader.exec_module(v)
        h = bytes.fromhex
        tests = [
          ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "", "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
          ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72", "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
          ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82", "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
        ]
        for pk, msg, sig in tests:
            print(v.ed25519_verify(h(pk), h(msg), h(sig)))
            bad = bytearray(h(sig)); bad[0] ^= 1
            print(v.ed25519_verify(h(pk), h(msg), bytes(bad)))
        pk, msg, sig = tests[0]
        s = int.from_bytes(h(sig)[32:], "little") + v.ED_L
        print(v.ed25519_verify(h(pk), h(msg), h(sig)[:32] + s.to_bytes(32, "little")))
        ident = bytes([1]) + bytes(31)
        print(v.ed25519_verify(ident, b"anything", ident + bytes(32)))
        print(v.merkle_root([]).hex())
        """
        let lines = try ExternalOracle.python(script, lines: [])
        XCTAssertEqual(lines, ["True", "False", "True", "False", "True", "False", "False", "False",
                               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"])
    }
}
