import Identity
import AuditLog
import Cryptography
import Foundation
import Marketplace
import HTTPTypes
import OpenAPIRuntime
import Persistence
import Vetting

/// Authorities and principals: who the marketplace knows and who may act.
extension API {
    func createAuthority(_ input: Operations.CreateAuthority.Input) async throws -> Operations.CreateAuthority.Output {
        let admin = try Authorization.require(.createAuthority)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let created = try await identity.createAuthority(id: body.id, name: body.name, region: body.region, by: admin) { authority, tx in
            try await IdempotencyScope.recordJSON(.created, Self.view(authority), in: tx)
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
        let role = Role(body.role)
        let new = IdentityService.NewPrincipal(
            name: body.name, role: role, authorityID: body.authorityId, email: body.email, expiresAt: body.expiresAt)
        let (stored, key) = try await identity.createPrincipal(new, by: admin) { principal, tx in
            // Keys are never stored, so a retry's answer cannot show it again.
            try await IdempotencyScope.recordJSON(.created, Components.Schemas.CreatedPrincipal(
                value1: Self.view(principal), value2: .init(apiKey: Self.keyShownOnce)), in: tx, servedNow: false)
        }
        return .created(.init(body: .json(.init(
            value1: Self.view(stored),
            value2: .init(apiKey: key.presented)))))
    }

    func listPrincipals(_ input: Operations.ListPrincipals.Input) async throws -> Operations.ListPrincipals.Output {
        _ = try Authorization.require(.listPrincipals)
        let limit = try Self.pageLimit(input.query.limit)
        let page = try await database.read { try await $0.principals(after: input.query.cursor, limit: limit) }
        return .ok(.init(body: .json(.init(items: page.principals.map(Self.view), nextCursor: page.nextCursor))))
    }

    func getPrincipal(_ input: Operations.GetPrincipal.Input) async throws -> Operations.GetPrincipal.Output {
        _ = try Authorization.require(.getPrincipal)
        guard let found = try await database.read({ try await $0.principal(id: input.path.id) }) else {
            throw Problem.notFound("No principal '\(input.path.id)'.")
        }
        return .ok(.init(body: .json(Self.view(found))))
    }

    func getAuthority(_ input: Operations.GetAuthority.Input) async throws -> Operations.GetAuthority.Output {
        _ = try Authorization.require(.getAuthority)
        guard let found = try await database.read({ try await $0.authority(id: input.path.id) }) else {
            throw Problem.notFound("No authority '\(input.path.id)'.")
        }
        return .ok(.init(body: .json(Self.view(found))))
    }

    func getProblemCatalog(_ input: Operations.GetProblemCatalog.Input) async throws -> Operations.GetProblemCatalog.Output {
        .ok(.init(body: .textMarkdown(HTTPBody(ProblemCatalog.page))))
    }

    func revokePrincipal(_ input: Operations.RevokePrincipal.Input) async throws -> Operations.RevokePrincipal.Output {
        let admin = try Authorization.require(.revokePrincipal)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let reason = try Self.requiredReason(body.reason)
        let revoked = try await identity.revokePrincipal(id: input.path.id, reason: reason, by: admin)
        return .ok(.init(body: .json(Self.view(revoked))))
    }

    // MARK: shared

    /// What a retried principal creation shows in place of the API key.
    static let keyShownOnce = "(shown only in the first answer; revoke this principal and create another if it was lost)"

    static func view(_ authority: Authority) -> Components.Schemas.Authority {
        .init(id: authority.id, name: authority.name, region: authority.region, createdAt: authority.createdAt)
    }

    static func view(_ principal: Principal) -> Components.Schemas.Principal {
        .init(
            id: principal.id, name: principal.name,
            role: principal.role.schema,
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
            throw Problem(.reasonRequired, "A non-blank 'reason' is required.")
        }
        guard trimmed.count <= 2000 else {
            throw Problem(.reasonTooLong, "'reason' is limited to 2000 characters.")
        }
        return trimmed
    }
}
