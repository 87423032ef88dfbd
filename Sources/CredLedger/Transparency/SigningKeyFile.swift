import CredLedgerCore
import Foundation

/// The checkpoint signing key on disk (docs/PROOFS.md §4): one line, Go's `PRIVATE+KEY+<name>+<key ID>+base64(0x01 ‖ seed)`,
/// in a file of mode 0600 that is never part of the LMDB environment (a backup or a copy of `data.mdb` carries no key).
/// Default: `<ledger directory>/transparency.key`; the last checkpoint it signed sits beside it (`<key file>.last`).
public enum SigningKeyFile {
    /// The file name of the default key in a ledger directory.
    public static let defaultName = "transparency.key"

    /// Where the key of the ledger in `directory` is, unless given.
    public static func defaultPath(ledger directory: String) -> String { directory + "/" + defaultName }

    /// Where the last checkpoint signed with the key at `path` is kept.
    public static func lastSignedPath(key path: String) -> String { path + ".last" }

    /// A log name unique to one ledger: `<host>/credledger/<12 random hex digits>` (no space or `+`).
    public static func defaultName(random: any RandomBytesGenerator) -> String {
        var bytes = [UInt8](repeating: 0, count: 6)
        bytes.withUnsafeMutableBytes { random.fill($0) }
        let host = ProcessInfo.processInfo.hostName.unicodeScalars.filter { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "." || $0 == "-") }
        let name = String(String.UnicodeScalarView(host)).lowercased()
        return (name.isEmpty ? "localhost" : name) + "/credledger/" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Makes a new key named `name` at `path`: created exclusively (an existing file, or a link, is never replaced),
    /// mode 0600, written and fsync'd, then its directory fsync'd.
    public static func create(path: String, name: String, random: any RandomBytesGenerator) throws -> Ed25519NoteSigner {
        let signer: Ed25519NoteSigner
        do {
            signer = try Ed25519NoteSigner(name: name, privateKey: Ed25519.PrivateKey.generate(using: random))
        } catch {
            throw LedgerError("bad_key_name", "\(error)", kind: .badInput)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let e = errno
            if e == EEXIST { throw LedgerError("key_exists", "\(path) already exists: a signing key is never replaced (move it away first if you mean to)", kind: .badInput) }
            throw LedgerError("key_file_error", "cannot create \(path): \(String(cString: strerror(e)))", kind: .badInput)
        }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(path) }
        }
        // The mode given to open is masked by the umask; make it exactly 0600.
        guard fchmod(fd, 0o600) == 0 else { throw fileError("cannot set the mode of", path) }
        let line = Array((signer.signerKey + "\n").utf8)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else { throw fileError("cannot write", path) }
        syncDirectory(of: path)
        ok = true
        return signer
    }

    /// Reads the key at `path`. Refuses a link, anything but a regular file, and a file others can read or write
    /// (`key_file_exposed`): a signing key readable by others is no longer the ledger's alone.
    public static func load(path: String) throws -> Ed25519NoteSigner {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT {
                throw LedgerError("no_signing_key", "no checkpoint signing key at \(path): create one with `credledger keygen`", kind: .badInput)
            }
            if e == ELOOP { throw LedgerError("key_file_exposed", "\(path) is a symbolic link: a signing key must be a regular file", kind: .badInput) }
            throw LedgerError("key_file_error", "cannot open \(path): \(String(cString: strerror(e)))", kind: .badInput)
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw fileError("cannot stat", path) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw LedgerError("key_file_error", "\(path) is not a regular file", kind: .badInput) }
        guard status.st_mode & 0o077 == 0 else {
            throw LedgerError("key_file_exposed", "\(path) has mode \(String(status.st_mode & 0o777, radix: 8)): others can read or change the signing key; `chmod 600 \(path)` if nobody else did", kind: .badInput)
        }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0, count < 4096 else { throw LedgerError("bad_key_file", "\(path) does not hold one signing key line", kind: .badInput) }
        var line = Array(bytes[0..<count])
        if line.last == 0x0A { line.removeLast() }
        do {
            return try Ed25519NoteSigner(signerKey: String(decoding: line, as: UTF8.self))
        } catch {
            // Never echo the file's content: it is a secret.
            throw LedgerError("bad_key_file", "\(path) does not hold a signing key in Go's PRIVATE+KEY+… format", kind: .badInput)
        }
    }

    static func fileError(_ what: String, _ path: String) -> LedgerError {
        LedgerError("key_file_error", "\(what) \(path): \(String(cString: strerror(errno)))", kind: .badInput)
    }

    /// fsync of the directory holding `path`, so a new or renamed file survives a crash.
    static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    /// Writes `text` to `path` through a temporary file, fsync'd, renamed over it (readers see the old or the new file
    /// whole). The directory is not fsync'd: a crash may lose the rename and leave the previous record, an older
    /// head that the new one is consistent with — so the rule "never sign an inconsistent head" still holds for every
    /// head before it — and it saves a second fsync per checkpoint.
    static func replace(_ path: String, with text: String) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fileError("cannot create", temporary) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw fileError("cannot write", path)
        }
    }
}
