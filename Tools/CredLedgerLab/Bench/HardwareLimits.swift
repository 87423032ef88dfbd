import CredLedgerCore
import Foundation

/// What the machine itself does for the bytes the ledger handles, measured in the same run: the limits a figure
/// is judged against when it misses a target (a raw rate, not an argument).
struct HardwareLimits {
    /// SHA-256 of one use's hashed bytes (previous hash ‖ domain ‖ seq ‖ 32-byte body = 73 bytes), one core.
    var sha256PerSecond: Double
    /// `pwrite` of one 4 KiB page then `fdatasync`, back to back: the commit's floor.
    var fsyncPerSecond: Double
    /// Buffered `write(2)` of 1 MiB chunks to a new file (no sync): the page-cache copy an export pays.
    var writeMegabytesPerSecond: Double
    /// A commit's I/O in LMDB's shape, at 1 and at 16 dirty pages: what the machine charges for it.
    var commitIO: [CommitIOCost] = []

    /// LMDB's commit I/O without LMDB: `pages` scattered 4 KiB `pwrite`s into pages the previous commit's flush left
    /// clean (one syscall each, as `mdb_page_flush` writes pages that are not adjacent), `fdatasync`, then one 4 KiB
    /// meta `pwrite` and a second `fdatasync` (the meta page's sync). `cpuMicros` is this thread's CPU (user +
    /// system) per commit: on a virtual machine each flush and each scattered page's own device request (its queue
    /// notification, a VM exit) are billed there, on the cores the callers share.
    struct CommitIOCost {
        var pages: Int
        var cpuMicros: Double
        var wallMicros: Double
    }

    /// The CPU of one commit's I/O at `pages` dirty pages, from the two probes (linear between and beyond them);
    /// nil when not measured.
    func commitCPUMicros(pages: Double) -> Double? {
        guard let a = commitIO.first, let b = commitIO.last, b.pages > a.pages else { return nil }
        let slope = (b.cpuMicros - a.cpuMicros) / Double(b.pages - a.pages)
        return max(0, a.cpuMicros + slope * (pages - Double(a.pages)))
    }

    var json: [String: Any] {
        ["sha256_73b_per_s": BenchFormat.round(sha256PerSecond, 0), "fsync_4k_per_s": BenchFormat.round(fsyncPerSecond, 0),
         "fsync_ms": BenchFormat.round(fsyncPerSecond > 0 ? 1000 / fsyncPerSecond : 0, 3),
         "buffered_write_mb_per_s": BenchFormat.round(writeMegabytesPerSecond, 1),
         "commit_io": commitIO.map { ["pages": $0.pages, "cpu_us": BenchFormat.round($0.cpuMicros, 1), "wall_us": BenchFormat.round($0.wallMicros, 1)] }]
    }

    static func measure(directory: String, seconds: Double) throws -> HardwareLimits {
        HardwareLimits(sha256PerSecond: sha256Rate(seconds: seconds),
                       fsyncPerSecond: try fsyncRate(path: directory + "/fsync-probe", seconds: seconds),
                       writeMegabytesPerSecond: try writeRate(path: directory + "/write-probe", seconds: seconds),
                       commitIO: try [1, 16].map { try commitIOCost(path: directory + "/commit-probe", pages: $0, seconds: seconds / 2) })
    }

    /// See `CommitIOCost`. The pages are spread over a 4 MiB file written and synced first, so every write lands on
    /// an allocated page that the previous flush left clean, and no two are adjacent.
    static func commitIOCost(path: String, pages: Int, seconds: Double) throws -> CommitIOCost {
        let fd = try scratchFile(path, O_CREAT | O_RDWR | O_TRUNC)
        defer {
            close(fd)
            unlink(path)
        }
        let slots = 1024
        let page = [UInt8]((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) | 1 })
        func fail(_ what: String) -> LedgerError {
            LedgerError("bench_failed", "\(what) failed on \(path) (errno \(errno))", kind: .badInput)
        }
        func write(slot: Int) throws {
            guard page.withUnsafeBytes({ pwrite(fd, $0.baseAddress, 4096, off_t(4096 * slot)) }) == 4096 else { throw fail("pwrite") }
        }
        func sync() throws {
            guard fdatasync(fd) == 0 else { throw fail("fdatasync") }
        }
        for slot in 0..<slots { try write(slot: slot) }
        try sync()
        var commits = 0
        let cpuStart = ThreadCPU.nanos()
        let start = BenchClock.nanos()
        let deadline = start + UInt64(seconds * 1e9)
        repeat {
            for p in 0..<pages {
                // Odd strides over 1,023 data slots (slot 0 is the meta page): scattered, never adjacent within a commit.
                try write(slot: 1 + (commits &* 61 &+ p &* 67) % (slots - 1))
            }
            try sync()
            try write(slot: 0)
            try sync()
            commits += 1
        } while BenchClock.nanos() < deadline
        let wall = Double(BenchClock.nanos() - start) / 1000
        let cpu = Double(ThreadCPU.nanos() &- cpuStart) / 1000
        return CommitIOCost(pages: pages, cpuMicros: cpu / Double(commits), wallMicros: wall / Double(commits))
    }

    static func sha256Rate(seconds: Double) -> Double {
        var message = [UInt8](repeating: 0, count: 73)
        var n = 0
        let start = BenchClock.nanos()
        let deadline = start + UInt64(seconds * 1e9)
        var digest = SHA256Digest.zero
        while BenchClock.nanos() < deadline {
            for _ in 0..<1024 {
                // Chain like the log does, so the work cannot be hoisted out of the loop.
                digest = message.withUnsafeBytes { SHA256.hash($0) }
                digest.withUnsafeBytes { d in message.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: d[0..<32])) } }
            }
            n += 1024
        }
        return Double(n) / BenchClock.seconds(since: start)
    }

    static func fsyncRate(path: String, seconds: Double) throws -> Double {
        let fd = try scratchFile(path, O_CREAT | O_RDWR | O_TRUNC)
        defer {
            close(fd)
            unlink(path)
        }
        let page = [UInt8](repeating: 0x5A, count: 4096)
        var n = 0
        let start = BenchClock.nanos()
        let deadline = start + UInt64(seconds * 1e9)
        while BenchClock.nanos() < deadline {
            let written = page.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(4096 * (n % 16))) }
            guard written == 4096, fdatasync(fd) == 0 else {
                throw LedgerError("bench_failed", "write or fdatasync failed on \(path) (errno \(errno))", kind: .badInput)
            }
            n += 1
        }
        return Double(n) / BenchClock.seconds(since: start)
    }

    static func writeRate(path: String, seconds: Double) throws -> Double {
        let fd = try scratchFile(path, O_CREAT | O_WRONLY | O_TRUNC)
        defer {
            close(fd)
            unlink(path)
        }
        let chunk = [UInt8](repeating: 0x41, count: 1 << 20)
        var bytes = 0
        let start = BenchClock.nanos()
        let deadline = start + UInt64(seconds * 1e9)
        // At most 256 MiB: the page cache, not the disk, is what an export's write(2) pays for.
        while BenchClock.nanos() < deadline && bytes < 256 << 20 {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == chunk.count else {
                throw LedgerError("bench_failed", "write failed on \(path) (errno \(errno))", kind: .badInput)
            }
            bytes += written
        }
        return Double(bytes) / 1_048_576 / BenchClock.seconds(since: start)
    }

    /// Writes exactly `bytes` in 1 MiB chunks of non-zero data to a new file, then `fsync`s it, and removes it:
    /// the disk's work for an export of that size (its `write(2)`s, then `ExportFile.finish`'s `fsync`). Returns the
    /// seconds from the first write to the end of the `fsync`.
    static func syncedWrite(path: String, bytes: UInt64) throws -> Double {
        let fd = try scratchFile(path, O_CREAT | O_WRONLY | O_TRUNC)
        defer {
            close(fd)
            unlink(path)
        }
        // Not zeros: a file system or a device may treat zero pages specially.
        let chunk = [UInt8]((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) | 1 })
        var left = bytes
        let start = BenchClock.nanos()
        while left > 0 {
            let n = Int(min(left, UInt64(chunk.count)))
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, n) }
            guard written == n else {
                throw LedgerError("bench_failed", "write failed on \(path) (errno \(errno))", kind: .badInput)
            }
            left -= UInt64(n)
        }
        guard fsync(fd) == 0 else { throw LedgerError("bench_failed", "fsync failed on \(path) (errno \(errno))", kind: .badInput) }
        return BenchClock.seconds(since: start)
    }

    /// A new scratch file for a probe (the caller closes and removes it).
    private static func scratchFile(_ path: String, _ flags: Int32) throws -> Int32 {
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else { throw LedgerError("bench_failed", "cannot create \(path) (errno \(errno))", kind: .badInput) }
        return fd
    }
}
