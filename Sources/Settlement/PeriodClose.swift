public import AuditLog
public import Foundation
public import Licensing
public import Metering

/// One usage counter of the period with the terms it is rated under: the grant's scenario and
/// price for the unit, and the revenue-return share and platform fee the grant fixed when it
/// became active.
public struct RatedUsage: Sendable, Hashable {
    public let counter: UsageCounter
    public let scenario: Scenario
    public let pricing: Pricing
    public let revenueShareBPS: Int
    /// The grant's own fee; nil only for a grant the log shows activated before grants kept their
    /// terms, which a replay rates by the close's fee, as such closes did.
    public let platformFeeBPS: Int?

    public init(counter: UsageCounter, scenario: Scenario, pricing: Pricing, revenueShareBPS: Int, platformFeeBPS: Int? = nil) {
        self.counter = counter
        self.scenario = scenario
        self.pricing = pricing
        self.revenueShareBPS = revenueShareBPS
        self.platformFeeBPS = platformFeeBPS
    }
}

/// A correction of a line of a closed period, booked into a later, open period.
public struct Adjustment: Sendable, Hashable {
    /// `adj_<hex>`.
    public let id: String
    /// The open period it is booked into.
    public let period: Period
    /// The line it corrects; its parties and split carry over.
    public let corrected: SettlementLine
    /// The change of the line's gross amount: negative for a credit.
    public let amountMinor: Int64
    public let reason: String
    public let actor: String
    public let at: Date

    public init(id: String, period: Period, corrected: SettlementLine, amountMinor: Int64, reason: String, actor: String, at: Date) {
        self.id = id
        self.period = period
        self.corrected = corrected
        self.amountMinor = amountMinor
        self.reason = reason
        self.actor = actor
        self.at = at
    }
}

/// Everything a period's settlement is computed from. A close reads these from the counters, never
/// from the events, so its cost follows the number of grants.
public struct PeriodCloseInput: Sendable {
    public var period: Period
    public var currency: Currency
    /// The marketplace's fee in force at the close, as the report and its entry state it; lines
    /// are split by their grants' own fees (``RatedUsage/platformFeeBPS``).
    public var platformFeeBPS: Int
    public var usage: [RatedUsage]
    public var adjustments: [Adjustment]
    /// Annual revenue caps (最高准许收入) for the period's year, by operator id.
    public var revenueCaps: [String: Int64]
    /// Each operator's net income in the earlier closed periods of the same year.
    public var incomeBefore: [String: Int64]
    /// The report format to close in: the current one, or, to recompute an old close, its own.
    public var formatVersion: Int
    /// What the authorities reported for the period (`provider_usage`), by counter key: shown beside
    /// declared lines from report format 3 on. It is compared, never rated.
    public var providerQuantities: [CounterKey: Int64]

    public init(period: Period, currency: Currency, platformFeeBPS: Int, usage: [RatedUsage], adjustments: [Adjustment] = [],
                revenueCaps: [String: Int64] = [:], incomeBefore: [String: Int64] = [:],
                formatVersion: Int = SettlementReport.currentFormatVersion, providerQuantities: [CounterKey: Int64] = [:]) {
        self.formatVersion = formatVersion
        self.providerQuantities = providerQuantities
        self.period = period
        self.currency = currency
        self.platformFeeBPS = platformFeeBPS
        self.usage = usage
        self.adjustments = adjustments
        self.revenueCaps = revenueCaps
        self.incomeBefore = incomeBefore
    }
}

/// The settlement rules: rating, the split, adjustments and the annual cap. Pure: the same input
/// always gives the same report, which is what lets an auditor recompute it from the log.
public enum PeriodClose {
    /// Settles `input` as of `closedAt`: usage lines sorted by operator, grant, dataset and unit;
    /// then adjustments by id; then clawbacks by operator and authority.
    public static func settle(_ input: PeriodCloseInput, closedAt: Date) throws(SettlementError) -> SettlementReport {
        var lines: [SettlementLine] = []
        let usage = input.usage.sorted {
            ($0.counter.operatorID, $0.counter.key.grantID, $0.counter.key.datasetID, $0.counter.key.unit.rawValue)
                < ($1.counter.operatorID, $1.counter.key.grantID, $1.counter.key.datasetID, $1.counter.key.unit.rawValue)
        }
        for rated in usage {
            let counter = rated.counter
            let pricing = rated.scenario == .publicInterest ? .perUnit(.zero) : rated.pricing
            let rating = try Rating(quantity: counter.quantity, pricing: pricing, currency: input.currency)
            let split = ShareSplit(revenueShareBPS: rated.revenueShareBPS, platformFeeBPS: rated.platformFeeBPS ?? input.platformFeeBPS)
            let parts = split.split(rating.amountMinor)
            let unitPrice: UnitPrice? = if case .perUnit(let price) = pricing { price } else { nil }
            let source = LineSource(quantity: counter.quantity, gatewayQuantity: counter.gatewayQuantity,
                                    upstreamQuantity: counter.upstreamQuantity)
            // Only what the operator declared has a provider's figure to be read against.
            let provided = source == .declared && input.formatVersion >= 3 ? input.providerQuantities[counter.key] : nil
            lines.append(SettlementLine(
                id: "\(input.period)/\(counter.key.grantID)/\(counter.key.datasetID)/\(counter.key.unit.rawValue)",
                kind: .usage, grantID: counter.key.grantID, operatorID: counter.operatorID, datasetID: counter.key.datasetID,
                authorityID: counter.authorityID, unit: counter.key.unit, scenario: rated.scenario, quantity: counter.quantity,
                unitPrice: unitPrice, tiers: rating.tiers, amountMinor: rating.amountMinor,
                authorityBPS: split.authorityBPS, platformBPS: split.platformBPS,
                authorityMinor: parts.authority, platformMinor: parts.platform, operatorMinor: parts.operator,
                eventCount: counter.events, logIndexFirst: counter.firstLogIndex, logIndexLast: counter.lastLogIndex,
                corrects: nil, reason: nil,
                source: source, gatewayQuantity: counter.gatewayQuantity, upstreamQuantity: counter.upstreamQuantity,
                providerQuantity: provided))
        }
        for adjustment in input.adjustments.sorted(by: { $0.id < $1.id }) {
            let corrected = adjustment.corrected
            let split = ShareSplit(revenueShareBPS: corrected.authorityBPS, platformFeeBPS: corrected.platformBPS)
            let parts = split.split(adjustment.amountMinor)
            lines.append(SettlementLine(
                id: "\(input.period)/adjustment/\(adjustment.id)", kind: .adjustment, grantID: corrected.grantID,
                operatorID: corrected.operatorID, datasetID: corrected.datasetID, authorityID: corrected.authorityID,
                unit: corrected.unit, scenario: corrected.scenario, quantity: 0, unitPrice: nil, tiers: [],
                amountMinor: adjustment.amountMinor, authorityBPS: split.authorityBPS, platformBPS: split.platformBPS,
                authorityMinor: parts.authority, platformMinor: parts.platform, operatorMinor: parts.operator,
                eventCount: 0, logIndexFirst: nil, logIndexLast: nil, corrects: corrected.id, reason: adjustment.reason))
        }
        lines += try clawbacks(of: lines, input: input)
        try checkFits(lines)
        return SettlementReport(period: input.period, currency: input.currency, platformFeeBPS: input.platformFeeBPS,
                                closedAt: closedAt, lines: lines, formatVersion: input.formatVersion)
    }

    /// For every capped operator whose net income this year would pass its cap: the excess of this
    /// period, moved from the operator to the authorities whose lines earned it, in proportion to
    /// what each earned the operator (largest remainder).
    static func clawbacks(of lines: [SettlementLine], input: PeriodCloseInput) throws(SettlementError) -> [SettlementLine] {
        var result: [SettlementLine] = []
        let byOperator = Dictionary(grouping: lines, by: \.operatorID)
        for operatorID in byOperator.keys.sorted() {
            guard let cap = input.revenueCaps[operatorID], let own = byOperator[operatorID] else { continue }
            // Sums in 128 bits: lines and caps come from a log a verifier must not trust to keep
            // them small, and an overflow is the amount_overflow below, never a trap.
            let net = own.reduce(Int128(0)) { $0 + Int128($1.operatorMinor) }
            let room = max(0, Int128(cap) - Int128(input.incomeBefore[operatorID] ?? 0))
            let wideExcess = max(0, net - room)
            guard wideExcess > 0 else { continue }
            guard wideExcess <= Int128(MinorUnits.maximum) else {
                throw SettlementError(code: .amountOverflow, detail: "the clawback of \(operatorID) exceeds \(MinorUnits.maximum) minor units")
            }
            let excess = Int64(wideExcess)
            var wideEarned: [String: Int128] = [:]
            for line in own { wideEarned[line.authorityID, default: 0] += Int128(max(0, line.operatorMinor)) }
            var earned: [String: Int64] = [:]
            for (authorityID, amount) in wideEarned {
                guard amount <= Int128(MinorUnits.maximum) else {
                    throw SettlementError(code: .amountOverflow, detail: "what \(operatorID) earned from \(authorityID) exceeds \(MinorUnits.maximum) minor units")
                }
                earned[authorityID] = Int64(amount)
            }
            let authorities = earned.keys.sorted()
            let parts = LargestRemainder.allocate(excess, weights: authorities.map { earned[$0] ?? 0 })
            for (authorityID, part) in zip(authorities, parts) where part != 0 {
                result.append(SettlementLine(
                    id: "\(input.period)/clawback/\(operatorID)/\(authorityID)", kind: .clawback, grantID: nil,
                    operatorID: operatorID, datasetID: nil, authorityID: authorityID, unit: nil, scenario: nil, quantity: 0,
                    unitPrice: nil, tiers: [], amountMinor: 0, authorityBPS: 0, platformBPS: 0,
                    authorityMinor: part, platformMinor: 0, operatorMinor: -part, eventCount: 0,
                    logIndexFirst: nil, logIndexLast: nil, corrects: nil,
                    reason: "annual revenue cap \(MinorUnits.decimal(cap, in: input.currency)) \(input.currency.code) for \(input.period.year)"))
            }
        }
        return result
    }

    /// Every amount and every sum of amounts must stay an exact JSON number; checked once on the
    /// sum of magnitudes, so every total and party amount below is safe.
    static func checkFits(_ lines: [SettlementLine]) throws(SettlementError) {
        var sum: Int128 = 0
        for line in lines {
            sum += Int128(line.amountMinor.magnitude) + Int128(line.authorityMinor.magnitude)
                + Int128(line.platformMinor.magnitude) + Int128(line.operatorMinor.magnitude)
        }
        guard sum <= Int128(MinorUnits.maximum) else {
            throw SettlementError(code: .amountOverflow, detail: "the period's amounts exceed \(MinorUnits.maximum) minor units")
        }
    }
}
