import AuditLog
import Foundation
import Marketplace
import Identity
import Persistence
import Vetting

/// What authentication reads from the store: the principal generation on every request, a key's
/// credential when it is not in memory.
protocol CredentialStore: Sendable {
    /// The principal generation (see ``DatabaseReader/principalGeneration()``), read after this call began.
    func generation() async throws -> Int64
    /// The credential of key `keyID` and the principal generation it is current at, read together.
    func credential(keyID: String) async throws -> (credential: PrincipalCredential?, generation: Int64)
}

/// Credentials from the principals table.
///
/// With a test clock it also reads the clock's stored time with the generation, in the same read
/// transaction, and moves `testClock` to it: another instance may have moved it, and every
/// authenticated request reads the generation anyway.
struct DatabaseCredentialLookup: CredentialStore {
    let database: any Database
    /// The test clock to keep up with the stored one; nil with the system clock.
    var testClock: ServerClock?

    func generation() async throws -> Int64 {
        guard let testClock else {
            return try await database.read { try await $0.principalGeneration() }
        }
        let (generation, stored) = try await database.read { reader in
            (try await reader.principalGeneration(), try await reader.metaValue(forKey: ServerClock.metaKey))
        }
        if let stored = stored.flatMap(RFC3339.parse) { testClock.observe(stored) }
        return generation
    }

    func credential(keyID: String) async throws -> (credential: PrincipalCredential?, generation: Int64) {
        try await database.read { reader in
            // The generation first: whatever is read after it is at least as new as it says.
            let generation = try await reader.principalGeneration()
            guard var principal = try await reader.principal(keyID: keyID) else { return (nil, generation) }
            if principal.role == .operator, let operatorID = principal.operatorID,
               let status = try await reader.operatorByID(operatorID)?.status {
                principal.operatorBlocked = status == .suspended || status == .revoked
            }
            let credential = PrincipalCredential(principal: principal, secretHash: principal.keyHash,
                                                 expiresAt: principal.expiresAt, revokedAt: principal.revokedAt)
            return (credential, generation)
        }
    }
}
