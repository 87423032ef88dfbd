#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The file-system calls the environment needs before `mdb_env_open`. Internal.
enum FilePaths {
    /// Creates `path` and its missing parents (`mkdir -p`) with `mode`.
    ///
    /// - Throws: ``LMDBError`` with the errno of the failing `mkdir` (for example
    ///   ``LMDBError/accessDenied``, ``LMDBError/readOnlyFS``, ``LMDBError/noSpace``).
    static func createDirectory(_ path: String, mode: mode_t) throws {
        guard !path.isEmpty else { return }
        var isDirectory = false
        if exists(path, isDirectory: &isDirectory) {
            guard isDirectory else {
                throw LMDBError(code: ENOTDIR, function: "mkdir", detail: path)
            }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path {
            try createDirectory(parent, mode: mode)
        }
        if mkdir(path, mode) != 0 {
            let code = errno
            if code == EEXIST { return }
            throw LMDBError(code: code, function: "mkdir", detail: path)
        }
    }

    /// `stat(2)`: whether `path` exists.
    static func exists(_ path: String, isDirectory: inout Bool) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        return true
    }

    /// The parent directory of `path` (`"."` for a bare name, `"/"` for the root).
    static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// The last path component of `path`.
    static func lastComponent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// `realpath(3)` of an existing path.
    ///
    /// - Throws: ``LMDBError`` with the errno of `realpath` (``LMDBError/noEntry`` if missing).
    static func realPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            throw LMDBError(code: errno, function: "realpath", detail: path)
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The real path of an environment: `realpath(path)` for a directory environment, and
    /// `realpath(parent)/name` for a `MDB_NOSUBDIR` data file (which may not exist yet).
    static func environmentKey(_ path: String, noSubdir: Bool) throws -> String {
        guard noSubdir else { return try realPath(path) }
        let parent = try realPath(parentDirectory(of: path))
        let name = lastComponent(of: path)
        return parent == "/" ? "/" + name : parent + "/" + name
    }

    /// `sysconf(_SC_PAGESIZE)`, 4096 if unknown.
    static let pageSize: Int = {
        let size = sysconf(Int32(_SC_PAGESIZE))
        return size > 0 ? size : 4096
    }()
}
