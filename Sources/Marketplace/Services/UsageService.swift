import AuditLog
public import Foundation
public import Cryptography
public import Identity
package import Licensing
public import Metering

/// Usage reported by operators: each batch decided against the grants and quotas, and committed
/// with its log entries by the group committer before it is answered.
public struct UsageService: Sendable {
    let committer: UsageCommitter
    public let policy: MeteringPolicy
    public let clock: ServerClock
    public let random: any RandomSource

    package init(committer: UsageCommitter, policy: MeteringPolicy, clock: ServerClock, random: any RandomSource) {
        self.committer = committer
        self.policy = policy
        self.clock = clock
        self.random = random
    }

    /// Decides and commits a batch reported by `caller`; returns once it is durable.
    package func record(_ raw: [RawUsageEvent], by caller: Principal,
                        idempotency: UsageCommitter.KeyedAnswer? = nil) async throws -> UsageDecision {
        guard let operatorID = caller.operatorID else {
            throw MarketplaceError(.operatorRequired, "This key has not applied as an operator yet (POST /v1/operators).")
        }
        guard !raw.isEmpty else {
            throw MarketplaceError(.eventsRequired, "A batch holds at least one event.")
        }
        guard raw.count <= policy.maxBatchEvents else {
            throw MarketplaceError(.batchTooLarge, "A batch holds at most \(policy.maxBatchEvents) events; this one has \(raw.count).")
        }
        let now = clock.now()
        let batch = UsageBatch(raw, operatorID: operatorID, at: now, policy: policy)
        let batchID = "ub_\(Hex.encode(try random.bytes(8)))"
        return try await committer.commit(batch, batchID: batchID, actor: caller.id, at: now, idempotency: idempotency)
    }

    /// Meters one call PDX serves through the data API: an event per unit, decided by the grant
    /// check and quotas and committed before the caller may send a byte. The events are one: all of
    /// them count or none does (every outcome then names the first refusal).
    ///
    /// - Parameters:
    ///   - units: the quantity of each unit; units with no quantity are left out.
    ///   - eventID: the call's id; each unit's event is `<eventID>.<unit>`.
    ///   - source: `gateway` for a release PDX served, `upstream` for a call it forwarded to the
    ///     authority's own interface.
    package func meter(_ units: [MeteringUnit: Int64], grantID: String, datasetID: String, eventID: String,
                       by caller: Principal, at now: Date, source: UsageSource = .gateway) async throws -> UsageDecision {
        precondition(source.isMeteredAtSource, "only usage PDX meters itself is metered here")
        guard let operatorID = caller.operatorID else {
            throw MarketplaceError(.operatorRequired, "This key has not applied as an operator yet (POST /v1/operators).")
        }
        let time = RFC3339.format(now)
        let raw = units.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { unit, quantity in
            RawUsageEvent(id: "\(eventID).\(unit.rawValue)", grantID: grantID, datasetID: datasetID, unit: unit.rawValue,
                          quantity: quantity, time: time)
        }
        let batch = UsageBatch(raw, operatorID: operatorID, at: now, policy: policy, source: source)
        return try await committer.commit(batch, batchID: eventID, actor: caller.id, at: now)
    }
}
