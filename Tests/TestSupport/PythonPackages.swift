import Foundation

extension ExternalOracle {
    /// A Python interpreter that can `import module`, installing the PyPI `package` when it is missing — first
    /// `pip install --user --break-system-packages`, then a venv under `.build/python-oracles`. Throws `Failure`
    /// with every attempt's output when no way works (callers turn that into an XCTSkip naming the reason).
    /// Resolved once per process and module.
    public static func pythonInterpreter(importing module: String, package: String) throws -> String {
        try pythonCache.withLock { cache in
            if let known = cache[module] { return try known.get() }
            let result = Result { try resolveInterpreter(importing: module, package: package) }
            cache[module] = result
            return try result.get()
        }
    }

    private static let pythonCache = Locked<[String: Result<String, Error>]>([:])

    private static func resolveInterpreter(importing module: String, package: String) throws -> String {
        let probe = "import \(module)"
        var attempts: [String] = []
        func importable(_ interpreter: String) -> Bool {
            (try? status([interpreter, "-c", probe]).code) == 0
        }
        if importable("python3") { return "python3" }

        // The user site first: no new interpreter, nothing left in the tree.
        let user = try status(["python3", "-m", "pip", "install", "--quiet", "--user", "--break-system-packages", package])
        attempts.append("pip --user: exit \(user.code) \(user.output.suffix(400))")
        if user.code == 0, importable("python3") { return "python3" }

        // Then a venv inside the build directory (ignored by git, removed by `swift package clean`).
        let venv = buildDirectory.appendingPathComponent("python-oracles/venv")
        let venvPython = venv.appendingPathComponent("bin/python").path
        if !importable(venvPython) {
            let create = try status(["python3", "-m", "venv", venv.path])
            attempts.append("venv: exit \(create.code) \(create.output.suffix(400))")
            if create.code == 0 {
                let install = try status([venvPython, "-m", "pip", "install", "--quiet", package])
                attempts.append("venv pip: exit \(install.code) \(install.output.suffix(400))")
            }
        }
        if importable(venvPython) { return venvPython }
        throw Failure(description: "python module \(module) unavailable and \(package) could not be installed: "
            + attempts.joined(separator: "; "))
    }

    /// The package's `.build` directory, found from this file's path (Tests/TestSupport/… → package root).
    private static var buildDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build")
    }
}
