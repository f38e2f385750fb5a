import Metering

/// Who counted the usage behind a settlement line (`Docs/design/0013-usage-source.md`).
public enum LineSource: String, Sendable, Hashable, CaseIterable {
    /// All of it was declared by the operator (`POST /v1/usage`).
    case declared
    /// All of it was metered by PDX at the source, as it served the data.
    case gateway
    /// All of it was metered by PDX as it forwarded calls to the authority's own interface (report
    /// format 3 on; earlier formats counted such calls as `gateway`).
    case upstream
    /// More than one of the above: the dataset's delivery changed within the period. The line shows
    /// each part's quantity.
    case mixed

    /// The source of a usage line of `quantity` units, `gatewayQuantity` of them metered as PDX served
    /// them and `upstreamQuantity` as it forwarded them; the rest was declared.
    public init(quantity: Int64, gatewayQuantity: Int64, upstreamQuantity: Int64 = 0) {
        let declaredQuantity = quantity - gatewayQuantity - upstreamQuantity
        let parts: [(Int64, LineSource)] = [(declaredQuantity, .declared), (gatewayQuantity, .gateway), (upstreamQuantity, .upstream)]
        let present = parts.filter { $0.0 != 0 }
        if present.count > 1 {
            self = .mixed
        } else {
            // A line of no quantity at all has no source but the operator's, as in format 1.
            self = present.first?.1 ?? .declared
        }
    }
}

extension SettlementReport {
    /// The report format this version of PDX closes periods in; `Contracts/settlement-report.md`
    /// describes each. A closed report keeps the format it was closed in, for good: its digests in
    /// `settlement.closed` are of that format's renderings.
    public static let currentFormatVersion = 4
    /// Every format this version of PDX reads and renders: 1 has no line sources (every line before
    /// it was declared usage), 2 adds `source`, `declared_quantity` and `gateway_quantity`, 3 adds
    /// the source `upstream`, `upstream_quantity` and, on declared lines, `provider_quantity`; 4
    /// changes only the XLSX, laid out for its readers (``SettlementReport/workbookBytes()``).
    public static let formatVersions: ClosedRange<Int> = 1...4
}

extension SettlementLine {
    /// The part of ``quantity`` the operator declared.
    public var declaredQuantity: Int64 { quantity - gatewayQuantity - upstreamQuantity }
}
