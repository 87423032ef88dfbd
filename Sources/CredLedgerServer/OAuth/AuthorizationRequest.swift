import CredLedger
import CredLedgerCore
import CredLedgerHTTP
import CredLedgerProjections

/// What the consent page shows about a client (read from the projections).
struct ConsentClient: Sendable {
    let clientID: String
    let name: String
    let companySlug: String
    let companyName: String
    let scope: Scope
    let redirectURIs: [String]
    let userDelegated: Bool
    let usable: Bool
}

/// A validated authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2): the parameters the consent
/// form carries back, and the client they name.
struct AuthorizationRequest: Sendable {
    let client: ConsentClient
    let redirectURI: String
    let scope: String?
    let state: String?
    let codeChallenge: String
    let codeChallengeMethod: String
    let resource: String?

    static let maxStateLength = 512
    static let maxParameterLength = 2048

    /// Why a request cannot go on: a page (the client or its redirect URI is not trusted: never redirect there,
    /// RFC 6749 §4.1.2.1) or an error sent back to the trusted redirect URI.
    enum Failure: Error {
        case page(HTTPStatus, String)
        case redirect(redirectURI: String, error: String, description: String, state: String?)
    }

    /// Validates the parameters (from the query on GET, the form on POST), reading the client from the ledger.
    static func validate(_ fields: FormFields, ledger: Ledger) async throws(Failure) -> AuthorizationRequest {
        // Before the client and redirect URI are trusted: pages only.
        for name in ["client_id", "redirect_uri"] where fields.isRepeated(name) {
            throw .page(.badRequest, "The parameter \(name) is repeated.")
        }
        guard let clientID = fields["client_id"] else { throw .page(.badRequest, "The request names no client (client_id is missing).") }
        guard clientID.utf8.count <= 64 else { throw .page(.badRequest, "The client_id is too long.") }
        guard let redirectURI = fields["redirect_uri"] else {
            throw .page(.badRequest, "The request has no redirect_uri: the client must name where to return.")
        }
        guard redirectURI.utf8.count <= Validation.maxRedirectURILength else { throw .page(.badRequest, "The redirect_uri is too long.") }
        let client: ConsentClient?
        do {
            client = try await lookUp(clientID, ledger: ledger)
        } catch {
            throw .page(.internalServerError, "The ledger could not be read; try again.")
        }
        guard let client, client.usable else { throw .page(.badRequest, "Unknown client: no usable OAuth client has this client_id.") }
        guard client.userDelegated else {
            throw .page(.badRequest, "This client is an OAuth API user (client credentials): it cannot ask a user for consent.")
        }
        // The ledger's rule (exact match; a loopback IP URI with any port), not a second copy of it.
        guard client.redirectURIs.contains(where: { RedirectURI.matches(registered: $0, requested: redirectURI) }) else {
            throw .page(.badRequest, "The redirect_uri is not one registered for this client.")
        }

        // Trusted from here on: errors go back to the client, with state (when sane) and iss.
        let rawState = fields["state"]
        let state = rawState.flatMap { $0.utf8.count <= maxStateLength && !fields.isRepeated("state") ? $0 : nil }
        func fail(_ error: String, _ description: String) -> Failure {
            .redirect(redirectURI: redirectURI, error: error, description: description, state: state)
        }
        if let repeated = fields.repeatedNames.first { throw fail("invalid_request", "\(repeated) is repeated") }
        if let long = fields.fields.first(where: { $0.value.utf8.count > maxParameterLength }) {
            throw fail("invalid_request", "\(long.name) is too long")
        }
        guard let responseType = fields["response_type"] else { throw fail("invalid_request", "response_type is required") }
        guard responseType == "code" else { throw fail("unsupported_response_type", "only response_type=code is supported") }
        if let rawState, rawState.utf8.count > maxStateLength { throw fail("invalid_request", "state is longer than \(maxStateLength) bytes") }
        guard let challenge = fields["code_challenge"] else { throw fail("invalid_request", "code_challenge is required (PKCE, S256)") }
        guard fields["code_challenge_method"] == "S256" else {
            throw fail("invalid_request", "code_challenge_method must be S256 (plain is not supported)")
        }
        guard PKCE.decodeChallenge(challenge) != nil else { throw fail("invalid_request", "code_challenge is not a base64url SHA-256 value") }
        let resource = fields["resource"]
        if let resource, !ResourceIndicator.isValid(resource) {
            throw fail("invalid_target", "resource must be an absolute URI without a fragment")
        }
        return AuthorizationRequest(client: client, redirectURI: redirectURI, scope: fields["scope"], state: state,
                                    codeChallenge: challenge, codeChallengeMethod: "S256", resource: resource)
    }

    static func lookUp(_ clientID: String, ledger: Ledger) async throws -> ConsentClient? {
        try await ledger.audit.read { audit in
            try audit.withState { state -> ConsentClient? in
                guard let record = try state.credential(clientID: clientID), let company = try state.company(record.company) else { return nil }
                return ConsentClient(clientID: record.clientID, name: record.name, companySlug: company.slug, companyName: company.name,
                                     scope: record.scope, redirectURIs: record.redirectURIs, userDelegated: record.type.isUserDelegated,
                                     usable: !record.deleted)
            }
        }
    }

    /// The CSRF purpose of this request: the user's form is good for this exact request only (docs/HTTP.md §9).
    var csrfPurpose: String {
        var hash = SHA256()
        for part in [client.clientID, redirectURI, scope ?? "", state ?? "", codeChallenge, resource ?? ""] {
            hash.update(Array("\(part.utf8.count):".utf8))
            hash.update(Array(part.utf8))
        }
        return "consent:" + hash.finalize().hex
    }

    /// The hidden fields that carry the request back in the consent form.
    var hiddenFields: [(String, String)] {
        var out: [(String, String)] = [("response_type", "code"), ("client_id", client.clientID), ("redirect_uri", redirectURI),
                                       ("code_challenge", codeChallenge), ("code_challenge_method", codeChallengeMethod)]
        if let scope { out.append(("scope", scope)) }
        if let state { out.append(("state", state)) }
        if let resource { out.append(("resource", resource)) }
        return out
    }
}

/// Builds authorization responses (RFC 6749 §4.1.2, RFC 9207): parameters added to the redirect URI's query.
enum AuthorizationResponse {
    static func location(_ redirectURI: String, _ parameters: [(String, String?)]) -> String {
        var out = redirectURI
        var separator = redirectURI.contains("?") ? "&" : "?"
        for (name, value) in parameters {
            guard let value else { continue }
            out += separator + name + "=" + PercentEncoding.encode(value)
            separator = "&"
        }
        return out
    }
}
