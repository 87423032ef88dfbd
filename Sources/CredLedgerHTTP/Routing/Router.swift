/// A group of routes registered together, so each endpoint file adds its own routes without a central table:
/// `router.add(OAuthRoutes(ledger: ledger))`.
public protocol RouteGroup {
    /// Adds this group's routes to `router`.
    func register(in router: inout Router)
}

/// Maps method + path pattern to a handler. Patterns are "/"-separated: literal segments, `{name}` (one segment,
/// captured into `HTTPRequest.pathParameters`) and a final `{name...}` (one or more remaining segments, joined with
/// "/"). The most specific pattern wins (literal before `{name}` before `{name...}`, left to right), whatever the
/// registration order. No match: 404. A match without the method: 405 with `Allow`. HEAD falls back to GET.
public struct Router: Sendable {
    private enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case rest(String)

        var rank: Int {
            switch self {
            case .literal: return 0
            case .parameter: return 1
            case .rest: return 2
            }
        }
    }

    private struct Route: Sendable {
        let pattern: String
        let segments: [Segment]
        var handlers: [HTTPMethod: HTTPHandler]
    }

    private var routes: [Route] = []
    /// Answers requests no pattern matches (default: a plain 404).
    public var notFound: HTTPHandler = { _ in .status(.notFound) }

    public init() {}

    /// Registers `handler` for `method` on `pattern`. Registering the same method and pattern twice is a
    /// programming error (it traps), as is a malformed pattern.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping HTTPHandler) {
        add([method], pattern, handler)
    }

    /// Registers `handler` for each of `methods` on `pattern`.
    public mutating func add(_ methods: [HTTPMethod], _ pattern: String, _ handler: @escaping HTTPHandler) {
        let segments = Self.compile(pattern)
        let index: Int
        if let existing = routes.firstIndex(where: { $0.segments == segments }) {
            index = existing
        } else {
            routes.append(Route(pattern: pattern, segments: segments, handlers: [:]))
            index = routes.count - 1
        }
        for method in methods {
            precondition(routes[index].handlers[method] == nil, "route \(method) \(pattern) registered twice")
            routes[index].handlers[method] = handler
        }
    }

    /// Registers every route of `group`.
    public mutating func add(_ group: some RouteGroup) {
        group.register(in: &self)
    }

    /// The patterns registered, with their methods (for docs and tests).
    public var table: [(pattern: String, methods: [HTTPMethod])] {
        routes.map { route in (route.pattern, HTTPMethod.allCases.filter { route.handlers[$0] != nil }) }
    }

    /// Routes `request` and runs its handler.
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        switch resolve(request.method, request.path) {
        case .notFound:
            return await notFound(request)
        case .methodNotAllowed(let allow):
            return .status(.methodNotAllowed, headers: ["Allow": allow.map(\.rawValue).joined(separator: ", ")])
        case .found(let handler, let parameters):
            var routed = request
            routed.pathParameters = parameters
            return await handler(routed)
        }
    }

    /// This router as the server's handler.
    public var handler: HTTPHandler {
        let router = self
        return { await router.respond(to: $0) }
    }

    enum Resolution {
        case notFound
        case methodNotAllowed([HTTPMethod])
        case found(HTTPHandler, [String: String])
    }

    func resolve(_ method: HTTPMethod, _ path: String) -> Resolution {
        guard path.hasPrefix("/") else { return .notFound }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var best: (route: Route, parameters: [String: String])?
        for route in routes {
            guard let parameters = Self.match(route.segments, parts) else { continue }
            if let current = best, !Self.moreSpecific(route.segments, than: current.route.segments) { continue }
            best = (route, parameters)
        }
        guard let (route, parameters) = best else { return .notFound }
        if let handler = route.handlers[method] ?? (method == .head ? route.handlers[.get] : nil) {
            return .found(handler, parameters)
        }
        var allow = Set(route.handlers.keys)
        if allow.contains(.get) { allow.insert(.head) }
        return .methodNotAllowed(HTTPMethod.allCases.filter(allow.contains))
    }

    private static func match(_ segments: [Segment], _ parts: [String]) -> [String: String]? {
        var parameters: [String: String] = [:]
        for (i, segment) in segments.enumerated() {
            switch segment {
            case .literal(let text):
                guard i < parts.count, parts[i] == text else { return nil }
            case .parameter(let name):
                guard i < parts.count, !parts[i].isEmpty else { return nil }
                parameters[name] = parts[i]
            case .rest(let name):
                guard i < parts.count else { return nil }
                let rest = parts[i...]
                guard !rest.contains(where: \.isEmpty) else { return nil }
                parameters[name] = rest.joined(separator: "/")
                return parameters
            }
        }
        return parts.count == segments.count ? parameters : nil
    }

    private static func moreSpecific(_ a: [Segment], than b: [Segment]) -> Bool {
        for (x, y) in zip(a, b) where x.rank != y.rank { return x.rank < y.rank }
        return a.count > b.count
    }

    private static func compile(_ pattern: String) -> [Segment] {
        precondition(pattern.hasPrefix("/"), "route pattern \(pattern) must start with /")
        let parts = pattern.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var names = Set<String>()
        return parts.enumerated().map { i, part in
            guard part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 else {
                precondition(!part.contains("{") && !part.contains("}"), "bad route segment \(part) in \(pattern)")
                return .literal(part)
            }
            var name = String(part.dropFirst().dropLast())
            let rest = name.hasSuffix("...")
            if rest {
                name = String(name.dropLast(3))
                precondition(i == parts.count - 1, "{\(name)...} must be the last segment of \(pattern)")
            }
            precondition(!name.isEmpty && names.insert(name).inserted, "bad or repeated parameter in \(pattern)")
            return rest ? .rest(name) : .parameter(name)
        }
    }
}
