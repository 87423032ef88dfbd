import CredLedger
import CredLedgerAPI
import CredLedgerCore
import Foundation

/// `auth check`, `token …`, `oauth …`: the authentication side, with RFC response shapes in --json. Each parses its
/// arguments into its API request and prints the response.
enum AuthCommands {
    static var all: [CommandSpec] {
        [
            CommandSpec("auth check", positionals: ["company"], options: ["header", "project", "op"], required: ["header", "project", "op"], secrets: ["header"],
                        summary: "Decide whether an Authorization header value may --op read|write on --project, and record the use. Exit 0 allowed, 1 denied (prints the reason code). --header - reads the header value from standard input.") { inv, ctx in
                let opName = try inv.required("op")
                guard Operation(name: opName) != nil else { throw UsageError("--op must be read or write, not '\(opName)'") }
                let header = try inv.requiredSecret("header")
                let decision = try ctx.respond(API.AccessCheckRequest(company: inv.positional(0), project: try inv.required("project"),
                                                                      operation: opName, header: header))
                if ctx.json {
                    Output.json(decision)
                } else if !decision.allowed {
                    Output.line("denied: \(decision.result) — \(decision.fix ?? "")")
                } else {
                    Output.line("allowed: \(decision.principal ?? "?") via \(decision.credential ?? "?") (\(decision.capability))")
                }
                return decision.allowed ? ExitCode.ok : ExitCode.refused
            },
            CommandSpec("token client-credentials", options: ["client-id", "client-secret"], required: ["client-id", "client-secret"], secrets: ["client-secret"],
                        summary: "client_credentials grant for an OAuth API user: prints an access token (shown once). --client-secret - reads it from standard input.") { inv, ctx in
                let clientID = try inv.required("client-id"), clientSecret = try inv.requiredSecret("client-secret")
                return try oauthCall(ctx, API.TokenRequest(grantType: "client_credentials", clientID: clientID, clientSecret: clientSecret))
            },
            CommandSpec("oauth authorize", positionals: ["company"],
                        options: ["client-id", "user", "redirect-uri", "code-challenge", "code-challenge-method", "state"],
                        required: ["client-id", "user", "redirect-uri", "code-challenge"],
                        summary: "A company user approves a PKCE client (S256 only; exact redirect URI). Prints the code and the redirect location.") { inv, ctx in
                let request = API.ConsentRequest(company: inv.positional(0), clientID: try inv.required("client-id"), user: try inv.required("user"),
                                                 redirectURI: try inv.required("redirect-uri"), codeChallenge: try inv.required("code-challenge"),
                                                 codeChallengeMethod: inv.option("code-challenge-method"), state: inv.option("state"))
                do {
                    let grant = try ctx.respond(request)
                    if ctx.json {
                        Output.json(grant)
                    } else {
                        Output.line("approved; redirect to: \(grant.location)")
                    }
                    return ExitCode.ok
                } catch let error as OAuthError {
                    return report(error, ctx)
                }
            },
            CommandSpec("oauth token", options: ["grant", "client-id", "client-secret", "code", "code-verifier", "redirect-uri", "refresh-token"],
                        required: ["grant", "client-id"], secrets: ["client-secret", "code", "code-verifier", "refresh-token"],
                        summary: "Token endpoint: --grant authorization_code (with --code --code-verifier --redirect-uri) or refresh_token (with --refresh-token). Each secret option given as - reads one line of standard input, in command-line order (e.g. --client-secret - --code - --code-verifier -: three lines).") { inv, ctx in
                let grant = try inv.required("grant")
                let clientID = try inv.required("client-id")
                switch grant {
                case "authorization_code":
                    let secret = try inv.secret("client-secret"), code = try inv.requiredSecret("code")
                    let verifier = try inv.requiredSecret("code-verifier"), redirectURI = try inv.required("redirect-uri")
                    return try oauthCall(ctx, API.TokenRequest(grantType: grant, clientID: clientID, clientSecret: secret, code: code,
                                                               codeVerifier: verifier, redirectURI: redirectURI))
                case "refresh_token":
                    let secret = try inv.secret("client-secret"), refreshToken = try inv.requiredSecret("refresh-token")
                    return try oauthCall(ctx, API.TokenRequest(grantType: grant, clientID: clientID, clientSecret: secret, refreshToken: refreshToken))
                case "client_credentials":
                    let secret = try inv.requiredSecret("client-secret")
                    return try oauthCall(ctx, API.TokenRequest(grantType: grant, clientID: clientID, clientSecret: secret))
                default:
                    throw UsageError("--grant must be authorization_code, refresh_token or client_credentials (unsupported_grant_type)")
                }
            },
            CommandSpec("token introspect", options: ["token", "client-id", "client-secret"], required: ["token", "client-id"],
                        secrets: ["token", "client-secret"],
                        summary: "RFC 7662 introspection by a confidential client (--client-id and --client-secret; each secret given as - reads one line of standard input, in command-line order): active or not, with client, user, scope, expiry. A client sees only its own tokens.") { inv, ctx in
                let token = try inv.requiredSecret("token"), clientID = try inv.required("client-id")
                let clientSecret = try inv.secret("client-secret")
                let operation = API.IntrospectOperation(API.TokenQueryRequest(token: token, clientID: clientID, clientSecret: clientSecret))
                let info: Introspection
                do {
                    // The typed command of the request, run here: the human line shows the expiry to the µs (the RFC 7662
                    // response has whole seconds).
                    let ledger = try ctx.ledger()
                    info = try ledger.perform(try operation.command(ledger))
                } catch let error as OAuthError {
                    return report(error, ctx)
                }
                if ctx.json {
                    Output.json(operation.response(info))
                } else if info.active {
                    Output.line("active \(info.tokenType ?? "") of \(info.credentialID ?? "?") for \(info.username ?? "?"), scope \(info.scope ?? "?"), expires \(Format.time(info.expiresAt))")
                } else {
                    Output.line("inactive")
                }
                return ExitCode.ok
            },
            CommandSpec("token revoke", options: ["token", "client-id", "client-secret"], required: ["token", "client-id"],
                        secrets: ["token", "client-secret"],
                        summary: "RFC 7009 revocation by the client the token was issued to; a refresh token revokes its whole family. Says what happened: revoked, already inactive, or unknown token. Each secret given as - reads one line of standard input, in command-line order.") { inv, ctx in
                let token = try inv.requiredSecret("token"), clientID = try inv.required("client-id")
                let clientSecret = try inv.secret("client-secret")
                let result: API.RevocationResult
                do {
                    result = try ctx.respond(API.RevokeOperation(API.TokenQueryRequest(token: token, clientID: clientID, clientSecret: clientSecret)))
                } catch let error as OAuthError {
                    return report(error, ctx)
                }
                if ctx.json { Output.json(result) }
                switch RevocationOutcome(rawValue: result.result) {
                case .revoked: ctx.say("revoked")
                case .alreadyInactive: ctx.say("already inactive: the token was spent, revoked or expired; nothing changed")
                case .unknown, nil: ctx.say("unknown token: nothing to revoke")
                }
                return ExitCode.ok
            },
        ]
    }

    private static func oauthCall(_ ctx: ToolContext, _ request: API.TokenRequest) throws -> Int32 {
        do {
            let response = try ctx.respond(request)
            if ctx.json {
                Output.json(response)
            } else {
                Output.line("access_token:  \(response.accessToken)  (Bearer, expires in \(response.expiresIn) s, scope \(response.scope))")
                if let r = response.refreshToken { Output.line("refresh_token: \(r)") }
                Output.line("Store them now: they are shown only once.")
            }
            return ExitCode.ok
        } catch let error as OAuthError {
            return report(error, ctx)
        }
    }

    private static func report(_ error: OAuthError, _ ctx: ToolContext) -> Int32 {
        if ctx.json {
            Output.json(API.OAuthErrorBody(error))
        } else {
            Output.error("error: \(error.reason.code) (\(error.error)): \(error.reason.fix)")
        }
        return ExitCode.refused
    }
}
