import CredLedger
import CredLedgerAPI
import CredLedgerCore
import CredLedgerHTTP

/// An RFC 6749 §5.2 error answer of the token, introspection and revocation endpoints, before or after the ledger.
struct OAuthFailure: Error, Sendable {
    let error: String
    let description: String
    /// The ledger's denial reason code, when the ledger decided.
    var reason: String?
    /// The client authenticated with HTTP Basic: `invalid_client` is then a 401 with `WWW-Authenticate: Basic`.
    var usedBasic = false

    init(error: String, description: String, reason: String? = nil, usedBasic: Bool = false) {
        (self.error, self.description, self.reason, self.usedBasic) = (error, description, reason, usedBasic)
    }

    /// The answer: 401 for `invalid_client` (with a Basic challenge), 500 for `server_error`, else 400; never cached.
    var response: HTTPResponse {
        var headers = OAuthFailure.noStore
        let status: HTTPStatus
        switch error {
        case "invalid_client":
            status = .unauthorized
            headers.add("WWW-Authenticate", #"Basic realm="credledger", charset="UTF-8""#)
        case "server_error":
            status = .internalServerError
        default:
            status = .badRequest
        }
        let body = API.OAuthErrorBody(error: error, errorDescription: description, reason: reason ?? error)
        return .json(body, status: status, headers: headers)
    }

    /// RFC 6749 §5.1: token, introspection and revocation answers are never cached.
    static var noStore: HTTPHeaders { ["Cache-Control": "no-store", "Pragma": "no-cache"] }

    static func invalidRequest(_ description: String) -> OAuthFailure { OAuthFailure(error: "invalid_request", description: description) }

    /// The engine's answer to an OAuth call as a failure: its RFC error and reason, an invalid request value as
    /// `invalid_request`, anything else `server_error` (its message is not shown: it may name storage paths).
    static func from(_ error: any Error, usedBasic: Bool) -> OAuthFailure {
        if let e = error as? OAuthError {
            return OAuthFailure(error: e.error, description: e.reason.fix, reason: e.reason.code, usedBasic: usedBasic)
        }
        if let e = error as? LedgerError, e.kind == .badInput {
            return OAuthFailure(error: "invalid_request", description: e.message, reason: e.code, usedBasic: usedBasic)
        }
        return OAuthFailure(error: "server_error", description: "the ledger could not answer; try again", usedBasic: usedBasic)
    }
}

/// The form of an OAuth POST (docs/HTTP.md §9): the right Content-Type, decodable, no repeated parameter.
enum OAuthForm {
    static func decode(_ request: HTTPRequest) throws(OAuthFailure) -> FormFields {
        guard FormDecoding.isFormContentType(request.headers["content-type"]) else {
            throw .invalidRequest("send the parameters as application/x-www-form-urlencoded")
        }
        let form: FormFields
        do {
            form = try FormDecoding.decode(request.body)
        } catch {
            throw .invalidRequest("the form body is not valid: \(error)")
        }
        if let repeated = form.repeatedNames.first {
            throw .invalidRequest("parameter \(repeated) is repeated (RFC 6749 §3.1)")
        }
        return form
    }
}
