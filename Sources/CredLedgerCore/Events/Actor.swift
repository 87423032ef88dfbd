/// Who caused an event: the system, a company user, or a credential.
public enum Actor: Hashable, Sendable {
    case system
    case user(UInt32)
    case credential(UInt32)

    public var kind: UInt8 {
        switch self {
        case .system: 0
        case .user: 1
        case .credential: 2
        }
    }

    public var id: UInt32 {
        switch self {
        case .system: 0
        case .user(let n), .credential(let n): n
        }
    }

    public init?(kind: UInt8, id: UInt32) {
        switch kind {
        case 0 where id == 0: self = .system
        case 1 where id != 0: self = .user(id)
        case 2 where id != 0: self = .credential(id)
        default: return nil
        }
    }
}
