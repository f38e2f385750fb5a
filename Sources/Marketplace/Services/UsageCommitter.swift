package import AuditLog
import Cryptography
package import Foundation
package import Licensing
package import Metering
package import Persistence
import Synchronization
import Tracing
import Vetting

/// Commits usage batches: one database transaction, and so one synced commit, for all the batches
/// that arrived while the previous transaction was committing (group commit).
///
/// A synced commit costs milliseconds on real disks, more than deciding a thousand events, so
/// committing batches one at a time would bound ingestion by the disk's sync rate. Batches that wait
/// together are decided one after another, in arrival order, each seeing the events and quantities
/// the ones before it accepted, exactly as if each had its own transaction; each keeps its own
/// `usage.recorded` entries. Every waiting request is answered only after the shared commit, so an
/// answer still means durable. If the transaction fails, every batch in it fails and nothing of any
/// of them is written; clients retry, and idempotency makes the retry safe.
///
/// A batch sent with an `Idempotency-Key` stores its answer in the same transaction as its events,
/// so the key is answered exactly when the events are committed.
package final class UsageCommitter: Sendable {
    /// One batch waiting to be committed, and its caller.
    private struct Job {
        let batch: UsageBatch
        let batchID: String
        let actor: String
        let now: Date
        let idempotency: KeyedAnswer?
        let continuation: CheckedContinuation<UsageDecision, any Error>
    }

    /// What a batch sent with an `Idempotency-Key` needs to record its answer: the key's
    /// reservation, and how to store the answer for a decision.
    package struct KeyedAnswer: Sendable {
        let reservation: IdempotencyReservation
        let record: @Sendable (UsageDecision, DatabaseTransaction) async throws -> Void

        package init(reservation: IdempotencyReservation,
                     record: @escaping @Sendable (UsageDecision, DatabaseTransaction) async throws -> Void) {
            self.reservation = reservation
            self.record = record
        }
    }

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    private let database: any Database
    private let log: TransparencyLog
    private let directory: GrantDirectory
    /// The most events one transaction takes; later batches wait for the next one.
    private let maxEventsPerCommit: Int
    private let state = Mutex(State())

    package init(database: any Database, log: TransparencyLog, directory: GrantDirectory, maxEventsPerCommit: Int = 20_000) {
        self.database = database
        self.log = log
        self.directory = directory
        self.maxEventsPerCommit = maxEventsPerCommit
    }

    /// Decides and commits `batch`; returns once it is durable.
    ///
    /// - Parameter idempotency: with a key, the answer is stored with the events; throws
    ///   ``IdempotentRequestAnswered`` (committing nothing of this batch) when another run of the
    ///   request has stored its answer already.
    package func commit(_ batch: UsageBatch, batchID: String, actor: String, at now: Date,
                idempotency: KeyedAnswer? = nil) async throws -> UsageDecision {
        try await withCheckedThrowingContinuation { continuation in
            let job = Job(batch: batch, batchID: batchID, actor: actor, now: now, idempotency: idempotency,
                          continuation: continuation)
            let startsDraining = state.withLock { state in
                state.pending.append(job)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startsDraining {
                Task { await self.drain() }
            }
        }
    }

    /// Commits waiting batches, group by group, until none waits.
    private func drain() async {
        while true {
            let group: [Job] = state.withLock { state in
                var taken = 0
                var events = 0
                for job in state.pending {
                    if taken > 0 && events + job.batch.parsed.count > maxEventsPerCommit { break }
                    taken += 1
                    events += job.batch.parsed.count
                }
                let group = Array(state.pending.prefix(taken))
                state.pending.removeFirst(taken)
                if group.isEmpty { state.draining = false }
                return group
            }
            if group.isEmpty { return }
            do {
                // A child of the span of the request that started this drain (its task's context).
                let decisions = try await withSpan("usage.commit") { span in
                    span.attributes["pdx.usage.batches"] = group.count
                    span.attributes["pdx.usage.events"] = group.reduce(0) { $0 + $1.batch.parsed.count }
                    return try await commitGroup(group)
                }
                for (job, decision) in zip(group, decisions) { job.continuation.resume(with: decision) }
            } catch {
                for job in group { job.continuation.resume(throwing: error) }
            }
        }
    }

    /// Each job's decision, or ``IdempotentRequestAnswered`` for a keyed batch whose key another run
    /// answered.
    private func commitGroup(_ all: [Job]) async throws -> [Result<UsageDecision, any Error>] {
        let directory = self.directory
        let log = self.log
        return try await database.transaction { tx in
            // The log head first: every usage transaction, and every grant change, queues here, so the
            // counters read below cannot move before this one commits, and the grants the directory
            // is refreshed to are exactly those committed before it.
            _ = try await tx.lockHead()
            try await tx.refresh(directory)

            // Every answer is stored by a transaction that holds the log head, so what is answered
            // now stays so until this commits: a batch whose key is answered is left out, and so is a
            // second run of a batch in this group (it gets the first run's answer once committed), so
            // recording the answers below cannot fail.
            var answered: Set<Int> = []
            var reserved: Set<IdempotencyReservation> = []
            for (index, job) in all.enumerated() {
                guard let keyed = job.idempotency else { continue }
                if !reserved.insert(keyed.reservation).inserted {
                    answered.insert(index)
                } else if try await tx.idempotentAnswer(for: keyed.reservation) != nil {
                    answered.insert(index)
                }
            }
            let group = all.indices.filter { !answered.contains($0) }.map { all[$0] }

            var stored: [String: [String: SHA256Digest]] = [:]
            var activeUntil: [String: Date?] = [:]
            for (operatorID, jobs) in Dictionary(grouping: group, by: \.batch.operatorID) {
                stored[operatorID] = try await tx.usageDigests(operatorID: operatorID, eventIDs: jobs.flatMap(\.batch.eventIDs))
                let owner = try await tx.operatorByID(operatorID)
                activeUntil[operatorID] = owner?.status == .approved ? owner?.approvedUntil : nil
            }
            var used = try await tx.usageQuantities(Array(Set(group.flatMap(\.batch.counterKeys))).sorted())
            let deliveries = try await tx.deliveries(of: Set(group.flatMap { $0.batch.counterKeys.map(\.datasetID) }))
            let closed = try await tx.closedPeriods(among: Array(Set(group.flatMap(\.batch.periods))).sorted())

            var decisions: [UsageDecision] = []
            var records: [[UsageRecord]] = []
            for (index, job) in group.enumerated() {
                let operatorID = job.batch.operatorID
                let decision = job.batch.decide(
                    stored: stored[operatorID] ?? [:], used: used, closed: closed,
                    operatorActiveUntil: activeUntil[operatorID] ?? nil,
                    check: directory.check,
                    quota: { key in directory.snapshot(key.grantID)?.items[key.datasetID]?.quotas[key.unit] },
                    amountLimit: { key in directory.snapshot(key.grantID)?.items[key.datasetID]?.amountLimits[key.unit] },
                    delivery: { deliveries[$0] })
                // What the batches after this one must see.
                if index < group.count - 1 {
                    for event in decision.accepted { stored[operatorID, default: [:]][event.id] = event.digest }
                    for (key, delta) in decision.counterDeltas { used[key, default: 0] += delta.quantity }
                }
                decisions.append(decision)
                records.append(decision.records(operatorID: operatorID, batchID: job.batchID, actor: job.actor, at: job.now,
                                                source: job.batch.source))
            }

            let entries = try await log.append(records.flatMap { $0.map(\.record) }, in: tx)
            var offset = 0
            var accepted: [(operatorID: String, events: [UsageEvent])] = []
            var counters: [UsageCounter] = []
            var days: [DailyUsage] = []
            for (job, (decision, batchRecords)) in zip(group, zip(decisions, records)) where !batchRecords.isEmpty {
                let batchEntries = Array(entries[offset..<(offset + batchRecords.count)])
                offset += batchRecords.count
                accepted.append((job.batch.operatorID, decision.accepted))
                counters += Self.counters(decision, records: batchRecords, entries: batchEntries,
                                          operatorID: job.batch.operatorID, source: job.batch.source, directory: directory)
                days += decision.dayDeltas.map { DailyUsage(key: $0.key, quantity: $0.value.quantity, events: $0.value.events) }
            }
            // The whole group's writes at once: one statement on PostgreSQL.
            try await tx.recordUsage(accepted, counters: counters, days: days)
            for (job, decision) in zip(group, decisions) {
                guard let keyed = job.idempotency else { continue }
                try await keyed.record(decision, tx)
            }
            // One result per job, in order: every job's caller is resumed with its own.
            var decided = decisions.makeIterator()
            return all.indices.map { index -> Result<UsageDecision, any Error> in
                if answered.contains(index) { return .failure(IdempotentRequestAnswered()) }
                guard let decision = decided.next() else {
                    return .failure(StorageError(code: .unexpectedData, detail: "a usage batch was left undecided"))
                }
                return .success(decision)
            }
        }
    }

    /// The counter increments of an accepted batch, each with the log indexes of the entries that
    /// carry its events; a batch metered at the source adds all of its quantity to the part of its
    /// source (gateway or upstream).
    static func counters(
        _ decision: UsageDecision, records: [UsageRecord], entries: [AuditEntry], operatorID: String,
        source: UsageSource = .declared, directory: GrantDirectory
    ) -> [UsageCounter] {
        var indexes: [CounterKey: (first: UInt64, last: UInt64)] = [:]
        for (record, entry) in zip(records, entries) {
            for key in record.counterKeys {
                let known = indexes[key]
                indexes[key] = (min(known?.first ?? entry.seq, entry.seq), max(known?.last ?? entry.seq, entry.seq))
            }
        }
        return decision.counterDeltas.map { key, delta in
            UsageCounter(
                key: key, operatorID: operatorID,
                authorityID: directory.snapshot(key.grantID)?.items[key.datasetID]?.authorityID ?? "",
                quantity: delta.quantity, events: delta.events,
                firstLogIndex: indexes[key]?.first ?? 0, lastLogIndex: indexes[key]?.last ?? 0,
                gatewayQuantity: source == .gateway ? delta.quantity : 0, gatewayEvents: source == .gateway ? delta.events : 0,
                upstreamQuantity: source == .upstream ? delta.quantity : 0, upstreamEvents: source == .upstream ? delta.events : 0)
        }
    }
}
