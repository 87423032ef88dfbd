import CredLedgerCore
import TestSupport
import XCTest

/// The signed-note and tlog-checkpoint formats against Go's `sumdb/note` known answers and test tables, and the
/// adversarial list of docs/PROOFS.md §5.
final class SignedNoteTests: XCTestCase {
    // golang.org/x/mod/sumdb/note: note_test.go and the package documentation.
    static let peterSKey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let peterVKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let enochVKey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
    static let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let peterSig = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    static let enochSig = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

    private var peter: Ed25519NoteVerifier { try! Ed25519NoteVerifier(verifierKey: Self.peterVKey) }
    private var enoch: Ed25519NoteVerifier { try! Ed25519NoteVerifier(verifierKey: Self.enochVKey) }

    private func open(_ note: String, _ verifiers: [any NoteVerifier]) throws -> SignedNote {
        try NoteFormat.open(Array(note.utf8), verifiers: verifiers)
    }

    /// Ed25519 is deterministic: signing Go's text with Go's key gives Go's note byte for byte.
    func testGoKnownAnswer() throws {
        let signer = try Ed25519NoteSigner(signerKey: Self.peterSKey)
        XCTAssertEqual(signer.name, "PeterNeumann")
        XCTAssertEqual(signer.keyID, 0xc74f20a3)
        XCTAssertEqual(signer.verifierKey, Self.peterVKey)
        XCTAssertEqual(signer.signerKey, Self.peterSKey)
        XCTAssertEqual(try NoteFormat.sign(text: Self.text, signers: [signer]), Self.text + "\n" + Self.peterSig)
        let opened = try open(Self.text + "\n" + Self.peterSig, [peter])
        XCTAssertEqual(opened.text, Self.text)
        XCTAssertEqual(opened.signatures.map(\.name), ["PeterNeumann"])
        // The signed-note spec's key ID example: example.com/foo, Ed25519 key e932…4da4 → 530d903a.
        XCTAssertEqual(NoteKeys.keyID(name: "example.com/foo", publicKey: hexBytes("e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4")), 0x530d903a)
    }

    /// Go's TestOpen: verified and unverified signatures, duplicates, too many, an invalid one, malformed notes.
    func testGoOpenTable() throws {
        let both = Self.text + "\n" + Self.peterSig + Self.enochSig
        var n = try open(both, [peter])
        XCTAssertEqual(n.signatures.map(\.keyID), [0xc74f20a3])
        XCTAssertEqual(n.unverified.map(\.keyID), [0xaf0cfe78])
        n = try open(both, [peter, enoch])
        XCTAssertEqual(n.signatures.map(\.name), ["PeterNeumann", "EnochRoot"])
        XCTAssertThrowsError(try open(both, [])) { XCTAssertEqual(($0 as? NoteError)?.kind, .unverified) }
        XCTAssertThrowsError(try open(Self.text + "\n" + Self.enochSig, [enoch, peter, enoch])) { XCTAssertEqual(($0 as? NoteError)?.kind, .ambiguousKey) }
        XCTAssertNoThrow(try open(Self.text + "\n" + Self.peterSig, [enoch, peter, enoch]))
        let many = Self.text + "\n" + String(repeating: Self.peterSig, count: 101)
        XCTAssertThrowsError(try open(many, [peter])) { XCTAssertEqual(($0 as? NoteError)?.kind, .malformed) }
        XCTAssertThrowsError(try open(many, [])) { XCTAssertEqual(($0 as? NoteError)?.kind, .malformed) }
        XCTAssertNoThrow(try open(Self.text + "\n" + String(repeating: Self.peterSig, count: 100), [peter]))
        let sig = Array(Self.peterSig)
        let invalid = Self.text + "\n" + String(sig[..<60]) + "ABCD" + String(sig[60...])
        XCTAssertThrowsError(try open(invalid, [peter])) { XCTAssertEqual(($0 as? NoteError)?.kind, .invalidSignature) }
        let enochChars = Array(Self.enochSig)
        n = try open(Self.text + "\n" + Self.peterSig + Self.peterSig + Self.enochSig + Self.enochSig
                     + String(enochChars[..<60]) + "ABCD" + String(enochChars[60...]), [peter])
        XCTAssertEqual(n.signatures.count, 1)
        XCTAssertEqual(n.unverified.count, 2)
        let bad = [
            Self.text, Self.text + "\n", Self.text + "\n" + String(Self.peterSig.dropLast()),
            "\u{01}" + Self.text + "\n" + Self.peterSig,
            Self.text + "\n" + "\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
            Self.text + "\n" + Self.peterSig + "Unexpected line.\n",
        ]
        for note in bad {
            XCTAssertThrowsError(try open(note, [peter]), note) { XCTAssertEqual(($0 as? NoteError)?.kind, .malformed, note) }
        }
        var notUTF8 = Array((Self.text + "\n" + Self.peterSig).utf8)
        notUTF8.insert(0xFF, at: 0)
        XCTAssertThrowsError(try NoteFormat.open(notUTF8, verifiers: [peter]))
    }

    /// Go's TestNewVerifier / TestNewSigner: every proper substring and every byte + 1 of the keys is refused.
    func testKeyManglingsAreRefused() throws {
        XCTAssertNoThrow(try Ed25519NoteVerifier(verifierKey: Self.peterVKey))
        for (key, parse) in [(Self.peterVKey, { (k: String) throws -> Void in _ = try Ed25519NoteVerifier(verifierKey: k) }),
                             (Self.peterSKey, { (k: String) throws -> Void in _ = try Ed25519NoteSigner(signerKey: k) })] {
            let b = Array(key.utf8)
            for i in 0...b.count {
                for j in (i + 1)..<(b.count + 1) where !(i == 0 && j == b.count) {
                    XCTAssertThrowsError(try parse(String(decoding: b[i..<j], as: UTF8.self)))
                }
            }
            for i in b.indices {
                var m = b
                m[i] &+= 1
                XCTAssertThrowsError(try parse(String(decoding: m, as: UTF8.self)), String(decoding: m, as: UTF8.self))
            }
        }
        // Wrong length with an adjusted key ID, unknown algorithm with an adjusted key ID (Go's table).
        XCTAssertThrowsError(try Ed25519NoteVerifier(verifierKey: "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="))
        XCTAssertThrowsError(try Ed25519NoteVerifier(verifierKey: "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"))
        // A small-order public key with its correct key ID is refused (it would verify forged signatures).
        let identity = [UInt8(1)] + [UInt8](repeating: 0, count: 31)
        XCTAssertThrowsError(try Ed25519NoteVerifier(verifierKey: NoteKeys.verifierKey(name: "x", publicKey: identity)))
    }

    // MARK: - Checkpoints

    private func signer(_ name: String = "host.example/credledger/abc123", seed: UInt8 = 7) throws -> Ed25519NoteSigner {
        try Ed25519NoteSigner(name: name, privateKey: try Ed25519.PrivateKey(seed: [UInt8](repeating: seed, count: 32)))
    }

    func testCheckpointTextAndC2SPExample() throws {
        // The tlog-checkpoint spec's example body.
        let example = try Checkpoint(text: "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
        XCTAssertEqual(example.origin, "example.com/behind-the-sofa")
        XCTAssertEqual(example.size, 20_852_163)
        XCTAssertEqual(Base64.encode(example.root.bytes), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
        XCTAssertEqual(example.text, "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
        XCTAssertEqual(Checkpoint(origin: "o", size: 0, root: MerkleHash.empty).text, "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")

        let s = try signer()
        let signed = try SignedCheckpoint(Checkpoint(origin: s.name, size: 17, root: SHA256.hash("r")), signer: s)
        let lines = signed.note.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 6)
        XCTAssertEqual(lines[3], "")
        XCTAssertTrue(lines[4].hasPrefix("\u{2014} \(s.name) "))
        XCTAssertEqual(lines[4].split(separator: " ").last?.count, 92, "base64 of key ID (4) + signature (64)")
        XCTAssertEqual(Array("\u{2014}".utf8), [0xE2, 0x80, 0x94])
        let opened = try SignedCheckpoint(note: signed.note, verifier: s.verifier)
        XCTAssertEqual(opened.checkpoint, signed.checkpoint)
    }

    /// docs/PROOFS.md §5: every variation of a checkpoint note an attacker or a sloppy tool could produce is refused.
    func testAdversarialCheckpointNotes() throws {
        let s = try signer()
        let good = try SignedCheckpoint(Checkpoint(origin: s.name, size: 17, root: SHA256.hash("r")), signer: s).note
        XCTAssertNoThrow(try SignedCheckpoint(note: good, verifier: s.verifier))
        func refused(_ note: String, _ verifier: Ed25519NoteVerifier? = nil, _ what: String, line: UInt = #line) {
            XCTAssertThrowsError(try SignedCheckpoint(note: note, verifier: verifier ?? s.verifier), what, line: line)
        }
        // Another key under the same name (so another key ID), another name, same name and ID but another key.
        let other = try signer(seed: 8)
        refused(good, other.verifier, "another key of the same name")
        let renamed = try signer("host.example/credledger/other")
        refused(good, renamed.verifier, "another name")
        refused(good.replacingOccurrences(of: "\u{2014} \(s.name) ", with: "\u{2014} host.example/credledger/other "), renamed.verifier, "signature line renamed")
        // Right name and ID, wrong key: forge the key ID of s onto other's signature.
        let forgedSig = try other.sign(Array(Checkpoint(origin: s.name, size: 17, root: SHA256.hash("r")).text.utf8))
        let forged = Checkpoint(origin: s.name, size: 17, root: SHA256.hash("r")).text + "\n\u{2014} \(s.name) " + Base64.encode(s.keyID.bigEndianBytes + forgedSig) + "\n"
        refused(forged, nil, "right ID, wrong key")
        // Only unknown signers.
        refused(try SignedCheckpoint(Checkpoint(origin: renamed.name, size: 17, root: SHA256.hash("r")), signer: renamed).note, nil, "unknown signer only")
        // Framing.
        refused(good.replacingOccurrences(of: "\n", with: "\r\n"), nil, "CRLF")
        refused(String(good.dropLast()), nil, "no final newline")
        refused(String(good.dropLast()) + " \n", nil, "trailing space")
        refused(good.replacingOccurrences(of: "\n17\n", with: "\n\n17\n"), nil, "blank line in the text")
        refused(good + String(repeating: good.split(separator: "\n").last! + "\n", count: 100), nil, "more than 100 signatures")
        // The signature is over the exact text: any change to origin, size or root breaks it.
        refused(good.replacingOccurrences(of: "\n17\n", with: "\n18\n"), nil, "size changed")
        // Bodies that are signed but not checkpoints.
        for body in ["\(s.name)\n017\n\(Base64.encode(SHA256.hash("r").bytes))\n", "\(s.name)\n+17\n\(Base64.encode(SHA256.hash("r").bytes))\n",
                     "\(s.name)\n1e3\n\(Base64.encode(SHA256.hash("r").bytes))\n", "\(s.name)\n18446744073709551616\n\(Base64.encode(SHA256.hash("r").bytes))\n",
                     "\(s.name)\n-1\n\(Base64.encode(SHA256.hash("r").bytes))\n", "\(s.name)\n17\n\(Base64.encode(Array(SHA256.hash("r").bytes.prefix(31))))\n",
                     "\(s.name)\n17\n\(Base64.encode(SHA256.hash("r").bytes + [0]))\n", "\(s.name)\n17\n\(Base64.encode(SHA256.hash("r").bytes).dropLast())\n",
                     "\(s.name)\n17\n\(Base64.encode(SHA256.hash("r").bytes))\nextension line\n", "\(s.name)\n17\n",
                     "other.example/log\n17\n\(Base64.encode(SHA256.hash("r").bytes))\n"] {
            let note = try NoteFormat.sign(text: body, signers: [s])
            refused(note, nil, "body \(body.debugDescription)")
        }
        XCTAssertEqual(Checkpoint.parseSize("18446744073709551615"), UInt64.max)
        XCTAssertNil(Checkpoint.parseSize(" 17"))
        XCTAssertNil(Checkpoint.parseSize(""))
    }

    func testBase64IsStrict() {
        for n in 0...40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            let text = Base64.encode(bytes)
            XCTAssertEqual(Base64.decode(text), bytes)
            XCTAssertEqual(text, Data(bytes).base64EncodedString())
        }
        // Non-zero bits under the padding, missing padding, whitespace, URL alphabet, padding in the middle.
        for loose in ["QR==", "QUI=QUI=", "QUJ", "QU I=", "QU-=", "QUJD\n", "Q===", "=QUJ"] { XCTAssertNil(Base64.decode(loose), loose) }
        XCTAssertEqual(Base64.decode("QQ=="), [0x41])
    }
}
