/// Reads big-endian fields from a byte buffer; a read past the end returns nil and moves nothing.
/// Inlinable: decoders in other modules (replay, export) then read fields with specialised loads, not through
/// generic witness calls.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    @usableFromInline var position: Int = 0

    @inlinable public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inlinable public var offset: Int { position }
    @inlinable public var remaining: Int { bytes.count - position }
    @inlinable public var isAtEnd: Bool { position == bytes.count }

    @inlinable
    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        let value = T(bigEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += size
        return value
    }

    @inlinable
    public mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    /// Reads a UInt16-length-prefixed UTF-8 string; nil if short or not valid UTF-8.
    @inlinable
    public mutating func readString() -> String? {
        let start = position
        guard let length = read(UInt16.self), remaining >= Int(length) else {
            position = start
            return nil
        }
        guard let string = String(validating: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + Int(length))]), as: UTF8.self) else {
            position = start
            return nil
        }
        position += Int(length)
        return string
    }
}

extension FixedWidthInteger {
    /// The value's big-endian bytes (keys sort numerically in LMDB's memcmp order).
    @inlinable public var bigEndianBytes: [UInt8] {
        withUnsafeBytes(of: self.bigEndian) { Array($0) }
    }

    /// Reads a big-endian value from the start of `bytes`; nil if too short.
    @inlinable public init?(bigEndianBytes bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= MemoryLayout<Self>.size else { return nil }
        var value: Self = 0
        for i in 0..<MemoryLayout<Self>.size { value = (value << 8) | Self(truncatingIfNeeded: bytes[i]) }
        self = value
    }

    @inlinable public init?(bigEndianBytes bytes: [UInt8]) {
        guard let v = bytes.withUnsafeBytes({ Self(bigEndianBytes: $0) }) else { return nil }
        self = v
    }
}
