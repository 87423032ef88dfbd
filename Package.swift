// swift-tools-version:6.0
import PackageDescription

// Layering (dependencies point one way):
// CLMDB (C) → LMDB (thin wrapper) → CredLedgerCore (events, codec, chain, domain)
//   → CredLedgerProjections (Projections/) → CredLedger (engine) → CredLedgerAPI (wire model) → credledger (Tools/)
// The lab (benchmark, stress drivers) sits beside the product and depends on it, never the reverse:
//   CredLedgerTools (product CLI) → CredLedgerLab (Tools/CredLedgerLab) → credledger-bench
let package = Package(
    name: "credledger",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "CredLedger", targets: ["CredLedger"]),
        .executable(name: "credledger", targets: ["credledger"]),
        .executable(name: "credledger-bench", targets: ["credledger-bench"]),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            path: "Sources/CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // SHA-256 compression with the CPU's SHA extensions, chosen at run time.
        .target(name: "CSHA256", path: "Sources/CSHA256"),
        // Linux file calls Glibc's Swift module lacks (sync_file_range, for the export's streaming writes).
        .target(name: "CFileIO", path: "Sources/CFileIO"),
        .target(name: "LMDB", dependencies: ["CLMDB"], path: "Sources/LMDB"),
        .target(name: "CredLedgerCrypto", dependencies: ["CSHA256"], path: "Sources/CredLedgerCrypto"),
        .target(name: "CredLedgerCore", dependencies: ["CredLedgerCrypto"], path: "Sources/CredLedgerCore"),
        .target(
            name: "CredLedgerProjections",
            dependencies: ["CredLedgerCore"],
            path: "Projections"
        ),
        .target(
            name: "CredLedger",
            dependencies: ["LMDB", "CredLedgerCore", "CredLedgerProjections", "CFileIO"],
            path: "Sources/CredLedger"
        ),
        // The API model: Codable request and response types of every operation (docs/API.md).
        .target(name: "CredLedgerAPI", dependencies: ["CredLedger", "CredLedgerCore"], path: "Sources/CredLedgerAPI"),
        // The HTTP front (`credledger serve`): OAuth server, discovery, forward-auth, admin API and page.
        .target(
            name: "CredLedgerServer",
            dependencies: ["CredLedger", "CredLedgerAPI", "CredLedgerCore", "CredLedgerHTTP"],
            path: "Sources/CredLedgerServer"
        ),
        .target(
            name: "CredLedgerTools",
            dependencies: ["CredLedger", "CredLedgerAPI", "CredLedgerServer", "CredLedgerHTTP"],
            path: "Tools/CredLedgerTools"
        ),
        .executableTarget(
            name: "credledger",
            dependencies: ["CredLedgerTools"],
            path: "Tools/credledger"
        ),
        // The lab: benchmark and stress drivers (`credledger-bench`), used by ReliabilityTests and BenchTests too.
        .target(
            name: "CredLedgerLab",
            dependencies: ["CredLedgerTools", "CredLedger", "CredLedgerCore", "LMDB", "CredLedgerServer"],
            path: "Tools/CredLedgerLab"
        ),
        .executableTarget(
            name: "credledger-bench",
            dependencies: ["CredLedgerLab"],
            path: "Tools/credledger-bench"
        ),
        // Helpers shared by the test targets (temporary directories, a test ledger, the CLI runner, external oracles).
        .target(
            name: "TestSupport",
            dependencies: ["CredLedger", "CredLedgerCore", "CredLedgerTools"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport"], path: "Tests/LMDBTests"),
        .testTarget(name: "CredLedgerCryptoTests", dependencies: ["CredLedgerCrypto", "TestSupport"], path: "Tests/CredLedgerCryptoTests"),
        .testTarget(name: "CredLedgerCoreTests", dependencies: ["CredLedgerCore", "CredLedgerProjections", "TestSupport"], path: "Tests/CredLedgerCoreTests"),
        .testTarget(name: "CredLedgerTests", dependencies: ["CredLedger", "CredLedgerTools", "CredLedgerAPI", "TestSupport"], path: "Tests/CredLedgerTests"),
        .testTarget(name: "AuditTests", dependencies: ["CredLedger", "CredLedgerTools", "TestSupport"], path: "Tests/AuditTests"),
        .testTarget(name: "ReliabilityTests", dependencies: ["CredLedger", "CredLedgerTools", "CredLedgerLab", "TestSupport", "CredLedgerHTTP", "HTTPParserFuzzer"], path: "Tests/ReliabilityTests"),
        .testTarget(name: "BenchTests", dependencies: ["CredLedger", "CredLedgerTools", "CredLedgerLab"], path: "Tests/BenchTests"),
        // The HTTP/1.1 server core (issue 13, docs/HTTP.md): a C shim for what Glibc lacks (epoll, eventfd, signalfd,
        // accept4, sendmsg), the generic server (parser, loops, router, helpers) with no ledger dependency, its tests.
        .target(name: "CHTTPShim", path: "Sources/CHTTPShim"),
        // Optimized even in debug builds: the reliability suite pushes a million fuzz inputs through its parser.
        .target(name: "CredLedgerHTTP", dependencies: ["CHTTPShim"], path: "Sources/CredLedgerHTTP",
                swiftSettings: [.unsafeFlags(["-O"])]),
        .target(name: "HTTPParserFuzzer", dependencies: ["CredLedgerHTTP"], path: "Tests/HTTPParserFuzzer",
                swiftSettings: [.unsafeFlags(["-O"])]),
        .testTarget(name: "HTTPTests", dependencies: ["CredLedgerHTTP", "TestSupport"], path: "Tests/HTTPTests"),
        // The HTTP front against real clients (curl, authlib, nginx), each installed by the tests when missing.
        .testTarget(
            name: "ServerTests",
            dependencies: ["CredLedgerServer", "CredLedgerHTTP", "CredLedger", "CredLedgerAPI", "CredLedgerTools", "TestSupport"],
            path: "Tests/ServerTests",
            // The browser script is run by path with Python, not bundled.
            exclude: ["Browser/admin_page.py"]
        ),
    ]
)
