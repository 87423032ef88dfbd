import CredLedger
import CredLedgerServer
import Foundation
import Glibc
import TestSupport
import XCTest

/// Issue 13: a real nginx (Debian package, run as the current user with its own prefix and config: never the system
/// service) guards a small upstream with `auth_request /auth/forward`; allowed, 401 and 403 requests pass through it
/// with the right status. The config is the one docs/HTTP.md shows.
final class NginxTests: XCTestCase {
    /// The nginx config of docs/HTTP.md, with the ports and the prefix filled in.
    static func config(prefix: String, listen: UInt16, credledger: UInt16, upstream: UInt16) -> String {
        let user = getuid() == 0 ? "user root;\n" : ""
        return """
        \(user)worker_processes 1;
        daemon off;
        pid \(prefix)/nginx.pid;
        events { worker_connections 128; }
        http {
            access_log off;
            client_body_temp_path \(prefix)/tmp/body;
            proxy_temp_path \(prefix)/tmp/proxy;
            fastcgi_temp_path \(prefix)/tmp/fastcgi;
            uwsgi_temp_path \(prefix)/tmp/uwsgi;
            scgi_temp_path \(prefix)/tmp/scgi;

            upstream credledger { server 127.0.0.1:\(credledger); keepalive 16; }
            upstream app { server 127.0.0.1:\(upstream); }

            server {
                listen 127.0.0.1:\(listen);

                location / {
                    auth_request /auth/forward;
                    # What the ledger decided, passed on to the application.
                    auth_request_set $credential_id $upstream_http_x_credential_id;
                    auth_request_set $acting_user $upstream_http_x_acting_user;
                    auth_request_set $credential_scope $upstream_http_x_scope;
                    proxy_set_header X-Credential-Id $credential_id;
                    proxy_set_header X-Acting-User $acting_user;
                    proxy_set_header X-Scope $credential_scope;
                    proxy_pass http://app;
                }

                location = /auth/forward {
                    internal;
                    proxy_pass http://credledger/auth/forward;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    # auth_request sends no body but would forward Content-Length: drop both.
                    proxy_pass_request_body off;
                    proxy_set_header Content-Length "";
                    proxy_set_header X-Original-URI $request_uri;
                    proxy_set_header X-Original-Method $request_method;
                    # Never let a client choose the method, path or target the ledger decides on.
                    proxy_set_header X-Forwarded-Method "";
                    proxy_set_header X-Forwarded-Uri "";
                    proxy_set_header X-Company "";
                    proxy_set_header X-Project "";
                }
            }
        }
        """
    }

    /// A small upstream: answers any method with `<method> <path> as <X-Acting-User> (<X-Scope>)`; prints its port.
    static let upstreamScript = #"""
    import http.server, sys
    class H(http.server.BaseHTTPRequestHandler):
        def answer(self):
            body = f"{self.command} {self.path} as {self.headers.get('X-Acting-User')} ({self.headers.get('X-Scope')})\n".encode()
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer
        def log_message(self, *args): pass
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(s.server_address[1], flush=True)
    s.serve_forever()
    """#

    func testNginxAuthRequestPassesAllowedAnd401And403() throws {
        let nginx = try nginxPath()
        let world = try GatewayWorld("gw-nginx")
        defer { world.test.remove() }
        var settings = ServerSettings()
        settings.port = 0
        settings.routeTemplates = ["/companies/{company}/projects/{project}/"]
        let server = try LedgerServer(ledger: world.test.ledger, settings: settings)
        try server.start()
        defer { server.shutdown(); server.wait() }

        let upstream = Process()
        upstream.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        upstream.arguments = ["python3", "-c", Self.upstreamScript]
        let upstreamOut = Pipe()
        upstream.standardOutput = upstreamOut
        try upstream.run()
        defer { upstream.terminate(); upstream.waitUntilExit() }
        guard let portLine = readLine(upstreamOut.fileHandleForReading), let upstreamPort = UInt16(portLine) else {
            return XCTFail("the upstream printed no port")
        }

        let prefix = try TemporaryDirectory("gw-nginx-prefix")
        defer { prefix.remove() }
        try FileManager.default.createDirectory(atPath: prefix.appending("tmp"), withIntermediateDirectories: true)
        let listen = try freePort()
        let conf = prefix.appending("nginx.conf")
        try Self.config(prefix: prefix.path, listen: listen, credledger: server.port, upstream: upstreamPort)
            .write(toFile: conf, atomically: true, encoding: .utf8)
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: nginx)
        proxy.arguments = ["-p", prefix.path, "-c", conf, "-e", prefix.appending("error.log")]
        proxy.standardError = FileHandle.nullDevice
        try proxy.run()
        defer { proxy.terminate(); proxy.waitUntilExit() }
        let base = "http://127.0.0.1:\(listen)"
        try waitUntilListening(base, process: proxy, errorLog: prefix.appending("error.log"))

        let before = try world.uses().count
        let allowed = try Curl.request(base + "/companies/acme/projects/bridge/items", headers: [("Authorization", world.readKey)])
        XCTAssertEqual(allowed.status, 200)
        XCTAssertEqual(allowed.body, "GET /companies/acme/projects/bridge/items as \(world.readServiceUser) (read)\n")
        let write = try Curl.request(base + "/companies/acme/projects/bridge/items", method: "POST", headers: [("Authorization", world.writeKey)],
                                     data: "{\"x\":1}")
        XCTAssertEqual(write.status, 200)
        XCTAssertTrue(write.body.hasPrefix("POST /companies/acme/projects/bridge/items as "), write.body)

        let unknown = try Curl.request(base + "/companies/acme/projects/bridge/items", headers: [("Authorization", world.unknownKey)])
        XCTAssertEqual(unknown.status, 401)
        XCTAssertEqual(unknown.header("WWW-Authenticate"), #"Apikey realm="credledger""#, "nginx passes the challenge of a 401")
        let missing = try Curl.request(base + "/companies/acme/projects/bridge/items")
        XCTAssertEqual(missing.status, 401)
        XCTAssertTrue(missing.header("WWW-Authenticate")?.contains("resource_metadata=") ?? false)

        let readOnlyWrite = try Curl.request(base + "/companies/acme/projects/bridge/items", method: "DELETE", headers: [("Authorization", world.readKey)])
        XCTAssertEqual(readOnlyWrite.status, 403)
        // A client's own forward-auth headers are dropped by the config: it cannot pass a write off as a read, nor
        // pick another target.
        let spoofed = try Curl.request(base + "/companies/acme/projects/bridge/items", method: "PUT",
                                       headers: [("Authorization", world.readKey), ("X-Forwarded-Method", "GET"), ("X-Original-Method", "GET"),
                                                 ("X-Company", "beta"), ("X-Forwarded-Uri", "/companies/beta/projects/pb/")])
        XCTAssertEqual(spoofed.status, 403)
        let otherCompany = try Curl.request(base + "/companies/beta/projects/pb/items", headers: [("Authorization", world.readKey)])
        XCTAssertEqual(otherCompany.status, 403)

        // Each request through nginx was decided and recorded once (the use at another company as its two events: in
        // the key's own trail and, anonymously, in the company addressed).
        let uses = try world.uses().suffix(from: before)
        XCTAssertEqual(uses.map { $0.denial?.code ?? "allowed" },
                       ["allowed", "allowed", "unknown_credential", "malformed_header", "read_only_scope", "read_only_scope", "cross_company",
                        "foreign_credential"])
    }

    private func nginxPath() throws -> String {
        for candidate in ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw TestFailure("nginx is not installed: Tools/test-deps.sh installs it (Tools/test.sh runs it)")
    }

    private func readLine(_ handle: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while true {
            let chunk = handle.readData(ofLength: 1)
            guard let b = chunk.first else { return nil }
            if b == 0x0A { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(b)
        }
    }

    /// Polls until nginx answers (a start-up guard of 10 s, not a timing assertion).
    private func waitUntilListening(_ base: String, process: Process, errorLog: String) throws {
        for _ in 0..<200 {
            if !process.isRunning { break }
            if let r = try? ExternalOracle.status(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", base + "/"]), r.output != "000" { return }
            usleep(50_000)
        }
        throw TestFailure("nginx did not start: \((try? String(contentsOfFile: errorLog, encoding: .utf8)) ?? "no error log")")
    }
}

/// A TCP port free on 127.0.0.1 right now (bound to 0, read back, closed).
func freePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestFailure("bind: errno \(errno)") }
    return UInt16(bigEndian: address.sin_port)
}
