import CredLedgerCore
import Foundation

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
    /// The secret options given as `-`, in command-line order: each reads one line of standard input, in this order.
    var standardInputOptions: [String] = []
    /// Where a secret option given as `-` is read from: set by `CommandLineTool.run`; empty until then.
    var standardInput = StandardInput(readLine: { _ in nil })

    /// A value-taking option, if given.
    public func option(_ name: String) -> String? { options[name] }

    public func required(_ name: String) throws -> String {
        guard let value = options[name] else { throw UsageError("missing --\(name)") }
        return value
    }

    public func flag(_ name: String) -> Bool { flags.contains(name) }

    /// A secret-taking option, if given. The value `-` means "read it from standard input": one line, its newline
    /// (and a CR before it) stripped, so the secret stays out of the process list and the shell history. Several
    /// options may be `-`: each reads one line, in the order the options appear on the command line.
    public func secret(_ name: String) throws -> String? {
        guard let value = options[name] else { return nil }
        guard value == StandardInput.marker else { return value }
        return try standardInput.readSecret(for: name, order: standardInputOptions)
    }

    /// A required secret-taking option; `-` reads it from standard input.
    public func requiredSecret(_ name: String) throws -> String {
        guard let value = try secret(name) else { throw UsageError("missing --\(name)") }
        return value
    }

    public func positional(_ i: Int) -> String { positionals[i] }

    /// An integer option within bounds.
    public func integer(_ name: String, default value: Int, range: ClosedRange<Int> = 0...Int.max) throws -> Int {
        guard let text = options[name] else { return value }
        guard let n = Int(text), range.contains(n) else { throw UsageError("--\(name) must be a whole number in \(range.lowerBound)…\(range.upperBound)") }
        return n
    }
}

/// Standard input as the source of the secrets of options given as `-`: one line per option, in command-line order.
/// The reader is injectable so tests can feed it.
final class StandardInput {
    /// The option value that means "read it from standard input".
    static let marker = "-"
    /// Reads one line including its newline, or nil at end of input; given the option the line is for (a terminal
    /// prompts for it by name).
    private let readLine: (String) -> String?
    /// The lines read so far, one per option, in command-line order (asking again returns the same value).
    private var lines: [String] = []

    init(readLine: @escaping (String) -> String?) {
        self.readLine = readLine
    }

    /// The question asked on a terminal for `option`.
    static func prompt(for option: String) -> String { "--\(option) (not echoed): " }

    /// One line of the process's standard input. On a terminal it prompts for `option` on standard error and turns
    /// echo off while the secret is typed, so it does not stay on the screen or in the scrollback.
    static func processLine(for option: String) -> String? {
        var saved = termios()
        guard isatty(0) == 1, tcgetattr(0, &saved) == 0 else { return Swift.readLine(strippingNewline: false) }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        Output.prompt(prompt(for: option))
        _ = tcsetattr(0, TCSANOW, &silent)
        defer {
            _ = tcsetattr(0, TCSANOW, &saved)
            Output.standardError("\n")
        }
        return Swift.readLine(strippingNewline: false)
    }

    /// The line of `option`, without its line ending: the k-th line of standard input for the k-th option in `order`
    /// (the earlier options' lines are read first, whatever order the command asks in). An empty or missing line is a
    /// usage error naming the option it belongs to.
    func readSecret(for option: String, order: [String]) throws -> String {
        // (An option its spec does not declare secret reads after the declared ones rather than take `-` literally.)
        let order = order.contains(option) ? order : order + [option]
        let position = order.firstIndex(of: option) ?? 0
        while lines.count <= position {
            let owner = order[lines.count]
            var bytes = Array((readLine(owner) ?? "").utf8)
            if bytes.last == 10 { bytes.removeLast() }
            if bytes.last == 13 { bytes.removeLast() }
            guard !bytes.isEmpty else {
                let which = order.count == 1 ? "standard input" : "line \(lines.count + 1) of standard input (one line per option given as -, in command-line order)"
                throw UsageError("--\(owner) - reads its value from \(which), which is empty")
            }
            lines.append(String(decoding: bytes, as: UTF8.self))
        }
        return lines[position]
    }
}

/// A command: its words, arguments, and what it runs.
public struct CommandSpec {
    public var path: [String]
    public var positionals: [String]
    /// Every value-taking option, each single-valued (given at most once), in usage order.
    public var options: [String]
    /// The options that take a secret (a subset of `options`): `-` reads each from a line of standard input.
    public var secrets: [String]
    /// The options every run needs (a subset of `options`): shown without brackets, checked by `parse`.
    /// Options needed only in some modes (e.g. `oauth token --code`) stay optional here.
    public var required: [String]
    public var flags: [String]
    public var summary: String
    public var run: (Invocation, ToolContext) throws -> Int32
    /// The executable that runs it, as its usage line spells it (set by `CommandLineProgram`).
    public var program = "credledger"

    public init(_ path: String, positionals: [String] = [], options: [String] = [], required: [String] = [], secrets: [String] = [],
                flags: [String] = [], summary: String, run: @escaping (Invocation, ToolContext) throws -> Int32) {
        self.path = path.split(separator: " ").map(String.init)
        self.positionals = positionals
        self.options = options
        self.secrets = secrets
        self.required = required
        self.flags = flags
        self.summary = summary
        self.run = run
    }

    public var usage: String {
        var parts = [program] + path + positionals.map { "<\($0)>" }
        parts += options.map {
            let option = "--\($0) " + (secrets.contains($0) ? "<secret|->" : "<value>")
            return required.contains($0) ? option : "[\(option)]"
        }
        parts += flags.map { "[--\($0)]" }
        return parts.joined(separator: " ")
    }

    /// Parses the words after the command path. `--name=value` and `--name value` both work.
    package func parse(_ words: [String]) throws -> Invocation {
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
                    if secrets.contains(name), invocation.options[name] == StandardInput.marker { invocation.standardInputOptions.append(name) }
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
