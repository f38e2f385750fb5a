import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import OpenAPIRuntime
import Persistence
import Vetting

/// Authorities and principals: who the marketplace knows and who may act.
extension API {
    func createAuthority(_ input: Operations.CreateAuthority.Input) async throws -> Operations.CreateAuthority.Output {
        let admin = try Authorization.require(.createAuthority)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        try Authority.validate(id: body.id, name: body.name, region: body.region)
        let authority = Authority(id: body.id, name: body.name, region: body.region, createdAt: clock.now())
        let created: Authority = try await database.transaction { tx in
            try await tx.insertAuthority(authority)
            _ = try await log.append(AuditRecord(
                actor: admin.id, action: "authority.created", subjects: ["authority:\(authority.id)"],
                data: ["id": .string(authority.id), "name": .string(authority.name), "region": .string(authority.region)]
            ), in: tx)
            try await IdempotencyScope.recordJSON(.created, Self.view(authority), in: tx)
            return authority
        }
        return .created(.init(body: .json(Self.view(created))))
    }

    func listAuthorities(_ input: Operations.ListAuthorities.Input) async throws -> Operations.ListAuthorities.Output {
        _ = try Authorization.require(.listAuthorities)
        let limit = try Self.pageLimit(input.query.limit)
        let page = try await database.read { try await $0.authorities(after: input.query.cursor, limit: limit) }
        return .ok(.init(body: .json(.init(items: page.authorities.map(Self.view), nextCursor: page.nextCursor))))
    }

    func createPrincipal(_ input: Operations.CreatePrincipal.Input) async throws -> Operations.CreatePrincipal.Output {
        let admin = try Authorization.require(.createPrincipal)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        guard let role = Role(rawValue: body.role.rawValue) else { throw Problem.invalidRequest("Unknown role.") }
        let name = body.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 200, !name.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw Problem(.unprocessableContent, code: "invalid_name", detail: "'name' must be 1–200 printable characters.")
        }
        if role == .authorityReviewer, body.authorityId == nil {
            throw Problem(.unprocessableContent, code: "authority_required", detail: "An authority_reviewer needs 'authority_id'.")
        }
        if role != .authorityReviewer, body.authorityId != nil {
            throw Problem(.unprocessableContent, code: "authority_not_allowed", detail: "Only an authority_reviewer acts for an authority.")
        }
        if let email = body.email, !EmailAddress.isWellFormed(email) {
            throw Problem(.unprocessableContent, code: "invalid_email", detail: "'email' is not an e-mail address.")
        }
        let now = clock.now()
        if let expiresAt = body.expiresAt, expiresAt <= now {
            throw Problem(.unprocessableContent, code: "expiry_in_past", detail: "'expires_at' must be in the future.")
        }
        let key = try APIKey.generate(using: random)
        let id = "pr_\(Hex.encode(try random.bytes(8)))"
        let principal = Persistence.Principal(
            id: id, name: name, role: role.rawValue, authorityID: body.authorityId, keyID: key.keyID,
            keyHash: key.secretHash, createdAt: now, expiresAt: body.expiresAt, email: body.email)
        let stored: Persistence.Principal = try await database.transaction { tx in
            if let authorityID = body.authorityId, try await tx.authority(id: authorityID) == nil {
                throw Problem(.unprocessableContent, code: "authority_not_found", detail: "No authority '\(authorityID)'.")
            }
            // Name and e-mail are logged as commitments: the values stay in the personal-data store.
            let sealed = try await tx.insertPrincipal(principal, random: random)
            _ = try await log.append(AuditRecord(
                actor: admin.id, action: "principal.created", subjects: ["principal:\(id)"],
                data: ["id": .string(id), "name": sealed.name?.json ?? .null, "email": sealed.email?.json ?? .null,
                       "role": .string(role.rawValue),
                       "authority_id": body.authorityId.map(JSONValue.string) ?? .null,
                       "expires_at": body.expiresAt.map { .string(RFC3339.format($0)) } ?? .null,
                       "key_id": .string(key.keyID)]
            ), in: tx)
            // Keys are never stored, so a retry's answer cannot show it again.
            try await IdempotencyScope.recordJSON(.created, Components.Schemas.CreatedPrincipal(
                value1: Self.view(principal), value2: .init(apiKey: Self.keyShownOnce)), in: tx, servedNow: false)
            return principal
        }
        let view = Self.view(stored)
        return .created(.init(body: .json(.init(
            value1: view,
            value2: .init(apiKey: key.presented)))))
    }

    func listPrincipals(_ input: Operations.ListPrincipals.Input) async throws -> Operations.ListPrincipals.Output {
        _ = try Authorization.require(.listPrincipals)
        let limit = try Self.pageLimit(input.query.limit)
        let page = try await database.read { try await $0.principals(after: input.query.cursor, limit: limit) }
        return .ok(.init(body: .json(.init(items: page.principals.map(Self.view), nextCursor: page.nextCursor))))
    }

    func revokePrincipal(_ input: Operations.RevokePrincipal.Input) async throws -> Operations.RevokePrincipal.Output {
        let admin = try Authorization.require(.revokePrincipal)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let reason = try Self.requiredReason(body.reason)
        let id = input.path.id
        let now = clock.now()
        let revoked: Persistence.Principal = try await database.transaction { tx in
            guard let existing = try await tx.principal(id: id) else { throw Problem.notFound("No principal '\(id)'.") }
            if existing.revokedAt != nil {
                throw Problem(.conflict, code: "already_revoked", detail: "The principal's key is already revoked.")
            }
            if existing.id == admin.id {
                throw Problem(.conflict, code: "self_revocation", detail: "An admin cannot revoke its own key.")
            }
            _ = try await tx.revokePrincipal(id: id, at: now)
            _ = try await log.append(AuditRecord(
                actor: admin.id, action: "principal.revoked", subjects: ["principal:\(id)"],
                data: ["id": .string(id), "reason": .string(reason)]
            ), in: tx)
            return try await tx.principal(id: id) ?? existing
        }
        return .ok(.init(body: .json(Self.view(revoked))))
    }

    // MARK: shared

    /// What a retried principal creation shows in place of the API key.
    static let keyShownOnce = "(shown only in the first answer; revoke this principal and create another if it was lost)"

    static func view(_ authority: Authority) -> Components.Schemas.Authority {
        .init(id: authority.id, name: authority.name, region: authority.region, createdAt: authority.createdAt)
    }

    static func view(_ principal: Persistence.Principal) -> Components.Schemas.Principal {
        .init(
            id: principal.id, name: principal.name,
            role: Components.Schemas.Role(rawValue: principal.role) ?? ._operator,
            authorityId: principal.authorityID, email: principal.email, erased: principal.erased,
            operatorId: principal.operatorID,
            keyId: principal.keyID, createdAt: principal.createdAt, expiresAt: principal.expiresAt,
            revokedAt: principal.revokedAt)
    }

    /// A page size within the contract's bounds.
    static func pageLimit(_ requested: Int?) throws -> Int {
        let limit = requested ?? 50
        guard (1...200).contains(limit) else { throw Problem.invalidRequest("'limit' must be 1…200.") }
        return limit
    }

    /// A non-blank reason, trimmed.
    static func requiredReason(_ reason: String?) throws -> String {
        let trimmed = reason?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard !trimmed.isEmpty else {
            throw Problem(.unprocessableContent, code: "reason_required", detail: "A non-blank 'reason' is required.")
        }
        guard trimmed.count <= 2000 else {
            throw Problem(.unprocessableContent, code: "reason_too_long", detail: "'reason' is limited to 2000 characters.")
        }
        return trimmed
    }
}
