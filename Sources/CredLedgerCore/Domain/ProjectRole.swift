/// A role on a project; each carries a capability. Built-ins only (stable codes in the log).
public enum ProjectRole: UInt8, Sendable, CaseIterable {
    case viewer = 1
    case editor = 2
    case projectAdmin = 3

    public var name: String {
        switch self {
        case .viewer: "viewer"
        case .editor: "editor"
        case .projectAdmin: "project-admin"
        }
    }

    public var capability: Capability {
        switch self {
        case .viewer: .read
        case .editor, .projectAdmin: .readWrite
        }
    }

    public init?(name: String) {
        guard let match = ProjectRole.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}

/// A member's role in a company; the API area is admin-only.
public enum CompanyRole: UInt8, Sendable, CaseIterable {
    case removed = 0
    case member = 1
    case admin = 2

    public var name: String {
        switch self {
        case .removed: "removed"
        case .member: "member"
        case .admin: "admin"
        }
    }

    public init?(name: String) {
        switch name {
        case "member": self = .member
        case "admin": self = .admin
        case "removed", "none": self = .removed
        default: return nil
        }
    }
}
