import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation

/// `keygen`, `checkpoint`, `prove inclusion|consistency`, `verify --checkpoint`: the transparency log (docs/PROOFS.md).
/// Also the pieces `audit access --prove` and `export --since-checkpoint` use.
enum TransparencyCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("keygen", options: ["name", "key"], summary: "Create the checkpoint signing key (Ed25519, Go's PRIVATE+KEY+… format) at --key FILE (default: transparency.key in the ledger directory, outside the LMDB file), mode 0600, never replacing a file; --name is the log's origin (default <host>/credledger/<random>). Prints the verifier key to publish.") { inv, ctx in
                let path = try keyPath(inv, ctx, mustExist: false)
                let name = inv.option("name") ?? SigningKeyFile.defaultName(random: ctx.options.random)
                guard !name.isEmpty, name.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) && $0 != "+" }) else {
                    throw UsageError("--name must be visible ASCII without spaces or '+' (it is the log's origin line)")
                }
                let signer = try SigningKeyFile.create(path: path, name: name, random: ctx.options.random)
                if ctx.json {
                    Output.json(API.SigningKey(keyFile: path, signer: signer))
                } else {
                    Output.line("signing key written to \(path) (mode 0600: keep it secret, back it up apart from the ledger)")
                    Output.line("origin:       \(signer.name)")
                    Output.line("verifier key: \(signer.verifierKey)")
                    Output.line("Publish the verifier key; auditors pin it (credledger verify --checkpoint FILE --vkey KEY, python3 Tools/verify_export.py checkpoint FILE --vkey KEY).")
                }
                return ExitCode.ok
            },
            CommandSpec("checkpoint", options: ["out", "key"], summary: "Sign the current log head as a C2SP checkpoint (origin, tree size, root hash, Ed25519 signature line) after proving it consistent with the last one signed; print it, or write it to --out FILE.") { inv, ctx in
                let key = try loadKey(inv, ctx)
                // Checked before signing (which moves the last-signed record): a refusal changes nothing.
                if let out = inv.option("out") { try checkNewOutputFile(out, ledger: ctx.databasePath) }
                let ledger = try ctx.ledger()
                let signed = try ledger.transparency.signCheckpoint(key: key.signer, lastSigned: key.lastSigned)
                if let out = inv.option("out") { try writeNewFile(out, signed.note) }
                if ctx.json {
                    Output.json(API.SignedCheckpoint(signed))
                } else if let out = inv.option("out") {
                    Output.line("checkpoint of \(signed.checkpoint.size) events written to \(out) (root \(Base64.encode(signed.checkpoint.root.bytes)))")
                } else {
                    Output.standardOutput(signed.note)
                }
                return ExitCode.ok
            },
            CommandSpec("prove inclusion", positionals: ["seq"], options: ["size", "key"], summary: "RFC 9162 inclusion proof of event SEQ (leaf index SEQ − 1) in the tree of --size N events (default: the head), with the checkpoint of that size signed when the ledger has a key. --json: hashes in base64.") { inv, ctx in
                let seq = try number(inv.positional(0), "SEQ")
                let size = try inv.option("size").map { try number($0, "--size") }
                let ledger = try ctx.readOnlyLedger()
                let proof = try ledger.transparency.inclusionProof(seq: seq, size: size)
                let signed = try signIfKeyed(ledger, size: proof.treeSize, inv, ctx)
                if ctx.json {
                    Output.json(API.InclusionProof(proof, checkpoint: signed))
                } else {
                    Output.line("event \(proof.seq) (leaf \(proof.leafIndex)) in the tree of \(proof.treeSize) events")
                    Output.line("leaf input (chain hash): \(proof.leafInput.hex)")
                    Output.line("root: \(Base64.encode(proof.root.bytes))")
                    for (i, h) in proof.hashes.enumerated() { Output.line("  \(i + 1). \(Base64.encode(h.bytes))") }
                    printCheckpoint(signed)
                }
                return ExitCode.ok
            },
            CommandSpec("prove consistency", positionals: ["old", "new"], options: ["key"], summary: "RFC 9162 consistency proof that the tree of OLD events is a prefix of the tree of NEW events (1 ≤ OLD ≤ NEW ≤ head), with the checkpoint of NEW signed when the ledger has a key. --json: hashes in base64.") { inv, ctx in
                let old = try number(inv.positional(0), "OLD"), new = try number(inv.positional(1), "NEW")
                let ledger = try ctx.readOnlyLedger()
                let proof = try ledger.transparency.consistencyProof(old: old, new: new)
                let signed = try signIfKeyed(ledger, size: new, inv, ctx)
                if ctx.json {
                    Output.json(API.ConsistencyProof(proof, checkpoint: signed))
                } else {
                    Output.line("tree of \(old) events (root \(Base64.encode(proof.oldRoot.bytes))) is a prefix of the tree of \(new) events (root \(Base64.encode(proof.newRoot.bytes)))")
                    for (i, h) in proof.hashes.enumerated() { Output.line("  \(i + 1). \(Base64.encode(h.bytes))") }
                    printCheckpoint(signed)
                }
                return ExitCode.ok
            },
            CommandSpec("verify --checkpoint", positionals: ["file"], options: ["vkey", "key"], summary: "Check that the live log extends the checkpoint in FILE, signed with --vkey KEY|FILE (default: the ledger's own key): recomputes every chain link, leaf and tree node from the event bytes. Exit 3 names a cut tail, a rewritten event, or a history that is not the signed one (fork or rewrite), with the first size that disagrees.") { inv, ctx in
                let verifier = try pinnedVerifier(inv, ctx)
                let signed = try readCheckpoint(inv.positional(0), verifier: verifier)
                let audit = try ctx.readOnlyLedger().transparency.audit(checkpoint: signed.checkpoint.head)
                if ctx.json {
                    Output.json(API.CheckpointAudit(origin: signed.checkpoint.origin, audit))
                } else {
                    Output.line("checkpoint: \(signed.checkpoint.origin), \(signed.checkpoint.size) events, root \(Base64.encode(signed.checkpoint.root.bytes)): signature ok")
                    if audit.ok {
                        Output.line("log: consistent — its first \(audit.checkpoint.size) events hash to the signed root; the log has \(audit.logSize) events (recomputed from the event bytes)")
                    } else {
                        Output.line("log: INCONSISTENT with the checkpoint; first size that disagrees: \(audit.firstBadSize.map(String.init) ?? "?")")
                        for m in audit.messages { Output.line("  - \(m)") }
                    }
                    Output.line(String(format: "verified in %.2f s", audit.seconds))
                }
                return audit.ok ? ExitCode.ok : ExitCode.integrity
            },
        ]
    }

    // MARK: - Keys

    /// The signing key's path: --key, or `transparency.key` in the ledger directory (which must exist).
    static func keyPath(_ inv: Invocation, _ ctx: ToolContext, mustExist: Bool) throws -> String {
        if let path = inv.option("key") { return path }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: ctx.databasePath, isDirectory: &isDirectory), isDirectory.boolValue,
              FileManager.default.fileExists(atPath: ctx.databasePath + "/data.mdb") else {
            throw LedgerError("no_ledger", "no ledger at \(ctx.databasePath) (no data.mdb there): pass --db, or --key FILE", kind: .badInput)
        }
        return SigningKeyFile.defaultPath(ledger: ctx.databasePath)
    }

    static func loadKey(_ inv: Invocation, _ ctx: ToolContext) throws -> (signer: Ed25519NoteSigner, lastSigned: String) {
        let path = try keyPath(inv, ctx, mustExist: true)
        return (try SigningKeyFile.load(path: path), SigningKeyFile.lastSignedPath(key: path))
    }

    /// A checkpoint of `size` signed with the ledger's key, or nil (with a note on standard error) when it has none.
    static func signIfKeyed(_ ledger: Ledger, size: UInt64, _ inv: Invocation, _ ctx: ToolContext) throws -> SignedCheckpoint? {
        let path = try keyPath(inv, ctx, mustExist: false)
        guard FileManager.default.fileExists(atPath: path) || inv.option("key") != nil else {
            Output.error("note: no signing key at \(path): the proof comes without a checkpoint (create one with `credledger keygen`)")
            return nil
        }
        let key = try loadKey(inv, ctx)
        return try ledger.transparency.signCheckpoint(key: key.signer, size: size, lastSigned: key.lastSigned)
    }

    /// The verifier pinned by --vkey (a key, or a file holding one), else the public half of the ledger's own key.
    static func pinnedVerifier(_ inv: Invocation, _ ctx: ToolContext) throws -> Ed25519NoteVerifier {
        guard let given = inv.option("vkey") else { return try loadKey(inv, ctx).signer.verifier }
        var text = given
        if !given.contains("+"), let data = FileManager.default.contents(atPath: given) {
            text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        do { return try Ed25519NoteVerifier(verifierKey: text) } catch {
            throw UsageError("--vkey: \(error)")
        }
    }

    /// Reads and opens a checkpoint note signed with `verifier`: a malformed file is bad input (exit 2), a signature
    /// that does not verify, or one by another key only, is an integrity failure (exit 3).
    static func readCheckpoint(_ path: String, verifier: Ed25519NoteVerifier) throws -> SignedCheckpoint {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LedgerError("no_checkpoint", "cannot read the checkpoint \(path)", kind: .badInput)
        }
        guard data.count <= 64 << 10 else { throw LedgerError("bad_checkpoint", "\(path) is too large for a checkpoint", kind: .badInput) }
        do {
            return try SignedCheckpoint(note: String(decoding: data, as: UTF8.self), verifier: verifier)
        } catch let error as NoteError where error.kind == .invalidSignature || error.kind == .unverified {
            throw LedgerError("checkpoint_signature_invalid", "\(path): \(error.message) (pinned key \(verifier.verifierKey))", kind: .integrity)
        } catch let error as CheckpointError {
            throw LedgerError("bad_checkpoint", "\(path): \(error.message)", kind: .integrity)
        } catch {
            throw LedgerError("bad_checkpoint", "\(path): \(error)", kind: .badInput)
        }
    }

    static func number(_ text: String, _ what: String) throws -> UInt64 {
        guard let n = Checkpoint.parseSize(text) else { throw UsageError("\(what) must be a whole number, not '\(text)'") }
        return n
    }

    static func printCheckpoint(_ signed: SignedCheckpoint?) {
        guard let signed else { return }
        Output.line("checkpoint:")
        Output.standardOutput(signed.note)
    }

    // MARK: - audit access --prove, export --since-checkpoint

    /// `audit access … --prove`: the answer with inclusion proofs of every event it rests on, against one checkpoint.
    static func provenAccess(_ ledger: Ledger, company: String, project: String, operation: CredLedgerCore.Operation?, at point: AsOfPoint,
                             _ inv: Invocation, _ ctx: ToolContext) throws {
        let key = try loadKey(inv, ctx)
        let proven = try ledger.transparency.provenAccess(company: company, project: project, operation: operation, at: point)
        let signed = try ledger.transparency.signCheckpoint(key: key.signer, size: proven.tree.size, lastSigned: key.lastSigned)
        if ctx.json {
            Output.json(API.ProvenAccessReport(proven, checkpoint: signed))
        } else {
            AuditCommands.printAccess(API.AccessReport(proven.answer), ctx)
            Output.line("\nproofs: \(proven.events.count) events of \(company) up to seq \(proven.answer.seq) (every change of access), each included in the tree of \(proven.tree.size) events:")
            for e in proven.events { Output.line("  \(e.seq) \(e.type.name): path of \(e.proof.hashes.count)") }
            Output.line("checkpoint:")
            Output.standardOutput(signed.note)
            Output.line("check it with --json and python3 Tools/verify_export.py access FILE --vkey \(signed.verifierKey)")
        }
    }

    /// The export's `transparency.json` (docs/EXPORT.md): a checkpoint of the export's range end, the inclusion proof
    /// of that last event, and, with --since-checkpoint FILE, that checkpoint and the consistency proof from it.
    static func writeExportProofs(_ ledger: Ledger, summary: ExportSummary, since: String?, _ inv: Invocation, _ ctx: ToolContext) throws -> Bool {
        let path = try keyPath(inv, ctx, mustExist: false)
        guard since != nil || FileManager.default.fileExists(atPath: path) else { return false }
        let key = try loadKey(inv, ctx)
        var previous: SignedCheckpoint?
        if let since {
            previous = try readCheckpoint(since, verifier: key.signer.verifier)
        }
        let size = summary.toSeq
        guard size > 0 else { throw LedgerError("empty_export", "the export range holds no event: no checkpoint to sign", kind: .badInput) }
        let signed = try ledger.transparency.signCheckpoint(key: key.signer, size: size, lastSigned: key.lastSigned)
        var document: [String: Any] = [
            "format": "credledger-transparency",
            "checkpoint": signed.note,
            "verifier_key": signed.verifierKey,
            "tree_size": size,
        ]
        let end = try ledger.transparency.inclusionProof(seq: size, size: size)
        document["range_end"] = ["seq": size, "hash": end.leafInput.hex, "proof": end.hashes.map { Base64.encode($0.bytes) }] as [String: Any]
        if let previous {
            guard previous.checkpoint.size <= size else {
                throw LedgerError("checkpoint_ahead", "the previous checkpoint covers \(previous.checkpoint.size) events, more than this export's range end \(size)", kind: .badInput)
            }
            document["previous_checkpoint"] = previous.note
            if previous.checkpoint.size > 0 {
                let proof = try ledger.transparency.consistencyProof(old: previous.checkpoint.size, new: size)
                do { try proof.verify(oldRoot: previous.checkpoint.root, newRoot: signed.checkpoint.root) } catch {
                    throw LedgerError("inconsistent_head", "the log is not consistent with \(since ?? "the previous checkpoint"): \(error)", kind: .integrity)
                }
                document["consistency"] = ["old_size": proof.oldSize, "new_size": proof.newSize, "hashes": proof.hashes.map { Base64.encode($0.bytes) }] as [String: Any]
            }
        }
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        let file = (summary.directory as NSString).appendingPathComponent("transparency.json")
        do { try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: file), options: .atomic) } catch {
            throw LedgerError("export_failed", "cannot write \(file): \(error.localizedDescription)", kind: .badInput)
        }
        return true
    }

    // MARK: - output files

    /// `--out FILE` names a new file outside the ledger directory: an existing file is never replaced (a checkpoint
    /// written over `data.mdb` would destroy the ledger), and nothing is written among the ledger's own files.
    static func checkNewOutputFile(_ path: String, ledger: String) throws {
        var status = stat()
        if lstat(path, &status) == 0 {
            throw LedgerError("file_exists", "\(path) already exists: --out writes a new file and never replaces one (choose another name or move it away)", kind: .badInput)
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().resolvingSymlinksInPath().standardizedFileURL.path
        let ledgerDirectory = URL(fileURLWithPath: ledger).resolvingSymlinksInPath().standardizedFileURL.path
        if directory == ledgerDirectory || directory.hasPrefix(ledgerDirectory + "/") {
            throw LedgerError("inside_ledger", "\(path) is inside the ledger directory \(ledger): write checkpoints elsewhere", kind: .badInput)
        }
    }

    /// Creates `path` (which must not exist) with `text`, synced; a failure leaves no partial file.
    static func writeNewFile(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let e = errno
            if e == EEXIST { throw LedgerError("file_exists", "\(path) already exists: --out writes a new file and never replaces one", kind: .badInput) }
            throw LedgerError("write_failed", "cannot create \(path): \(String(cString: strerror(e)))", kind: .badInput)
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            unlink(path)
            throw LedgerError("write_failed", "cannot write \(path)", kind: .badInput)
        }
    }
}
