import CredLedgerAPI
import CredLedgerCore
import CredLedgerHTTP
import Foundation

/// How the admin JSON API answers: API model values as JSON, engine errors as `API.ErrorBody` with the status their
/// code calls for (docs/HTTP.md "Admin API").
enum AdminResponses {
    /// Every admin answer names the data of one company's API area: never cached, never framed, never sniffed.
    static let baseHeaders: HTTPHeaders = [
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    ]

    /// `value` as JSON with `status`.
    static func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok) -> HTTPResponse {
        .json(value, status: status, headers: baseHeaders)
    }

    /// An error body with its status.
    static func error(_ code: String, _ message: String, status: HTTPStatus) -> HTTPResponse {
        json(API.ErrorBody(error: code, message: message), status: status)
    }

    /// The status of an engine error: 403 for the API area's gates, 404 for what does not exist, 400 for bad input,
    /// 409 for any other refusal by a rule (the state forbids it), 500 for an integrity failure.
    static func status(of error: LedgerError) -> HTTPStatus {
        switch error.code {
        case "not_company_admin", "api_module_disabled": return .forbidden
        case "unknown_company", "unknown_project", "unknown_credential", "unknown_user": return .notFound
        default: break
        }
        switch error.kind {
        case .badInput: return .badRequest
        case .refused: return HTTPStatus(code: 409, reason: "Conflict")
        case .integrity: return .internalServerError
        }
    }

    /// Runs `body` and answers its value, or its error.
    static func answer<T: Encodable>(status: HTTPStatus = .ok, _ body: () async throws -> T) async -> HTTPResponse {
        do {
            return json(try await body(), status: status)
        } catch let e as LedgerError {
            return json(API.ErrorBody(e), status: Self.status(of: e))
        } catch let e as AdminRequestError {
            return error(e.code, e.message, status: e.status)
        } catch {
            return self.error("server_error", "the request failed", status: .internalServerError)
        }
    }
}

/// A request the admin API refuses before it reaches the engine (its body, its headers).
struct AdminRequestError: Error {
    let code: String
    let message: String
    let status: HTTPStatus

    static func invalid(_ message: String) -> AdminRequestError { AdminRequestError(code: "invalid_request", message: message, status: .badRequest) }
}
