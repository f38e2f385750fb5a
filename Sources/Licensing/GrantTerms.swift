public import Foundation

/// The money terms of one dataset of a grant, fixed when the grant becomes active: the
/// authority's revenue-return share and the platform's fee in force then. The unit prices are the
/// grant item's own and never change after the request. A close rates every line by these, never
/// by the dataset's current share or the marketplace's current fee.
public struct DatasetTerms: Sendable, Hashable {
    public let datasetID: String
    /// The providing authority's share of each line, in basis points (0–10000).
    public let revenueShareBPS: Int
    /// The platform's fee of each line, in basis points (0–10000).
    public let platformFeeBPS: Int

    /// Creates terms; no rule is checked.
    public init(datasetID: String, revenueShareBPS: Int, platformFeeBPS: Int) {
        self.datasetID = datasetID
        self.revenueShareBPS = revenueShareBPS
        self.platformFeeBPS = platformFeeBPS
    }
}

/// The platform's fee: marketplace configuration, stored with the data and changed by the admin
/// (`marketplace.fee_changed`); a grant takes the fee in force when it becomes active.
public enum PlatformFee {
    /// The fee a new marketplace starts with: 500 bps (5 %), the former `--platform-fee-bps` default.
    public static let initialBPS = 500
    /// The fees that may be set.
    public static let range = 0...10_000
}

extension Grant {
    /// The terms fixed for `datasetID` when the grant became active; nil for a grant never active,
    /// or one activated before terms were recorded and not yet given any.
    public func terms(for datasetID: String) -> DatasetTerms? {
        terms.first { $0.datasetID == datasetID }
    }

    /// The terms in force now for every dataset of the grant: `datasets`' shares and `platformFeeBPS`.
    /// A dataset missing from `datasets` returns nothing (0 bps), as the close did before terms were kept.
    public func currentTerms(datasets: [String: Dataset], platformFeeBPS: Int) -> [DatasetTerms] {
        items.map {
            DatasetTerms(datasetID: $0.datasetID, revenueShareBPS: datasets[$0.datasetID]?.revenueShareBPS ?? 0,
                         platformFeeBPS: platformFeeBPS)
        }
    }
}
