/// The log, audit queries, as-of views and exports.
extension API {
    /// One event with its names resolved and its chain link: an `audit events` entry and a `log --json` line
    /// (docs/EXPORT.md `events.jsonl` without `record`).
    public struct Event: Codable, Sendable, Equatable {
        public var seq: UInt64
        /// RFC 3339 with six fraction digits.
        public var time: String
        public var type: String
        /// The company slug, `""` for none.
        public var company: String
        /// `system`, a user's email or a credential's public id.
        public var actor: String
        /// The type's fields by name (docs/EXPORT.md, payload fields).
        public var payload: [String: PayloadValue]
        /// Hex hash of the event before it (zeros for seq 1).
        public var prevHash: String
        /// Hex hash of this event.
        public var hash: String

        enum CodingKeys: String, CodingKey {
            case seq, time, type, company, actor, payload, hash
            case prevHash = "prev_hash"
        }

        public init(seq: UInt64, time: String, type: String, company: String, actor: String, payload: [String: PayloadValue],
                    prevHash: String, hash: String) {
            (self.seq, self.time, self.type, self.company, self.actor) = (seq, time, type, company, actor)
            (self.payload, self.prevHash, self.hash) = (payload, prevHash, hash)
        }
    }

    /// Filters of `audit events` (every one optional; `types` is a list of event type names).
    public struct AuditEventsQuery: Codable, Sendable, Equatable {
        public var company: String?
        public var credential: String?
        public var project: String?
        public var actor: String?
        public var types: [String]?
        /// Inclusive RFC 3339 bounds.
        public var since: String?
        public var until: String?
        /// `allowed` or `denied`.
        public var outcome: String?
        public var limit: Int?
        /// `newest` (default) or `oldest`.
        public var order: String?
        public var before: UInt64?
        public var after: UInt64?

        public init(company: String? = nil, credential: String? = nil, project: String? = nil, actor: String? = nil,
                    types: [String]? = nil, since: String? = nil, until: String? = nil, outcome: String? = nil, limit: Int? = nil,
                    order: String? = nil, before: UInt64? = nil, after: UInt64? = nil) {
            (self.company, self.credential, self.project, self.actor, self.types) = (company, credential, project, actor, types)
            (self.since, self.until, self.outcome, self.limit) = (since, until, outcome, limit)
            (self.order, self.before, self.after) = (order, before, after)
        }
    }

    /// Where the next page starts: `before` (newest first) or `after` (oldest first) this seq.
    public struct PageCursor: Codable, Sendable, Equatable {
        public var before: UInt64?
        public var after: UInt64?

        public init(before: UInt64? = nil, after: UInt64? = nil) {
            (self.before, self.after) = (before, after)
        }
    }

    /// One page of `audit events`.
    public struct AuditEventsPage: Codable, Sendable, Equatable {
        public var events: [Event]
        /// null when there is no further page.
        @AlwaysPresent public var next: PageCursor?
        /// How the events were found: which posting list, or the log's seq range.
        public var plan: String
        /// Events read and decoded to answer.
        public var examined: Int

        public init(events: [Event], next: PageCursor?, plan: String, examined: Int) {
            (self.events, self.next, self.plan, self.examined) = (events, next, plan, examined)
        }
    }

    /// A moment for as-of views: an RFC 3339 time or a seq (at most one; neither = now).
    public struct AsOfQuery: Codable, Sendable, Equatable {
        public var at: String?
        public var seq: UInt64?

        public init(at: String? = nil, seq: UInt64? = nil) {
            (self.at, self.seq) = (at, seq)
        }
    }

    /// One way a principal could act on the project (`audit access`).
    public struct AccessPath: Codable, Sendable, Equatable {
        /// The service user or the user's email.
        public var principal: String
        /// `service_user` or `user`.
        public var kind: String
        public var credential: String
        public var credentialName: String
        public var type: String
        public var scope: String
        /// The project role; null for GLOBAL scope.
        @AlwaysPresent public var role: String?
        /// The path, in words.
        public var via: String
        public var capability: String
        @AlwaysPresent public var since: String?
        /// What the path rests on (a grant, a token …).
        public var grant: String
        /// Until when that lasts; null when open-ended.
        @AlwaysPresent public var grantUntil: String?

        enum CodingKeys: String, CodingKey {
            case principal, kind, credential, type, scope, role, via, capability, since, grant
            case credentialName = "credential_name"
            case grantUntil = "grant_until"
        }

        public init(principal: String, kind: String, credential: String, credentialName: String, type: String, scope: String,
                    role: String?, via: String, capability: String, since: String?, grant: String, grantUntil: String?) {
            (self.principal, self.kind, self.credential, self.credentialName) = (principal, kind, credential, credentialName)
            (self.type, self.scope, self.role, self.via, self.capability) = (type, scope, role, via, capability)
            (self.since, self.grant, self.grantUntil) = (since, grant, grantUntil)
        }
    }

    /// Who could act on a project at a moment (`audit access`).
    public struct AccessReport: Codable, Sendable, Equatable {
        public var company: String
        public var project: String
        /// `read`, `write`, or null (anyone who could at least read).
        @AlwaysPresent public var operation: String?
        public var asOf: AsOf
        public var notes: [String]
        public var principals: [AccessPath]

        enum CodingKeys: String, CodingKey {
            case company, project, operation, notes, principals
            case asOf = "as_of"
        }

        public init(company: String, project: String, operation: String?, asOf: AsOf, notes: [String], principals: [AccessPath]) {
            (self.company, self.project, self.operation, self.asOf, self.notes, self.principals) =
                (company, project, operation, asOf, notes, principals)
        }
    }

    /// One finding of an access review.
    public struct ReviewFinding: Codable, Sendable, Equatable {
        /// stale, never_used, global_scope, broad_write, creator_not_admin, expired.
        public var finding: String
        public var id: String
        public var name: String
        public var type: String
        public var scope: String
        public var detail: String
        public var recommendation: String

        public init(finding: String, id: String, name: String, type: String, scope: String, detail: String, recommendation: String) {
            (self.finding, self.id, self.name, self.type, self.scope) = (finding, id, name, type, scope)
            (self.detail, self.recommendation) = (detail, recommendation)
        }
    }

    /// `audit review`: the live credentials' findings.
    public struct AccessReview: Codable, Sendable, Equatable {
        public var company: String
        public var staleDays: Int
        public var findings: [ReviewFinding]

        enum CodingKeys: String, CodingKey {
            case company, findings
            case staleDays = "stale_days"
        }

        public init(company: String, staleDays: Int, findings: [ReviewFinding]) {
            (self.company, self.staleDays, self.findings) = (company, staleDays, findings)
        }
    }

    /// One credential's exact usage counters.
    public struct UsageRow: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var used: UInt64
        public var denied: UInt64
        @AlwaysPresent public var lastUsed: String?
        @AlwaysPresent public var firstUsed: String?
        @AlwaysPresent public var lastDenied: String?
        public var deleted: Bool

        enum CodingKeys: String, CodingKey {
            case id, name, used, denied, deleted
            case lastUsed = "last_used"
            case firstUsed = "first_used"
            case lastDenied = "last_denied"
        }

        public init(id: String, name: String, used: UInt64, denied: UInt64, lastUsed: String?, firstUsed: String?,
                    lastDenied: String?, deleted: Bool) {
            (self.id, self.name, self.used, self.denied) = (id, name, used, denied)
            (self.lastUsed, self.firstUsed, self.lastDenied, self.deleted) = (lastUsed, firstUsed, lastDenied, deleted)
        }
    }

    /// `usage`: the counters of every credential (deleted ones included), live or as of a moment.
    public struct UsageReport: Codable, Sendable, Equatable {
        public var company: String
        public var credentials: [UsageRow]
        /// Present only for an as-of view.
        public var asOf: AsOf?

        enum CodingKeys: String, CodingKey {
            case company, credentials
            case asOf = "as_of"
        }

        public init(company: String, credentials: [UsageRow], asOf: AsOf? = nil) {
            (self.company, self.credentials, self.asOf) = (company, credentials, asOf)
        }
    }

    /// A company member.
    public struct Member: Codable, Sendable, Equatable {
        public var email: String
        /// `admin` or `member`.
        public var role: String
        @AlwaysPresent public var since: String?

        public init(email: String, role: String, since: String?) {
            (self.email, self.role, self.since) = (email, role, since)
        }
    }

    /// An API user's access to a project through its credential.
    public struct ServiceAccess: Codable, Sendable, Equatable {
        /// The credential's public id.
        public var id: String
        public var name: String
        public var serviceUser: String
        public var project: String
        public var role: String
        @AlwaysPresent public var since: String?

        enum CodingKeys: String, CodingKey {
            case id, name, project, role, since
            case serviceUser = "service_user"
        }

        public init(id: String, name: String, serviceUser: String, project: String, role: String, since: String?) {
            (self.id, self.name, self.serviceUser, self.project, self.role, self.since) = (id, name, serviceUser, project, role, since)
        }
    }

    /// A user's own project role (PKCE credentials act with it).
    public struct UserProjectRole: Codable, Sendable, Equatable {
        public var email: String
        public var project: String
        public var role: String
        @AlwaysPresent public var since: String?

        public init(email: String, project: String, role: String, since: String?) {
            (self.email, self.project, self.role, self.since) = (email, project, role, since)
        }
    }

    /// `memberships`: who belongs where, live or as of a moment.
    public struct MembershipsReport: Codable, Sendable, Equatable {
        public var company: String
        public var members: [Member]
        public var serviceAccess: [ServiceAccess]
        public var userRoles: [UserProjectRole]
        /// Present only for an as-of view.
        public var asOf: AsOf?

        enum CodingKeys: String, CodingKey {
            case company, members
            case serviceAccess = "service_access"
            case userRoles = "user_roles"
            case asOf = "as_of"
        }

        public init(company: String, members: [Member], serviceAccess: [ServiceAccess], userRoles: [UserProjectRole], asOf: AsOf? = nil) {
            (self.company, self.members, self.serviceAccess, self.userRoles, self.asOf) = (company, members, serviceAccess, userRoles, asOf)
        }
    }

    /// A compliance export (`export`): `company` absent for every company; `format` jsonl (default) or csv.
    public struct ExportRequest: Codable, Sendable, Equatable {
        public var company: String?
        public var format: String?
        /// A new or empty directory.
        public var out: String
        public var since: String?
        public var until: String?

        public init(company: String? = nil, format: String? = nil, out: String, since: String? = nil, until: String? = nil) {
            (self.company, self.format, self.out, self.since, self.until) = (company, format, out, since, until)
        }
    }

    /// A file an export wrote (besides manifest.json, which lists these).
    public struct ExportedFile: Codable, Sendable, Equatable {
        public var name: String
        /// Hex SHA-256 of the file.
        public var sha256: String
        public var bytes: UInt64
        public var lines: UInt64

        public init(name: String, sha256: String, bytes: UInt64, lines: UInt64) {
            (self.name, self.sha256, self.bytes, self.lines) = (name, sha256, bytes, lines)
        }
    }

    /// What an export wrote.
    public struct ExportResult: Codable, Sendable, Equatable {
        public var directory: String
        public var events: UInt64
        public var fromSeq: UInt64
        public var toSeq: UInt64
        /// The last exported event; both null when the range held none.
        @AlwaysPresent public var headSeq: UInt64?
        @AlwaysPresent public var headHash: String?
        public var seconds: Double
        /// Rounded to a whole number.
        public var eventsPerSecond: Double
        public var files: [ExportedFile]

        enum CodingKeys: String, CodingKey {
            case directory, events, seconds, files
            case fromSeq = "from_seq"
            case toSeq = "to_seq"
            case headSeq = "head_seq"
            case headHash = "head_hash"
            case eventsPerSecond = "events_per_second"
        }

        public init(directory: String, events: UInt64, fromSeq: UInt64, toSeq: UInt64, headSeq: UInt64?, headHash: String?,
                    seconds: Double, eventsPerSecond: Double, files: [ExportedFile]) {
            (self.directory, self.events, self.fromSeq, self.toSeq) = (directory, events, fromSeq, toSeq)
            (self.headSeq, self.headHash, self.seconds, self.eventsPerSecond, self.files) = (headSeq, headHash, seconds, eventsPerSecond, files)
        }
    }
}
