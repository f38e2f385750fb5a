import AuditLog
import Marketplace
import Identity
import Persistence
import Vetting

/// Credentials from the principals table.
struct DatabaseCredentialLookup: CredentialLookup {
    let database: any Database

    func credential(keyID: String) async throws -> PrincipalCredential? {
        try await database.read { reader in
            guard var principal = try await reader.principal(keyID: keyID) else { return nil }
            if principal.role == .operator, let operatorID = principal.operatorID,
               let status = try await reader.operatorByID(operatorID)?.status {
                principal.operatorBlocked = status == .suspended || status == .revoked
            }
            return PrincipalCredential(principal: principal, secretHash: principal.keyHash,
                                       expiresAt: principal.expiresAt, revokedAt: principal.revokedAt)
        }
    }
}
