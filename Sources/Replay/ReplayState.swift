public import Foundation
public import AuditLog
public import Licensing
public import Metering
public import Settlement
import Vetting

/// A principal as its `principal.created` and `principal.revoked` entries describe it.
public struct ReplayedPrincipal: Sendable, Hashable {
    public let id: String
    /// `admin`, `authority_reviewer`, `operator`, `auditor` or `finance`.
    public let role: String
    /// The authority a reviewer acts for.
    public let authorityID: String?
    public let expiresAt: Date?
    public internal(set) var revokedAt: Date?

    /// True when it could act at `date`: created, not revoked before, not expired.
    public func isLive(at date: Date) -> Bool {
        if let revokedAt, revokedAt <= date { return false }
        if let expiresAt, expiresAt <= date { return false }
        return true
    }
}

/// A personal value the log committed to, and whether it was erased since.
public struct ReplayedPersonalDatum: Sendable, Hashable {
    /// The commitment as logged.
    public let commitment: PersonalDataCommitment
    /// `principal:<id>` or `operator:<id>`.
    public let subject: String
    /// `name`, `security_officer.name`, `security_officer.email`.
    public let field: String
    /// The entry that committed to it.
    public let seq: UInt64
    /// The `personal_data.erased` entry, once erased.
    public internal(set) var erasedAt: UInt64?
}

/// A grant as its entries describe it, with what the replay needs besides the grant itself.
public struct ReplayedGrant: Sendable, Hashable {
    /// The grant, rebuilt step by step.
    public internal(set) var grant: Grant
    /// The authorities that had to approve its current version, as `grant.requested` or the last
    /// `grant.amended` said.
    public internal(set) var approvalsRequired: [String]
}

/// A closed period: the settlement recomputed from the log and what its close entry recorded.
public struct ReplayedSettlement: Sendable {
    /// The report recomputed from the log.
    public let report: SettlementReport
    /// The SHA-256 of each rendering, as the `settlement.closed` entry records them.
    public let digests: ReportDigests
    /// The index of its `settlement.closed` entry.
    public let seq: UInt64
}

/// Everything a replay has rebuilt from the entries so far.
public struct ReplayState: Sendable {
    /// The log's origin, from `log.initialized`.
    public internal(set) var origin: String?
    /// The log's verifier keys, in force and retired, as its key entries announce them.
    public internal(set) var keys: LogKeys?
    /// Entries replayed.
    public internal(set) var entryCount: UInt64 = 0
    public internal(set) var principals: [String: ReplayedPrincipal] = [:]
    /// Every personal-data commitment the log holds, by reference.
    public internal(set) var personalData: [String: ReplayedPersonalDatum] = [:]
    /// Authority names by id.
    public internal(set) var authorities: [String: String] = [:]
    /// Each operator's Vetting records in log order, and where they are.
    public internal(set) var operatorRecords: [String: [(seq: UInt64, record: AuditRecord)]] = [:]
    public internal(set) var datasets: [String: Dataset] = [:]
    public internal(set) var grants: [String: ReplayedGrant] = [:]
    /// The usage counters, as a store keeps them.
    public internal(set) var counters: [CounterKey: UsageCounter] = [:]
    /// Accepted usage events.
    public internal(set) var eventCount: Int64 = 0
    /// Closed periods.
    public internal(set) var settlements: [Period: ReplayedSettlement] = [:]
    /// Annual revenue caps in force: operator id → year → minor units.
    public internal(set) var revenueCaps: [String: [Int: Int64]] = [:]
    /// Adjustments booked into periods not yet closed.
    public internal(set) var adjustments: [Period: [Adjustment]] = [:]
    /// The release versions published of each dataset.
    public internal(set) var releases: [String: Set<String>] = [:]
    /// How far each operator's records have been replayed through the vetting lifecycle.
    var operatorProgress: [String: OperatorProgress] = [:]
}
