import AuditLog
import Delivery
import HTTPTypes
import Identity
import Licensing
import Marketplace
import Persistence
import Settlement
import Vetting

/// Every stable `code` a problem may carry, with the statuses it comes with: the union of the
/// server's own codes and every domain code ``DomainErrors`` maps. Built from the exhaustive code
/// enums, so a new code is in it as soon as it compiles; the contract's `ProblemCode` enum and
/// `Docs/problems.md` are checked against it (`ProblemCatalogTests`).
enum ProblemCatalog {
    /// Code → the statuses a problem with that code is answered with.
    static let statuses: [String: Set<Int>] = {
        var table: [String: Set<Int>] = [:]
        func add(_ code: String, _ status: HTTPResponse.Status) { table[code, default: []].insert(status.code) }
        for code in ServerCode.allCases { add(code.rawValue, code.status) }
        for code in MarketplaceErrorCode.allCases { add(code.rawValue, DomainErrors.status(for: code)) }
        for code in IdentityErrorCode.allCases { add(code.rawValue, .unprocessableContent) }
        for code in VettingReason.Code.allCases { add(code.rawValue, code.status) }
        for code in GrantReason.Code.allCases { add(code.rawValue, code.status) }
        for code in MerkleErrorCode.allCases { add(code.rawValue, .unprocessableContent) }
        for code in VettingErrorCode.allCases { add(code.rawValue, code.status) }
        for code in LicensingErrorCode.allCases { add(code.rawValue, code.status) }
        for code in SettlementErrorCode.allCases { add(code.rawValue, code.status) }
        for code in DataAccessErrorCode.allCases { add(code.rawValue, code.status) }
        for code in ReleaseError.Code.allCases { add(code.rawValue, code.status) }
        for code in AuditLogErrorCode.allCases { add(code.rawValue, DomainErrors.status(forLogCode: code)) }
        for code in [StorageErrorCode.databaseUnavailable, .storageFull, .storageReadOnly] {
            add(code.rawValue, .serviceUnavailable)
        }
        return table
    }()

    /// Codes that appear only as a problem's `reasons`, never as its `code`.
    static let reasonOnlyCodes: Set<String> = ["discrepancy"]

    /// Every code, sorted.
    static var codes: [String] { (Set(statuses.keys).union(reasonOnlyCodes)).sorted() }
}
