import CredLedgerAPI
import CredLedgerHTTP
import Foundation

/// The admin JSON API under `/v1/companies/{company}/…` (docs/HTTP.md "Admin API"): what the company API page calls,
/// also usable by scripts. The acting user is the signed-in user (`AdminCaller`); every rule and error code is the
/// ledger's, reached through `context.api`.
struct AdminRoutes: RouteGroup {
    let context: ServerContext

    func register(in router: inout Router) {
        let api = AdminAPI(context: context)
        let base = "/v1/companies/{company}"
        // Reads.
        router.add(.get, base) { request in await AdminCaller.read(request, context) { try await api.area($0, $1) } }
        router.add(.get, base + "/projects") { request in await AdminCaller.read(request, context) { try await api.projects($0, $1) } }
        router.add(.get, base + "/members") { request in await AdminCaller.read(request, context) { try await api.members($0, $1) } }
        router.add(.get, base + "/usage") { request in await AdminCaller.read(request, context) { try await api.usage($0, $1) } }
        router.add(.get, base + "/review") { request in await AdminCaller.read(request, context) { try await api.review($0, $1) } }
        router.add(.get, base + "/credentials") { request in await AdminCaller.read(request, context) { try await api.list($0, $1) } }
        router.add(.get, base + "/credentials/{id}") { request in await AdminCaller.read(request, context) { try await api.show($0, $1) } }
        router.add(.get, base + "/credentials/{id}/usage") { request in
            await AdminCaller.read(request, context) { try await api.credentialUsage($0, $1) }
        }
        router.add(.get, base + "/credentials/{id}/events") { request in
            await AdminCaller.read(request, context) { try await api.events($0, $1) }
        }
        // Changes (CSRF token and same-origin checks for browsers).
        router.add(.put, base + "/api-module") { request in await AdminCaller.change(request, context) { try await api.setModule($0, $1) } }
        router.add(.post, base + "/credentials") { request in
            await AdminCaller.change(request, context, status: .created) { try await api.create($0, $1) }
        }
        router.add(.post, base + "/credentials/{id}/rotate") { request in
            await AdminCaller.change(request, context) { try await api.rotate($0, $1) }
        }
        router.add(.delete, base + "/credentials/{id}") { request in await AdminCaller.change(request, context) { try await api.delete($0, $1) } }
        router.add(.put, base + "/credentials/{id}/projects/{project}") { request in
            await AdminCaller.change(request, context) { try await api.grant($0, $1) }
        }
        router.add(.delete, base + "/credentials/{id}/projects/{project}") { request in
            await AdminCaller.change(request, context) { try await api.revoke($0, $1) }
        }
    }
}

/// The handlers: each takes the request and the acting user's email, builds its API request value and answers it
/// through `APIService` (async). No rule lives here.
struct AdminAPI: Sendable {
    let context: ServerContext

    private func company(_ r: HTTPRequest) -> String { r.pathParameters["company"] ?? "" }
    private func id(_ r: HTTPRequest) -> String { r.pathParameters["id"] ?? "" }

    func area(_ r: HTTPRequest, _ actor: String) async throws -> API.AdminArea {
        try await context.api.respond(to: API.AdminAreaRequest(company: company(r), actor: actor))
    }

    func projects(_ r: HTTPRequest, _ actor: String) async throws -> [API.ProjectInfo] {
        try await area(r, actor).projects
    }

    func members(_ r: HTTPRequest, _ actor: String) async throws -> API.MembershipsReport {
        let q = try AdminQuery(r, allowed: ["at", "seq"])
        _ = try await area(r, actor)   // the admin gate: the report itself does not take an actor
        return try await context.api.respond(to: API.MembershipsRequest(company: company(r), at: q.string("at"), seq: try q.uint("seq")))
    }

    func usage(_ r: HTTPRequest, _ actor: String) async throws -> API.UsageReport {
        let q = try AdminQuery(r, allowed: ["at", "seq"])
        _ = try await area(r, actor)
        return try await context.api.respond(to: API.UsageRequest(company: company(r), at: q.string("at"), seq: try q.uint("seq")))
    }

    func review(_ r: HTTPRequest, _ actor: String) async throws -> API.AccessReview {
        let q = try AdminQuery(r, allowed: ["stale_days", "many_projects"])
        _ = try await area(r, actor)
        return try await context.api.respond(to: API.AccessReviewRequest(company: company(r), staleDays: try q.int("stale_days"),
                                                                         manyProjects: try q.int("many_projects")))
    }

    func list(_ r: HTTPRequest, _ actor: String) async throws -> [API.Credential] {
        let q = try AdminQuery(r, allowed: ["all", "at", "seq"])
        return try await context.api.respond(to: API.CredentialListRequest(company: company(r), actor: actor, all: try q.bool("all"),
                                                                           at: q.string("at"), seq: try q.uint("seq")))
    }

    func show(_ r: HTTPRequest, _ actor: String) async throws -> API.Credential {
        try await context.api.respond(to: API.CredentialDetailRequest(company: company(r), id: id(r), actor: actor))
    }

    func credentialUsage(_ r: HTTPRequest, _ actor: String) async throws -> API.CredentialUsage {
        let q = try AdminQuery(r, allowed: ["days"])
        return try await context.api.respond(to: API.CredentialUsageRequest(company: company(r), id: id(r), actor: actor, days: try q.int("days")))
    }

    /// One credential's audit events, newest first (`before` pages on): only its company's, only for its admins.
    func events(_ r: HTTPRequest, _ actor: String) async throws -> API.AuditEventsPage {
        let q = try AdminQuery(r, allowed: ["limit", "before", "outcome"])
        _ = try await show(r, actor)   // the admin gate, and the credential is this company's
        let limit = try q.int("limit") ?? 20
        guard (1...200).contains(limit) else { throw AdminRequestError.invalid("limit must be 1…200") }
        return try await context.api.respond(to: API.AuditEventsQuery(company: company(r), credential: id(r), outcome: q.string("outcome"),
                                                                      limit: limit, order: "newest", before: try q.uint("before")))
    }

    func setModule(_ r: HTTPRequest, _ actor: String) async throws -> API.APIModuleResult {
        struct Body: Decodable {
            let apiEnabled: Bool
            enum CodingKeys: String, CodingKey { case apiEnabled = "api_enabled" }
        }
        let body = try AdminBody.decode(Body.self, r)
        return try await context.api.respond(to: API.SetAPIModuleRequest(company: company(r), apiEnabled: body.apiEnabled, actor: actor))
    }

    func create(_ r: HTTPRequest, _ actor: String) async throws -> API.IssuedCredential {
        struct Body: Decodable {
            let name: String
            let type: String
            let scope: String
            let redirectURIs: [String]?
            let expiresIn: String?
            enum CodingKeys: String, CodingKey {
                case name, type, scope
                case redirectURIs = "redirect_uris"
                case expiresIn = "expires_in"
            }
        }
        let b = try AdminBody.decode(Body.self, r)
        return try await context.api.respond(to: API.CreateCredentialRequest(company: company(r), name: b.name, type: b.type, scope: b.scope,
                                                                             redirectURIs: b.redirectURIs, expiresIn: b.expiresIn, actor: actor))
    }

    func rotate(_ r: HTTPRequest, _ actor: String) async throws -> API.IssuedCredential {
        struct Body: Decodable { let grace: String }
        let b = try AdminBody.decode(Body.self, r)
        return try await context.api.respond(to: API.RotateSecretRequest(company: company(r), id: id(r), grace: b.grace, actor: actor))
    }

    func delete(_ r: HTTPRequest, _ actor: String) async throws -> API.DeleteCredentialResult {
        try await context.api.respond(to: API.DeleteCredentialRequest(company: company(r), id: id(r), actor: actor))
    }

    func grant(_ r: HTTPRequest, _ actor: String) async throws -> API.AccessResult {
        struct Body: Decodable { let role: String }
        let b = try AdminBody.decode(Body.self, r)
        let request = API.AccessRequest(company: company(r), id: id(r), project: r.pathParameters["project"] ?? "", role: b.role, actor: actor)
        return try await context.api.respond(to: API.GrantAccessOperation(request))
    }

    func revoke(_ r: HTTPRequest, _ actor: String) async throws -> API.AccessResult {
        let request = API.AccessRequest(company: company(r), id: id(r), project: r.pathParameters["project"] ?? "", actor: actor)
        return try await context.api.respond(to: API.RevokeAccessOperation(request))
    }
}

/// A request body: `application/json`, one object of the operation's keys (the company comes from the path, the
/// acting user from the sign-in: a body naming `as` or `company` is refused rather than silently overridden).
enum AdminBody {
    static func decode<T: Decodable>(_ type: T.Type, _ r: HTTPRequest) throws -> T {
        let contentType = (r.headers["content-type"] ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard contentType == "application/json" else {
            throw AdminRequestError(code: "unsupported_media_type", message: "send the body as Content-Type: application/json",
                                    status: .unsupportedMediaType)
        }
        // A repeated member would be read differently by different JSON parsers (first value here, last elsewhere).
        if let name = JSONRepeatedKeys.firstRepeated(in: r.body) {
            throw AdminRequestError.invalid("the body key '\(name.prefix(64))' is given more than once")
        }
        let data = Data(r.body)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw AdminRequestError.invalid("the body must be one JSON object")
        }
        for key in ["as", "company"] where object[key] != nil {
            throw AdminRequestError.invalid("'\(key)' is not a body key: the company is in the path and the acting user is the signed-in user")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw AdminRequestError.invalid("missing key '\(key.stringValue)'")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            throw AdminRequestError.invalid("wrong type for '\(context.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw AdminRequestError.invalid("the body does not match the operation's keys")
        }
    }
}

/// A query string with a fixed set of keys (docs/HTTP.md §9 form rules: unknown keys are refused here, since a
/// mistyped `?at=` would silently answer "now").
struct AdminQuery {
    let fields: FormFields

    init(_ r: HTTPRequest, allowed: Set<String>) throws {
        do {
            fields = try r.queryFields()
        } catch {
            throw AdminRequestError.invalid("malformed query string")
        }
        if !fields.repeatedNames.isEmpty {
            throw AdminRequestError.invalid("repeated query key '\(fields.repeatedNames.sorted()[0])'")
        }
        for name in fields.fields.map(\.name) where !allowed.contains(name) {
            throw AdminRequestError.invalid("unknown query key '\(name)'; this endpoint takes \(allowed.sorted().joined(separator: ", "))")
        }
    }

    func string(_ name: String) -> String? { fields[name] }

    func int(_ name: String) throws -> Int? {
        guard let text = fields[name] else { return nil }
        guard let value = Int(text) else { throw AdminRequestError.invalid("\(name) must be an integer") }
        return value
    }

    func uint(_ name: String) throws -> UInt64? {
        guard let text = fields[name] else { return nil }
        guard let value = UInt64(text) else { throw AdminRequestError.invalid("\(name) must be a non-negative integer") }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        switch fields[name] {
        case nil: return nil
        case "true", "1": return true
        case "false", "0": return false
        default: throw AdminRequestError.invalid("\(name) must be true or false")
        }
    }
}
