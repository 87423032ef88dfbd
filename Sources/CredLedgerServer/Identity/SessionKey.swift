import CredLedgerCore
import Foundation
import Glibc

/// The server's signing key: 32 random bytes in `<ledger dir>/session.key`, created once (O_EXCL, mode 0600) and
/// refused when its mode lets group or others read it. Sessions and CSRF tokens are HMACs under keys derived from it,
/// so deleting the file signs everyone out.
struct SessionKey: Sendable {
    static let fileName = "session.key"
    static let length = 32

    /// Derived per purpose so a session MAC can never pass as a CSRF token and back.
    let sessionKey: [UInt8]
    let csrfKey: [UInt8]

    init(master: [UInt8]) {
        sessionKey = HMACSHA256.authenticationCode(key: master, message: Array("credledger session v1".utf8)).bytes
        csrfKey = HMACSHA256.authenticationCode(key: master, message: Array("credledger csrf v1".utf8)).bytes
    }

    /// Reads the key file in `directory`, creating it with `random` bytes when missing.
    static func load(directory: String, random: any RandomBytesGenerator) throws(LedgerError) -> SessionKey {
        let path = directory + "/" + fileName
        for _ in 0..<2 {
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)  // O_NONBLOCK: a FIFO planted there must not hang the start
            if fd >= 0 {
                defer { close(fd) }
                return SessionKey(master: try read(fd, path: path))
            }
            if errno == ELOOP { throw SessionKey.refused("\(path) is a symbolic link: the key file must be a regular file") }
            guard errno == ENOENT else { throw SessionKey.refused("cannot open \(path): \(String(cString: strerror(errno)))") }
            // Missing: create it exclusively; losing the race to another process means reading its key instead.
            let created = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if created < 0 {
                if errno == EEXIST { continue }
                throw SessionKey.refused("cannot create \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(created) }
            let master = random.bytes(length)
            let written = master.withUnsafeBytes { write(created, $0.baseAddress, $0.count) }
            guard written == length, fsync(created) == 0 else {
                unlink(path)
                throw SessionKey.refused("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            return SessionKey(master: master)
        }
        throw SessionKey.refused("cannot open or create \(path)")
    }

    /// A key file the server will not use (or cannot create): `session_key`, and nothing starts.
    static func refused(_ message: String) -> LedgerError { LedgerError("session_key", message) }

    private static func read(_ fd: Int32, path: String) throws(LedgerError) -> [UInt8] {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw SessionKey.refused("cannot stat \(path)") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw SessionKey.refused("\(path) is not a regular file") }
        guard status.st_mode & 0o077 == 0 else {
            let mode = String(status.st_mode & 0o777, radix: 8)
            throw SessionKey.refused("\(path) has mode \(mode): it signs sessions, so only its owner may read it (chmod 600 \(path))")
        }
        guard status.st_size == off_t(length) else {
            throw SessionKey.refused("\(path) is \(status.st_size) bytes, not \(length): remove it to create a new key (signs everyone out)")
        }
        var bytes = [UInt8](repeating: 0, count: length)
        let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, length) }
        guard got == length else { throw SessionKey.refused("cannot read \(path)") }
        return bytes
    }
}
