import Marketplace
import Identity
import AuditLog
import Foundation
import HTTPTypes
import Licensing
import Metering
import Persistence
import Settlement

/// Provider-reported usage and the reconciliation of declared usage against it.
extension API {
    var reconciliation: ReconciliationService { ReconciliationService(context, policy: metering) }

    func reportProviderUsage(_ input: Operations.ReportProviderUsage.Input) async throws -> Operations.ReportProviderUsage.Output {
        let caller = try Authorization.require(.reportProviderUsage)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let raw = body.reports.map {
            RawProviderReport(id: $0.id, grantID: $0.grantId, datasetID: $0.datasetId, unit: $0.unit, day: $0.day, quantity: $0.quantity)
        }
        let ids = raw.map(\.id)
        let decision = try await reconciliation.report(raw, by: caller) { decision, tx in
            try await IdempotencyScope.recordJSON(.ok, Self.batchResult(ids: ids, outcomes: decision.outcomes), in: tx)
        }
        return .ok(.init(body: .json(Self.batchResult(ids: ids, outcomes: decision.outcomes))))
    }

    func getReconciliation(_ input: Operations.GetReconciliation.Input) async throws -> Operations.GetReconciliation.Output {
        let caller = try Authorization.require(.getReconciliation)
        let period = try Self.period(input.path.period)
        var filter = UsageFilter()
        switch caller.role {
        case .operator:
            guard let own = caller.operatorID else {
                throw Problem(.operatorRequired, "This key has not applied as an operator yet (POST /v1/operators).")
            }
            filter.operatorID = own
        case .authorityReviewer:
            filter.authorityID = caller.authorityID ?? ""
        case .finance, .admin, .auditor:
            break
        }
        let lines = try await reconciliation.lines(of: period, filter: filter)
        let closed = try await settlements.stored(period) != nil
        return .ok(.init(body: .json(.init(period: period.description, status: closed ? .closed : .open,
                                           lines: lines.map(Self.view)))))
    }

    func acknowledgeDiscrepancy(_ input: Operations.AcknowledgeDiscrepancy.Input) async throws -> Operations.AcknowledgeDiscrepancy.Output {
        let caller = try Authorization.require(.acknowledgeDiscrepancy)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let period = try Self.period(input.path.period)
        let reason = try SettlementDesk.reason(body.reason)
        guard let unit = MeteringUnit(rawValue: body.unit) else {
            throw SettlementError(code: .lineNotFound, detail: "'\(body.unit)' is not a unit, so no line is metered in it")
        }
        let key = ReconciliationKey(grantID: body.grantId, datasetID: body.datasetId, unit: unit, period: period)
        let acknowledgement = try await reconciliation.acknowledge(key, reason: reason, by: caller) { acknowledgement, tx in
            try await IdempotencyScope.recordJSON(.created, Self.view(acknowledgement), in: tx)
        }
        return .created(.init(body: .json(Self.view(acknowledgement))))
    }

    static func view(_ line: ReconciliationLine) -> Components.Schemas.ReconciliationLine {
        .init(id: line.id, grantId: line.key.grantID, datasetId: line.key.datasetID, unit: line.key.unit.rawValue,
              operatorId: line.operatorID, authorityId: line.authorityID, declaredQuantity: line.declaredQuantity,
              providerQuantity: line.providerQuantity, difference: line.difference, toleranceBps: line.toleranceBPS,
              exceedsTolerance: line.exceedsTolerance, status: .init(rawValue: line.status.rawValue) ?? .discrepancy,
              acknowledgement: line.acknowledgement.map(Self.view), staleAcknowledgement: line.staleAcknowledgement.map(Self.view))
    }

    static func view(_ acknowledgement: DiscrepancyAcknowledgement) -> Components.Schemas.Acknowledgement {
        let key = acknowledgement.key
        return .init(lineId: "\(key.period)/\(key.grantID)/\(key.datasetID)/\(key.unit.rawValue)",
                     declaredQuantity: acknowledgement.declaredQuantity, providerQuantity: acknowledgement.providerQuantity,
                     toleranceBps: acknowledgement.toleranceBPS, reason: acknowledgement.reason, actor: acknowledgement.actor,
                     at: acknowledgement.at, logIndex: Int64(acknowledgement.logIndex))
    }
}
