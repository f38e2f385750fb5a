internal import AuditLog
public import Foundation
public import Licensing
internal import Settlement
internal import Vetting

// Marketplace configuration kept with the data: the platform's fee, one row changed by the admin
// through the API (`marketplace.fee_changed`) in the transaction of its log entry.

/// The platform fee in force and its last change.
public struct PlatformFeeSetting: Sendable, Hashable {
    /// Basis points of each line, 0–10000.
    public let bps: Int
    /// When and by whom it was last changed; nil while it holds its initial value.
    public let changedAt: Date?
    public let changedBy: String?

    public init(bps: Int, changedAt: Date?, changedBy: String?) {
        self.bps = bps
        self.changedAt = changedAt
        self.changedBy = changedBy
    }
}

extension DatabaseReader {
    /// The platform fee in force.
    public func platformFee() async throws -> PlatformFeeSetting {
        guard let row = try await context.query(
            "SELECT platform_fee_bps, changed_at, changed_by FROM marketplace_settings WHERE id = 1", []
        ).first else { throw StorageError.unexpected("marketplace_settings has no row") }
        let bps = try row.integer(0)
        guard PlatformFee.range.contains(Int(bps)) else { throw StorageError.unexpected("the stored platform fee is \(bps) bps") }
        return PlatformFeeSetting(bps: Int(bps), changedAt: try row.optionalInteger(1).map(Timestamp.date(milliseconds:)),
                                  changedBy: try row.optionalText(2))
    }
}

extension DatabaseTransaction {
    /// Replaces the platform fee; the caller has checked it and appends its entry in this transaction.
    public func setPlatformFee(_ bps: Int, by actor: String, at now: Date) async throws {
        try await context.execute(
            "UPDATE marketplace_settings SET platform_fee_bps = $1, changed_at = $2, changed_by = $3 WHERE id = 1",
            [.integer(Int64(bps)), .integer(Timestamp.milliseconds(now)), .text(actor)])
    }
}

/// Migration 14's rewrite: every grant that has been active gets the terms it was actually
/// settled with (its lines in the latest closed report that has any), else the terms in force at
/// the migration (its datasets' shares, the initial platform fee).
enum GrantTermsMigration {
    static func fixTerms(on connection: any SQLConnection) async throws {
        var settled: [String: [String: DatasetTerms]] = [:]
        for row in try await connection.query("SELECT period, document FROM settlement_reports ORDER BY period", []) {
            let report = try SettlementReport(json: Array(try row.text(1).utf8))
            for line in report.lines where line.kind == .usage {
                guard let grantID = line.grantID, let datasetID = line.datasetID else { continue }
                settled[grantID, default: [:]][datasetID] = DatasetTerms(
                    datasetID: datasetID, revenueShareBPS: line.authorityBPS, platformFeeBPS: line.platformBPS)
            }
        }
        var shares: [String: Int] = [:]
        for row in try await connection.query(DatabaseReader.selectDataset, []) {
            let dataset = try DatabaseReader.dataset(row)
            shares[dataset.id] = dataset.revenueShareBPS
        }
        for row in try await connection.query(DatabaseReader.selectGrant + " ORDER BY id", []) {
            let grant = try DatabaseReader.grant(row)
            guard grant.terms.isEmpty, grant.history.contains(where: { $0.action == .activated }) else { continue }
            let terms = grant.items.map { item in
                settled[grant.id]?[item.datasetID] ?? DatasetTerms(
                    datasetID: item.datasetID, revenueShareBPS: shares[item.datasetID] ?? 0, platformFeeBPS: PlatformFee.initialBPS)
            }
            let fixed = Grant(
                id: grant.id, operatorID: grant.operatorID, requestedBy: grant.requestedBy, purpose: grant.purpose,
                scenario: grant.scenario, startsAt: grant.startsAt, endsAt: grant.endsAt, agreement: grant.agreement,
                items: grant.items, currency: grant.currency, requestedAt: grant.requestedAt, status: grant.status,
                approvals: grant.approvals, reasons: grant.reasons, suspensionCause: grant.suspensionCause,
                history: grant.history, revision: grant.revision, suspendedBy: grant.suspendedBy, terms: terms)
            try await connection.execute("UPDATE grants SET document = $1 WHERE id = $2",
                                         [.text(GrantDocument.encode(fixed)), .text(grant.id)])
        }
    }
}
