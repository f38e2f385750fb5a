public import Identity
package import AuditLog
package import Cryptography
package import Foundation
public import Logging
package import Persistence

extension Runtime {
    /// On first start, creates the bootstrap admin principal and writes its key to `admin.token`.
    ///
    /// The key is written to `admin.token.pending` (created exclusively, mode 0600) before the
    /// principal commits and renamed to `admin.token` after, so a crash leaves either no admin or an
    /// admin whose key is on disk — never a key that does not work, and never a working key lost: a
    /// pending file whose key belongs to a live admin is a bootstrap that committed and crashed
    /// before the rename, and the next start finishes the rename. Returns the new key, or nil when an
    /// admin already exists.
    @discardableResult
    public func bootstrapAdmin(logger: Logger) async throws -> APIKey? {
        let key = try APIKey.generate(using: random)
        let pending = dataDirectory.pendingAdminTokenPath
        enum Outcome { case created, recovered, exists }
        let outcome: Outcome = try await database.transaction { tx in
            // Held to the commit: starters sharing the database bootstrap one after the other.
            _ = try await tx.lockHead()
            let admins = try await tx.principals().filter { $0.role == .admin && $0.revokedAt == nil }
            if !admins.isEmpty {
                let leftOver = try dataDirectory.pendingAdminToken().flatMap { APIKey(presented: $0) }
                if let leftOver, try dataDirectory.adminToken() == nil, admins.contains(where: { $0.keyID == leftOver.keyID }) {
                    return .recovered
                }
                return .exists
            }
            let id = "pr_\(Hex.encode(try random.bytes(8)))"
            let now = clock.now()
            let admin = Principal(id: id, name: "bootstrap admin", role: .admin, keyID: key.keyID,
                                  keyHash: key.secretHash, createdAt: now)
            let sealed = try await tx.insertPrincipal(admin, random: random)
            try await log.append(IdentityRecords.principalCreated(admin, name: sealed.name, email: nil, expiry: .omitted, by: "system"),
                                 in: tx)
            // Written before commit: if this fails, the principal is rolled back. A pending file left
            // by a start that crashed before its commit holds a key that never worked: replaced.
            try dataDirectory.writePendingAdminToken(key.presented)
            return .created
        }
        switch outcome {
        case .exists:
            return nil
        case .recovered:
            try dataDirectory.promotePendingAdminToken()
            logger.notice("finished the bootstrap an earlier start left half-done; the admin API key is in \(dataDirectory.adminTokenPath)")
            return nil
        case .created:
            try dataDirectory.promotePendingAdminToken()
            logger.notice("created the bootstrap admin; its API key is in \(dataDirectory.adminTokenPath)")
            return key
        }
    }
}
