/// A credential's API scope: what it may do, and whether it needs per-project access.
public enum Scope: UInt8, Sendable, CaseIterable, Codable {
    case read = 1
    case readWrite = 2
    case global = 3

    /// Name used on the command line and in JSON.
    public var name: String {
        switch self {
        case .read: "read"
        case .readWrite: "read-write"
        case .global: "global"
        }
    }

    /// Name in the create dialog (seed article).
    public var dialogName: String {
        switch self {
        case .read: "Developer READ API"
        case .readWrite: "Developer READ-WRITE API"
        case .global: "Developer Global API"
        }
    }

    /// Label in the credential table (seed article).
    public var tableLabel: String {
        switch self {
        case .read: "READ ONLY"
        case .readWrite: "READ & WRITE"
        case .global: "GLOBAL"
        }
    }

    /// The most the scope allows on any project.
    public var capability: Capability {
        switch self {
        case .read: .read
        case .readWrite, .global: .readWrite
        }
    }

    public init?(name: String) {
        guard let match = Scope.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}
