public import AuditLog
public import Foundation

/// The audit-log actions of the Identity module.
public enum IdentityAction: String, Sendable, Hashable, CaseIterable {
    /// An authority was registered.
    case authorityCreated = "authority.created"
    /// A principal was created and its key issued.
    case principalCreated = "principal.created"
    /// A principal's key was revoked.
    case principalRevoked = "principal.revoked"
}

/// Builds the Identity module's records, members as `Contracts/audit-log.md` lists them. Names and
/// e-mail addresses appear only as commitments; the values stay in the personal-data store.
public enum IdentityRecords {
    public static func authorityCreated(id: String, name: String, region: String, by actor: String) -> AuditRecord {
        AuditRecord(actor: actor, action: IdentityAction.authorityCreated.rawValue, subjects: ["authority:\(id)"],
                    data: ["id": .string(id), "name": .string(name), "region": .string(region)])
    }

    /// What `expires_at` the record carries: the API's principals always have the member (null when
    /// the key never expires); the bootstrap admin's record, written first by every marketplace,
    /// has none.
    public enum Expiry: Sendable {
        case recorded(Date?)
        case omitted
    }

    public static func principalCreated(
        _ principal: Principal, name: PersonalDataCommitment?, email: PersonalDataCommitment?, expiry: Expiry,
        by actor: String
    ) -> AuditRecord {
        var data: [String: JSONValue] = [
            "id": .string(principal.id), "name": name?.json ?? .null, "email": email?.json ?? .null,
            "role": .string(principal.role.rawValue),
            "authority_id": principal.authorityID.map(JSONValue.string) ?? .null,
            "key_id": .string(principal.keyID),
        ]
        if case .recorded(let expiresAt) = expiry {
            data["expires_at"] = expiresAt.map { .string(RFC3339.format($0)) } ?? .null
        }
        return AuditRecord(actor: actor, action: IdentityAction.principalCreated.rawValue,
                           subjects: ["principal:\(principal.id)"], data: data)
    }

    /// `subjects` beyond the principal name what the revocation followed from (the operator whose
    /// revocation ended its keys).
    public static func principalRevoked(_ id: String, reason: String, by actor: String, also subjects: [String] = []) -> AuditRecord {
        AuditRecord(actor: actor, action: IdentityAction.principalRevoked.rawValue, subjects: ["principal:\(id)"] + subjects,
                    data: ["id": .string(id), "reason": .string(reason)])
    }
}
