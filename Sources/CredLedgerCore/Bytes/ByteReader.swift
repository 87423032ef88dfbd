/// Reads big-endian fields from a byte buffer; a read past the end returns nil and moves nothing.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public private(set) var offset: Int = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { return nil }
        var value: T = 0
        for i in 0..<size { value = (value << 8) | T(truncatingIfNeeded: bytes[offset + i]) }
        offset += size
        return value
    }

    public mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Reads a UInt16-length-prefixed UTF-8 string; nil if short or not valid UTF-8.
    public mutating func readString() -> String? {
        let start = offset
        guard let length = read(UInt16.self), let raw = readBytes(Int(length)) else {
            offset = start
            return nil
        }
        guard let string = String(validating: raw, as: UTF8.self) else {
            offset = start
            return nil
        }
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
