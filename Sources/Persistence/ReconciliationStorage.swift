internal import AuditLog
internal import Licensing
public import Cryptography
public import Foundation
public import Metering
public import Settlement

// Provider-reported usage and finance's acknowledgements of discrepancies (migration 12). Provider
// reports are kept apart from the usage counters: they bill no one. Writers hold the log head, as
// every usage batch does.

// MARK: Reads

extension DatabaseReader {
    /// The digest of each of `reportIDs` that `authorityID` reported before; ids never reported are absent.
    public func providerReportDigests(authorityID: String, reportIDs: [String]) async throws -> [String: SHA256Digest] {
        try await storedDigests(.providerUsage, owner: authorityID, ids: reportIDs)
    }

    /// The provider's totals of `period` by grant, dataset and unit, cut by `filter` (its operator
    /// and authority members; its grant too).
    public func providerTotals(period: Period, filter: UsageFilter = UsageFilter()) async throws -> [ProviderTotal] {
        var binds: [SQLValue] = [.text(period.description)]
        var conditions = ["period = $1"]
        for (column, value) in [("operator_id", filter.operatorID), ("authority_id", filter.authorityID), ("grant_id", filter.grantID)] {
            guard let value else { continue }
            binds.append(.text(value))
            conditions.append("\(column) = $\(binds.count)")
        }
        return try await context.query(
            """
            SELECT grant_id, dataset_id, unit, period, operator_id, authority_id, CAST(SUM(quantity) AS BIGINT), COUNT(*)
            FROM provider_usage WHERE \(conditions.joined(separator: " AND "))
            GROUP BY grant_id, dataset_id, unit, period, operator_id, authority_id ORDER BY grant_id, dataset_id, unit
            """,
            binds
        ).map { row in
            ProviderTotal(key: try Self.counterKey(row), operatorID: try row.text(4), authorityID: try row.text(5),
                          quantity: try row.integer(6), reports: try row.integer(7))
        }
    }

    /// The latest acknowledgement of each line of `period`.
    public func discrepancyAcknowledgements(period: Period) async throws -> [ReconciliationKey: DiscrepancyAcknowledgement] {
        let rows = try await context.query(
            """
            SELECT grant_id, dataset_id, unit, period, declared_quantity, provider_quantity, tolerance_bps, reason, actor,
                acknowledged_at, log_index
            FROM discrepancy_acknowledgements WHERE period = $1
            """,
            [.text(period.description)])
        var acknowledgements: [ReconciliationKey: DiscrepancyAcknowledgement] = [:]
        for row in rows {
            let key = try Self.counterKey(row)
            acknowledgements[key] = DiscrepancyAcknowledgement(
                key: key, declaredQuantity: try row.integer(4), providerQuantity: try row.integer(5),
                toleranceBPS: Int(try row.integer(6)), reason: try row.text(7), actor: try row.text(8),
                at: Timestamp.date(milliseconds: try row.integer(9)), logIndex: try Self.unsigned(row.integer(10)))
        }
        return acknowledgements
    }
}

// MARK: Writes

extension DatabaseTransaction {
    /// Stores accepted provider reports; a report id already stored for its authority is
    /// `unique_violation` (the provider path looks ids up first).
    public func insertProviderReports(_ reports: [StoredProviderReport]) async throws {
        guard !reports.isEmpty else { return }
        try await context.insert(
            into: "provider_usage",
            columns: ["authority_id", "report_id", "digest", "grant_id", "dataset_id", "unit", "day", "period", "quantity",
                      "operator_id", "log_index"],
            rows: reports.map { stored in
                let report = stored.report
                return [.text(stored.authorityID), .text(report.id), .blob(report.digest.bytes), .text(report.grantID),
                        .text(report.datasetID), .text(report.unit.rawValue), .text(report.day), .text(report.period.description),
                        .integer(report.quantity), .text(stored.operatorID), .integer(Int64(clamping: stored.logIndex))]
            })
    }

    /// Stores `acknowledgement` in place of any earlier one of its line.
    public func setDiscrepancyAcknowledgement(_ acknowledgement: DiscrepancyAcknowledgement) async throws {
        let key = acknowledgement.key
        let keyBinds: [SQLValue] = [.text(key.period.description), .text(key.grantID), .text(key.datasetID), .text(key.unit.rawValue)]
        try await context.execute(
            "DELETE FROM discrepancy_acknowledgements WHERE period = $1 AND grant_id = $2 AND dataset_id = $3 AND unit = $4",
            keyBinds)
        try await context.insert(
            into: "discrepancy_acknowledgements",
            columns: ["period", "grant_id", "dataset_id", "unit", "declared_quantity", "provider_quantity", "tolerance_bps", "reason",
                      "actor", "acknowledged_at", "log_index"],
            rows: [keyBinds + [
                .integer(acknowledgement.declaredQuantity), .integer(acknowledgement.providerQuantity),
                .integer(Int64(acknowledgement.toleranceBPS)), .text(acknowledgement.reason), .text(acknowledgement.actor),
                .integer(Timestamp.milliseconds(acknowledgement.at)), .integer(Int64(clamping: acknowledgement.logIndex)),
            ]])
    }
}
