package import AuditLog
import Cryptography
package import Vetting

extension PersonalDataCommitment {
    /// A well-formed commitment with reference number `n`, for records built without a store.
    package static func sample(_ n: Int = 0) -> PersonalDataCommitment {
        let digits = String(n, radix: 16)
        return PersonalDataCommitment(
            id: "pd_" + String(repeating: "0", count: 32 - digits.count) + digits,
            commitment: SHA256.hash(Array("sample \(n)".utf8)))
    }
}

extension SecurityOfficer {
    /// An officer whose commitments are ``PersonalDataCommitment/sample(_:)`` `n` and `n + 1`.
    package static func sample(_ n: Int = 0) -> SecurityOfficer {
        SecurityOfficer(name: .sample(n), email: .sample(n + 1))
    }
}
