import AuditLog
import Cryptography
import Foundation
public import Logging
import Persistence

extension Runtime {
    /// On first start, creates the bootstrap admin principal and writes its key to `admin.token`.
    ///
    /// The token file is written under a temporary name before the principal commits and renamed
    /// after, so a crash leaves either no admin or an admin whose key is on disk — never a key that
    /// does not work. Returns the new key, or nil when an admin already exists.
    @discardableResult
    public func bootstrapAdmin(logger: Logger) async throws -> APIKey? {
        let key = try APIKey.generate(using: random)
        let pending = dataDirectory.adminTokenPath + ".pending"
        try? FileManager.default.removeItem(atPath: pending)
        let created: Bool = try await database.transaction { tx in
            _ = try await tx.lockHead()
            if try await tx.principals().contains(where: { $0.role == Role.admin.rawValue && $0.revokedAt == nil }) {
                return false
            }
            let id = "pr_\(Hex.encode(try random.bytes(8)))"
            let now = clock.now()
            try await tx.insertPrincipal(Persistence.Principal(
                id: id, name: "bootstrap admin", role: Role.admin.rawValue, keyID: key.keyID,
                keyHash: key.secretHash, createdAt: now))
            try await log.append(AuditRecord(
                actor: "system", action: "principal.created", subjects: ["principal:\(id)"],
                data: ["id": .string(id), "name": "bootstrap admin", "role": .string(Role.admin.rawValue),
                       "authority_id": .null, "key_id": .string(key.keyID)]
            ), in: tx)
            // Written before commit: if this fails, the principal is rolled back.
            guard FileManager.default.createFile(
                atPath: pending, contents: Data((key.presented + "\n").utf8), attributes: [.posixPermissions: 0o600])
            else { throw RuntimeError("cannot write \(pending)") }
            return true
        }
        guard created else { return nil }
        try? FileManager.default.removeItem(atPath: dataDirectory.adminTokenPath)
        try FileManager.default.moveItem(atPath: pending, toPath: dataDirectory.adminTokenPath)
        logger.notice("created the bootstrap admin; its API key is in \(dataDirectory.adminTokenPath)")
        return key
    }
}
