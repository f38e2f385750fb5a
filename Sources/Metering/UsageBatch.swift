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
    /// Who counted the events: the operator (declared) or PDX itself (gateway, upstream).
    public let source: UsageSource

    /// Parses `events` reported by `operatorID` at `now`, counted by `source`.
    public init(_ events: [RawUsageEvent], operatorID: String, at now: Date, policy: MeteringPolicy = MeteringPolicy(),
                source: UsageSource = .declared) {
        self.operatorID = operatorID
        self.source = source
        let latest = now.addingTimeInterval(policy.maxFutureSkew)
        // Per batch, not per event: one hasher and one buffer for the content digests, and the
        // previous event's time, parsed and placed in its period and day, since events of one batch
        // often share it.
        let hasher = SHA256()
        var content: [UInt8] = []
        var previous: (text: String, time: Date, milliseconds: Int64, period: Period, day: String)?
        var parsed: [Result<UsageEvent, UsageRejectionError>] = []
        parsed.reserveCapacity(events.count)
        for raw in events {
            parsed.append(Result { () throws(UsageRejectionError) -> UsageEvent in
                guard Self.isValidID(raw.id, maxLength: policy.maxEventIDLength) else { throw UsageRejectionError(.invalidID) }
                guard let unit = MeteringUnit(rawValue: raw.unit) else { throw UsageRejectionError(.unknownUnit) }
                guard (1...policy.maxQuantity).contains(raw.quantity) else { throw UsageRejectionError(.invalidQuantity) }
                let placed: (text: String, time: Date, milliseconds: Int64, period: Period, day: String)
                if let previous, previous.text == raw.time {
                    placed = previous
                } else {
                    guard let milliseconds = Timestamp.parseRFC3339(raw.time) else { throw UsageRejectionError(.invalidTime) }
                    let time = Timestamp.normalized(Timestamp.date(milliseconds: milliseconds))
                    placed = (raw.time, time, Timestamp.milliseconds(time), policy.calendar.period(of: time), policy.calendar.day(of: time))
                    previous = placed
                }
                let time = placed.time
                guard time <= latest else { throw UsageRejectionError(.timeInFuture) }
                UsageEvent.writeContent(grantID: raw.grantID, datasetID: raw.datasetID, unit: unit, quantity: raw.quantity,
                                        milliseconds: placed.milliseconds, to: &content)
                hasher.update(content)
                return UsageEvent(id: raw.id, grantID: raw.grantID, datasetID: raw.datasetID, unit: unit, quantity: raw.quantity,
                                  time: time, period: placed.period, day: placed.day, digest: hasher.finalize())
            })
        }
        self.parsed = parsed
    }

    /// The distinct ids of the events that parsed: the store looks up the ones seen before.
    public var eventIDs: [String] {
        var seen = Set<String>(minimumCapacity: parsed.count)
        var ids: [String] = []
        ids.reserveCapacity(parsed.count)
        for case .success(let event) in parsed where seen.insert(event.id).inserted { ids.append(event.id) }
        return ids
    }

    /// The counters the parsed events would add to, sorted.
    public var counterKeys: [CounterKey] {
        var keys = Set<CounterKey>()
        var last: CounterKey?
        for case .success(let event) in parsed {
            let key = event.counterKey
            // Consecutive events mostly share their counter: compared, not hashed again.
            if key != last { keys.insert(key) }
            last = key
        }
        return keys.sorted()
    }

    /// The periods of the parsed events, sorted.
    public var periods: [Period] {
        var periods = Set<Period>()
        for case .success(let event) in parsed { periods.insert(event.period) }
        return periods.sorted()
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
    ///   - amountLimit: the most of a counter's unit a period may use before its amount passes the
    ///     money one grant may charge (``GrantSnapshot/Item/amountLimits``); nil for no such limit.
    ///   - delivery: how a dataset is delivered; declared events of a `gateway` dataset are rejected
    ///     with `metered_at_source`. nil for a dataset the caller does not know (the grant check
    ///     refuses those first).
    public func decide(
        stored: [String: SHA256Digest], used: [CounterKey: Int64], closed: Set<Period>, operatorActiveUntil: Date?,
        check: (GrantCheckQuery) -> GrantCheckResult, quota: (CounterKey) -> Int64?,
        amountLimit: (CounterKey) -> Int64? = { _ in nil },
        delivery: (String) -> DeliveryMode? = { _ in nil }
    ) -> UsageDecision {
        var outcomes: [UsageOutcome] = []
        outcomes.reserveCapacity(parsed.count)
        var accepted: [UsageEvent] = []
        accepted.reserveCapacity(parsed.count)
        var acceptedHere: [String: SHA256Digest] = [:]
        acceptedHere.reserveCapacity(parsed.count)
        var counters = RunningSums<CounterKey>()
        var days = RunningSums<DayKey>()
        // Events of a batch mostly repeat the previous event's grant, dataset, unit and time: the
        // previous answers are reused while they do, instead of asking again for every event.
        var lastCheck: (query: GrantCheckQuery, result: GrantCheckResult)?
        var lastCounter: (key: CounterKey, used: Int64, limit: Int64?, amountLimit: Int64?)?
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
            if let earlier = (stored.isEmpty ? nil : stored[event.id]) ?? acceptedHere[event.id] {
                outcomes.append(earlier == event.digest ? .duplicate : .rejected(.conflict))
                continue
            }
            if !closed.isEmpty, closed.contains(event.period) {
                outcomes.append(.rejected(.periodClosed))
                continue
            }
            let query = GrantCheckQuery(operatorID: operatorID, grantID: event.grantID, datasetID: event.datasetID,
                                        unit: event.unit, time: event.time)
            let checked: GrantCheckResult
            if let lastCheck, lastCheck.query == query {
                checked = lastCheck.result
            } else {
                checked = check(query)
                lastCheck = (query, checked)
            }
            if case .denied(let denial) = checked {
                outcomes.append(.rejected(UsageRejection(denial)))
                continue
            }
            // What PDX serves or forwards it counts itself; the operator's own figure for it counts for nothing.
            if source == .declared, delivery(event.datasetID)?.isMeteredAtSource == true {
                outcomes.append(.rejected(.meteredAtSource))
                continue
            }
            guard let end = operatorActiveUntil, event.time < end else {
                outcomes.append(.rejected(.operatorNotActive))
                continue
            }
            let key = event.counterKey
            let counter: (key: CounterKey, used: Int64, limit: Int64?, amountLimit: Int64?)
            if let lastCounter, lastCounter.key == key {
                counter = lastCounter
            } else {
                counter = (key, used[key] ?? 0, quota(key), amountLimit(key))
                lastCounter = counter
            }
            let total = counter.used + counters.quantity(of: key) + event.quantity
            guard let limit = counter.limit, total <= limit else {
                outcomes.append(.rejected(.quotaExceeded))
                continue
            }
            if let most = counter.amountLimit, total > most {
                outcomes.append(.rejected(.amountLimitExceeded))
                continue
            }
            counters.add(event.quantity, to: key)
            days.add(event.quantity, to: DayKey(grantID: event.grantID, datasetID: event.datasetID, unit: event.unit, day: event.day))
            acceptedHere[event.id] = event.digest
            accepted.append(event)
            outcomes.append(.accepted)
        }
        // The events of one metered call are one: the call is served only if all of them count, so
        // if one is refused, all are, for the first refusal's reason.
        if source.isMeteredAtSource, accepted.count < parsed.count,
           let refusal = outcomes.lazy.compactMap({ if case .rejected(let reason) = $0 { reason } else { nil } }).first {
            return UsageDecision(outcomes: outcomes.map { _ in .rejected(refusal) }, accepted: [], counterDeltas: [:], dayDeltas: [:])
        }
        return UsageDecision(outcomes: outcomes, accepted: accepted, counterDeltas: counters.finished(), dayDeltas: days.finished())
    }

    /// Printable ASCII without `"` and `\`, so an id needs no escaping in JSON, CSV or a log line.
    static func isValidID(_ id: String, maxLength: Int) -> Bool {
        let bytes = id.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        return bytes.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }
}

/// A rejection carried through `Result`: its code is the rejection.
public struct UsageRejectionError: CodedError, Hashable {
    public let rejection: UsageRejection
    public init(_ rejection: UsageRejection) { self.rejection = rejection }

    public var code: UsageRejection { rejection }
    public var detail: String { "the usage event is rejected" }
}

/// The decision on a batch: an outcome per received event, in order, and the accepted events.
public struct UsageDecision: Sendable {
    public let outcomes: [UsageOutcome]
    /// In received order.
    public let accepted: [UsageEvent]
    /// What the accepted events add to each period counter: quantity and number of events.
    public let counterDeltas: [CounterKey: (quantity: Int64, events: Int64)]
    /// What they add to each day counter.
    public let dayDeltas: [DayKey: (quantity: Int64, events: Int64)]

    /// How many of each outcome.
    public var acceptedCount: Int { accepted.count }
    public var duplicateCount: Int { outcomes.filter { $0 == .duplicate }.count }
    public var rejectedCount: Int { outcomes.count - acceptedCount - duplicateCount }
}

/// Quantities and event counts added up by key. Consecutive additions to one key, the usual case
/// in a batch, are summed aside and stored once the key changes, not hashed one by one.
struct RunningSums<Key: Hashable> {
    private var sums: [Key: (quantity: Int64, events: Int64)] = [:]
    /// The key added to last and its whole sum so far; `sums` has an older sum for it, if any.
    private var run: (key: Key, quantity: Int64, events: Int64)?

    /// The quantity added to `key` so far.
    func quantity(of key: Key) -> Int64 {
        if let run, run.key == key { return run.quantity }
        return sums[key]?.quantity ?? 0
    }

    mutating func add(_ quantity: Int64, to key: Key) {
        if let current = run, current.key == key {
            run = (key, current.quantity + quantity, current.events + 1)
            return
        }
        if let current = run { sums[current.key] = (current.quantity, current.events) }
        let earlier = sums[key] ?? (0, 0)
        run = (key, earlier.quantity + quantity, earlier.events + 1)
    }

    /// Every sum.
    func finished() -> [Key: (quantity: Int64, events: Int64)] {
        var all = sums
        if let run { all[run.key] = (run.quantity, run.events) }
        return all
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
