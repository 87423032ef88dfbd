import CredLedgerCore

/// A usage mistake: exit code 2 with the command's usage line.
public struct UsageError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = Redaction.scrub(message) }
    public var description: String { message }
}

/// One parsed command line: positionals, `--option value` pairs and `--flag`s, checked against a spec.
public struct Invocation {
    public var positionals: [String]
    public var options: [String: String]
    public var flags: Set<String>

    /// A value-taking option, if given.
    public func option(_ name: String) -> String? { options[name] }

    public func required(_ name: String) throws -> String {
        guard let value = options[name] else { throw UsageError("missing --\(name)") }
        return value
    }

    public func flag(_ name: String) -> Bool { flags.contains(name) }

    public func positional(_ i: Int) -> String { positionals[i] }

    /// An integer option within bounds.
    public func integer(_ name: String, default value: Int, range: ClosedRange<Int> = 0...Int.max) throws -> Int {
        guard let text = options[name] else { return value }
        guard let n = Int(text), range.contains(n) else { throw UsageError("--\(name) must be a whole number in \(range.lowerBound)…\(range.upperBound)") }
        return n
    }
}

/// A command: its words, arguments, and what it runs.
public struct CommandSpec {
    public var path: [String]
    public var positionals: [String]
    /// Every value-taking option, each single-valued (given at most once), in usage order.
    public var options: [String]
    /// The options every run needs (a subset of `options`): shown without brackets, checked by `parse`.
    /// Options needed only in some modes (e.g. `oauth token --code`) stay optional here.
    public var required: [String]
    public var flags: [String]
    public var summary: String
    public var run: (Invocation, ToolContext) throws -> Int32

    public init(_ path: String, positionals: [String] = [], options: [String] = [], required: [String] = [], flags: [String] = [],
                summary: String, run: @escaping (Invocation, ToolContext) throws -> Int32) {
        self.path = path.split(separator: " ").map(String.init)
        self.positionals = positionals
        self.options = options
        self.required = required
        self.flags = flags
        self.summary = summary
        self.run = run
    }

    public var usage: String {
        var parts = ["credledger"] + path + positionals.map { "<\($0)>" }
        parts += options.map { required.contains($0) ? "--\($0) <value>" : "[--\($0) <value>]" }
        parts += flags.map { "[--\($0)]" }
        return parts.joined(separator: " ")
    }

    /// Parses the words after the command path. `--name=value` and `--name value` both work.
    func parse(_ words: [String]) throws -> Invocation {
        var invocation = Invocation(positionals: [], options: [:], flags: [])
        var i = 0
        var onlyPositionals = false
        while i < words.count {
            let word = words[i]
            if !onlyPositionals, word == "--" {
                onlyPositionals = true
            } else if !onlyPositionals, word.hasPrefix("--"), word.count > 2 {
                var name = String(word.dropFirst(2))
                var inline: String?
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if options.contains(name) {
                    // Single-valued: a second value would silently win (`--scope read … --scope global`).
                    guard invocation.options[name] == nil else { throw UsageError("--\(name) given more than once") }
                    if let inline {
                        invocation.options[name] = inline
                    } else {
                        guard i + 1 < words.count else { throw UsageError("--\(name) needs a value") }
                        invocation.options[name] = words[i + 1]
                        i += 1
                    }
                } else if flags.contains(name) {
                    guard inline == nil else { throw UsageError("--\(name) takes no value") }
                    invocation.flags.insert(name)
                } else {
                    throw UsageError("unknown option --\(name)")
                }
            } else {
                invocation.positionals.append(word)
            }
            i += 1
        }
        guard invocation.positionals.count == positionals.count else {
            if invocation.positionals.count < positionals.count {
                throw UsageError("missing <\(positionals[invocation.positionals.count])>")
            }
            throw UsageError("unexpected argument '\(invocation.positionals[positionals.count])'")
        }
        for name in required where invocation.options[name] == nil { throw UsageError("missing --\(name)") }
        return invocation
    }
}
