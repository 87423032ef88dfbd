import CSHA256

/// Streaming SHA-256 (FIPS 180-4). Value type; no allocation per update/finalize.
public struct SHA256: Sendable {
    /// Which compression function a hasher runs; `.accelerated` falls back to `.portable` without SHA extensions.
    public enum Implementation: Sendable, Hashable {
        case portable
        case accelerated
    }

    /// The working state a..h; a homogeneous tuple so it is laid out as uint32_t[8] for the C path.
    internal typealias State = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    /// One 64-byte message block, inline so buffering never allocates.
    internal typealias Block = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    private var state: State
    private var buffer: Block
    private var bufferCount: Int
    private var messageLength: UInt64
    // Chosen per hasher (not read from a global per block) so tests can pin either path
    // without shared mutable state.
    private let accelerated: Bool

    /// Detected once: CPUID does not change while the process runs.
    private static let hardwareAvailable: Bool = csha256_ni_available() != 0

    /// true when the CPU's SHA extensions are used (detected once at run time).
    public static var isAccelerated: Bool { hardwareAvailable }

    /// A hasher using the fastest implementation this CPU supports.
    public init() {
        self.init(accelerated: SHA256.hardwareAvailable)
    }

    /// A hasher pinned to `implementation` (tests use this to cover both paths).
    public init(implementation: Implementation) {
        self.init(accelerated: implementation == .accelerated && SHA256.hardwareAvailable)
    }

    private init(accelerated: Bool) {
        state = (0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19)
        buffer = (0, 0, 0, 0, 0, 0, 0, 0)
        bufferCount = 0
        messageLength = 0
        self.accelerated = accelerated
    }

    /// The implementation this hasher actually runs.
    public var implementation: Implementation { accelerated ? .accelerated : .portable }

    /// Feeds `bytes` into the hash.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var source = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        messageLength &+= UInt64(remaining)

        if bufferCount > 0 {
            let take = Swift.min(64 - bufferCount, remaining)
            let offset = bufferCount
            Swift.withUnsafeMutableBytes(of: &buffer) { raw in
                (raw.baseAddress! + offset).copyMemory(from: source, byteCount: take)
            }
            bufferCount += take
            source += take
            remaining -= take
            guard bufferCount == 64 else { return }
            // Copy the block out so the compression can mutate `state` while reading it.
            var block = buffer
            let accelerated = self.accelerated
            Swift.withUnsafeBytes(of: &block) { raw in
                SHA256.compress(&state, accelerated: accelerated, raw.baseAddress!, blockCount: 1)
            }
            bufferCount = 0
        }

        // Whole blocks are compressed straight from the caller's memory, skipping the buffer.
        let wholeBlocks = remaining >> 6
        if wholeBlocks > 0 {
            SHA256.compress(&state, accelerated: accelerated, source, blockCount: wholeBlocks)
            source += wholeBlocks << 6
            remaining &= 63
        }

        if remaining > 0 {
            let tail = remaining
            Swift.withUnsafeMutableBytes(of: &buffer) { raw in
                raw.baseAddress!.copyMemory(from: source, byteCount: tail)
            }
            bufferCount = remaining
        }
    }

    /// Feeds `bytes` into the hash.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Feeds the 32 bytes of `digest` into the hash.
    public mutating func update(_ digest: SHA256Digest) {
        digest.withUnsafeBytes { update($0) }
    }

    /// Pads the message and returns its digest.
    public consuming func finalize() -> SHA256Digest {
        let bitLength = messageLength &* 8
        var block = buffer
        var used = bufferCount
        let accelerated = self.accelerated
        Swift.withUnsafeMutableBytes(of: &block) { raw in
            let base = raw.baseAddress!
            raw[used] = 0x80
            used += 1
            if used > 56 {
                // No room for the 64-bit length: finish this block and pad a fresh one.
                (base + used).initializeMemory(as: UInt8.self, repeating: 0, count: 64 - used)
                SHA256.compress(&state, accelerated: accelerated, base, blockCount: 1)
                used = 0
            }
            (base + used).initializeMemory(as: UInt8.self, repeating: 0, count: 56 - used)
            raw.storeBytes(of: bitLength.bigEndian, toByteOffset: 56, as: UInt64.self)
            SHA256.compress(&state, accelerated: accelerated, base, blockCount: 1)
        }
        return SHA256Digest(state: state)
    }

    /// SHA-256 of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// SHA-256 of `bytes` computed with `implementation`.
    public static func hash(_ bytes: UnsafeRawBufferPointer, implementation: Implementation) -> SHA256Digest {
        var hasher = SHA256(implementation: implementation)
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// SHA-256 of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> SHA256Digest {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// SHA-256 of `bytes` computed with `implementation`.
    public static func hash(_ bytes: [UInt8], implementation: Implementation) -> SHA256Digest {
        bytes.withUnsafeBytes { hash($0, implementation: implementation) }
    }

    /// SHA-256 of the UTF-8 encoding of `string`.
    public static func hash(_ string: String) -> SHA256Digest {
        var string = string
        return string.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// hash(prev || bytes) without building the concatenation: the hash-chain link.
    public static func link(_ previous: SHA256Digest, _ bytes: UnsafeRawBufferPointer) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(previous)
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// hash(prev || bytes) computed with `implementation`.
    public static func link(
        _ previous: SHA256Digest, _ bytes: UnsafeRawBufferPointer, implementation: Implementation
    ) -> SHA256Digest {
        var hasher = SHA256(implementation: implementation)
        hasher.update(previous)
        hasher.update(bytes)
        return hasher.finalize()
    }

    @inline(__always)
    private static func compress(
        _ state: inout State, accelerated: Bool, _ blocks: UnsafeRawPointer, blockCount: Int
    ) {
        if accelerated {
            Swift.withUnsafeMutablePointer(to: &state) { tuple in
                tuple.withMemoryRebound(to: UInt32.self, capacity: 8) { words in
                    csha256_ni_compress(words, blocks.assumingMemoryBound(to: UInt8.self), blockCount)
                }
            }
        } else {
            compressPortable(&state, blocks, blockCount: blockCount)
        }
    }
}
