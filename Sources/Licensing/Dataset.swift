public import Foundation

/// A field of a dataset, as the catalog describes it.
public struct DatasetField: Sendable, Hashable {
    /// The field name, `a-z 0-9 _`, starting with a letter.
    public let name: String
    /// Its type.
    public let type: FieldType
    /// True for personal or otherwise sensitive data: a grant asking for it is flagged to reviewers.
    public let sensitive: Bool
    /// True when the data API may filter a release's records by equality on it; such a field is
    /// indexed when a release is loaded. Only ``FieldType/filterable`` types may be.
    public let filterable: Bool

    /// Creates a field; ``Catalog`` checks a dataset's fields.
    public init(name: String, type: FieldType, sensitive: Bool, filterable: Bool = false) {
        self.name = name
        self.type = type
        self.sensitive = sensitive
        self.filterable = filterable
    }
}

/// How a dataset's data reaches operators, and so who counts its use.
public enum DeliveryMode: String, Sendable, Hashable, CaseIterable {
    /// PDX serves its releases through the data API and meters every call itself; operators may not
    /// declare usage of it. The default for new datasets.
    case gateway
    /// Delivered outside PDX; operators declare their usage through `POST /v1/usage`.
    case declared
    /// The authority's own interface, behind PDX: PDX forwards each call with a credential the
    /// operator never sees, keeps only the granted fields and meters the call; operators may not
    /// declare usage of it.
    case upstream

    /// True when PDX meters the dataset's use itself (`gateway`, `upstream`), so usage of it may not
    /// be declared.
    public var isMeteredAtSource: Bool { self != .declared }
}

/// A dataset in the catalog: what an authority provides, how openly, at what ceiling price.
///
/// Values change only through ``Catalog``, which returns the next value with the audit records that
/// explain it.
public struct Dataset: Sendable, Hashable, Identifiable {
    /// Stable id chosen by the publisher, e.g. `bj-traffic-flow`.
    public let id: String
    /// Display title.
    public internal(set) var title: String
    /// What the data is; may be empty.
    public internal(set) var description: String
    /// The providing authority's id.
    public let authorityID: String
    /// The theme, e.g. `traffic`.
    public let theme: String
    /// How openly it may be used.
    public internal(set) var openness: Openness
    /// How its data reaches operators: through PDX (metered at the source) or outside it (declared).
    public internal(set) var delivery: DeliveryMode
    /// The authority's interface PDX forwards calls to: set exactly when ``delivery`` is `upstream`.
    public internal(set) var upstream: UpstreamEndpoint?
    /// Its GB/T 43697-2024 grade.
    public internal(set) var grade: Grade
    /// For a `declared` dataset: how far, in basis points of the larger figure, the operator's
    /// declared quantity and the provider's reported one may differ before a reconciliation line is
    /// a discrepancy (100 = 1 %, the default).
    public internal(set) var reconciliationToleranceBPS: Int
    /// Its fields, in published order.
    public internal(set) var fields: [DatasetField]
    /// The units its use is metered in, sorted.
    public let units: [MeteringUnit]
    /// The currency of its prices: the marketplace's.
    public let currency: Currency
    /// The highest unit price a grant may carry, per unit; one for every unit in ``units``.
    public internal(set) var ceilingPrices: [MeteringUnit: UnitPrice]
    /// The authority's share of each settlement line, in basis points (3000 = 30 %).
    public let revenueShareBPS: Int
    /// 1 when published, one more after each change; a store uses it to refuse an update computed
    /// from a stale read.
    public internal(set) var version: Int
    /// When it was published, to the millisecond.
    public let publishedAt: Date
    /// When it last changed, to the millisecond.
    public internal(set) var updatedAt: Date

    /// Recreates a dataset as a store holds it; no catalog rule is checked.
    public init(
        id: String, title: String, description: String, authorityID: String, theme: String,
        openness: Openness, grade: Grade, fields: [DatasetField], units: [MeteringUnit], currency: Currency,
        ceilingPrices: [MeteringUnit: UnitPrice], revenueShareBPS: Int, version: Int, publishedAt: Date, updatedAt: Date,
        delivery: DeliveryMode = .declared, reconciliationToleranceBPS: Int = Dataset.defaultToleranceBPS,
        upstream: UpstreamEndpoint? = nil
    ) {
        self.reconciliationToleranceBPS = reconciliationToleranceBPS
        self.id = id
        self.title = title
        self.description = description
        self.authorityID = authorityID
        self.theme = theme
        self.openness = openness
        self.delivery = delivery
        self.upstream = upstream
        self.grade = grade
        self.fields = fields
        self.units = units
        self.currency = currency
        self.ceilingPrices = ceilingPrices
        self.revenueShareBPS = revenueShareBPS
        self.version = version
        self.publishedAt = publishedAt
        self.updatedAt = updatedAt
    }

    /// The reconciliation tolerance of a dataset that names none: 1 %.
    public static let defaultToleranceBPS = 100

    /// False when no grant may ever include it: `closed` or `core`.
    public var isGrantable: Bool { openness != .closed && grade != .core }

    /// The field named `name`, or nil.
    public func field(named name: String) -> DatasetField? {
        fields.first { $0.name == name }
    }

    /// The subject id of this dataset in audit records: `dataset:<id>`.
    public var subject: String { "dataset:\(id)" }
}

/// One page of datasets.
public struct DatasetPage: Sendable, Hashable {
    /// The datasets, by id.
    public var datasets: [Dataset]
    /// The cursor for the next page; nil on the last page.
    public var nextCursor: String?

    /// Creates a page.
    public init(datasets: [Dataset], nextCursor: String?) {
        self.datasets = datasets
        self.nextCursor = nextCursor
    }
}

/// Which datasets a catalog listing returns; nil members do not filter.
public struct DatasetFilter: Sendable, Hashable {
    /// Only this authority's.
    public var authorityID: String?
    /// Only this theme.
    public var theme: String?
    /// Only this openness.
    public var openness: Openness?
    /// Only this grade.
    public var grade: Grade?
    /// Only those whose id, title or description contains this text, without regard to case.
    public var text: String?

    /// Creates a filter.
    public init(authorityID: String? = nil, theme: String? = nil, openness: Openness? = nil, grade: Grade? = nil, text: String? = nil) {
        self.authorityID = authorityID
        self.theme = theme
        self.openness = openness
        self.grade = grade
        self.text = text
    }
}
