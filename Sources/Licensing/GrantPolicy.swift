public import Foundation
public import Vetting

/// The grant rules, as pure functions from (operator, datasets, request, time) to the reasons a
/// grant is not allowed; no reasons means allowed.
///
/// - the operator is approved and its term has not ended;
/// - its tier allows each dataset's grade (`standard`: `general`; `enhanced`: `general`, `important`);
/// - no dataset is `closed` or `core`;
/// - each requested field exists, each unit is one the dataset is metered in;
/// - each price (every step of a graduated one) is at most the dataset's ceiling, and zero in a
///   `public_interest` grant;
/// - the term is at most ``maxTermDays`` days and has not ended.
///
/// Which authorities must approve is ``requiredApprovals(for:sensitiveFrom:)``: every authority
/// providing a dataset in the request when one is not `open`; else those whose datasets it asks
/// sensitive fields of; else none.
public struct GrantPolicy: Sendable {
    /// The longest term, in days of 24 hours.
    public var maxTermDays: Int
    /// The most datasets one grant may name.
    public var maxDatasetsPerGrant: Int
    /// The longest purpose, in characters.
    public var maxPurposeLength: Int
    /// The longest reason for a step, in characters.
    public var maxReasonLength: Int
    /// The longest justification of one sensitive field, in characters: business text for the
    /// reviewer, kept short because the log keeps it forever.
    public var maxJustificationLength: Int

    /// Creates a policy; the defaults are the product's.
    public init(maxTermDays: Int = 365, maxDatasetsPerGrant: Int = 20, maxPurposeLength: Int = 2000, maxReasonLength: Int = 2000,
                maxJustificationLength: Int = 500) {
        self.maxTermDays = maxTermDays
        self.maxDatasetsPerGrant = maxDatasetsPerGrant
        self.maxPurposeLength = maxPurposeLength
        self.maxReasonLength = maxReasonLength
        self.maxJustificationLength = maxJustificationLength
    }

    /// Every reason the rules refuse `request` by `operator` at `now`; empty when they allow it.
    ///
    /// - Parameters:
    ///   - datasets: the requested datasets by id; each must be present (the caller refuses a
    ///     request naming an unknown dataset before asking).
    ///   - committedPeriodMinor: what the operator's other grants that are not over (pending, active,
    ///     suspended) could charge in one period together (``Grant/periodAmountBound``).
    public func evaluate(_ request: GrantRequest, operator: Operator, datasets: [String: Dataset], at now: Date,
                         committedPeriodMinor: Int128 = 0) -> [GrantReason] {
        var reasons = operatorReasons(`operator`, at: now)
        var periodBound: Int128 = 0
        for item in request.items {
            guard let dataset = datasets[item.datasetID] else { continue }
            if request.scenario != .publicInterest {
                periodBound += MoneyLimits.bound(quotas: item.quotas, prices: item.highestPrices, currency: dataset.currency)
            }
            reasons += datasetReasons(dataset, tier: `operator`.application.tier)
            for field in item.fields where dataset.field(named: field) == nil {
                reasons.append(GrantReason(.unknownField, dataset: dataset.id, "'\(dataset.id)' has no field '\(field)'"))
            }
            reasons += priceReasons(item.highestPrices, scenario: request.scenario, dataset: dataset)
        }
        if periodBound > Int128(MoneyLimits.grantPeriodMinor) {
            reasons.append(GrantReason(.periodAmountLimit,
                                       "its quotas at its prices could charge \(periodBound) minor units a period, more than the \(MoneyLimits.grantPeriodMinor) one grant may; lower the quotas"))
        } else if committedPeriodMinor + periodBound > Int128(MoneyLimits.operatorPeriodMinor) {
            reasons.append(GrantReason(.operatorAmountLimit,
                                       "with the operator's other grants it could charge \(committedPeriodMinor + periodBound) minor units a period, more than the \(MoneyLimits.operatorPeriodMinor) one operator may"))
        }
        let days = request.endsAt.timeIntervalSince(request.startsAt) / 86_400
        if days > Double(maxTermDays) {
            reasons.append(GrantReason(.termTooLong, "the term is longer than \(maxTermDays) days"))
        }
        if request.endsAt <= now {
            reasons.append(GrantReason(.termEnded, "the term has already ended"))
        }
        return reasons
    }

    /// Every reason the current rules no longer allow `grant` at `now`: the checks of
    /// ``evaluate(_:operator:datasets:at:)`` on the grant as granted, plus `approval_required` when a
    /// dataset is `conditional` and an authority of the grant has not approved it, and `field_sensitive`
    /// when it reads a field marked `sensitive` since it was requested (it has no justification for it).
    public func recheck(_ grant: Grant, operator: Operator, datasets: [String: Dataset], at now: Date) -> [GrantReason] {
        var reasons = operatorReasons(`operator`, at: now)
        let approved = Set(grant.approvals.filter { $0.decision == .approve }.map(\.authorityID))
        for item in grant.items {
            guard let dataset = datasets[item.datasetID] else {
                reasons.append(GrantReason(.opennessClosed, dataset: item.datasetID, "'\(item.datasetID)' is no longer in the catalog"))
                continue
            }
            reasons += datasetReasons(dataset, tier: `operator`.application.tier)
            reasons += priceReasons(item.highestPrices, scenario: grant.scenario, dataset: dataset)
            for field in item.fields where dataset.field(named: field)?.sensitive == true && item.justifications[field] == nil {
                reasons.append(GrantReason(.fieldSensitive, dataset: dataset.id,
                                           "'\(dataset.id)' marks '\(field)' sensitive; the grant reads it without a justification and its authority's approval"))
            }
            if dataset.openness == .conditional {
                for authority in grant.authorityIDs where !approved.contains(authority) {
                    reasons.append(GrantReason(.approvalRequired, dataset: dataset.id,
                                               "'\(dataset.id)' is conditional and authority '\(authority)' has not approved this grant"))
                }
            }
        }
        if grant.endsAt <= now {
            reasons.append(GrantReason(.termEnded, "the term has ended"))
        }
        return reasons.uniqued()
    }

    /// The authorities that must approve a grant of `datasets` before it is active, sorted: every
    /// authority providing one of them when a dataset is not `open`; otherwise those providing a
    /// dataset of which the grant asks for a field marked `sensitive` (`sensitiveFrom`, dataset ids),
    /// so that such a grant is never approved automatically; none when neither.
    public func requiredApprovals(for datasets: [Dataset], sensitiveFrom: Set<String> = []) -> [String] {
        if datasets.contains(where: { $0.openness != .open }) {
            return Set(datasets.map(\.authorityID)).sorted()
        }
        return Set(datasets.filter { sensitiveFrom.contains($0.id) }.map(\.authorityID)).sorted()
    }

    // MARK: parts

    private func operatorReasons(_ op: Operator, at now: Date) -> [GrantReason] {
        guard !op.isActive(at: now) else { return [] }
        let why = op.status == .approved ? "its approval ended" : "it is \(op.status.rawValue)"
        return [GrantReason(.operatorNotActive, "operator '\(op.id)' is not active: \(why)")]
    }

    private func datasetReasons(_ dataset: Dataset, tier: OperatorTier) -> [GrantReason] {
        var reasons: [GrantReason] = []
        if dataset.openness == .closed {
            reasons.append(GrantReason(.opennessClosed, dataset: dataset.id, "'\(dataset.id)' is closed (不予开放) and is never granted"))
        }
        switch dataset.grade {
        case .core:
            reasons.append(GrantReason(.gradeCore, dataset: dataset.id, "'\(dataset.id)' is core data (核心数据) and is never granted"))
        case .important where tier == .standard:
            reasons.append(GrantReason(.tierInsufficient, dataset: dataset.id, "'\(dataset.id)' is important data; a standard operator may use general data only"))
        case .important, .general:
            break
        }
        return reasons
    }

    private func priceReasons(_ prices: [MeteringUnit: UnitPrice], scenario: Scenario, dataset: Dataset) -> [GrantReason] {
        var reasons: [GrantReason] = []
        for (unit, price) in prices.sorted(by: { $0.key < $1.key }) {
            guard let ceiling = dataset.ceilingPrices[unit], dataset.units.contains(unit) else {
                reasons.append(GrantReason(.unitNotOffered, dataset: dataset.id, "'\(dataset.id)' is not metered in '\(unit.rawValue)'"))
                continue
            }
            if scenario == .publicInterest, price != .zero {
                reasons.append(GrantReason(.publicInterestPriced, dataset: dataset.id,
                                           "a public_interest grant is free; the '\(unit.rawValue)' price of '\(dataset.id)' is \(price)"))
            } else if price > ceiling {
                reasons.append(GrantReason(.priceAboveCeiling, dataset: dataset.id,
                                           "the '\(unit.rawValue)' price \(price) of '\(dataset.id)' is above its ceiling \(ceiling)"))
            }
        }
        return reasons
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
