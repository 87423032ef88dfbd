import CredLedgerCore
import CredLedgerProjections

extension BatchContext {
    /// Stages, after a user's removal from `company`, one event per thing of theirs there that still works, so the
    /// log says what ended and why: `user_project_role_set` (no role) for each of their project roles in the company's
    /// projects, `code_revoked` for each approved code not yet redeemed nor expired, and `token_revoked` (whole family,
    /// reason `user_removed`) for each token family with a live token. Nothing comes back when they are added again:
    /// revoked stays revoked, and a role given again does not reach older tokens (`AccessPolicy.delegatedRoles`).
    mutating func stageEndOfAccess(company: UInt32, user: UInt32, actor: Actor) throws {
        let state = self.state
        for (project, _) in try state.userRoles(user: user, company: company) {
            emit(company: company, actor: actor, .userProjectRoleSet(user: user, project: project, role: nil))
        }
        for code in try state.codes(company: company, user: user) where code.status == .unused && now < code.expiresAt {
            emit(company: company, actor: actor, .codeRevoked(CodeRevoked(credential: code.credential, user: user, codeHash: code.hash,
                                                                        reason: .userRemoved)))
        }
        for family in try state.families(company: company, user: user) {
            // The event names one live token of the family (the first by key); the whole family ends.
            guard let live = try state.liveToken(family: family, at: now) else { continue }
            emit(company: company, actor: actor, .tokenRevoked(TokenRevoked(credential: live.credential, family: family, tokenHash: live.hash,
                                                                          wholeFamily: true, reason: .userRemoved)))
        }
    }
}
