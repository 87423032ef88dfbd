@testable import CredLedgerHTTP
import XCTest

/// Routing: patterns, captured parameters, specificity, 404, 405 + Allow, HEAD → GET, groups from separate files.
final class RouterTests: XCTestCase {
    private struct AdminRoutes: RouteGroup {
        func register(in router: inout Router) {
            router.add(.get, "/v1/companies/{company}/projects/{project}") { request in
                .text("project \(request.pathParameters["company"] ?? "?")/\(request.pathParameters["project"] ?? "?")")
            }
            router.add(.get, "/v1/companies/{company}/projects/new") { _ in .text("literal new") }
            router.add([.post, .delete], "/v1/companies/{company}") { request in .text("\(request.method) company") }
        }
    }

    private struct ForwardRoutes: RouteGroup {
        func register(in router: inout Router) {
            router.add(HTTPMethod.allCases, "/auth/forward") { _ in .text("forward") }
            router.add(HTTPMethod.allCases, "/auth/forward/{rest...}") { request in .text("forward \(request.pathParameters["rest"] ?? "")") }
        }
    }

    private func router() -> Router {
        var router = Router()
        router.add(AdminRoutes())
        router.add(ForwardRoutes())
        router.add(.get, "/healthz") { _ in .text("ok") }
        return router
    }

    private func call(_ router: Router, _ method: HTTPMethod, _ target: String) async throws -> HTTPResponse {
        let events = ParserDriver.events("\(method) \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
        guard case .head(let head)? = events.first else { throw XCTSkip("bad fixture \(target)") }
        return await router.respond(to: HTTPRequest(head: head, peer: PeerAddress(host: "127.0.0.1", port: 1)))
    }

    private func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    func testParametersAndSpecificity() async throws {
        let router = router()
        do { let r = try await call(router, .get, "/v1/companies/acme/projects/web"); XCTAssertEqual(text(r), "project acme/web") }
        do { let r = try await call(router, .get, "/v1/companies/ac%20me/projects/w%C3%A9b"); XCTAssertEqual(text(r), "project ac me/wéb") }
        do { let r = try await call(router, .get, "/v1/companies/acme/projects/new"); XCTAssertEqual(text(r), "literal new") }
        do { let r = try await call(router, .post, "/v1/companies/acme"); XCTAssertEqual(text(r), "POST company") }
        do { let r = try await call(router, .get, "/auth/forward"); XCTAssertEqual(text(r), "forward") }
        do { let r = try await call(router, .put, "/auth/forward/api/v1/x"); XCTAssertEqual(text(r), "forward api/v1/x") }
    }

    func testNotFoundAndMethodNotAllowed() async throws {
        let router = router()
        do { let r = try await call(router, .get, "/nope"); XCTAssertEqual(r.status, .notFound) }
        do { let r = try await call(router, .get, "/v1/companies/acme/projects"); XCTAssertEqual(r.status, .notFound) }
        do { let r = try await call(router, .get, "/v1/companies/acme/projects/web/"); XCTAssertEqual(r.status, .notFound) }
        do { let r = try await call(router, .get, "/v1/companies//projects/web"); XCTAssertEqual(r.status, .notFound, "empty parameter") }
        do { let r = try await call(router, .options, "*"); XCTAssertEqual(r.status, .notFound) }
        let wrong = try await call(router, .put, "/v1/companies/acme")
        XCTAssertEqual(wrong.status, .methodNotAllowed)
        XCTAssertEqual(wrong.headers["Allow"], "POST, DELETE")
        let healthPost = try await call(router, .post, "/healthz")
        XCTAssertEqual(healthPost.headers["Allow"], "GET, HEAD")
    }

    func testHeadFallsBackToGet() async throws {
        let response = try await call(router(), .head, "/healthz")
        XCTAssertEqual(text(response), "ok")
    }

    func testTableListsRoutes() {
        let table = router().table
        XCTAssertTrue(table.contains { $0.pattern == "/healthz" && $0.methods == [.get] })
        XCTAssertEqual(table.count, 6)
    }
}
