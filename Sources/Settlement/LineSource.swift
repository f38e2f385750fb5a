import Metering

/// Who counted the usage behind a settlement line (`Docs/design/0013-usage-source.md`).
public enum LineSource: String, Sendable, Hashable, CaseIterable {
    /// All of it was declared by the operator (`POST /v1/usage`).
    case declared
    /// All of it was metered by PDX at the source, as it served the data.
    case gateway
    /// Some of each: the dataset's delivery changed within the period. The line shows both quantities.
    case mixed

    /// The source of a usage line of `quantity` units, `gatewayQuantity` of them metered at the source.
    public init(quantity: Int64, gatewayQuantity: Int64) {
        if gatewayQuantity == 0 {
            self = .declared
        } else if gatewayQuantity == quantity {
            self = .gateway
        } else {
            self = .mixed
        }
    }
}

extension SettlementReport {
    /// The report format this version of PDX closes periods in; `Contracts/settlement-report.md`
    /// describes each. A closed report keeps the format it was closed in, for good: its digests in
    /// `settlement.closed` are of that format's renderings.
    public static let currentFormatVersion = 2
    /// Every format this version of PDX reads and renders: 1 has no line sources (every line before
    /// it was declared usage), 2 adds `source`, `declared_quantity` and `gateway_quantity`.
    public static let formatVersions: ClosedRange<Int> = 1...2
}

extension SettlementLine {
    /// The part of ``quantity`` the operator declared.
    public var declaredQuantity: Int64 { quantity - gatewayQuantity }
}
