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
        guard Self.isPersonalDataSubject(subject) else {
            throw Problem(.unprocessableContent, code: "invalid_subject",
                          detail: "'subject' must be principal:<id> or operator:<id>.")
        }
        let data = try await database.read { try await $0.personalData(subject: subject) }
        return .ok(.init(body: .json(.init(items: data.map(Self.view)))))
    }

    func erasePersonalData(_ input: Operations.ErasePersonalData.Input) async throws -> Operations.ErasePersonalData.Output {
        let admin = try Authorization.require(.erasePersonalData)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let reason = try Self.requiredReason(body.reason)
        let id = input.path.id
        let now = clock.now()
        let erased: PersonalDatum = try await database.transaction { tx in
            guard PersonalDataCommitment.isValidID(id), let existing = try await tx.personalDatum(id: id) else {
                throw Problem.notFound("No personal data '\(id)'.")
            }
            guard try await tx.erasePersonalDatum(id: id, by: admin.id, reason: reason, at: now) else {
                throw Problem(.conflict, code: "already_erased", detail: "The value was erased before.")
            }
            _ = try await log.append(AuditRecord(
                actor: admin.id, action: "personal_data.erased",
                subjects: ["personal_data:\(id)", existing.subject],
                data: ["personal_data_id": .string(id), "subject": .string(existing.subject),
                       "field": .string(existing.field), "commitment": .string(existing.commitment.hex),
                       "reason": .string(reason), "at": .string(Timestamp.format(Timestamp.milliseconds(now)))]
            ), in: tx)
            return try await tx.personalDatum(id: id) ?? existing
        }
        return .ok(.init(body: .json(Self.view(erased))))
    }

    /// `principal:<id>` or `operator:<id>`, the subjects personal data is kept for.
    static func isPersonalDataSubject(_ subject: String) -> Bool {
        for kind in ["principal:", "operator:"] where subject.hasPrefix(kind) {
            let id = subject.dropFirst(kind.count)
            return !id.isEmpty && id.count <= 128 && id.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
        }
        return false
    }

    static func view(_ datum: PersonalDatum) -> Components.Schemas.PersonalDataRecord {
        .init(id: datum.id, subject: datum.subject, field: datum.field, commitment: datum.commitment.hex,
              createdAt: datum.createdAt, erasedAt: datum.erasure?.at, erasedBy: datum.erasure?.by,
              eraseReason: datum.erasure?.reason)
    }
}
