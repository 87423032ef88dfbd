import CredLedger
import CredLedgerCore

// The API values of engine results: the one place where an engine type becomes its wire shape, shared by the
// CLI and the server. Times are RFC 3339; a time of 0 (never) is null where the key is always present.

extension API {
    /// RFC 3339, or nil for "never" (nil or 0).
    public static func time(_ t: Timestamp?) -> String? {
        guard let t, t != 0 else { return nil }
        return TimeFormat.rfc3339(t)
    }
}

extension API.Company {
    public init(_ info: CompanyInfo) {
        self.init(company: info.slug, name: info.name, mailDomain: info.mailDomain, apiEnabled: info.apiEnabled)
    }
}

extension API.IssuedCredential {
    /// `oldTokens` only for a rotation of a credential that has tokens.
    public init(_ issued: CredLedger.IssuedCredential, oldTokens: String? = nil) {
        self.init(id: issued.id, name: issued.name, type: issued.type.name, scope: issued.scope.name, serviceUser: issued.serviceUser,
                  secret: issued.secret, clientID: issued.clientID, clientSecret: issued.clientSecret, oldTokens: oldTokens)
    }
}

extension API.Credential {
    public init(_ r: CredentialRow) {
        let isStatic = r.type == .staticKey
        self.init(id: r.id, name: r.name, scope: r.scope.name, scopeLabel: r.scope.tableLabel, type: r.type.name,
                  lastUsed: API.time(r.lastUsed), used: r.used, denied: r.denied, createdAt: API.time(r.createdAt),
                  createdBy: r.createdBy, deleted: r.deleted, deletedAt: r.deletedAt.flatMap(API.time), status: r.status.rawValue,
                  expiresAt: API.time(r.expiresAt), projects: r.projects.map { API.ProjectGrant(project: $0.project, role: $0.role) },
                  keyPrefix: isStatic ? r.displayPrefix : nil, clientID: isStatic ? nil : r.displayPrefix, serviceUser: r.serviceUser)
    }
}

extension API.AccessDecision {
    public init(_ d: Decision) {
        self.init(allowed: d.allowed, result: d.code, capability: d.capability.name, credential: d.credentialID,
                  principal: d.principal, scope: d.scope?.name, fix: d.denial?.fix)
    }
}

extension API.TokenResponse {
    public init(_ r: CredLedger.TokenResponse) {
        self.init(accessToken: r.accessToken, tokenType: r.tokenType, expiresIn: r.expiresIn, refreshToken: r.refreshToken, scope: r.scope)
    }
}

extension API.OAuthErrorBody {
    public init(_ e: OAuthError) {
        self.init(error: e.error, errorDescription: e.reason.fix, reason: e.reason.code)
    }
}

extension API.ErrorBody {
    /// The code and message of a refused, bad-input or integrity error.
    public init(_ e: LedgerError) {
        self.init(error: e.code, message: e.message)
    }
}

extension API.ConsentResult {
    public init(_ g: AuthorizationGrant) {
        self.init(code: g.code, redirectURI: g.redirectURI, location: g.location, state: g.state)
    }
}

extension API.Introspection {
    public init(_ i: CredLedger.Introspection) {
        guard i.active else {
            self.init(details: nil)
            return
        }
        self.init(details: Details(clientID: i.clientID, credential: i.credentialID, username: i.username, scope: i.scope,
                                   tokenType: i.tokenType, exp: (i.expiresAt ?? 0) / 1_000_000, iat: (i.issuedAt ?? 0) / 1_000_000,
                                   aud: i.audience))
    }
}

extension API.RevocationResult {
    public init(_ outcome: RevocationOutcome) { self.init(result: outcome.rawValue) }
}

extension API.ProjectionCheck {
    public init(_ p: ProjectionStatus) {
        self.init(name: p.name, ok: p.matches, lastSeq: p.lastSeq, live: p.live.hex, rebuilt: p.rebuilt.hex)
    }
}

extension API.CheckpointDisagreement {
    public init(_ d: ProjectionDisagreement) {
        self.init(logHead: d.logHead, checkpoints: d.checkpoints, tailMissing: d.tailMissing, firstSeq: d.firstSeq,
                  lastSeq: d.lastSeq, message: d.description)
    }
}

extension API.VerifyReport {
    public init(_ r: VerificationReport) {
        self.init(ok: r.ok, events: r.events, headHash: r.head.hash.hex, seconds: r.seconds, projections: r.projections.map(API.ProjectionCheck.init),
                  firstBadSeq: r.chainFailure?.seq, reason: r.chainFailure?.reason, checkpoints: r.checkpoints.map(API.CheckpointDisagreement.init))
    }
}

extension API.ReplayReport {
    public init(_ r: CredLedger.ReplayReport) {
        let failure = r.chainFailure
        self.init(ok: r.ok, from: r.from, headSeq: r.head.seq, headHash: r.head.hash.hex, eventsVerified: r.eventsVerified,
                  eventsProjected: r.eventsProjected, threads: r.threads, verifySeconds: r.verifySeconds,
                  verifyEventsPerSecond: r.verifyRate.rounded(), rebuildSeconds: r.projectSeconds, seconds: r.seconds,
                  eventsPerSecond: r.rate.rounded(), projections: r.projections.map(API.ProjectionCheck.init),
                  firstBadSeq: failure?.seq, reason: failure?.reason, lastGoodSeq: failure.map { _ in r.lastGood.seq },
                  checkpoints: r.checkpoints.map(API.CheckpointDisagreement.init), projectionsNote: r.projectionNote)
    }
}

extension API.RebuildReport {
    public init(_ r: RebuildResult) {
        self.init(events: r.events, digests: r.digests.mapValues(\.hex), accepted: r.accepted.map(API.CheckpointDisagreement.init))
    }
}

extension API.Event {
    /// An event with names resolved by `fields`, linked to `previousHash` (the stored hash of the event before).
    public init(_ stored: StoredEvent, previousHash: SHA256Digest, fields: EventFields) {
        let e = stored.event
        var payload: [String: API.PayloadValue] = [:]
        for (key, value) in fields.payload(e.payload) { payload[key] = API.PayloadValue(value) }
        self.init(seq: e.seq, time: TimeFormat.rfc3339(e.timestamp), type: e.type.name, company: fields.company(e.company),
                  actor: fields.actor(e.actor), payload: payload, prevHash: previousHash.hex, hash: stored.hash.hex)
    }
}

extension API.PayloadValue {
    /// A payload field as `EventFields.payload` gives it: text, an integer or a flag (anything else as its text).
    init(_ value: Any) {
        switch value {
        case let s as String: self = .string(s)
        case let b as Bool: self = .bool(b)
        case let i as any BinaryInteger: self = UInt64(exactly: i).map { .integer($0) } ?? .string("\(i)")
        default: self = .string("\(value)")
        }
    }
}

extension API.AuditEventsPage {
    /// `newestFirst` names the cursor of the next page (`before`, else `after`).
    public init(_ page: AuditPage, newestFirst: Bool, fields: EventFields) {
        let next = page.next.map { newestFirst ? API.PageCursor(before: $0) : API.PageCursor(after: $0) }
        self.init(events: zip(page.events, page.previousHashes).map { API.Event($0, previousHash: $1, fields: fields) },
                  next: next, plan: page.plan, examined: page.examined)
    }
}

extension API.AccessReport {
    public init(_ a: AccessAnswer) {
        self.init(company: a.company, project: a.project, operation: a.operation?.name,
                  asOf: API.AsOf(seq: a.seq, time: API.time(a.time)), notes: a.notes, principals: a.paths.map { p in
                      API.AccessPath(principal: p.principal, kind: p.kind.rawValue, credential: p.credentialID, credentialName: p.credentialName,
                                     type: p.type.name, scope: p.scope.name, role: p.role?.name, via: p.via, capability: p.capability.name,
                                     since: API.time(p.since), grant: p.grant, grantUntil: API.time(p.grantUntil))
                  })
    }
}

extension API.AccessReview {
    public init(company: String, staleDays: Int, findings: [CredLedger.ReviewFinding]) {
        self.init(company: company, staleDays: staleDays, findings: findings.map { f in
            API.ReviewFinding(finding: f.kind.rawValue, id: f.credentialID, name: f.name, type: f.type.name, scope: f.scope.name,
                              detail: f.detail, recommendation: f.recommendation)
        })
    }
}

extension API.AsOf {
    /// The point an as-of state was read at.
    public init(seq: UInt64, timestamp: Timestamp) { self.init(seq: seq, time: API.time(timestamp)) }
}

extension API.UsageReport {
    public init(company: String, rows: [CredLedger.UsageRow], asOf: API.AsOf?) {
        self.init(company: company, credentials: rows.map { r in
            API.UsageRow(id: r.id, name: r.name, used: r.used, denied: r.denied, lastUsed: API.time(r.lastUsed),
                         firstUsed: API.time(r.firstUsed), lastDenied: API.time(r.lastDenied), deleted: r.deleted)
        }, asOf: asOf)
    }
}

extension API.MembershipsReport {
    public init(company: String, _ m: Memberships, asOf: API.AsOf?) {
        self.init(company: company,
                  members: m.members.map { API.Member(email: $0.email, role: $0.role.name, since: API.time($0.since)) },
                  serviceAccess: m.serviceAccess.map {
                      API.ServiceAccess(id: $0.credentialID, name: $0.credentialName, serviceUser: $0.serviceUser, project: $0.project,
                                        role: $0.role.name, since: API.time($0.since))
                  },
                  userRoles: m.userRoles.map { API.UserProjectRole(email: $0.email, project: $0.project, role: $0.role.name, since: API.time($0.since)) },
                  asOf: asOf)
    }
}

extension API.ExportResult {
    public init(_ s: ExportSummary) {
        self.init(directory: s.directory, events: s.events, fromSeq: s.fromSeq, toSeq: s.toSeq, headSeq: s.head?.seq,
                  headHash: s.head?.hash.hex, seconds: s.seconds, eventsPerSecond: s.rate.rounded(),
                  files: s.files.map { API.ExportedFile(name: $0.name, sha256: $0.sha256.hex, bytes: $0.bytes, lines: $0.lines) })
    }
}
