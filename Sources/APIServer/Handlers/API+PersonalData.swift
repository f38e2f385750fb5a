import Marketplace
import Identity
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import OpenAPIRuntime
import Persistence

/// The personal-data store: what it holds about a subject, and erasure.
extension API {
    func listPersonalData(_ input: Operations.ListPersonalData.Input) async throws -> Operations.ListPersonalData.Output {
        _ = try Authorization.require(.listPersonalData)
        let subject = input.query.subject
        guard PersonalDatum.isSubject(subject) else {
            throw Problem(.invalidSubject,
                          "'subject' must be principal:<id> or operator:<id>.")
        }
        let data = try await database.read { try await $0.personalData(subject: subject) }
        return .ok(.init(body: .json(.init(items: data.map(Self.view)))))
    }

    func erasePersonalData(_ input: Operations.ErasePersonalData.Input) async throws -> Operations.ErasePersonalData.Output {
        let admin = try Authorization.require(.erasePersonalData)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let reason = try Self.requiredReason(body.reason)
        let erased = try await identity.erasePersonalDatum(id: input.path.id, reason: reason, by: admin)
        return .ok(.init(body: .json(Self.view(erased))))
    }

    static func view(_ datum: PersonalDatum) -> Components.Schemas.PersonalDataRecord {
        .init(id: datum.id, subject: datum.subject, field: datum.field, commitment: datum.commitment.hex,
              createdAt: datum.createdAt, erasedAt: datum.erasure?.at, erasedBy: datum.erasure?.by,
              eraseReason: datum.erasure?.reason)
    }
}
