import AuditLog
import Cryptography

/// What checking a disclosure found: every value as recorded, or findings.
public enum DisclosureOutcome: Sendable {
    case confirmed(DisclosureConfirmation)
    case mismatched([ReplayFinding])

    /// The confirmation, when there were no findings.
    public var confirmation: DisclosureConfirmation? {
        if case .confirmed(let confirmation) = self { confirmation } else { nil }
    }

    /// The findings; empty when confirmed.
    public var findings: [ReplayFinding] {
        if case .mismatched(let findings) = self { findings } else { [] }
    }
}

/// What a disclosure proved: how many values opened the log's commitments.
public struct DisclosureConfirmation: Sendable {
    /// The disclosure's subject.
    public let subject: String
    /// Values that open the commitment the log holds for them.
    public let opened: Int
    /// Values the log holds no commitment for (kept by the store, never logged, e.g. a
    /// principal's e-mail address): nothing to check them against.
    public let unlogged: Int
    /// Values listed as erased, each confirmed by a `personal_data.erased` entry.
    public let erased: Int
}

extension LogReplay {
    /// Checks a disclosure file (`pdx audit disclose`) against the commitments this log holds:
    /// every value whose reference the log committed to must open that commitment, under the
    /// same subject and field; every value listed as erased must have been erased in the log.
    /// Call after ``finish()``.
    public func checkDisclosure(_ bytes: [UInt8], name: String) -> DisclosureOutcome {
        let disclosure: PersonalDataDisclosure
        do {
            disclosure = try PersonalDataDisclosure(parsing: bytes)
        } catch {
            return .mismatched([ReplayFinding(.disclosureMismatch, at: name, "not a disclosure: \(error.description)")])
        }
        var findings: [ReplayFinding] = []
        var opened = 0
        var unlogged = 0
        for value in disclosure.values {
            let location = "\(name) \(value.id)"
            guard let logged = state.personalData[value.id] else {
                // A value the store keeps but the log never committed to cannot be checked; the
                // form of a reference is still the store's.
                if PersonalDataCommitment.isValidID(value.id) {
                    unlogged += 1
                } else {
                    findings.append(ReplayFinding(.disclosureMismatch, at: location, "not a personal-data reference"))
                }
                continue
            }
            guard logged.subject == disclosure.subject, logged.field == value.field else {
                findings.append(ReplayFinding(.disclosureMismatch, at: location,
                    "disclosed as \(disclosure.subject) \(value.field); entry \(logged.seq) committed to it as \(logged.subject) \(logged.field)"))
                continue
            }
            guard logged.commitment.opens(value: value.value, salt: value.salt) else {
                findings.append(ReplayFinding(.disclosureMismatch, at: location,
                    "the value and salt do not open the commitment entry \(logged.seq) holds"))
                continue
            }
            opened += 1
        }
        for erased in disclosure.erased {
            let location = "\(name) \(erased.id)"
            guard let logged = state.personalData[erased.id], logged.erasedAt != nil else {
                findings.append(ReplayFinding(.disclosureMismatch, at: location,
                    "listed as erased, but the log has no personal_data.erased for it"))
                continue
            }
        }
        guard findings.isEmpty else { return .mismatched(findings) }
        return .confirmed(DisclosureConfirmation(
            subject: disclosure.subject, opened: opened, unlogged: unlogged, erased: disclosure.erased.count))
    }
}
