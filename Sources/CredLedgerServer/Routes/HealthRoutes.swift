import CredLedgerHTTP

/// `GET /healthz`: 200 while the server runs (the HTTP benchmark's baseline: no engine call).
struct HealthRoutes: RouteGroup {
    func register(in router: inout Router) {
        router.add(.get, "/healthz") { _ in
            .text("ok\n", headers: ["Cache-Control": "no-store"])
        }
    }
}
