import CredLedger
import CredLedgerCore
import CredLedgerTools
import Foundation

/// `credledger-bench transparency`: what the transparency tree costs and how fast its proofs are (issue 16 targets):
/// durable use recording with and without the tree in the same run (alternating, same fixture), disk per use event
/// each way, inclusion and consistency proofs and roots at the filled size, checkpoint signing, the tree's rebuild.
struct TransparencyBench {
    struct Config {
        var events: Int
        var seconds: Double
        var rounds: Int
        var samples: Int
        var quick: Bool
        var directory: String?
        var keep: Bool

        static func standard(quick: Bool) -> Config {
            quick ? Config(events: 200_000, seconds: 0.5, rounds: 1, samples: 500, quick: true, directory: nil, keep: false)
                : Config(events: 1_000_000, seconds: 2, rounds: 2, samples: 2_000, quick: false, directory: nil, keep: false)
        }
    }

    /// One recording configuration measured on both ledgers.
    struct RecordingPair {
        var mode: RecordingBench.Mode
        var callers: Int
        var withTree: [Double] = []
        var withoutTree: [Double] = []
        /// The writer's CPU time building each batch (apply µs per event), each way: less sensitive to fsync noise.
        var applyWith: [Double] = []
        var applyWithout: [Double] = []
        var ratio: Double {
            let a = withTree.reduce(0, +), b = withoutTree.reduce(0, +)
            return b > 0 ? a / b : 0
        }
    }

    let config: Config
    let options: Ledger.Options
    let progress: (String) -> Void
    var recording: [RecordingPair] = []
    /// Growth of the data file per use event (free pages included) and of the tables' pages (in use only).
    var diskPerUse: (withTree: Double, withoutTree: Double) = (0, 0)
    var tablePagesPerUse: (withTree: Double, withoutTree: Double) = (0, 0)
    var treeRows: (nodes: Int, bytesPerEvent: Double) = (0, 0)
    var size: UInt64 = 0
    var inclusion = LatencySummary(count: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0)
    var consistency = LatencySummary(count: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0)
    var root = LatencySummary(count: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0)
    var checkpoint = LatencySummary(count: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0)
    var signOnly = LatencySummary(count: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0)
    var rebuild: TreeRebuild?
    var proofsVerified = true
    var machine: [String: Any] = [:]

    init(config: Config, options: Ledger.Options, progress: @escaping (String) -> Void) {
        self.config = config
        self.options = options
        self.progress = progress
    }

    mutating func run() throws {
        let root = config.directory ?? (NSTemporaryDirectory() + "credledger-tbench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if !config.keep { try? FileManager.default.removeItem(atPath: root) } }
        machine = BenchMachine.describe(directory: root)
        let options = self.options.forBenchmark
        var bare = options
        bare.withoutTransparencyTree = true
        let withTree = try Ledger(path: root + "/with-tree", options: options)
        defer { withTree.close() }
        let withoutTree = try Ledger(path: root + "/without-tree", options: bare)
        defer { withoutTree.close() }

        // The same fixture and decisions in both (same seeds).
        var decisions: [[Decision]] = []
        var pools: [[AuthRequest]] = []
        for (ledger, name) in [(withTree, "with"), (withoutTree, "without")] {
            progress("fixture (\(name) the tree)")
            let fixture = LedgerFixture(ledger: ledger, shape: .init(companies: 20, projects: 200, credentials: 2_000, sequentialSample: 10))
            try fixture.build(progress: { _ in })
            let pool = try AuthorizationBench.pool(fixture, count: 16_384, bearer: nil, seed: 7)
            pools.append(pool)
            decisions.append(try AuthorizationBench.decisions(ledger, pool: pool))
        }

        // 1. Durable recording, alternating with / without, `rounds` times each.
        var pairs: [RecordingPair] = [RecordingPair(mode: .threads, callers: 1), RecordingPair(mode: .threads, callers: 64),
                                      RecordingPair(mode: .tasks, callers: 1024), RecordingPair(mode: .batch(size: 256), callers: 8)]
        if config.quick { pairs.removeLast() }
        for i in 0..<2 { _ = try RecordingBench.run([withTree, withoutTree][i], mode: .tasks, callers: 64, seconds: 0.2, decisions: decisions[i], requests: pools[i]) }
        for round in 0..<config.rounds {
            for p in pairs.indices {
                progress("recording round \(round + 1): \(pairs[p].mode.name), \(pairs[p].callers) callers")
                let a = try RecordingBench.run(withTree, mode: pairs[p].mode, callers: pairs[p].callers, seconds: config.seconds, decisions: decisions[0], requests: pools[0])
                let b = try RecordingBench.run(withoutTree, mode: pairs[p].mode, callers: pairs[p].callers, seconds: config.seconds, decisions: decisions[1], requests: pools[1])
                pairs[p].withTree.append(a.usesPerSecond)
                pairs[p].withoutTree.append(b.usesPerSecond)
                pairs[p].applyWith.append(a.applyMicrosPerEvent)
                pairs[p].applyWithout.append(b.applyMicrosPerEvent)
            }
        }
        recording = pairs

        // 2. Disk per use event, each way, over the same number of uses.
        let sample = min(config.quick ? 50_000 : 300_000, config.events)
        var perUse: [Double] = [], tablesPerUse: [Double] = []
        for (i, ledger) in [withTree, withoutTree].enumerated() {
            progress("disk: \(sample) uses \(i == 0 ? "with" : "without") the tree")
            let before = try ledger.maintenance.storageInfo().fileBytes, tablesBefore = try ledger.maintenance.tableStatistics().reduce(0) { $0 + $1.bytes }
            _ = try RecordingBench.fill(ledger, count: sample, decisions: decisions[i]) { _ in }
            perUse.append(Double(try ledger.maintenance.storageInfo().fileBytes - before) / Double(sample))
            tablesPerUse.append(Double(try ledger.maintenance.tableStatistics().reduce(0) { $0 + $1.bytes } - tablesBefore) / Double(sample))
        }
        diskPerUse = (perUse[0], perUse[1])
        tablePagesPerUse = (tablesPerUse[0], tablesPerUse[1])

        // 3. Fill the ledger with the tree to --events.
        let missing = config.events - Int(withTree.head.seq)
        if missing > 0 {
            progress("fill: \(missing) uses (to \(config.events) events)")
            _ = try RecordingBench.fill(withTree, count: missing, decisions: decisions[0]) { n in self.progress("  \(n) / \(missing)") }
        }
        size = withTree.head.seq
        let stats = try withTree.maintenance.tableStatistics()
        if let nodes = stats.first(where: { $0.name == "merkle_nodes" }) {
            treeRows = (nodes.entries, Double(nodes.bytes) / Double(max(size, 1)))
        }

        // 4. Proofs and roots at that size (each call one read transaction, as a caller gets it).
        progress("proofs at \(size) events")
        var random = BenchRandom(seed: 16)
        let head = try withTree.transparency.treeHead()
        var samples = LatencySamples(capacity: config.samples)
        for i in 0..<config.samples {
            let seq = UInt64.random(in: 1...size, using: &random)
            let t0 = BenchClock.nanos()
            let proof = try withTree.transparency.inclusionProof(seq: seq)
            samples.add(nanos: BenchClock.nanos() &- t0)
            if i % 97 == 0 { proofsVerified = proofsVerified && (try? proof.verify(root: head.root)) != nil }
        }
        inclusion = samples.summary()
        samples = LatencySamples(capacity: config.samples)
        for i in 0..<config.samples {
            let new = UInt64.random(in: 2...size, using: &random), old = UInt64.random(in: 1..<new, using: &random)
            let t0 = BenchClock.nanos()
            let proof = try withTree.transparency.consistencyProof(old: old, new: new)
            samples.add(nanos: BenchClock.nanos() &- t0)
            if i % 97 == 0 { proofsVerified = proofsVerified && (try? proof.verify(oldRoot: proof.oldRoot, newRoot: proof.newRoot)) != nil }
        }
        consistency = samples.summary()
        samples = LatencySamples(capacity: config.samples)
        for _ in 0..<config.samples {
            let n = UInt64.random(in: 1...size, using: &random)
            let t0 = BenchClock.nanos()
            _ = try withTree.transparency.treeHead(size: n)
            samples.add(nanos: BenchClock.nanos() &- t0)
        }
        self.root = samples.summary()

        // 5. Checkpoints: sign the head (after the consistency check against the last signed, and its fsync'd record).
        progress("checkpoints")
        let key = try SigningKeyFile.create(path: root + "/transparency.key", name: "bench.example/credledger/bench", random: SystemRandom())
        samples = LatencySamples(capacity: 200)
        for _ in 0..<(config.quick ? 50 : 200) {
            let t0 = BenchClock.nanos()
            _ = try withTree.transparency.signCheckpoint(key: key, lastSigned: root + "/transparency.key.last")
            samples.add(nanos: BenchClock.nanos() &- t0)
        }
        checkpoint = samples.summary()
        samples = LatencySamples(capacity: 200)
        for _ in 0..<(config.quick ? 50 : 200) {
            let t0 = BenchClock.nanos()
            _ = try SignedCheckpoint(Checkpoint(origin: key.name, size: head.size, root: head.root), signer: key)
            samples.add(nanos: BenchClock.nanos() &- t0)
        }
        signOnly = samples.summary()

        // 6. The tree alone, rebuilt from the stored chain hashes.
        progress("tree rebuild")
        rebuild = try withTree.transparency.rebuildTreeInScratch(directory: root + "/tree-scratch")
        // Its hashing alone (leaf + nodes per event, in memory), to split the rebuild's time.
        var frontier = MerkleFrontier()
        var input = SHA256.hash("bench")
        let t0 = BenchClock.nanos()
        for _ in 0..<Int(size) {
            frontier.append(leafHash: MerkleHash.leaf(input)) { _, _, h in input = h }
        }
        hashingPerSecond = Double(size) / BenchClock.seconds(since: t0)
        if frontier.root == MerkleHash.empty { proofsVerified = false }
    }

    /// Leaves (with their nodes) hashed per second in memory.
    var hashingPerSecond: Double = 0

    var integrityOK: Bool { proofsVerified && rebuild.map { $0.rebuilt == $0.live } ?? false }

    var json: [String: Any] {
        var out: [String: Any] = [
            "machine": machine, "events": size,
            "recording": recording.map { p in
                ["mode": p.mode.key, "callers": p.callers, "with_tree_uses_per_s": p.withTree.map { BenchFormat.round($0, 0) },
                 "without_tree_uses_per_s": p.withoutTree.map { BenchFormat.round($0, 0) }, "ratio": BenchFormat.round(p.ratio, 3),
                 "writer_apply_us_per_event_with_tree": p.applyWith.map { BenchFormat.round($0, 3) },
                 "writer_apply_us_per_event_without_tree": p.applyWithout.map { BenchFormat.round($0, 3) }] as [String: Any]
            },
            "disk_bytes_per_use": ["with_tree": BenchFormat.round(diskPerUse.withTree, 1), "without_tree": BenchFormat.round(diskPerUse.withoutTree, 1)],
            "table_bytes_per_use": ["with_tree": BenchFormat.round(tablePagesPerUse.withTree, 1), "without_tree": BenchFormat.round(tablePagesPerUse.withoutTree, 1)],
            "checkpoint_sign_only": signOnly.json,
            "tree_nodes": treeRows.nodes, "tree_node_bytes_per_event": BenchFormat.round(treeRows.bytesPerEvent, 1),
            "inclusion_proof": inclusion.json, "consistency_proof": consistency.json, "root": root.json, "checkpoint": checkpoint.json,
            "proofs_verified": proofsVerified,
        ]
        if let rebuild {
            out["tree_hashing_events_per_s"] = BenchFormat.round(hashingPerSecond, 0)
            out["tree_rebuild"] = ["events": rebuild.events, "seconds": BenchFormat.round(rebuild.seconds, 3),
                                   "events_per_s": BenchFormat.round(rebuild.eventsPerSecond, 0), "identical": rebuild.rebuilt == rebuild.live]
        }
        return out
    }

    func printTables() {
        Output.line("credledger-bench transparency — \(machine["cpu"] ?? "?"), SHA extensions \(machine["sha_extensions"] ?? "?"), load \(machine["load_average"] ?? "?"), \(machine["build"] ?? "?")")
        Output.line("\nDurable use recording, with vs without the tree (same run, alternating; target ≥ 0.90×):")
        Output.table(["mode", "callers", "with tree (uses/s)", "without (uses/s)", "ratio", "writer µs/event with / without"], recording.map { p in
            [p.mode.name, String(p.callers), p.withTree.map { String(Int($0)) }.joined(separator: " / "),
             p.withoutTree.map { String(Int($0)) }.joined(separator: " / "), String(format: "%.3f", p.ratio),
             String(format: "%.2f / %.2f", p.applyWith.reduce(0, +) / Double(max(1, p.applyWith.count)), p.applyWithout.reduce(0, +) / Double(max(1, p.applyWithout.count)))]
        })
        Output.line(String(format: "\nDisk per use event (data file growth): %.1f B with the tree, %.1f B without (+%.1f B)",
                           diskPerUse.withTree, diskPerUse.withoutTree, diskPerUse.withTree - diskPerUse.withoutTree))
        Output.line(String(format: "Table pages per use event (in use): %.1f B with the tree, %.1f B without (+%.1f B); merkle_nodes: %d rows, %.1f B per event",
                           tablePagesPerUse.withTree, tablePagesPerUse.withoutTree, tablePagesPerUse.withTree - tablePagesPerUse.withoutTree, treeRows.nodes, treeRows.bytesPerEvent))
        Output.line("\nAt \(size) events (each one read transaction; targets: proofs < 1 ms, checkpoint < 5 ms):")
        Output.table(["operation", "mean µs", "p50 µs", "p99 µs", "max µs"], [
            ("inclusion proof", inclusion), ("consistency proof", consistency), ("root of a random size", root),
            ("checkpoint (prove vs last, sign, fsync record)", checkpoint), ("  of which the signature (Ed25519)", signOnly),
        ].map { [$0.0, String(format: "%.1f", $0.1.mean), String(format: "%.1f", $0.1.p50), String(format: "%.1f", $0.1.p99), String(format: "%.1f", $0.1.max)] })
        if let rebuild {
            Output.line(String(format: "\nTree rebuild from the stored chain hashes: %llu events in %.3f s = %.0f events/s (target ≥ 2,000,000); byte-identical to the live tree: %@",
                               rebuild.events, rebuild.seconds, rebuild.eventsPerSecond, rebuild.rebuilt == rebuild.live ? "yes" : "NO"))
        }
        Output.line(String(format: "Tree hashing alone (leaf + nodes, in memory): %.0f events/s", hashingPerSecond))
        if !proofsVerified { Output.line("PROOFS DID NOT VERIFY") }
    }
}
