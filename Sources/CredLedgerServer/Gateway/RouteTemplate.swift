/// A forward-auth path template (`--route '/companies/{company}/projects/{project}/'`): literal segments and exactly one
/// `{company}` and one `{project}`. It matches a forwarded path whose first segments fit it (anything may follow), and
/// captures the company and project slugs.
public struct RouteTemplate: Sendable, Equatable, CustomStringConvertible {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case company
        case project
    }

    let segments: [Segment]
    /// The template as given.
    public let description: String

    /// Longest template accepted, in segments (a guard against a pathological command line).
    static let maxSegments = 32

    /// Parses and checks a template; a bad one is a `RouteTemplateError` naming what is wrong.
    public init(_ text: String) throws(RouteTemplateError) {
        guard text.hasPrefix("/") else { throw RouteTemplateError(text, "must start with /") }
        var parts = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        guard !parts.isEmpty, parts.count <= Self.maxSegments else {
            throw RouteTemplateError(text, "needs 1…\(Self.maxSegments) segments")
        }
        var segments: [Segment] = []
        for part in parts {
            switch part {
            case "{company}": segments.append(.company)
            case "{project}": segments.append(.project)
            case "": throw RouteTemplateError(text, "has an empty segment (//)")
            case ".", "..": throw RouteTemplateError(text, "has a dot segment")
            default:
                // Literal segments use only unreserved characters and a few sub-delims: no braces, percent escapes,
                // semicolons or backslashes, whose meaning differs between servers, and no comma (it separates templates).
                guard part.utf8.allSatisfy(Self.isLiteralByte) else {
                    throw RouteTemplateError(text, "segment '\(part)' must be {company}, {project} or letters, digits and - . _ ~ ! $ & ' ( ) * + = : @")
                }
                segments.append(.literal(part))
            }
        }
        guard segments.filter({ $0 == .company }).count == 1, segments.filter({ $0 == .project }).count == 1 else {
            throw RouteTemplateError(text, "needs exactly one {company} and one {project}")
        }
        self.segments = segments
        description = text
    }

    /// The company and project of a decoded path (`ForwardedPath.segments`), or nil when the template does not fit it.
    func match(_ path: [String]) -> (company: String, project: String)? {
        guard path.count >= segments.count else { return nil }
        var company = "", project = ""
        for (segment, part) in zip(segments, path) {
            switch segment {
            case .literal(let text): guard part == text else { return nil }
            case .company: company = part
            case .project: project = part
            }
        }
        guard !company.isEmpty, !project.isEmpty else { return nil }
        return (company, project)
    }

    private static func isLiteralByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-._~!$&'()*+=:@".utf8.contains(b)
        }
    }
}

/// A `--route` template that cannot be used, and why.
public struct RouteTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public let template: String
    public let problem: String

    init(_ template: String, _ problem: String) {
        self.template = template
        self.problem = problem
    }

    public var description: String { "--route '\(template)': \(problem)" }
}
