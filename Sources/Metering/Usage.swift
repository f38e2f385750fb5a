public import AuditLog
public import Cryptography
public import Foundation
public import Licensing

/// A usage event as received, before any check. Field names follow CloudEvents 1.0 where they fit
/// (`id`, `time`).
public struct RawUsageEvent: Sendable, Hashable {
    public var id: String
    public var grantID: String
    public var datasetID: String
    public var unit: String
    public var quantity: Int64
    /// RFC 3339, any offset.
    public var time: String

    public init(id: String, grantID: String, datasetID: String, unit: String, quantity: Int64, time: String) {
        self.id = id
        self.grantID = grantID
        self.datasetID = datasetID
        self.unit = unit
        self.quantity = quantity
        self.time = time
    }
}

/// Who counted a usage event.
public enum UsageSource: String, Sendable, Hashable, CaseIterable, Comparable {
    /// The operator declared it through `POST /v1/usage`.
    case declared
    /// PDX generated it for a call it served through the data API (metered at the source).
    case gateway
    /// PDX generated it for a call it forwarded to the authority's own interface (an `upstream`
    /// dataset, metered at the source). Logs written before this source existed name such calls
    /// `gateway`.
    case upstream
    /// The providing authority reported it (`POST /v1/provider-usage`); it bills no one and is kept
    /// apart from the counters, to be reconciled with the operator's declaration.
    case provider

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// True for the sources PDX meters itself (`gateway`, `upstream`): the counters keep their parts.
    public var isMeteredAtSource: Bool { self == .gateway || self == .upstream }
}

/// Why an event is rejected; the raw values are the codes a batch answers with.
public enum UsageRejection: String, Sendable, Hashable, CaseIterable {
    /// The id is empty, longer than ``MeteringPolicy/maxEventIDLength``, or has a character outside
    /// printable ASCII (or `"` or `\`).
    case invalidID = "invalid_id"
    /// The unit is not `call`, `record` or `byte`.
    case unknownUnit = "unknown_unit"
    /// The quantity is not a positive integer up to ``MeteringPolicy/maxQuantity``.
    case invalidQuantity = "invalid_quantity"
    /// The time is not an RFC 3339 date-time.
    case invalidTime = "invalid_time"
    /// The time is later than now plus ``MeteringPolicy/maxFutureSkew``.
    case timeInFuture = "time_in_future"
    /// The same id was accepted before (in this batch or an earlier one) with other content.
    case conflict
    /// The event's period is closed for settlement.
    case periodClosed = "period_closed"
    /// The operator's approval had ended at the event's time.
    case operatorNotActive = "operator_not_active"
    case grantNotFound = "grant_not_found"
    case grantNotOwned = "grant_not_owned"
    case datasetNotInGrant = "dataset_not_in_grant"
    case unitNotGranted = "unit_not_granted"
    case grantNotStarted = "grant_not_started"
    case grantExpired = "grant_expired"
    case grantNotActive = "grant_not_active"
    /// Accepting it would take the period's use of the unit beyond the grant's quota.
    case quotaExceeded = "quota_exceeded"
    /// The dataset is delivered through PDX, which counts its use itself: an operator may not
    /// declare it.
    case meteredAtSource = "metered_at_source"
    /// Accepting it would take the period's amount of the unit under the grant past the money one
    /// grant may charge in a period (``MoneyLimits/grantPeriodMinor``), which would stop the close.
    case amountLimitExceeded = "amount_limit_exceeded"

    init(_ denial: GrantCheckDenial) {
        self = UsageRejection(rawValue: denial.rawValue) ?? .grantNotFound
    }
}

/// What a batch answers for one of its items: an operator's usage event or an authority's report.
public enum BatchOutcome<Rejection: RawRepresentable & Sendable & Hashable>: Sendable, Hashable
where Rejection.RawValue == String {
    /// Counted now.
    case accepted
    /// Counted before, with the same content; not counted again.
    case duplicate
    /// Not counted; the rejection's raw value is the item's code.
    case rejected(Rejection)
}

/// What a usage batch answers for one event.
public typealias UsageOutcome = BatchOutcome<UsageRejection>

/// The limits of the usage path.
public struct MeteringPolicy: Sendable {
    /// The most events in one batch.
    public var maxBatchEvents: Int
    /// The longest event id, in bytes.
    public var maxEventIDLength: Int
    /// The largest quantity of one event.
    public var maxQuantity: Int64
    /// How far in the future an event's time may be, for clocks that run a little fast.
    public var maxFutureSkew: TimeInterval
    /// The marketplace's calendar.
    public var calendar: MarketCalendar

    /// Creates a policy; the defaults are the product's.
    public init(maxBatchEvents: Int = 10_000, maxEventIDLength: Int = 128, maxQuantity: Int64 = 1_000_000_000_000,
                maxFutureSkew: TimeInterval = 300, calendar: MarketCalendar = MarketCalendar()) {
        self.maxBatchEvents = maxBatchEvents
        self.maxEventIDLength = maxEventIDLength
        self.maxQuantity = maxQuantity
        self.maxFutureSkew = maxFutureSkew
        self.calendar = calendar
    }
}

/// An event that passed the shape checks: parsed, placed in its period and day, and digested so that
/// a later event with the same id can be told apart as a duplicate or a conflict.
public struct UsageEvent: Sendable, Hashable {
    public let id: String
    public let grantID: String
    public let datasetID: String
    public let unit: MeteringUnit
    public let quantity: Int64
    /// Rounded to the millisecond, the precision of the log.
    public let time: Date
    public let period: Period
    /// `YYYY-MM-DD` in the marketplace's time zone.
    public let day: String
    /// SHA-256 of the content (everything but the id), in the form ``digest(grantID:datasetID:unit:quantity:milliseconds:)`` defines.
    public let digest: SHA256Digest

    /// Creates an event; the digest is computed from the content.
    public init(id: String, grantID: String, datasetID: String, unit: MeteringUnit, quantity: Int64, time: Date, calendar: MarketCalendar) {
        self.id = id
        self.grantID = grantID
        self.datasetID = datasetID
        self.unit = unit
        self.quantity = quantity
        self.time = Timestamp.normalized(time)
        self.period = calendar.period(of: self.time)
        self.day = calendar.day(of: self.time)
        self.digest = Self.digest(grantID: grantID, datasetID: datasetID, unit: unit, quantity: quantity,
                                  milliseconds: Timestamp.milliseconds(self.time))
    }

    /// An event whose time, already rounded to the millisecond, was placed and digested by the
    /// caller (``UsageBatch`` does it once per batch where events share a time).
    init(id: String, grantID: String, datasetID: String, unit: MeteringUnit, quantity: Int64, time: Date, period: Period,
         day: String, digest: SHA256Digest) {
        self.id = id
        self.grantID = grantID
        self.datasetID = datasetID
        self.unit = unit
        self.quantity = quantity
        self.time = time
        self.period = period
        self.day = day
        self.digest = digest
    }

    /// The content digest: SHA-256 of `grant_id LF dataset_id LF unit LF quantity LF time`, the time in
    /// milliseconds since 1970 UTC. Two reports of one event with the time written in different
    /// offsets have the same digest.
    public static func digest(grantID: String, datasetID: String, unit: MeteringUnit, quantity: Int64, milliseconds: Int64) -> SHA256Digest {
        var content: [UInt8] = []
        writeContent(grantID: grantID, datasetID: datasetID, unit: unit, quantity: quantity, milliseconds: milliseconds, to: &content)
        return SHA256.hash(content)
    }

    /// Replaces `content` with the bytes ``digest(grantID:datasetID:unit:quantity:milliseconds:)`` hashes.
    static func writeContent(grantID: String, datasetID: String, unit: MeteringUnit, quantity: Int64, milliseconds: Int64,
                             to content: inout [UInt8]) {
        content.removeAll(keepingCapacity: true)
        content.append(contentsOf: grantID.utf8)
        content.append(0x0A)
        content.append(contentsOf: datasetID.utf8)
        content.append(0x0A)
        content.append(contentsOf: unit.rawValue.utf8)
        content.append(0x0A)
        content.append(contentsOf: String(quantity).utf8)
        content.append(0x0A)
        content.append(contentsOf: String(milliseconds).utf8)
    }

    /// The counter it adds to.
    public var counterKey: CounterKey {
        CounterKey(grantID: grantID, datasetID: datasetID, unit: unit, period: period)
    }
}

/// What a period counter counts: one grant, dataset and unit in one period.
public struct CounterKey: Sendable, Hashable, Comparable {
    public let grantID: String
    public let datasetID: String
    public let unit: MeteringUnit
    public let period: Period

    public init(grantID: String, datasetID: String, unit: MeteringUnit, period: Period) {
        self.grantID = grantID
        self.datasetID = datasetID
        self.unit = unit
        self.period = period
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.grantID, lhs.datasetID, lhs.unit.rawValue, lhs.period.description)
            < (rhs.grantID, rhs.datasetID, rhs.unit.rawValue, rhs.period.description)
    }
}
