public import AuditLog
public import Cryptography
public import Foundation
public import Licensing

/// One batch of usage events through the rules, as pure functions: parse, then decide against the
/// state a store read (earlier events with the same ids, the period counters, closed periods), then
/// the audit records of what was accepted. Nothing here reads a clock or a store.
///
/// A store reads what ``eventIDs`` and ``counterKeys`` name, in the transaction that will write
/// the accepted events, their counters and their records.
public struct UsageBatch: Sendable {
    /// Each received event, parsed, or why it could not be.
    public let parsed: [Result<UsageEvent, UsageRejectionError>]
    /// The operator reporting.
    public let operatorID: String

    /// Parses `events` reported by `operatorID` at `now`.
    public init(_ events: [RawUsageEvent], operatorID: String, at now: Date, policy: MeteringPolicy = MeteringPolicy()) {
        self.operatorID = operatorID
        let latest = now.addingTimeInterval(policy.maxFutureSkew)
        parsed = events.map { raw in
            Result { () throws(UsageRejectionError) -> UsageEvent in
                guard Self.isValidID(raw.id, maxLength: policy.maxEventIDLength) else { throw UsageRejectionError(.invalidID) }
                guard let unit = MeteringUnit(rawValue: raw.unit) else { throw UsageRejectionError(.unknownUnit) }
                guard (1...policy.maxQuantity).contains(raw.quantity) else { throw UsageRejectionError(.invalidQuantity) }
                guard let milliseconds = Timestamp.parseRFC3339(raw.time) else { throw UsageRejectionError(.invalidTime) }
                let time = Timestamp.date(milliseconds: milliseconds)
                guard time <= latest else { throw UsageRejectionError(.timeInFuture) }
                return UsageEvent(id: raw.id, grantID: raw.grantID, datasetID: raw.datasetID, unit: unit,
                                  quantity: raw.quantity, time: time, calendar: policy.calendar)
            }
        }
    }

    /// The distinct ids of the events that parsed: the store looks up the ones seen before.
    public var eventIDs: [String] {
        var seen = Set<String>()
        return parsed.compactMap { try? $0.get().id }.filter { seen.insert($0).inserted }
    }

    /// The counters the parsed events would add to, sorted.
    public var counterKeys: [CounterKey] {
        Set(parsed.compactMap { try? $0.get().counterKey }).sorted()
    }

    /// The periods of the parsed events, sorted.
    public var periods: [Period] {
        Set(parsed.compactMap { try? $0.get().period }).sorted()
    }

    /// Decides every event, in order.
    ///
    /// - Parameters:
    ///   - stored: the digest of each event id already counted for this operator.
    ///   - used: each counter's quantity so far (absent: zero).
    ///   - closed: the periods closed for settlement.
    ///   - operatorActiveUntil: the end of the operator's approval term; events at or after it are
    ///     refused. Nil when the operator has none.
    ///   - check: the grant check.
    ///   - quota: the quota of a counter's grant, dataset and unit per period.
    public func decide(
        stored: [String: SHA256Digest], used: [CounterKey: Int64], closed: Set<Period>, operatorActiveUntil: Date?,
        check: (GrantCheckQuery) -> GrantCheckResult, quota: (CounterKey) -> Int64?
    ) -> UsageDecision {
        var outcomes: [UsageOutcome] = []
        outcomes.reserveCapacity(parsed.count)
        var accepted: [UsageEvent] = []
        var acceptedHere: [String: SHA256Digest] = [:]
        var totals = used
        for result in parsed {
            let event: UsageEvent
            switch result {
            case .failure(let error):
                outcomes.append(.rejected(error.rejection))
                continue
            case .success(let value):
                event = value
            }
            // Idempotency comes first: a report of an event already counted is a duplicate even if the
            // grant has since been suspended or the period closed.
            if let earlier = stored[event.id] ?? acceptedHere[event.id] {
                outcomes.append(earlier == event.digest ? .duplicate : .rejected(.conflict))
                continue
            }
            if closed.contains(event.period) {
                outcomes.append(.rejected(.periodClosed))
                continue
            }
            if case .denied(let denial) = check(GrantCheckQuery(operatorID: operatorID, grantID: event.grantID,
                                                               datasetID: event.datasetID, unit: event.unit, time: event.time)) {
                outcomes.append(.rejected(UsageRejection(denial)))
                continue
            }
            guard let end = operatorActiveUntil, event.time < end else {
                outcomes.append(.rejected(.operatorNotActive))
                continue
            }
            let key = event.counterKey
            let total = totals[key, default: 0]
            guard let limit = quota(key), total + event.quantity <= limit else {
                outcomes.append(.rejected(.quotaExceeded))
                continue
            }
            totals[key] = total + event.quantity
            acceptedHere[event.id] = event.digest
            accepted.append(event)
            outcomes.append(.accepted)
        }
        return UsageDecision(outcomes: outcomes, accepted: accepted)
    }

    /// Printable ASCII without `"` and `\`, so an id needs no escaping in JSON, CSV or a log line.
    static func isValidID(_ id: String, maxLength: Int) -> Bool {
        let bytes = id.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        return bytes.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }
}

/// A rejection carried through `Result`.
public struct UsageRejectionError: Error, Sendable, Hashable {
    public let rejection: UsageRejection
    public init(_ rejection: UsageRejection) { self.rejection = rejection }
}

/// The decision on a batch: an outcome per received event, in order, and the accepted events.
public struct UsageDecision: Sendable {
    public let outcomes: [UsageOutcome]
    /// In received order.
    public let accepted: [UsageEvent]

    /// How many of each outcome.
    public var acceptedCount: Int { accepted.count }
    public var duplicateCount: Int { outcomes.filter { $0 == .duplicate }.count }
    public var rejectedCount: Int { outcomes.count - acceptedCount - duplicateCount }

    /// What the accepted events add to each period counter: quantity and number of events.
    public var counterDeltas: [CounterKey: (quantity: Int64, events: Int64)] {
        var deltas: [CounterKey: (quantity: Int64, events: Int64)] = [:]
        for event in accepted {
            let key = event.counterKey
            let current = deltas[key] ?? (0, 0)
            deltas[key] = (current.quantity + event.quantity, current.events + 1)
        }
        return deltas
    }

    /// What they add to each day counter.
    public var dayDeltas: [DayKey: (quantity: Int64, events: Int64)] {
        var deltas: [DayKey: (quantity: Int64, events: Int64)] = [:]
        for event in accepted {
            let key = DayKey(grantID: event.grantID, datasetID: event.datasetID, unit: event.unit, day: event.day)
            let current = deltas[key] ?? (0, 0)
            deltas[key] = (current.quantity + event.quantity, current.events + 1)
        }
        return deltas
    }
}

/// What a day counter counts: one grant, dataset and unit on one day.
public struct DayKey: Sendable, Hashable {
    public let grantID: String
    public let datasetID: String
    public let unit: MeteringUnit
    /// `YYYY-MM-DD` in the marketplace's time zone.
    public let day: String

    public init(grantID: String, datasetID: String, unit: MeteringUnit, day: String) {
        self.grantID = grantID
        self.datasetID = datasetID
        self.unit = unit
        self.day = day
    }
}
