public import Cryptography
public import Identity
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
}
