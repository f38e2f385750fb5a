public import AuditLog
public import Cryptography
public import Foundation
public import Identity
public import Persistence
public import Vetting

/// Authorities, principals and the personal-data store: who the marketplace knows and who may act.
/// Each method is one transaction: it writes the change and its log entries together, or nothing.
public struct IdentityService: Sendable {
    public let context: ServiceContext

    public init(_ context: ServiceContext) {
        self.context = context
    }

    /// Registers an authority (`authority.created`).
    public func createAuthority(
        id: String, name: String, region: String, by admin: Principal,
        alsoInTransaction finish: AlsoInTransaction<Authority> = nothingMore
    ) async throws -> Authority {
        try Authority.validate(id: id, name: name, region: region)
        let authority = Authority(id: id, name: name, region: region, createdAt: context.clock.now())
        return try await context.database.transaction { tx in
            try await tx.insertAuthority(authority)
            _ = try await context.log.append(
                IdentityRecords.authorityCreated(id: authority.id, name: authority.name, region: authority.region, by: admin.id),
                in: tx)
            try await finish(authority, tx)
            return authority
        }
    }

    /// What an admin asks for when creating a principal.
    public struct NewPrincipal: Sendable {
        public var name: String
        public var role: Role
        public var authorityID: String?
        public var email: String?
        public var expiresAt: Date?

        public init(name: String, role: Role, authorityID: String?, email: String?, expiresAt: Date?) {
            self.name = name
            self.role = role
            self.authorityID = authorityID
            self.email = email
            self.expiresAt = expiresAt
        }
    }

    /// Creates a principal and issues its API key (`principal.created`; the name and e-mail are
    /// logged as commitments, the values kept in the personal-data store). The key is returned
    /// here only: it is never stored.
    public func createPrincipal(
        _ new: NewPrincipal, by admin: Principal,
        alsoInTransaction finish: AlsoInTransaction<Principal> = nothingMore
    ) async throws -> (principal: Principal, key: APIKey) {
        let name = new.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 200, !name.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw IdentityError(.invalidName, "'name' must be 1–200 printable characters.")
        }
        if new.role == .authorityReviewer, new.authorityID == nil {
            throw IdentityError(.authorityRequired, "An authority_reviewer needs 'authority_id'.")
        }
        if new.role != .authorityReviewer, new.authorityID != nil {
            throw IdentityError(.authorityNotAllowed, "Only an authority_reviewer acts for an authority.")
        }
        if let email = new.email, !EmailAddress.isWellFormed(email) {
            throw IdentityError(.invalidEmail, "'email' is not an e-mail address.")
        }
        let now = context.clock.now()
        if let expiresAt = new.expiresAt, expiresAt <= now {
            throw IdentityError(.expiryInPast, "'expires_at' must be in the future.")
        }
        let key = try APIKey.generate(using: context.random)
        let id = "pr_\(Hex.encode(try context.random.bytes(8)))"
        let principal = Principal(
            id: id, name: name, role: new.role, authorityID: new.authorityID, keyID: key.keyID,
            keyHash: key.secretHash, createdAt: now, expiresAt: new.expiresAt, email: new.email)
        let stored: Principal = try await context.database.transaction { tx in
            if let authorityID = new.authorityID, try await tx.authority(id: authorityID) == nil {
                throw MarketplaceError(.authorityNotFound, "No authority '\(authorityID)'.")
            }
            // Name and e-mail are logged as commitments: the values stay in the personal-data store.
            let sealed = try await tx.insertPrincipal(principal, random: context.random)
            _ = try await context.log.append(IdentityRecords.principalCreated(
                principal, name: sealed.name, email: sealed.email, expiry: .recorded(new.expiresAt), by: admin.id), in: tx)
            try await finish(principal, tx)
            return principal
        }
        return (stored, key)
    }

    /// Revokes a principal's key (`principal.revoked`); an admin cannot revoke its own.
    public func revokePrincipal(id: String, reason: String, by admin: Principal) async throws -> Principal {
        let now = context.clock.now()
        return try await context.database.transaction { tx in
            guard let existing = try await tx.principal(id: id) else {
                throw MarketplaceError(.notFound, "No principal '\(id)'.")
            }
            if existing.revokedAt != nil {
                throw MarketplaceError(.alreadyRevoked, "The principal's key is already revoked.")
            }
            if existing.id == admin.id {
                throw MarketplaceError(.selfRevocation, "An admin cannot revoke its own key.")
            }
            _ = try await tx.revokePrincipal(id: id, at: now)
            _ = try await context.log.append(IdentityRecords.principalRevoked(id, reason: reason, by: admin.id), in: tx)
            return try await tx.principal(id: id) ?? existing
        }
    }

    /// Erases one stored personal value (`personal_data.erased`); its commitment stays in the log.
    public func erasePersonalDatum(id: String, reason: String, by admin: Principal) async throws -> PersonalDatum {
        let now = context.clock.now()
        return try await context.database.transaction { tx in
            guard PersonalDataCommitment.isValidID(id), let existing = try await tx.personalDatum(id: id) else {
                throw MarketplaceError(.notFound, "No personal data '\(id)'.")
            }
            guard try await tx.erasePersonalDatum(id: id, by: admin.id, reason: reason, at: now) else {
                throw MarketplaceError(.alreadyErased, "The value was erased before.")
            }
            _ = try await context.log.append(AuditRecord(
                actor: admin.id, action: "personal_data.erased",
                subjects: ["personal_data:\(id)", existing.subject],
                data: ["personal_data_id": .string(id), "subject": .string(existing.subject),
                       "field": .string(existing.field), "commitment": .string(existing.commitment.hex),
                       "reason": .string(reason), "at": .string(Timestamp.format(Timestamp.milliseconds(now)))]
            ), in: tx)
            return try await tx.personalDatum(id: id) ?? existing
        }
    }
}
