public import AuditLog
public import Foundation
import Licensing

/// The audit-log action of the Metering module; `Contracts/audit-log.md` describes its members.
public enum MeteringAction: String, Sendable, Hashable, CaseIterable {
    /// Accepted usage: one entry per batch, or several when the batch does not fit one entry.
    case recorded = "usage.recorded"
    /// Usage counts reported by a dataset's providing authority: one entry per accepted batch.
    case providerReported = "usage.provider_reported"
}

/// One `usage.recorded` record and the counters its events add to.
public struct UsageRecord: Sendable {
    public let record: AuditRecord
    /// The counters with events in this record; a store keeps, per counter, the first and last log
    /// index that added to it.
    public let counterKeys: Set<CounterKey>
}

extension UsageDecision {
    /// The bytes of event data one record may hold: the rest of the 64 KiB entry limit is left for
    /// the other members and the entry's envelope.
    public static let recordBudget = 56 * 1024

    /// The records of the accepted events: everything a replay needs to rebuild the counters (ids,
    /// grant, dataset, unit, period, quantity, time), grouped by counter in order of first
    /// appearance, split into as many records as the entry size limit requires (`part` of `parts`).
    /// Empty when nothing was accepted.
    public func records(operatorID: String, batchID: String, actor: String, at now: Date,
                        source: UsageSource = .declared) -> [UsageRecord] {
        guard !accepted.isEmpty else { return [] }
        var chunks: [[(CounterKey, [UsageEvent])]] = []
        var current: [(CounterKey, [UsageEvent])] = []
        var size = 0
        for event in accepted {
            let key = event.counterKey
            let cost = event.id.utf8.count + String(event.quantity).utf8.count + 20
            let groupCost = current.last?.0 == key ? 0 : key.grantID.utf8.count + key.datasetID.utf8.count + 90
            if size + cost + groupCost > Self.recordBudget, !current.isEmpty {
                chunks.append(current)
                current = []
                size = 0
            }
            if current.last?.0 == key {
                current[current.count - 1].1.append(event)
                size += cost
            } else {
                current.append((key, [event]))
                size += cost + key.grantID.utf8.count + key.datasetID.utf8.count + 90
            }
        }
        chunks.append(current)
        let at = JSONValue.string(Timestamp.format(Timestamp.milliseconds(now)))
        return chunks.enumerated().map { index, groups in
            // Declared usage has no `source` member, as before there were two sources, so the logs
            // of declared usage keep their bytes.
            let sourceMember: [String: JSONValue] = source.isMeteredAtSource ? ["source": .string(source.rawValue)] : [:]
            let usage: [JSONValue] = groups.map { key, events in
                [
                    "grant_id": .string(key.grantID),
                    "dataset_id": .string(key.datasetID),
                    "unit": .string(key.unit.rawValue),
                    "period": .string(key.period.description),
                    "events": .array(events.map {
                        [.string($0.id), JSONValue($0.quantity), JSONValue(Timestamp.milliseconds($0.time))]
                    }),
                ]
            }
            let record = AuditRecord(
                actor: actor, action: MeteringAction.recorded.rawValue, subjects: ["operator:\(operatorID)"],
                data: [
                    "operator_id": .string(operatorID),
                    "batch_id": .string(batchID),
                    "part": JSONValue(index + 1),
                    "parts": JSONValue(chunks.count),
                    "at": at,
                    "usage": .array(usage),
                ].merging(sourceMember) { $1 })
            return UsageRecord(record: record, counterKeys: Set(groups.map(\.0)))
        }
    }
}
