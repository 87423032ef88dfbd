/// What a principal may do on a project.
public enum Capability: UInt8, Sendable, Comparable {
    case none = 0
    case read = 1
    case readWrite = 2

    public static func < (a: Capability, b: Capability) -> Bool { a.rawValue < b.rawValue }

    /// Effective access is the intersection (minimum) of two capabilities.
    public func intersection(_ other: Capability) -> Capability { min(self, other) }

    public func allows(_ operation: Operation) -> Bool {
        switch operation {
        case .read: self >= .read
        case .write: self == .readWrite
        }
    }

    public var name: String {
        switch self {
        case .none: "none"
        case .read: "read"
        case .readWrite: "read-write"
        }
    }
}

/// The operation an API request wants to perform.
public enum Operation: UInt8, Sendable, CaseIterable {
    case read = 1
    case write = 2

    public var name: String { self == .read ? "read" : "write" }

    public init?(name: String) {
        switch name {
        case "read": self = .read
        case "write": self = .write
        default: return nil
        }
    }
}
