import CredLedgerAPI
import CredLedgerCore
import CredLedgerHTTP

/// `GET /companies/{company}/api` (the company API page) and `GET /assets/…` (its style sheet and script).
struct PageRoutes: RouteGroup {
    let context: ServerContext
    let assets = PageAssets.shared

    func register(in router: inout Router) {
        for asset in assets.all {
            let response = assets.response(asset)
            router.add(.get, asset.path) { _ in response }
        }
        let context = self.context, assets = self.assets
        router.add(.get, "/companies/{company}/api") { request in await Self.page(request, context, assets) }
    }

    static func page(_ request: HTTPRequest, _ context: ServerContext, _ assets: PageAssets) async -> HTTPResponse {
        let company = request.pathParameters["company"] ?? ""
        guard let user = context.signedInUser(request) else {
            if context.settings.devLogin {
                // The login page takes a same-origin path back; the company slug is percent-encoded into it.
                let next = PercentEncoding.formEncode("/companies/\(PercentEncoding.encode(company))/api")
                return HTTPResponse(status: .seeOther, headers: ["Location": "/login?next=\(next)", "Cache-Control": "no-store"])
            }
            return .html(CompanyAPIPage.signInRequired(assets: assets), status: .unauthorized, headers: CompanyAPIPage.headers)
        }
        let page = CompanyAPIPage(company: company, user: user.email, assets: assets, signOut: Cookies.value("credledger_session", in: request.headers) != nil)
        do {
            let area = try await context.api.respond(to: API.AdminAreaRequest(company: company, actor: user.email))
            let csrf = context.csrfToken(for: user, purpose: AdminCaller.purpose(area.company.company))
            return .html(page.area(area, csrf: csrf, issuer: context.issuer), headers: CompanyAPIPage.headers)
        } catch LedgerError.notCompanyAdmin {
            return .html(page.notAdmin(), status: .forbidden, headers: CompanyAPIPage.headers)
        } catch let e as LedgerError where e.code == "unknown_company" {
            return .html(page.unknownCompany(), status: .notFound, headers: CompanyAPIPage.headers)
        } catch {
            return .html("<!doctype html><title>Error</title><p>The API area could not be read.</p>", status: .internalServerError,
                         headers: CompanyAPIPage.headers)
        }
    }
}
