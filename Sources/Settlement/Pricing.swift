public import AuditLog
public import Licensing

/// How one unit of one dataset in one grant is priced.
public enum Pricing: Sendable, Hashable {
    /// Every unit at one price.
    case perUnit(UnitPrice)
    /// Graduated: each step prices the units that fall into it (see ``PriceTier``).
    case graduated([PriceTier])

    /// The pricing of a granted unit: graduated when the grant has steps for it.
    public init(item: GrantItem, unit: MeteringUnit) {
        if let tiers = item.priceTiers[unit], !tiers.isEmpty {
            self = .graduated(tiers)
        } else {
            self = .perUnit(item.unitPrices[unit] ?? .zero)
        }
    }
}

/// What one step of a graduated price charged.
public struct TierCharge: Sendable, Hashable {
    /// The first and last unit of the period in this step.
    public let from: Int64
    public let upTo: Int64?
    /// Units of the line that fell into the step.
    public let quantity: Int64
    public let unitPrice: UnitPrice
    /// `quantity × unitPrice`, rounded once for the step.
    public let amountMinor: Int64
}

/// A priced quantity: the line's amount and, for graduated prices, what each step charged.
public struct Rating: Sendable, Hashable {
    public let amountMinor: Int64
    /// Empty for per-unit prices.
    public let tiers: [TierCharge]

    /// Rates `quantity` units of one period. A per-unit price rounds once; a graduated price rounds
    /// once per step, and the steps' amounts add up to the line.
    public init(quantity: Int64, pricing: Pricing, currency: Currency) throws(SettlementError) {
        switch pricing {
        case .perUnit(let price):
            guard let amount = Rounding.amount(quantity: quantity, price: price, currency: currency) else {
                throw SettlementError(code: .amountOverflow, detail: "\(quantity) × \(price) does not fit an amount")
            }
            amountMinor = amount
            tiers = []
        case .graduated(let steps):
            var charges: [TierCharge] = []
            var total: Int64 = 0
            var from: Int64 = 1
            // Only the steps the quantity reaches: a step that prices no unit is no charge.
            for step in steps where from <= quantity {
                let last = step.upTo.map { min($0, quantity) } ?? quantity
                let units = max(0, last - from + 1)
                guard let amount = Rounding.amount(quantity: units, price: step.unitPrice, currency: currency) else {
                    throw SettlementError(code: .amountOverflow, detail: "\(units) × \(step.unitPrice) does not fit an amount")
                }
                charges.append(TierCharge(from: from, upTo: step.upTo, quantity: units, unitPrice: step.unitPrice, amountMinor: amount))
                let (sum, overflow) = total.addingReportingOverflow(amount)
                guard !overflow else { throw SettlementError(code: .amountOverflow, detail: "a graduated line does not fit an amount") }
                total = sum
                guard let bound = step.upTo else { break }
                from = bound + 1
            }
            amountMinor = total
            tiers = charges
        }
    }
}
