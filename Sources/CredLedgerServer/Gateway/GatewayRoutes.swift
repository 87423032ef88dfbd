import CredLedger
import CredLedgerAPI
import CredLedgerCore
import CredLedgerHTTP
import Foundation

/// Forward authentication for gateways (nginx `auth_request`, Traefik ForwardAuth, Envoy `ext_authz` in HTTP mode) and
/// the same decision as JSON (`POST /v1/check`). Every decision is recorded durably before it is answered, exactly
/// like `auth check`. Never logs the `Authorization` header.
struct GatewayRoutes: RouteGroup {
    let context: ServerContext
    let templates: [RouteTemplate]
    let resourceMetadata: String

    init(_ context: ServerContext) {
        self.context = context
        // Checked at start (`LedgerServer.init`); an invalid one cannot reach here.
        templates = context.settings.routeTemplates.compactMap { try? RouteTemplate($0) }
        resourceMetadata = context.issuer + "/.well-known/oauth-protected-resource"
    }

    func register(in router: inout Router) {
        let routes = self
        router.add([.get, .post], "/auth/forward") { await routes.forward($0, envoyPath: nil) }
        // Envoy ext_authz (HTTP) keeps the method and appends the original path to the prefix.
        router.add(HTTPMethod.allCases, "/auth/forward/") { await routes.forward($0, envoyPath: "/") }
        router.add(HTTPMethod.allCases, "/auth/forward/{rest...}") { await routes.forward($0, envoyPath: Self.envoyPath($0)) }
        router.add(.post, "/v1/check") { await routes.check($0) }
    }

    /// `/auth/forward`: decide, record, answer 200/401/403 (400 when the gateway sent no usable target).
    func forward(_ request: HTTPRequest, envoyPath: String?) async -> HTTPResponse {
        let asked: GatewayRequest
        do {
            asked = try GatewayRequest.read(request, templates: templates, envoyPath: envoyPath)
        } catch {
            return GatewayAnswer.refusal(error)
        }
        do {
            let decision = try await context.ledger.access.check(header: asked.header, company: asked.company, project: asked.project,
                                                                 operation: asked.operation)
            return GatewayAnswer.response(decision, header: asked.header, resourceMetadata: resourceMetadata)
        } catch {
            return GatewayAnswer.unavailable()
        }
    }

    /// The raw original path after the `/auth/forward` prefix (undecoded: `ForwardedPath` decodes it once).
    static func envoyPath(_ request: HTTPRequest) -> String {
        var target = Substring(request.head.target)
        if let query = target.firstIndex(of: "?") { target = target[..<query] }
        if let start = target.range(of: "/auth/forward/") { return "/" + target[start.upperBound...] }
        return "/"
    }

    /// The body of `POST /v1/check`: `API.AccessCheckRequest`, whose `header` may be left out to check the request's
    /// own `Authorization` header.
    struct CheckBody: Decodable {
        var company: String
        var project: String
        var operation: String
        var header: String?
    }

    /// `POST /v1/check`: the decision as `API.AccessDecision` (200 whether allowed or denied: a denial is an answer),
    /// recorded like `/auth/forward`; 400 / 415 for a request that cannot be decided.
    func check(_ request: HTTPRequest) async -> HTTPResponse {
        let noStore: HTTPHeaders = ["Cache-Control": "no-store"]
        let contentType = request.headers["Content-Type"]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard contentType == "application/json" else {
            return .json(API.ErrorBody(error: "unsupported_media_type", message: "send Content-Type: application/json"),
                         status: .unsupportedMediaType, headers: noStore)
        }
        // A repeated member is refused: other JSON parsers keep the last value where Foundation keeps the first, so an
        // application that inspected the body with one of them would get a decision on another request.
        if let name = JSONRepeatedKeys.firstRepeated(in: request.body) {
            return .json(API.ErrorBody(error: "invalid_request", message: "the member '\(name.prefix(64))' is given more than once"),
                         status: .badRequest, headers: noStore)
        }
        guard let body = try? JSONDecoder().decode(CheckBody.self, from: Data(request.body)) else {
            return .json(API.ErrorBody(error: "invalid_request",
                                       message: "send a JSON object with company, project, operation (read or write) and optionally header"),
                         status: .badRequest, headers: noStore)
        }
        let authorization = request.headers.values("Authorization")
        if body.header != nil, !authorization.isEmpty {
            return .json(API.ErrorBody(error: "invalid_request", message: "give the credential either as header or as Authorization, not both"),
                         status: .badRequest, headers: noStore)
        }
        guard Operation(name: body.operation) != nil else {
            return .json(API.ErrorBody(error: "invalid_request", message: "operation must be read or write, not '\(body.operation)'"),
                         status: .badRequest, headers: noStore)
        }
        let header = body.header ?? GatewayRequest.authorization(request.headers)
        let asked = API.AccessCheckRequest(company: body.company, project: body.project, operation: body.operation, header: header)
        do {
            let decision = try await context.api.respond(to: asked)
            return .json(decision, headers: noStore)
        } catch {
            return GatewayAnswer.unavailable()
        }
    }
}
