import CredLedgerCore
import CredLedgerHTTP

/// What a gateway asks: the `Authorization` value to decide on, the operation, and the company and project, read from
/// the forward-auth headers (docs/HTTP.md, "Forward authentication").
struct GatewayRequest: Sendable, Equatable {
    var header: String
    var operation: Operation
    var company: String
    var project: String

    /// Reads `request`; `envoyPath` is the raw path after `/auth/forward` (Envoy's prefix routing), when there is one.
    /// A request the gateway sent without a usable target is a `GatewayRefusal` (400): nothing is decided or recorded.
    static func read(_ request: HTTPRequest, templates: [RouteTemplate], envoyPath: String?) throws(GatewayRefusal) -> GatewayRequest {
        let headers = request.headers
        let operation = try operation(headers, ownMethod: request.method, authoritative: envoyPath != nil)
        let target = try target(headers, templates: templates, envoyPath: envoyPath)
        return GatewayRequest(header: authorization(headers), operation: operation, company: target.company, project: target.project)
    }

    /// The `Authorization` value; several of them are no credential at all (the engine denies `malformed_header`).
    static func authorization(_ headers: HTTPHeaders) -> String {
        let values = headers.values("Authorization")
        return values.count == 1 ? values[0] : ""
    }

    /// GET, HEAD and OPTIONS read; any other method writes. From `X-Forwarded-Method` (Traefik) or
    /// `X-Original-Method` (nginx), else the request's own method (Envoy keeps it). Both given and different, or one
    /// given twice, is refused: a client could add the one the proxy does not overwrite. When the own method is
    /// `authoritative` (Envoy's prefix route copies the client's), a header naming another method is refused too.
    static func operation(_ headers: HTTPHeaders, ownMethod: HTTPMethod, authoritative: Bool = false) throws(GatewayRefusal) -> Operation {
        let named = try single(headers, "X-Forwarded-Method", "X-Original-Method")
        if authoritative, let named, named != ownMethod.rawValue {
            throw GatewayRefusal("conflicting_headers", "X-Forwarded-Method / X-Original-Method disagree with the request's own method")
        }
        let method = named ?? ownMethod.rawValue
        guard !method.isEmpty, method.utf8.allSatisfy(isTokenByte) else {
            throw GatewayRefusal("bad_forwarded_method", "X-Forwarded-Method / X-Original-Method must be an HTTP method token")
        }
        switch method {
        case "GET", "HEAD", "OPTIONS": return .read
        default: return .write
        }
    }

    /// The company and project: from the first `--route` template that fits the forwarded path, and/or from
    /// `X-Company` / `X-Project`; when both give them they must agree. On Envoy's prefix route the path after the
    /// prefix is the forwarded path, and an `X-Forwarded-Uri` / `X-Original-URI` naming another path is refused.
    static func target(_ headers: HTTPHeaders, templates: [RouteTemplate], envoyPath: String?) throws(GatewayRefusal)
        -> (company: String, project: String) {
        let company = try single(headers, "X-Company"), project = try single(headers, "X-Project")
        let named = try single(headers, "X-Forwarded-Uri", "X-Original-URI")
        if let envoyPath, let named {
            // Compared as decoded segments (query ignored, like the templates see them), templates or not.
            if try segments(named) != ForwardedPath.segments(envoyPath) {
                throw GatewayRefusal("conflicting_headers", "X-Forwarded-Uri / X-Original-URI disagree with the path after /auth/forward")
            }
        }
        var fromPath: (company: String, project: String)?
        if !templates.isEmpty, let uri = envoyPath ?? named {
            let segments = try segments(uri)
            fromPath = templates.lazy.compactMap { $0.match(segments) }.first
        }
        if let fromPath {
            if let company, company != fromPath.company { throw GatewayRefusal("conflicting_target", "X-Company disagrees with the forwarded URI") }
            if let project, project != fromPath.project { throw GatewayRefusal("conflicting_target", "X-Project disagrees with the forwarded URI") }
            return fromPath
        }
        guard let company, let project, !company.isEmpty, !project.isEmpty else {
            throw GatewayRefusal("missing_target",
                                 templates.isEmpty ? "send X-Company and X-Project (or start the server with --route templates)"
                                                   : "no --route template fits the forwarded URI and X-Company / X-Project are not both set")
        }
        return (company, project)
    }

    private static let badURI = GatewayRefusal(
        "bad_forwarded_uri", "the forwarded URI has an encoded slash or backslash, a dot segment, a semicolon, an empty segment, double encoding or a bad escape")

    /// The decoded segments of a forwarded URI, or the `bad_forwarded_uri` refusal.
    private static func segments(_ uri: String) throws(GatewayRefusal) -> [String] {
        guard let segments = ForwardedPath.segments(uri) else { throw badURI }
        return segments
    }

    /// The one value of `names` (aliases: each at most once, and equal when both are present), or nil.
    private static func single(_ headers: HTTPHeaders, _ names: String...) throws(GatewayRefusal) -> String? {
        var found: String?
        for name in names {
            let values = headers.values(name)
            guard values.count <= 1 else { throw GatewayRefusal("repeated_header", "\(name) is given more than once") }
            guard let value = values.first else { continue }
            if let found, found != value { throw GatewayRefusal("conflicting_headers", "\(names.joined(separator: " and ")) disagree") }
            found = value
        }
        return found
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }
}

/// A forward-auth request that cannot be decided (400): a stable reason code and what to fix.
struct GatewayRefusal: Error, Sendable, Equatable {
    let reason: String
    let message: String

    init(_ reason: String, _ message: String) {
        self.reason = reason
        self.message = message
    }
}
