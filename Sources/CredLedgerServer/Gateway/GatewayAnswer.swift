import CredLedger
import CredLedgerCore
import CredLedgerHTTP

/// The HTTP answer to a recorded decision (docs/HTTP.md, "Forward authentication"): 200 with the credential, the acting
/// user and the scope; 401 + `WWW-Authenticate` when the credential itself is missing or bad; 403 when it may not
/// do this here. Denials carry `{"error", "reason", "message"}` with the ledger's reason code.
enum GatewayAnswer {
    /// The JSON body of a denial or refusal.
    struct Body: Encodable {
        var error: String
        var reason: String
        var message: String
    }

    /// Reasons about the credential itself (the caller must authenticate differently): 401.
    static func isAuthenticationFailure(_ reason: DenialReason) -> Bool {
        switch reason {
        case .malformedHeader, .unsupportedScheme, .badChecksum, .unknownCredential, .revoked, .expired, .wrongCredentialType,
             .secretSuperseded, .tokenExpired, .tokenRevoked:
            return true
        default:
            return false
        }
    }

    /// The answer to `decision` for a request that presented `header`; `resourceMetadata` is the RFC 9728 URL.
    static func response(_ decision: Decision, header: String, resourceMetadata: String) -> HTTPResponse {
        guard let reason = decision.denial else {
            var headers: HTTPHeaders = ["Cache-Control": "no-store"]
            if let id = decision.credentialID { headers.add("X-Credential-Id", headerSafe(id)) }
            if let principal = decision.principal { headers.add("X-Acting-User", headerSafe(principal)) }
            if let scope = decision.scope { headers.add("X-Scope", scope.name) }
            return HTTPResponse(status: .ok, headers: headers)
        }
        var headers: HTTPHeaders = ["Cache-Control": "no-store"]
        let scheme = presentedScheme(header)
        if isAuthenticationFailure(reason) {
            // RFC 6750 §3.1: without any credential, the challenge carries no error code.
            let missing = header.allSatisfy { $0 == " " }
            if scheme != "apikey" {
                let error = missing ? "" : #"error="invalid_token", error_description="\#(reason.code)", "#
                headers.add("WWW-Authenticate", #"Bearer realm="credledger", \#(error)resource_metadata="\#(resourceMetadata)""#)
            }
            if scheme != "bearer" {
                headers.add("WWW-Authenticate", #"Apikey realm="credledger""#)
            }
            return .json(Body(error: "invalid_token", reason: reason.code, message: reason.fix), status: .unauthorized, headers: headers)
        }
        if scheme == "bearer" {
            headers.add("WWW-Authenticate", #"Bearer realm="credledger", error="insufficient_scope", error_description="\#(reason.code)""#)
        }
        return .json(Body(error: "insufficient_scope", reason: reason.code, message: reason.fix), status: .forbidden, headers: headers)
    }

    /// 400: the gateway sent no usable company, project or method. Nothing was decided or recorded.
    static func refusal(_ refusal: GatewayRefusal) -> HTTPResponse {
        .json(Body(error: "invalid_request", reason: refusal.reason, message: refusal.message), status: .badRequest,
              headers: ["Cache-Control": "no-store"])
    }

    /// 503: the decision could not be recorded, so it is not given (fail closed).
    static func unavailable() -> HTTPResponse {
        .json(Body(error: "temporarily_unavailable", reason: "not_recorded", message: "the decision could not be recorded durably: retry"),
              status: .serviceUnavailable, headers: ["Cache-Control": "no-store", "Retry-After": "1"])
    }

    /// `apikey`, `bearer`, or "" for anything else (lower-cased scheme word of the header).
    private static func presentedScheme(_ header: String) -> String {
        let word = header.drop { $0 == " " }.prefix { $0 != " " }.lowercased()
        return word == "apikey" || word == "bearer" ? word : ""
    }

    /// Header values are ASCII without controls; anything else (a non-ASCII email) is percent-encoded.
    private static func headerSafe(_ text: String) -> String {
        text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) ? text : PercentEncoding.encode(text)
    }
}
