import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation
import LMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum StressRecord {
    /// The operation of a worker's ordinal-th use: a fixed pseudo-random pattern, so that the checker can tell
    /// that the k-th recorded use of a worker's project is its k-th submitted one (not just that the counts match).
    static func operation(worker: Int, ordinal: Int) -> CredLedgerCore.Operation {
        var r = StressRandom(seed: UInt64(worker) << 40 ^ UInt64(ordinal))
        return r.next() & 1 == 0 ? .read : .write
    }

    static func run(_ inv: Invocation, _ ctx: ToolContext) throws -> Int32 {
        let company = try inv.required("company"), header = try inv.requiredSecret("header")
        let prefix = inv.option("project-prefix") ?? "w"
        let threads = try inv.integer("threads", default: 3, range: 1...64)
        let window = try inv.integer("window", default: 8, range: 1...4096)
        let count = try inv.integer("count", default: 1_000, range: 0...Int.max)
        switch inv.option("durability") ?? "sync" {
        case "sync": ctx.options.durability = .sync
        case "ack-before-sync": ctx.options.durability = .ackBeforeSync
        case let other: throw UsageError("--durability must be sync or ack-before-sync, not '\(other)'")
        }
        if inv.option("map-size") != nil { ctx.options.initialMapSize = try inv.integer("map-size", default: 0, range: 4096...Int.max) }
        if inv.option("max-map-size") != nil { ctx.options.maxMapSize = try inv.integer("max-map-size", default: 0, range: 4096...Int.max) }
        let admin = inv.option("admin")
        let tag = inv.option("tag") ?? "stress"
        let ledger = try ctx.ledger()
        StressOutput.line("ready \(ledger.head.seq)")

        let failed = StressLocked<String?>(nil)
        let group = DispatchGroup()
        for worker in 0..<threads {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                let inFlight = DispatchSemaphore(value: window)
                let project = "\(prefix)\(worker)"
                for ordinal in 0..<count {
                    inFlight.wait()
                    if failed.current != nil { inFlight.signal(); break }
                    let decision: Decision
                    do {
                        decision = try ledger.access.authorize(header: header, company: company, project: project,
                                                        operation: operation(worker: worker, ordinal: ordinal))
                    } catch {
                        failed.withLock { $0 = $0 ?? "authorize: \(error)" }
                        inFlight.signal()
                        break
                    }
                    ledger.access.record(decision) { error in
                        if let error {
                            StressOutput.line("error \(worker) \(ordinal) \(error)")
                            failed.withLock { $0 = $0 ?? "record: \(error)" }
                        } else {
                            StressOutput.line("ack \(worker) \(ordinal) \(ledger.head.seq)")
                        }
                        inFlight.signal()
                    }
                }
                // Wait for every use in flight, then give the semaphore back its initial value
                // (libdispatch traps when a semaphore is released below the value it was created with).
                for _ in 0..<window { inFlight.wait() }
                for _ in 0..<window { inFlight.signal() }
            }
            thread.start()
        }
        if let admin {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                var n = 0
                while failed.current == nil && n < count {
                    do {
                        let issued = try ledger.administration.createCredential(company, NewCredential(name: "\(tag)-\(n)", type: .staticKey, scope: .read), as: admin)
                        StressOutput.line("cmd \(n) \(issued.id) \(ledger.head.seq)")
                    } catch {
                        StressOutput.line("error admin \(n) \(error)")
                        failed.withLock { $0 = $0 ?? "admin: \(error)" }
                    }
                    n += 1
                }
            }
            thread.start()
        }
        group.wait()
        if let failure = failed.current {
            Output.error("error: stress record stopped: \(failure)")
            return ExitCode.usage
        }
        StressOutput.line("done \(ledger.head.seq)")
        return ExitCode.ok
    }
}
