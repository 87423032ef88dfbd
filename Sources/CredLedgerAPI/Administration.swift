/// Companies, members and projects: requests and results.
extension API {
    /// Register a company with its first admin (`company create`).
    public struct CreateCompanyRequest: Codable, Sendable, Equatable {
        public var company: String
        public var admin: String
        /// Display name (default: the slug).
        public var name: String?
        /// Domain of the service users' emails (default cxplanner.com).
        public var mailDomain: String?

        enum CodingKeys: String, CodingKey {
            case company, admin, name
            case mailDomain = "mail_domain"
        }

        public init(company: String, admin: String, name: String? = nil, mailDomain: String? = nil) {
            (self.company, self.admin, self.name, self.mailDomain) = (company, admin, name, mailDomain)
        }
    }

    /// A registered company (`company create`).
    public struct Company: Codable, Sendable, Equatable {
        public var company: String
        public var name: String
        public var mailDomain: String
        public var apiEnabled: Bool

        enum CodingKeys: String, CodingKey {
            case company, name
            case mailDomain = "mail_domain"
            case apiEnabled = "api_enabled"
        }

        public init(company: String, name: String, mailDomain: String, apiEnabled: Bool) {
            (self.company, self.name, self.mailDomain, self.apiEnabled) = (company, name, mailDomain, apiEnabled)
        }
    }

    /// Enable or disable a company's API module (`company enable-api` / `disable-api`).
    public struct SetAPIModuleRequest: Codable, Sendable, Equatable {
        public var company: String
        public var apiEnabled: Bool
        /// The admin acting.
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, actor = "as"
            case apiEnabled = "api_enabled"
        }

        public init(company: String, apiEnabled: Bool, actor: String) {
            (self.company, self.apiEnabled, self.actor) = (company, apiEnabled, actor)
        }
    }

    /// The module's state after the request; `changed` false when it already was.
    public struct APIModuleResult: Codable, Sendable, Equatable {
        public var company: String
        public var apiEnabled: Bool
        public var changed: Bool

        enum CodingKeys: String, CodingKey {
            case company, changed
            case apiEnabled = "api_enabled"
        }

        public init(company: String, apiEnabled: Bool, changed: Bool) {
            (self.company, self.apiEnabled, self.changed) = (company, apiEnabled, changed)
        }
    }

    /// Set a member's company role: `admin`, `member` or `removed` (`member set`).
    public struct SetMemberRoleRequest: Codable, Sendable, Equatable {
        public var company: String
        public var email: String
        public var role: String
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, email, role, actor = "as"
        }

        public init(company: String, email: String, role: String, actor: String) {
            (self.company, self.email, self.role, self.actor) = (company, email, role, actor)
        }
    }

    /// A member's role after `member set`; `result` is `granted`, `changed` or `unchanged`.
    public struct MemberRoleResult: Codable, Sendable, Equatable {
        public var company: String
        public var email: String
        public var role: String
        public var result: String

        public init(company: String, email: String, role: String, result: String) {
            (self.company, self.email, self.role, self.result) = (company, email, role, result)
        }
    }

    /// Create a project (`project create`).
    public struct CreateProjectRequest: Codable, Sendable, Equatable {
        public var company: String
        public var project: String
        public var name: String?
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, project, name, actor = "as"
        }

        public init(company: String, project: String, name: String? = nil, actor: String) {
            (self.company, self.project, self.name, self.actor) = (company, project, name, actor)
        }
    }

    /// A created (`archived` absent) or archived (`archived` true) project.
    public struct ProjectResult: Codable, Sendable, Equatable {
        public var company: String
        public var project: String
        /// Present (true) only in the answer to `project archive`.
        public var archived: Bool?

        public init(company: String, project: String, archived: Bool? = nil) {
            (self.company, self.project, self.archived) = (company, project, archived)
        }
    }

    /// Archive a project (`project archive`).
    public struct ArchiveProjectRequest: Codable, Sendable, Equatable {
        public var company: String
        public var project: String
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, project, actor = "as"
        }

        public init(company: String, project: String, actor: String) {
            (self.company, self.project, self.actor) = (company, project, actor)
        }
    }

    /// Give a company user a project role: `viewer`, `editor`, `project-admin` or `none` (`project member`).
    public struct SetProjectRoleRequest: Codable, Sendable, Equatable {
        public var company: String
        public var project: String
        public var email: String
        public var role: String
        public var actor: String

        enum CodingKeys: String, CodingKey {
            case company, project, email, role, actor = "as"
        }

        public init(company: String, project: String, email: String, role: String, actor: String) {
            (self.company, self.project, self.email, self.role, self.actor) = (company, project, email, role, actor)
        }
    }

    /// A user's project role after `project member`; `result` is `granted`, `changed` or `unchanged`.
    public struct ProjectRoleResult: Codable, Sendable, Equatable {
        public var project: String
        public var email: String
        /// The role name, `none` when removed.
        public var role: String
        public var result: String

        public init(project: String, email: String, role: String, result: String) {
            (self.project, self.email, self.role, self.result) = (project, email, role, result)
        }
    }
}
