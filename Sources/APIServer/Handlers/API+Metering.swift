import Marketplace
import Identity
import AuditLog
import Cryptography
import Foundation
import HTTPTypes
import Licensing
import Metering
import NIOCore
import OpenAPIRuntime
import Persistence
import Vetting

/// Usage: batches of events in, counters out.
extension API {
    func reportUsage(_ input: Operations.ReportUsage.Input) async throws -> Operations.ReportUsage.Output {
        let caller = try Authorization.require(.reportUsage)
        guard case .json(let body) = input.body else { throw Problem.invalidRequest("Expected a JSON body.") }
        let raw = body.events.map {
            RawUsageEvent(id: $0.id, grantID: $0.grantId, datasetID: $0.datasetId, unit: $0.unit, quantity: $0.quantity, time: $0.time)
        }
        let decision = try await recordUsage(raw, caller: caller)
        return .ok(.init(body: .json(Self.usageResult(ids: raw.map(\.id), outcomes: decision.outcomes))))
    }

    /// The answer to a usage batch.
    static func usageResult(ids: [String], outcomes: [UsageOutcome]) -> Components.Schemas.UsageBatchResult {
        batchResult(ids: ids, outcomes: outcomes)
    }

    /// The answer to a batch of usage events or provider reports: the count of each outcome, and each
    /// item's outcome in order.
    static func batchResult<Rejection>(ids: [String], outcomes: [BatchOutcome<Rejection>]) -> Components.Schemas.UsageBatchResult {
        var counts = (accepted: 0, duplicates: 0, rejected: 0)
        let results: [Components.Schemas.UsageEventResult] = zip(ids, outcomes).map { id, outcome in
            switch outcome {
            case .accepted:
                counts.accepted += 1
                return .init(id: id, status: .accepted)
            case .duplicate:
                counts.duplicates += 1
                return .init(id: id, status: .duplicate)
            case .rejected(let why):
                counts.rejected += 1
                return .init(id: id, status: .rejected, code: why.rawValue)
            }
        }
        return .init(accepted: counts.accepted, duplicates: counts.duplicates, rejected: counts.rejected, results: results)
    }

    /// Decides and commits a batch reported by `caller`, whose role was checked: the whole of
    /// `reportUsage` after decoding, shared with the direct route (`UsageRoute`).
    func recordUsage(_ raw: [RawUsageEvent], caller: Principal) async throws -> UsageDecision {
        let keyed = IdempotencyScope.current.map { scope in
            UsageCommitter.KeyedAnswer(reservation: scope.reservation) { [eventIDs = raw.map(\.id)] decision, tx in
                let answer = UsageResultWriter.json(ids: eventIDs, outcomes: decision.outcomes)
                try await scope.record(
                    IdempotentAnswer(status: 200, contentType: IdempotencyScope.jsonContentType, body: Array(buffer: answer)),
                    in: tx)
            }
        }
        let decision = try await usage.record(raw, by: caller, idempotency: keyed)
        serverMetrics.recordUsage(decision)
        return decision
    }

    func getUsageSummary(_ input: Operations.GetUsageSummary.Input) async throws -> Operations.GetUsageSummary.Output {
        let caller = try Authorization.require(.getUsageSummary)
        guard let period = Period(input.query.period) else {
            throw Problem(.invalidPeriod, "A period is a month, YYYY-MM.")
        }
        var filter = UsageFilter(grantID: input.query.grantId)
        switch caller.role {
        case .operator:
            guard let own = caller.operatorID else { return .ok(.init(body: .json(.init(period: period.description, items: [])))) }
            filter.operatorID = own
        case .authorityReviewer:
            filter.authorityID = caller.authorityID ?? ""
        case .admin, .auditor, .finance:
            break
        }
        let counters = try await database.read { try await $0.usageCounters(period: period, filter: filter) }
        if input.query.by == .day {
            guard let grantID = input.query.grantId else {
                throw Problem(.grantRequired, "by=day needs grant_id.")
            }
            // The grant's counters say whether the caller may see it; its days are then read.
            guard let first = counters.first else { return .ok(.init(body: .json(.init(period: period.description, items: [])))) }
            let visible = Set(counters.map { "\($0.key.datasetID)/\($0.key.unit.rawValue)" })
            let days = try await database.read { try await $0.dailyUsage(grantID: grantID, period: period) }
                .filter { visible.contains("\($0.key.datasetID)/\($0.key.unit.rawValue)") }
            return .ok(.init(body: .json(.init(period: period.description, items: days.map {
                .init(grantId: $0.key.grantID, datasetId: $0.key.datasetID, unit: $0.key.unit.rawValue, day: $0.key.day,
                      quantity: $0.quantity, events: $0.events, operatorId: first.operatorID)
            }))))
        }
        return .ok(.init(body: .json(.init(period: period.description, items: counters.map {
            .init(grantId: $0.key.grantID, datasetId: $0.key.datasetID, unit: $0.key.unit.rawValue,
                  quantity: $0.quantity, events: $0.events, operatorId: $0.operatorID, authorityId: $0.authorityID,
                  logIndexFirst: Int64($0.firstLogIndex), logIndexLast: Int64($0.lastLogIndex))
        }))))
    }
}
