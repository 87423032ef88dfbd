import Glibc

/// The TCP peer of a connection: numeric host (IPv4-mapped IPv6 `::ffff:a.b.c.d` shown as `a.b.c.d`) and port.
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    /// A peer address; `host` is normalised (`::ffff:127.0.0.1` → `127.0.0.1`, IPv6 lowercased and compressed).
    public init(host: String, port: UInt16) {
        self.host = IPAddress(host)?.description ?? host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A numeric IPv4 or IPv6 address as bytes (4 or 16); IPv4-mapped IPv6 addresses become IPv4.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Parses numeric text (`inet_pton`); nil for anything else (names are never resolved).
    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            let raw = withUnsafeBytes(of: &v6) { Array($0) }
            bytes = raw[0..<10].allSatisfy { $0 == 0 } && raw[10] == 0xFF && raw[11] == 0xFF ? Array(raw[12..<16]) : raw
        } else {
            return nil
        }
    }

    public var isIPv4: Bool { bytes.count == 4 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        var copy = bytes
        let family = isIPv4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &copy, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address range (`127.0.0.1/32`, `10.0.0.0/8`, `::1/128`; a bare address is a single host), for
/// `--trusted-proxy`. IPv4 ranges match IPv4-mapped IPv6 peers too.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int

    /// Parses `address[/prefix]`; nil when the address is not numeric or the prefix is out of range.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        let bits = parts[0].contains(":") ? 128 : 32
        var length = address.bytes.count * 8
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy(\.isASCII), let n = Int(parts[1]),
                  (0...bits).contains(n) else { return nil }
            // An IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) is kept as the IPv4 range it means.
            length = parts[0].contains(":") && address.isIPv4 ? n - 96 : n
            guard length >= 0 else { return nil }
        }
        network = address
        prefixLength = length
    }

    /// Whether `address` (numeric text) lies in the range.
    public func contains(_ address: String) -> Bool {
        guard let ip = IPAddress(address) else { return false }
        return contains(ip)
    }

    /// Whether the peer's address lies in the range.
    public func contains(_ peer: PeerAddress) -> Bool { contains(peer.host) }

    public func contains(_ ip: IPAddress) -> Bool {
        guard ip.bytes.count == network.bytes.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(ip.bytes, network.bytes) {
            if remaining <= 0 { return true }
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }

    public var description: String { "\(network)/\(prefixLength)" }
}
