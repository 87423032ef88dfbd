import CredLedger
import CredLedgerCore
import CredLedgerServer
import Foundation
import TestSupport
import XCTest

/// The company API page in a real browser: headless Chromium (Debian `chromium`, `chromium-driver`) driven by PyPI
/// `selenium` (a venv under .build), both installed when missing. The script (Browser/admin_page.py) signs in with the
/// dev login, switches the module on, creates one key of each type, reads each secret from the show-once box and
/// uses it with curl against `/auth/forward` (the Authorization header on stdin; tokens and the PKCE exchange through the CLI, secrets on stdin), grants and revokes
/// project access, deletes with the confirmation, and checks that no secret survives in the page, the storage, the
/// URL history or the browser's profile. Screenshots go to .build/admin-page-screens/.
final class AdminPageBrowserTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testAdminPageFlowsInChromium() throws {
        let python = try Self.browserPython()
        let cli = Self.root.appendingPathComponent(".build/debug/credledger").path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: cli), "build the CLI first (swift build --build-tests)")

        // A real clock: the CLI (another process) writes to the same ledger with its own clock.
        let directory = try TemporaryDirectory("admin-page-browser")
        defer { directory.remove() }
        let db = directory.appending("ledger")
        let ledger = try Ledger(path: db)
        defer { ledger.close() }
        _ = try ledger.administration.registerCompany("acme", admin: "alice@acme.example", name: "Acme Corp", mailDomain: "acme.example")
        _ = try ledger.administration.setMemberRole("acme", email: "bob@acme.example", role: .member, as: "alice@acme.example")
        try ledger.administration.createProject("acme", project: "bridge", name: "Bridge retrofit", as: "alice@acme.example")
        try ledger.administration.createProject("acme", project: "tunnel", name: "Harbour tunnel", as: "alice@acme.example")

        var settings = ServerSettings()
        settings.port = 0
        settings.devLogin = true
        let server = try LedgerServer(ledger: ledger, settings: settings)
        try server.start()
        defer { server.shutdown(); server.wait() }

        let shots = Self.root.appendingPathComponent(".build/admin-page-screens").path
        try? FileManager.default.removeItem(atPath: shots)
        try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
        let script = Self.root.appendingPathComponent("Tests/ServerTests/Browser/admin_page.py").path
        let result = try Self.run([python, script], environment: [
            "BASE_URL": server.url, "CREDLEDGER": cli, "DB": db, "SHOTS": shots, "PROFILE": directory.appending("chromium-profile"),
        ])
        XCTAssertEqual(result.code, 0, result.output)
        XCTAssertTrue(result.output.contains("ALL OK"), result.output)
        for name in ["01-not-admin", "02-module-disabled", "05-secret-static", "05-secret-pkce", "08-detail", "09-delete-confirmation", "10-after-delete"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(shots)/\(name).png"), "no screenshot \(name)")
        }
        // The ledger agrees with what the page showed: the static key is deleted, three keys live, the chain verifies.
        let rows = try ledger.audit.credentialTable("acme", as: "alice@acme.example", includeDeleted: true)
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows.filter(\.deleted).map(\.name), ["Nightly sync"])
        XCTAssertTrue(try ledger.audit.verify().ok)
    }

    /// A python3 with selenium (a venv under .build, from PyPI when missing), after chromium and chromedriver are
    /// present (Tools/test-deps.sh when the project has it, else apt-get here).
    static func browserPython() throws -> String {
        if !(Self.has("chromium") && Self.has("chromedriver")) {
            let deps = root.appendingPathComponent("Tools/test-deps.sh").path
            let install = FileManager.default.fileExists(atPath: deps)
                ? try ExternalOracle.status(["bash", deps])
                : try ExternalOracle.status(["bash", "-c", """
                    set -e; S=""; [ "$(id -u)" = 0 ] || S=sudo; export DEBIAN_FRONTEND=noninteractive
                    $S apt-get -o DPkg::Lock::Timeout=300 update -qq
                    $S apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
                    """])
            guard install.code == 0, Self.has("chromium"), Self.has("chromedriver") else {
                throw BrowserSetupFailure(description: "could not install chromium and chromium-driver: \(install.output)")
            }
        }
        let venv = root.appendingPathComponent(".build/browser-venv").path
        let python = venv + "/bin/python"
        if (try? ExternalOracle.status([python, "-c", "import selenium"]))?.code == 0 { return python }
        let create = try ExternalOracle.status(["python3", "-m", "venv", venv])
        guard create.code == 0 else { throw BrowserSetupFailure(description: "python3 -m venv failed: \(create.output)") }
        let install = try ExternalOracle.status([python, "-m", "pip", "install", "--quiet", "selenium"])
        guard install.code == 0 else { throw BrowserSetupFailure(description: "pip install selenium failed: \(install.output)") }
        return python
    }

    static func has(_ program: String) -> Bool {
        (try? ExternalOracle.status(["sh", "-c", "command -v \(program)"]))?.code == 0
    }

    /// Runs `arguments` with extra environment variables; stdout and stderr merged.
    static func run(_ arguments: [String], environment: [String: String]) throws -> (code: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Chromium, chromedriver or selenium could not be made available.
struct BrowserSetupFailure: Error, CustomStringConvertible {
    let description: String
}
