import CSHA256

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Glibc's getrandom is reached through a one-line C shim in CSHA256 because the Swift Glibc module omits <sys/random.h>.
/// Cryptographic RNG: reads /dev/urandom via getrandom(2) (Glibc `getrandom`), retrying on EINTR; traps only if the kernel refuses.
public struct SystemRandom: RandomBytesGenerator {
    /// The kernel's CSPRNG; holds no state.
    public init() {}

    /// Fills `buffer` from the kernel CSPRNG.
    public func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard var p = buffer.baseAddress else { return }
        var remaining = buffer.count
        #if canImport(Darwin)
        arc4random_buf(p, remaining)
        #else
        // getrandom may return fewer bytes than asked (large requests, signals), so loop.
        while remaining > 0 {
            let got = csha256_getrandom(p, remaining)
            if got < 0 {
                if errno == EINTR { continue }
                // Handing out predictable bytes for keys would be worse than stopping.
                fatalError("SystemRandom: getrandom failed with errno \(errno)")
            }
            p += got
            remaining -= got
        }
        #endif
    }
}
