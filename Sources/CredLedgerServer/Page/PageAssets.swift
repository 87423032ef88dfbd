import CredLedgerCrypto
import CredLedgerHTTP

/// The page's static files, compiled into the binary (it works offline and from any working directory). Each is
/// served under a name holding a hash of its content, so it can be cached for a year: a changed file has a new name.
struct PageAssets: Sendable {
    struct Asset: Sendable {
        /// `/assets/admin-<12 hex>.css`
        let path: String
        let contentType: String
        let body: [UInt8]
    }

    let style: Asset
    let script: Asset

    static let shared = PageAssets()

    init() {
        style = Self.asset("admin", "css", "text/css; charset=utf-8", Self.adminStyle)
        script = Self.asset("admin", "js", "text/javascript; charset=utf-8", Self.adminScript)
    }

    var all: [Asset] { [style, script] }

    private static func asset(_ name: String, _ ext: String, _ type: String, _ text: String) -> Asset {
        let body = Array(text.utf8)
        let hash = String(SHA256.hash(body).hex.prefix(12))
        return Asset(path: "/assets/\(name)-\(hash).\(ext)", contentType: type, body: body)
    }

    /// The response of an asset: immutable for a year, never sniffed.
    func response(_ asset: Asset) -> HTTPResponse {
        HTTPResponse(status: .ok, headers: [
            "Content-Type": asset.contentType,
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        ], body: asset.body)
    }
}
