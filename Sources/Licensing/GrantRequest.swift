public import Foundation
public import AuditLog
import Vetting

/// A grant request as received, checked for shape by ``GrantRequest/init(purpose:scenario:startsAt:endsAt:agreementID:agreementVersion:items:policy:)``.
/// Whether the rules allow it is ``GrantPolicy``'s question, answered with reasons.
public struct GrantRequest: Sendable, Hashable {
    /// One requested dataset, as received.
    public struct Item: Sendable, Hashable {
        public var datasetID: String
        public var fields: [String]
        /// Unit → price text.
        public var unitPrices: [String: String]
        /// Unit → graduated price steps, for units priced by volume instead of in `unitPrices`.
        public var priceTiers: [String: [RawTier]]
        /// Unit → quota per period.
        public var quotas: [String: Int64]
        /// Field → why it is needed: one for each requested field marked `sensitive`, none for others.
        public var justifications: [String: String]

        public init(datasetID: String, fields: [String], unitPrices: [String: String], priceTiers: [String: [RawTier]] = [:],
                    quotas: [String: Int64], justifications: [String: String] = [:]) {
            self.datasetID = datasetID
            self.fields = fields
            self.unitPrices = unitPrices
            self.priceTiers = priceTiers
            self.quotas = quotas
            self.justifications = justifications
        }
    }

    /// One graduated price step as received: the last unit it prices (none for the last step) and
    /// the price text.
    public struct RawTier: Sendable, Hashable {
        public var upTo: Int64?
        public var unitPrice: String

        public init(upTo: Int64?, unitPrice: String) {
            self.upTo = upTo
            self.unitPrice = unitPrice
        }
    }

    /// One requested dataset, checked for shape.
    public struct CheckedItem: Sendable, Hashable {
        public let datasetID: String
        public let fields: [String]
        /// Every granted unit's price; for a graduated unit, its first step's.
        public let unitPrices: [MeteringUnit: UnitPrice]
        public let priceTiers: [MeteringUnit: [PriceTier]]
        public let quotas: [MeteringUnit: Int64]
        /// Field → justification, trimmed; each field is one of `fields`. Whether those fields are
        /// exactly the sensitive ones is checked against the dataset (``GrantLifecycle/request(_:id:operator:requestedBy:datasets:agreement:at:committedPeriodMinor:)``).
        public let justifications: [String: String]

        /// Per unit, the highest price any of its steps charges: what the ceiling is checked against.
        public var highestPrices: [MeteringUnit: UnitPrice] { GrantItem.highestPrices(unitPrices, priceTiers) }
    }

    /// The most steps a graduated price may have.
    public static let maxPriceTiers = 10

    public let purpose: String
    public let scenario: Scenario
    public let startsAt: Date
    public let endsAt: Date
    public let agreementID: String
    public let agreementVersion: String
    public let items: [CheckedItem]

    /// The largest quota accepted per unit and period.
    public static let maxQuota: Int64 = 1_000_000_000_000_000

    /// Checks the request's shape and throws the first problem: purpose text, one to
    /// ``GrantPolicy/maxDatasetsPerGrant`` distinct datasets, each with distinct well-formed fields,
    /// known units with well-formed prices and a positive quota for each priced unit, and an end
    /// after the start. Times are rounded to the millisecond.
    public init(
        purpose: String, scenario: Scenario, startsAt: Date, endsAt: Date, agreementID: String, agreementVersion: String,
        items: [Item], policy: GrantPolicy = GrantPolicy()
    ) throws(LicensingError) {
        guard let trimmed = TextRules.trimmed(purpose) else {
            throw LicensingError(code: .invalidPurpose, detail: "purpose is empty")
        }
        if let problem = TextRules.problem(in: trimmed, maxLength: policy.maxPurposeLength, allowsLineBreaks: true) {
            throw LicensingError(code: .invalidPurpose, detail: "purpose \(problem)")
        }
        guard !items.isEmpty else { throw LicensingError(code: .datasetsRequired, detail: "a grant names at least one dataset") }
        guard items.count <= policy.maxDatasetsPerGrant else {
            throw LicensingError(code: .tooManyDatasets, detail: "a grant names at most \(policy.maxDatasetsPerGrant) datasets")
        }
        var seen = Set<String>()
        var checked: [CheckedItem] = []
        for (index, item) in items.enumerated() {
            let at = "datasets[\(index)]"
            guard seen.insert(item.datasetID).inserted else {
                throw LicensingError(code: .duplicateDataset, detail: "\(at) repeats an earlier dataset")
            }
            guard !item.fields.isEmpty else { throw LicensingError(code: .fieldsRequired, detail: "\(at).fields is empty") }
            var fields = Set<String>()
            for name in item.fields {
                guard FieldName.isValid(name) else {
                    throw LicensingError(code: .invalidFieldName, detail: "\(at).fields has a name that is not 1 to 64 characters of a-z, 0-9 and _")
                }
                guard fields.insert(name).inserted else {
                    throw LicensingError(code: .duplicateField, detail: "\(at).fields names '\(name)' twice")
                }
            }
            guard !item.unitPrices.isEmpty || !item.priceTiers.isEmpty else {
                throw LicensingError(code: .unitPricesRequired, detail: "\(at).unit_prices is empty: name each unit to be granted")
            }
            var prices = try Catalog.prices(item.unitPrices)
            let tiers = try Self.tiers(item.priceTiers, at: at)
            for (unit, steps) in tiers {
                guard prices[unit] == nil else {
                    throw LicensingError(code: .invalidPriceTiers, detail: "\(at) prices '\(unit.rawValue)' both in unit_prices and in price_tiers")
                }
                prices[unit] = steps[0].unitPrice
            }
            var quotas: [MeteringUnit: Int64] = [:]
            for (name, quota) in item.quotas {
                let unit = try Catalog.unit(name)
                guard prices[unit] != nil else {
                    throw LicensingError(code: .invalidQuota, detail: "\(at).quota_per_period names '\(name)', which has no unit price")
                }
                guard (1...Self.maxQuota).contains(quota) else {
                    throw LicensingError(code: .invalidQuota, detail: "\(at).quota_per_period['\(name)'] is not 1 to \(Self.maxQuota)")
                }
                quotas[unit] = quota
            }
            if let missing = prices.keys.sorted().first(where: { quotas[$0] == nil }) {
                throw LicensingError(code: .invalidQuota, detail: "\(at).quota_per_period lacks '\(missing.rawValue)'")
            }
            let justifications = try Self.justifications(item.justifications, fields: fields, at: at, policy: policy)
            checked.append(CheckedItem(datasetID: item.datasetID, fields: item.fields, unitPrices: prices, priceTiers: tiers, quotas: quotas,
                                       justifications: justifications))
        }
        let start = Timestamp.normalized(startsAt)
        let end = Timestamp.normalized(endsAt)
        guard end > start else { throw LicensingError(code: .invalidTerm, detail: "ends_at is not after starts_at") }
        self.purpose = trimmed
        self.scenario = scenario
        self.startsAt = start
        self.endsAt = end
        self.agreementID = agreementID
        self.agreementVersion = agreementVersion
        self.items = checked
    }

    /// Justifications checked for shape, trimmed: each names a field of the item (else
    /// `justification_not_applicable`), is not blank (`justification_required`), at most
    /// ``GrantPolicy/maxJustificationLength`` characters (`justification_too_long`), without control
    /// characters other than line feeds (`invalid_justification`).
    static func justifications(_ raw: [String: String], fields: Set<String>, at: String,
                               policy: GrantPolicy) throws(LicensingError) -> [String: String] {
        var result: [String: String] = [:]
        for (field, text) in raw.sorted(by: { $0.key < $1.key }) {
            guard fields.contains(field) else {
                throw LicensingError(code: .justificationNotApplicable,
                                     detail: "\(at).justifications names a field this item does not request")
            }
            let place = "\(at).justifications['\(field)']"
            guard let trimmed = TextRules.trimmed(text) else {
                throw LicensingError(code: .justificationRequired, detail: "\(place) is blank")
            }
            guard trimmed.count <= policy.maxJustificationLength else {
                throw LicensingError(code: .justificationTooLong,
                                     detail: "\(place) has \(trimmed.count) characters, over \(policy.maxJustificationLength)")
            }
            if let problem = TextRules.problem(in: trimmed, maxLength: policy.maxJustificationLength, allowsLineBreaks: true) {
                throw LicensingError(code: .invalidJustification, detail: "\(place) \(problem)")
            }
            result[field] = trimmed
        }
        return result
    }

    /// Graduated prices checked: 2 to ``maxPriceTiers`` steps per unit, each bound above the one
    /// before, only the last without a bound.
    static func tiers(_ raw: [String: [RawTier]], at: String) throws(LicensingError) -> [MeteringUnit: [PriceTier]] {
        var result: [MeteringUnit: [PriceTier]] = [:]
        for (name, steps) in raw.sorted(by: { $0.key < $1.key }) {
            let unit = try Catalog.unit(name)
            let place = "\(at).price_tiers['\(name)']"
            guard (2...maxPriceTiers).contains(steps.count) else {
                throw LicensingError(code: .invalidPriceTiers, detail: "\(place) has 2 to \(maxPriceTiers) steps")
            }
            var checked: [PriceTier] = []
            var previous: Int64 = 0
            for (index, step) in steps.enumerated() {
                guard let price = UnitPrice(step.unitPrice) else {
                    throw LicensingError(code: .invalidPrice, detail: "\(place)[\(index)].unit_price is not a decimal with at most 6 places, at most \(UnitPrice.maximum)")
                }
                let isLast = index == steps.count - 1
                if isLast {
                    guard step.upTo == nil else {
                        throw LicensingError(code: .invalidPriceTiers, detail: "\(place): the last step has no up_to")
                    }
                } else {
                    guard let bound = step.upTo, bound > previous, bound <= maxQuota else {
                        throw LicensingError(code: .invalidPriceTiers, detail: "\(place)[\(index)].up_to must be above the step before it and at most \(maxQuota)")
                    }
                    previous = bound
                }
                checked.append(PriceTier(upTo: step.upTo, unitPrice: price))
            }
            result[unit] = checked
        }
        return result
    }
}
