public import AuditLog
import Cryptography
public import Foundation
public import Identity
public import Licensing
public import Metering
public import Persistence
public import Settlement

/// Provider-reported usage and the reconciliation of declared usage against it: an authority's own
/// counts of its `declared` datasets, the lines finance reads, and finance's acknowledgements. Each
/// write is one transaction that holds the log head, as usage batches and closes do, so a report,
/// an acknowledgement and a close cannot interleave.
public struct ReconciliationService: Sendable {
    public let context: ServiceContext
    public let policy: MeteringPolicy

    public init(_ context: ServiceContext, policy: MeteringPolicy) {
        self.context = context
        self.policy = policy
    }

    /// Decides and stores a batch of provider reports from `caller`, a reviewer of the providing
    /// authority; accepted reports are logged in one `usage.provider_reported` entry.
    public func report(_ raw: [RawProviderReport], by caller: Principal,
                       alsoInTransaction finish: AlsoInTransaction<ProviderReportDecision> = nothingMore) async throws -> ProviderReportDecision {
        guard let authorityID = caller.authorityID else {
            throw MarketplaceError(.authorityNotParty, "This key acts for no authority.")
        }
        guard !raw.isEmpty else { throw MarketplaceError(.eventsRequired, "A batch holds at least one report.") }
        guard raw.count <= ProviderReportBatch.maxReports else {
            throw MarketplaceError(.batchTooLarge, "A batch holds at most \(ProviderReportBatch.maxReports) reports; this one has \(raw.count).")
        }
        let now = context.clock.now()
        let batch = ProviderReportBatch(raw, authorityID: authorityID, at: now, policy: policy)
        let batchID = "pb_\(Hex.encode(try context.random.bytes(8)))"
        let log = context.log
        return try await context.database.transaction { tx in
            _ = try await tx.lockHead()
            let stored = try await tx.providerReportDigests(authorityID: authorityID, reportIDs: batch.reportIDs)
            let grants = try await tx.grants(ids: batch.grantIDs.sorted())
            let deliveries = try await tx.deliveries(of: batch.datasetIDs)
            let closed = try await tx.closedPeriods(among: batch.periods.sorted())
            let decision = batch.decide(stored: stored, closed: closed, target: { grants[$0].map(ProviderReportTarget.init) },
                                        delivery: { deliveries[$0] })
            if let record = decision.record(authorityID: authorityID, batchID: batchID, actor: caller.id, at: now) {
                let entry = try await log.append(record, in: tx)
                try await tx.insertProviderReports(decision.accepted.map {
                    StoredProviderReport(report: $0.report, authorityID: authorityID, operatorID: $0.operatorID, logIndex: entry.seq)
                })
            }
            try await finish(decision, tx)
            return decision
        }
    }

    /// The reconciliation of `period` as `filter` cuts it (an operator's own grants, an authority's datasets).
    public func lines(of period: Period, filter: UsageFilter = UsageFilter()) async throws -> [ReconciliationLine] {
        try await context.database.read { try await Self.lines(of: period, filter: filter, in: $0) }
    }

    /// The reconciliation of `period` read in `reader`.
    public static func lines(of period: Period, filter: UsageFilter = UsageFilter(),
                             in reader: DatabaseReader) async throws -> [ReconciliationLine] {
        let counters = try await reader.usageCounters(period: period, filter: filter)
        let provided = try await reader.providerTotals(period: period, filter: filter)
        let acknowledgements = try await reader.discrepancyAcknowledgements(period: period)
        let datasetIDs = Set(counters.map(\.key.datasetID) + provided.map(\.key.datasetID))
        let datasets = try await reader.datasets(ids: datasetIDs.sorted())
        return Reconciliation.lines(
            counters: counters, provided: provided,
            tolerance: { datasets[$0]?.reconciliationToleranceBPS ?? Dataset.defaultToleranceBPS },
            acknowledgements: acknowledgements)
    }

    /// Acknowledges, for finance, the discrepancy of one line of the open `period` as its figures
    /// stand now (`settlement.discrepancy_acknowledged`).
    public func acknowledge(_ key: ReconciliationKey, reason: String, by caller: Principal,
                            alsoInTransaction finish: AlsoInTransaction<DiscrepancyAcknowledgement> = nothingMore)
        async throws -> DiscrepancyAcknowledgement {
        let now = context.clock.now()
        let log = context.log
        return try await context.database.transaction { tx in
            _ = try await tx.lockHead()
            guard try await tx.closedPeriods(among: [key.period]).isEmpty else {
                throw SettlementError(code: .periodClosed, detail: "\(key.period) is closed; act on the discrepancy with an adjustment in a later period")
            }
            let lines = try await Self.lines(of: key.period, filter: UsageFilter(grantID: key.grantID), in: tx)
            guard let line = lines.first(where: { $0.key == key }) else {
                throw SettlementError(code: .lineNotFound, detail: "\(key.period) has no reconciliation line for \(key.grantID)/\(key.datasetID)/\(key.unit.rawValue)")
            }
            guard line.exceedsTolerance, let provided = line.providerQuantity else {
                throw SettlementError(code: .noDiscrepancy, detail: "\(line.id) is \(line.status.rawValue): there is no discrepancy above tolerance to acknowledge")
            }
            var acknowledgement = DiscrepancyAcknowledgement(
                key: key, declaredQuantity: line.declaredQuantity, providerQuantity: provided, toleranceBPS: line.toleranceBPS,
                reason: reason, actor: caller.id, at: now)
            let entry = try await log.append(acknowledgement.record(), in: tx)
            acknowledgement.logIndex = entry.seq
            try await tx.setDiscrepancyAcknowledgement(acknowledgement)
            try await finish(acknowledgement, tx)
            return acknowledgement
        }
    }
}
