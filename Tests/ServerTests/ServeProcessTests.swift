import CredLedger
import CredLedgerCore
import Foundation
import Glibc
import TestSupport
import XCTest

/// Issue 13, a real `credledger serve` process: it prints its URL; SIGTERM lets a request in flight finish and exits 0;
/// `kill -9` under load loses no use whose request was answered (every 200 a client received is a durable
/// `credential_used` event when the ledger is opened again, and the chain verifies).
final class ServeProcessTests: XCTestCase {
    /// A running `credledger serve`, its stderr (the request log) in a file.
    final class Served {
        let process = Process()
        let url: String
        let port: UInt16
        let stdout = Pipe()
        let logPath: String

        init(db: String, logPath: String, extra: [String] = []) throws {
            self.logPath = logPath
            process.executableURL = URL(fileURLWithPath: try builtExecutable("credledger"))
            process.arguments = ["--db", db, "serve", "--listen", "127.0.0.1:0"] + extra
            process.standardOutput = stdout
            FileManager.default.createFile(atPath: logPath, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            process.standardInput = FileHandle.nullDevice
            try process.run()
            guard let line = Served.readLine(stdout.fileHandleForReading) else {
                process.waitUntilExit()
                throw TestFailure("serve printed nothing; log: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
            }
            guard let range = line.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression),
                  let port = UInt16(line[range].split(separator: ":").last ?? "") else { throw TestFailure("no URL in '\(line)'") }
            url = String(line[range])
            self.port = port
        }

        /// The rest of standard output (after the process ended).
        func remainingOutput() -> String { String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }

        static func readLine(_ handle: FileHandle) -> String? {
            var bytes: [UInt8] = []
            while true {
                guard let b = handle.readData(ofLength: 1).first else { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
                if b == 0x0A { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(b)
            }
        }
    }

    /// Sends the head and half the body of a `POST /v1/check`, prints `partial`, waits for a line on stdin, waits until
    /// the listener refuses new connections (the shutdown began), sends the rest and prints the response's status line
    /// and Connection header, then whether a new connection is refused.
    static let inFlightScript = #"""
    import socket, sys, time, json
    port, header = int(sys.argv[1]), sys.argv[2]
    body = json.dumps({"company": "acme", "project": "bridge", "operation": "read", "header": header}).encode()
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(15)
    s.sendall(b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
    print("partial", flush=True)
    sys.stdin.readline()
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close(); time.sleep(0.02)
        except OSError:
            break
    s.sendall(body[10:])
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    head = data.split(b"\r\n\r\n")[0].decode()
    lines = head.split("\r\n")
    print(lines[0])
    print([l for l in lines if l.lower().startswith("connection:")])
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close(); print("new connection accepted")
    except OSError:
        print("new connection refused")
    """#

    func testServePrintsItsURLAndSIGTERMFinishesTheRequestInFlight() throws {
        try stopGracefully(on: SIGTERM)
    }

    func testSIGINTStopsGracefullyToo() throws {
        try stopGracefully(on: SIGINT)
    }

    private func stopGracefully(on signal: Int32) throws {
        let world = try GatewayWorld("gw-serve-signal-\(signal)")
        defer { world.test.remove() }
        world.test.close()
        let served = try Served(db: world.test.path, logPath: world.test.directory.appending("serve.log"))
        XCTAssertTrue(try Curl.request(served.url + "/healthz").status == 200)

        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = ["python3", "-c", Self.inFlightScript, String(served.port), world.readKey]
        let clientIn = Pipe(), clientOut = Pipe()
        client.standardInput = clientIn
        client.standardOutput = clientOut
        try client.run()
        XCTAssertEqual(Served.readLine(clientOut.fileHandleForReading), "partial")
        kill(served.process.processIdentifier, signal)
        clientIn.fileHandleForWriting.write(Data("go\n".utf8))
        let output = String(decoding: clientOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        served.process.waitUntilExit()
        XCTAssertEqual(output, "HTTP/1.1 200 OK\n['Connection: close']\nnew connection refused\n", "the request in flight is answered, then the server closes")
        XCTAssertEqual(served.process.terminationReason, .exit)
        XCTAssertEqual(served.process.terminationStatus, 0)
        XCTAssertTrue(served.remainingOutput().contains("credledger serve: stopped"))
        let log = try String(contentsOfFile: served.logPath, encoding: .utf8)
        XCTAssertTrue(log.contains("POST /v1/check 200"), log)
        XCTAssertFalse(log.contains(String(world.readKey.dropFirst(7))), "the key reached the log")

        try world.test.reopen()
        let last = try world.uses().last
        XCTAssertEqual(last?.operation, .read)
        XCTAssertNil(last?.denial, "the answered check was recorded")
        XCTAssertTrue(try world.test.ledger.audit.verify().ok)
    }

    /// Drives `/auth/forward` with 8 keep-alive connections, counting the 200s received; once `threshold` were
    /// received, kills the server with SIGKILL; prints the count when every connection has failed.
    static let loadScript = #"""
    import http.client, os, signal, sys, threading
    port, pid, header, threshold = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    lock = threading.Lock(); answered = [0]; killed = [False]
    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            try:
                conn.request("GET", "/auth/forward", headers={"Authorization": header, "X-Company": "acme", "X-Project": "bridge"})
                r = conn.getresponse(); r.read()
            except Exception:
                return
            if r.status != 200:
                print("unexpected status", r.status, file=sys.stderr); return
            with lock:
                answered[0] += 1
                if answered[0] >= threshold and not killed[0]:
                    killed[0] = True
                    os.kill(pid, signal.SIGKILL)
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    print(answered[0])
    """#

    func testKill9UnderLoadLosesNoAnsweredUse() throws {
        let world = try GatewayWorld("gw-serve-kill")
        defer { world.test.remove() }
        let before = try world.uses().count
        world.test.close()
        let served = try Served(db: world.test.path, logPath: world.test.directory.appending("serve.log"))
        let result = try ExternalOracle.status(["python3", "-c", Self.loadScript, String(served.port), String(served.process.processIdentifier),
                                                world.readKey, "400"])
        served.process.waitUntilExit()
        XCTAssertEqual(served.process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(served.process.terminationStatus, SIGKILL)
        guard let answered = Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return XCTFail("the load client printed no count: \(result.output)")
        }
        XCTAssertGreaterThanOrEqual(answered, 400)

        try world.test.reopen()
        let recorded = try world.uses().dropFirst(before).filter { $0.denial == nil }.count
        XCTAssertGreaterThanOrEqual(recorded, answered, "a use answered 200 before kill -9 is missing from the ledger")
        let report = try world.test.ledger.audit.verify()
        XCTAssertTrue(report.ok, "verify after kill -9: \(String(describing: report.chainFailure))")
    }
}
