/// Why a stored record could not be decoded; carries the sequence number and byte offset.
public struct EventCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case truncated, unknownFormatVersion, unknownType, unknownSchemaVersion, badActor, badEnum,
             badString, trailingBytes, lengthMismatch, fieldTooLong
    }

    public let reason: Reason
    public let seq: UInt64
    public let offset: Int

    public init(_ reason: Reason, seq: UInt64, offset: Int) {
        self.reason = reason
        self.seq = seq
        self.offset = offset
    }

    public var description: String { "event \(seq): cannot decode (\(reason.rawValue) at byte \(offset))" }
}
