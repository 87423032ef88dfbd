import Foundation

/// A fresh directory under the system temporary directory, removed (with any permissions a
/// test changed restored first) by ``remove()``.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "lmdb") throws {
        let base = NSTemporaryDirectory()
        var template = Array((base + "/credledger-\(label).XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard let created else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        path = String(cString: created)
    }

    /// `path/name`.
    public func appending(_ name: String) -> String {
        path + "/" + name
    }

    /// Restores owner permissions everywhere below `path`, then deletes it.
    public func remove() {
        Self.remove(path)
    }

    /// Restores owner permissions everywhere below `path` (a test may have made parts unreadable), then deletes it.
    public static func remove(_ path: String) {
        let manager = FileManager.default
        _ = chmod(path, 0o700)
        if let enumerator = manager.enumerator(atPath: path) {
            for case let relative as String in enumerator {
                _ = chmod(path + "/" + relative, 0o700)
            }
        }
        try? manager.removeItem(atPath: path)
    }
}
