public import Foundation
import Synchronization

/// The question the usage path asks for every event: may `operatorID` use `unit` of `datasetID`
/// under `grantID` at `time`?
public struct GrantCheckQuery: Sendable, Hashable {
    public var operatorID: String
    public var grantID: String
    public var datasetID: String
    public var unit: MeteringUnit
    public var time: Date

    public init(operatorID: String, grantID: String, datasetID: String, unit: MeteringUnit, time: Date) {
        self.operatorID = operatorID
        self.grantID = grantID
        self.datasetID = datasetID
        self.unit = unit
        self.time = time
    }
}

/// Why the grant check says no; the raw values are the codes a usage event is rejected with.
public enum GrantCheckDenial: String, Sendable, Hashable, CaseIterable {
    /// No grant has this id (or it was never in force: pending or denied).
    case grantNotFound = "grant_not_found"
    /// The grant belongs to another operator.
    case grantNotOwned = "grant_not_owned"
    /// The dataset is not in the grant.
    case datasetNotInGrant = "dataset_not_in_grant"
    /// The unit is not granted for the dataset.
    case unitNotGranted = "unit_not_granted"
    /// The time is before the grant's term starts.
    case grantNotStarted = "grant_not_started"
    /// The time is at or after the grant's term ends.
    case grantExpired = "grant_expired"
    /// The time is within the term but the grant was not in force then: not yet approved,
    /// suspended, or revoked.
    case grantNotActive = "grant_not_active"
}

/// The answer of the grant check.
public enum GrantCheckResult: Sendable, Hashable {
    case allowed
    case denied(GrantCheckDenial)
}

/// What the grant check keeps of a grant: just enough to answer a ``GrantCheckQuery``, and the
/// quotas the usage path enforces.
public struct GrantSnapshot: Sendable, Hashable {
    /// What is granted of one dataset.
    public struct Item: Sendable, Hashable {
        /// The dataset's providing authority.
        public let authorityID: String
        /// The units granted.
        public let units: Set<MeteringUnit>
        /// The fields granted: the only ones the data API serves of the dataset under this grant.
        public let fields: [String]
        /// The quota per unit per period.
        public let quotas: [MeteringUnit: Int64]
        /// The price per unit.
        public let unitPrices: [MeteringUnit: UnitPrice]
        /// Per priced unit, the most of it a period may use before its amount at the unit's highest
        /// price passes ``MoneyLimits/grantPeriodMinor``. Below the quota only for grants made
        /// before money was bounded at request time.
        public let amountLimits: [MeteringUnit: Int64]
    }

    public let grantID: String
    /// The grant's revision: a directory never replaces a snapshot by an older one.
    public let revision: Int
    public let operatorID: String
    public let startsAt: Date
    public let endsAt: Date
    /// When the grant was in force, oldest first.
    public let spans: [ActiveSpan]
    /// By dataset id.
    public let items: [String: Item]

    /// The snapshot of `grant` as it now is.
    public init(_ grant: Grant) {
        self.init(grant, spans: grant.activeSpans)
    }

    /// The snapshot of `grant` with its spans in force given: a verifier that keeps them as it
    /// replays the grant's steps need not derive them from the whole history again.
    public init(_ grant: Grant, spans: [ActiveSpan]) {
        grantID = grant.id
        revision = grant.revision
        operatorID = grant.operatorID
        startsAt = grant.startsAt
        endsAt = grant.endsAt
        self.spans = spans
        let currency = grant.currency
        let free = grant.scenario == .publicInterest
        // A grant names each dataset once (the request is refused otherwise), but a verifier builds
        // snapshots from a log that may name one twice: the first item counts, as in `item(for:)`.
        items = Dictionary(grant.items.map { item in
            let limits = free ? [:] : item.highestPrices.compactMapValues {
                MoneyLimits.quantity(within: MoneyLimits.grantPeriodMinor, price: $0, currency: currency)
            }
            return (item.datasetID, Item(authorityID: item.authorityID, units: Set(item.unitPrices.keys), fields: item.fields,
                                         quotas: item.quotas, unitPrices: item.unitPrices, amountLimits: limits))
        }, uniquingKeysWith: { first, _ in first })
    }

    /// The check itself, in the order an operator would fix things: whose grant, what data, which
    /// unit, when.
    public func check(_ query: GrantCheckQuery) -> GrantCheckResult {
        check(query) { time in spans.contains { $0.contains(time) } }
    }

    /// The check with the last question, whether the grant was in force at the time, answered by
    /// `inForce`: for a verifier that keeps the spans in a structure it can search.
    public func check(_ query: GrantCheckQuery, inForce: (Date) -> Bool) -> GrantCheckResult {
        guard query.operatorID == operatorID else { return .denied(.grantNotOwned) }
        guard let item = items[query.datasetID] else { return .denied(.datasetNotInGrant) }
        guard item.units.contains(query.unit) else { return .denied(.unitNotGranted) }
        if query.time < startsAt { return .denied(.grantNotStarted) }
        if query.time >= endsAt { return .denied(.grantExpired) }
        return inForce(query.time) ? .allowed : .denied(.grantNotActive)
    }
}

/// The grant check served from memory: snapshots of every grant, replaced whenever a grant changes.
///
/// A store stamps each changed grant with a generation number that only grows; the directory
/// remembers the generation it has seen, and whoever holds a database handle brings it up to date
/// with the grants changed since (the storage module's `refresh(_:)`) before it checks. A change
/// made by another process sharing the database is picked up the same way. Safe to use from any
/// number of tasks at once.
public final class GrantDirectory: Sendable {
    private struct State {
        var generation: Int64 = -1
        var grants: [String: GrantSnapshot] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty directory that has seen no generation.
    public init() {}

    /// The generation of the newest change applied; -1 before the first refresh.
    public var generation: Int64 {
        state.withLock { $0.generation }
    }

    /// How many grants it holds.
    public var count: Int {
        state.withLock { $0.grants.count }
    }

    /// Answers `query` from memory.
    public func check(_ query: GrantCheckQuery) -> GrantCheckResult {
        guard let snapshot = snapshot(query.grantID) else { return .denied(.grantNotFound) }
        return snapshot.check(query)
    }

    /// The snapshot of grant `id`, or nil.
    public func snapshot(_ id: String) -> GrantSnapshot? {
        state.withLock { $0.grants[id] }
    }

    /// Applies `grants` changed up to `generation`. Grants never in force (pending, denied) are
    /// left out: they answer `grant_not_found` like a grant that does not exist. A snapshot is never
    /// replaced by one of an older revision, and the generation never goes back, so two refreshes
    /// racing each other cannot undo the newer one's work.
    public func apply(_ grants: [Grant], generation: Int64) {
        let snapshots = grants.compactMap { $0.activeSpans.isEmpty ? nil : GrantSnapshot($0) }
        state.withLock { state in
            for snapshot in snapshots where (state.grants[snapshot.grantID]?.revision ?? 0) <= snapshot.revision {
                state.grants[snapshot.grantID] = snapshot
            }
            state.generation = max(state.generation, generation)
        }
    }

    /// Forgets everything, so that the next refresh loads every grant again.
    public func reset() {
        state.withLock { $0 = State() }
    }
}
