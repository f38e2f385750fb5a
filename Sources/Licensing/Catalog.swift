public import AuditLog
public import Foundation
public import Vetting

/// The catalog's rules: limits on what may be published and the marketplace currency.
public struct CatalogPolicy: Sendable {
    /// The currency every dataset is priced in.
    public var currency: Currency
    /// The most fields a dataset may have.
    public var maxFields: Int
    /// The longest title, in characters.
    public var maxTitleLength: Int
    /// The longest description, in characters.
    public var maxDescriptionLength: Int
    /// The longest reason for a change, in characters.
    public var maxReasonLength: Int
    /// True when an upstream base URL may name an IP literal in a private, loopback or other
    /// non-public range (`--upstream-allow-private`): for interfaces on the server's own network.
    public var upstreamAllowPrivate: Bool

    /// Creates a policy; the defaults are the product's.
    public init(currency: Currency = .cny, maxFields: Int = 200, maxTitleLength: Int = 200,
                maxDescriptionLength: Int = 4000, maxReasonLength: Int = 2000, upstreamAllowPrivate: Bool = false) {
        self.upstreamAllowPrivate = upstreamAllowPrivate
        self.currency = currency
        self.maxFields = maxFields
        self.maxTitleLength = maxTitleLength
        self.maxDescriptionLength = maxDescriptionLength
        self.maxReasonLength = maxReasonLength
    }
}

/// What an authority submits to publish a dataset, as received: ``Catalog/publish(_:id:authorityID:by:at:)``
/// checks every member.
public struct DatasetDraft: Sendable, Hashable {
    public var title: String
    public var description: String
    public var theme: String
    public var openness: Openness
    public var grade: Grade
    /// (name, type, sensitive); the type as received, checked against ``FieldType``.
    public var fields: [Field]
    /// Units as received, checked against ``MeteringUnit``.
    public var units: [String]
    public var currency: String
    /// Unit → price text.
    public var ceilingPrices: [String: String]
    public var revenueShareBPS: Int
    /// How its data reaches operators; new datasets are served by PDX unless the publisher says otherwise.
    public var delivery: DeliveryMode
    /// The reconciliation tolerance, 0–10000 basis points.
    public var reconciliationToleranceBPS: Int
    /// The authority's interface, for delivery `upstream` (and only then): base URL, header name and
    /// a secret, all required.
    public var upstream: UpstreamDraft?

    /// A field as received.
    public struct Field: Sendable, Hashable {
        public var name: String
        public var type: String
        public var sensitive: Bool
        public var filterable: Bool

        public init(name: String, type: String, sensitive: Bool, filterable: Bool = false) {
            self.name = name
            self.type = type
            self.sensitive = sensitive
            self.filterable = filterable
        }
    }

    /// Creates a draft.
    public init(title: String, description: String, theme: String, openness: Openness, grade: Grade, fields: [Field],
                units: [String], currency: String, ceilingPrices: [String: String], revenueShareBPS: Int,
                delivery: DeliveryMode = .gateway, reconciliationToleranceBPS: Int = Dataset.defaultToleranceBPS,
                upstream: UpstreamDraft? = nil) {
        self.reconciliationToleranceBPS = reconciliationToleranceBPS
        self.upstream = upstream
        self.title = title
        self.description = description
        self.theme = theme
        self.openness = openness
        self.grade = grade
        self.fields = fields
        self.units = units
        self.currency = currency
        self.ceilingPrices = ceilingPrices
        self.revenueShareBPS = revenueShareBPS
        self.delivery = delivery
    }
}

/// A reclassification, repricing or new description, as received; nil members stay as they are.
public struct DatasetUpdate: Sendable, Hashable {
    /// A new title: public catalogue text, checked as at publication.
    public var title: String?
    /// A new description: public catalogue text, checked as at publication.
    public var description: String?
    /// Fields whose `sensitive` flag is set as given; fields not named keep theirs. Marking one
    /// sensitive is stricter: grants that read it without a justification no longer satisfy the rules.
    public var fields: [FieldChange]?
    public var openness: Openness?
    public var grade: Grade?
    /// Unit → new ceiling price text; units not named keep their ceiling.
    public var ceilingPrices: [String: String]?
    /// A new delivery mode.
    public var delivery: DeliveryMode?
    /// A new reconciliation tolerance, 0–10000 basis points.
    public var reconciliationToleranceBPS: Int?
    /// A new base URL, header name or secret of an `upstream` dataset's interface.
    public var upstream: UpstreamDraft?
    /// Why; mandatory.
    public var reason: String?

    /// One field's new `sensitive` flag, by name.
    public struct FieldChange: Sendable, Hashable {
        public var name: String
        public var sensitive: Bool

        public init(name: String, sensitive: Bool) {
            self.name = name
            self.sensitive = sensitive
        }
    }

    /// Creates an update.
    public init(title: String? = nil, description: String? = nil, fields: [FieldChange]? = nil,
                openness: Openness? = nil, grade: Grade? = nil, ceilingPrices: [String: String]? = nil,
                delivery: DeliveryMode? = nil, reconciliationToleranceBPS: Int? = nil,
                upstream: UpstreamDraft? = nil, reason: String?) {
        self.title = title
        self.description = description
        self.fields = fields
        self.reconciliationToleranceBPS = reconciliationToleranceBPS
        self.upstream = upstream
        self.openness = openness
        self.grade = grade
        self.ceilingPrices = ceilingPrices
        self.delivery = delivery
        self.reason = reason
    }
}

/// A change the catalog accepted: the dataset after it and the audit records to append with it.
public struct CatalogChange: Sendable, Hashable {
    /// The dataset after the change.
    public let updated: Dataset
    /// The records explaining it, in order.
    public let records: [AuditRecord]
    /// True when the change made the dataset stricter (openness or grade up, a ceiling down, or a
    /// field marked `sensitive`):
    /// the caller must re-check its grants in the same transaction (``GrantLifecycle/datasetChanged(_:datasets:operator:by:reason:at:)``).
    public let isStricter: Bool
}

/// The catalog as pure functions: publishing and changing datasets. Nothing here reads a clock or
/// a store.
public struct Catalog: Sendable {
    /// The rules applied.
    public let policy: CatalogPolicy

    /// Creates a catalog with `policy`.
    public init(policy: CatalogPolicy = CatalogPolicy()) {
        self.policy = policy
    }

    /// Publishes `draft` as dataset `id` of `authorityID`; throws the first problem in the draft.
    public func publish(_ draft: DatasetDraft, id: String, authorityID: String, by actor: Reviewer, at now: Date) throws(LicensingError) -> CatalogChange {
        let now = Timestamp.normalized(now)
        guard Identifier.isValid(id, maxLength: 64) else {
            throw LicensingError(code: .invalidDatasetID, detail: "a dataset id is 2 to 64 characters of a-z, 0-9 and -, starting with a letter")
        }
        if draft.title.isEmpty {
            throw LicensingError(code: .invalidTitle, detail: "title is empty")
        }
        if let problem = TextRules.problem(in: draft.title, maxLength: policy.maxTitleLength) {
            throw LicensingError(code: .invalidTitle, detail: "title \(problem)")
        }
        if let problem = TextRules.problem(in: draft.description, maxLength: policy.maxDescriptionLength, allowsLineBreaks: true) {
            throw LicensingError(code: .invalidDescription, detail: "description \(problem)")
        }
        guard Identifier.isValid(draft.theme, maxLength: 40) else {
            throw LicensingError(code: .invalidTheme, detail: "a theme is 2 to 40 characters of a-z, 0-9 and -, starting with a letter")
        }
        let fields = try Self.fields(draft.fields, max: policy.maxFields)
        let units = try Self.units(draft.units)
        guard draft.currency == policy.currency.code else {
            throw LicensingError(code: .unsupportedCurrency, detail: "datasets are priced in \(policy.currency.code)")
        }
        let ceilings = try Self.prices(draft.ceilingPrices)
        guard Set(ceilings.keys) == Set(units) else {
            throw LicensingError(code: .ceilingPricesMismatch, detail: "ceiling_prices must name exactly the dataset's units")
        }
        guard (0...10_000).contains(draft.revenueShareBPS) else {
            throw LicensingError(code: .revenueShareOutOfRange, detail: "revenue_share_bps is 0 to 10000")
        }
        try Self.checkTolerance(draft.reconciliationToleranceBPS)
        let upstream = try Self.upstream(draft.upstream, delivery: draft.delivery, current: nil, allowPrivate: policy.upstreamAllowPrivate)
        let dataset = Dataset(
            id: id, title: draft.title, description: draft.description, authorityID: authorityID, theme: draft.theme,
            openness: draft.openness, grade: draft.grade, fields: fields, units: units, currency: policy.currency,
            ceilingPrices: ceilings, revenueShareBPS: draft.revenueShareBPS, version: 1, publishedAt: now, updatedAt: now,
            delivery: draft.delivery, reconciliationToleranceBPS: draft.reconciliationToleranceBPS, upstream: upstream)
        return CatalogChange(updated: dataset, records: [LicensingRecords.published(dataset, by: actor.principalID)], isStricter: false)
    }

    /// Reclassifies, reprices or describes `dataset` anew; throws when the update is malformed, names
    /// a unit or field the dataset lacks, changes nothing, or has no reason.
    public func update(_ dataset: Dataset, with update: DatasetUpdate, by actor: Reviewer, at now: Date) throws(LicensingError) -> CatalogChange {
        let now = Timestamp.normalized(now)
        let reason = try Self.reason(update.reason, maxLength: policy.maxReasonLength)
        var next = dataset
        if let title = update.title {
            if title.isEmpty { throw LicensingError(code: .invalidTitle, detail: "title is empty") }
            if let problem = TextRules.problem(in: title, maxLength: policy.maxTitleLength) {
                throw LicensingError(code: .invalidTitle, detail: "title \(problem)")
            }
            next.title = title
        }
        if let description = update.description {
            if let problem = TextRules.problem(in: description, maxLength: policy.maxDescriptionLength, allowsLineBreaks: true) {
                throw LicensingError(code: .invalidDescription, detail: "description \(problem)")
            }
            next.description = description
        }
        if let changes = update.fields {
            next.fields = try Self.sensitivity(changes, of: dataset.fields)
        }
        if let openness = update.openness { next.openness = openness }
        if let grade = update.grade { next.grade = grade }
        if let delivery = update.delivery { next.delivery = delivery }
        if let tolerance = update.reconciliationToleranceBPS {
            try Self.checkTolerance(tolerance)
            next.reconciliationToleranceBPS = tolerance
        }
        if let prices = update.ceilingPrices {
            let parsed = try Self.prices(prices)
            for (unit, price) in parsed {
                guard dataset.units.contains(unit) else {
                    throw LicensingError(code: .ceilingPricesMismatch, detail: "the dataset is not metered in '\(unit.rawValue)'")
                }
                next.ceilingPrices[unit] = price
            }
        }
        next.upstream = try Self.upstream(update.upstream, delivery: next.delivery, current: dataset.upstream,
                                          allowPrivate: policy.upstreamAllowPrivate)
        let setsSecret = update.upstream?.setsSecret ?? false
        guard next != dataset || setsSecret else {
            throw LicensingError(code: .noChange, detail: "the update changes nothing")
        }
        next.version += 1
        next.updatedAt = now
        let stricter = next.openness > dataset.openness || next.grade > dataset.grade
            || dataset.units.contains { (next.ceilingPrices[$0] ?? .zero) < (dataset.ceilingPrices[$0] ?? .zero) }
            || zip(dataset.fields, next.fields).contains { !$0.sensitive && $1.sensitive }
        let record = LicensingRecords.updated(from: dataset, to: next, reason: reason, stricter: stricter, setsSecret: setsSecret,
                                              by: actor.principalID, at: now)
        return CatalogChange(updated: next, records: [record], isStricter: stricter)
    }

    // MARK: checks

    /// `fields` with the `sensitive` flags `changes` set: each named field must exist, once.
    static func sensitivity(_ changes: [DatasetUpdate.FieldChange], of fields: [DatasetField]) throws(LicensingError) -> [DatasetField] {
        guard !changes.isEmpty else { throw LicensingError(code: .fieldsRequired, detail: "fields, when given, names at least one field") }
        var next = fields
        var seen = Set<String>()
        for (index, change) in changes.enumerated() {
            guard let slot = fields.firstIndex(where: { $0.name == change.name }) else {
                throw LicensingError(code: .unknownField, detail: "fields[\(index)].name is not a field of the dataset")
            }
            guard seen.insert(change.name).inserted else {
                throw LicensingError(code: .duplicateField, detail: "fields[\(index)].name repeats an earlier field")
            }
            let field = fields[slot]
            next[slot] = DatasetField(name: field.name, type: field.type, sensitive: change.sensitive, filterable: field.filterable)
        }
        return next
    }

    static func checkTolerance(_ bps: Int) throws(LicensingError) {
        guard (0...10_000).contains(bps) else {
            throw LicensingError(code: .toleranceOutOfRange, detail: "reconciliation_tolerance_bps is 0 to 10000")
        }
    }

    /// The endpoint a dataset of `delivery` has after `draft` is applied to `current`: an `upstream`
    /// dataset needs a base URL, a header name and a secret (given once, kept after); any other has
    /// none, and may not be given one. A new base URL whose host is an IP literal in a range
    /// ``UpstreamAddress/forbiddenRange(_:)`` names is refused unless `allowPrivate`.
    static func upstream(_ draft: UpstreamDraft?, delivery: DeliveryMode, current: UpstreamEndpoint?,
                         allowPrivate: Bool = false) throws(LicensingError) -> UpstreamEndpoint? {
        guard delivery == .upstream else {
            if draft != nil {
                throw LicensingError(code: .upstreamNotApplicable, detail: "upstream is set only for datasets whose delivery is 'upstream'")
            }
            return nil
        }
        guard let baseText = draft?.baseURL ?? current?.baseURL, let header = draft?.credentialHeader ?? current?.credentialHeader else {
            throw LicensingError(code: .upstreamRequired, detail: "delivery 'upstream' needs upstream.base_url, upstream.credential_header and upstream.secret")
        }
        guard current != nil || draft?.setsSecret == true else {
            throw LicensingError(code: .upstreamRequired, detail: "delivery 'upstream' needs upstream.secret the first time")
        }
        let baseURL = try UpstreamEndpoint.baseURL(baseText)
        if !allowPrivate, draft?.baseURL != nil, let host = UpstreamEndpoint.host(of: baseURL),
           let address = UpstreamAddress.literal(host), let range = UpstreamAddress.forbiddenRange(address) {
            throw LicensingError(code: .upstreamAddressNotAllowed,
                                 detail: "upstream.base_url names a \(range) address; this server forwards only to public addresses")
        }
        return UpstreamEndpoint(baseURL: baseURL, credentialHeader: try UpstreamEndpoint.credentialHeader(header))
    }

    static func fields(_ drafts: [DatasetDraft.Field], max: Int) throws(LicensingError) -> [DatasetField] {
        guard !drafts.isEmpty else { throw LicensingError(code: .fieldsRequired, detail: "a dataset has at least one field") }
        guard drafts.count <= max else { throw LicensingError(code: .tooManyFields, detail: "a dataset has at most \(max) fields") }
        var seen = Set<String>()
        var fields: [DatasetField] = []
        for (index, draft) in drafts.enumerated() {
            guard FieldName.isValid(draft.name) else {
                throw LicensingError(code: .invalidFieldName, detail: "fields[\(index)].name is not 1 to 64 characters of a-z, 0-9 and _ starting with a letter")
            }
            guard seen.insert(draft.name).inserted else {
                throw LicensingError(code: .duplicateField, detail: "fields[\(index)].name repeats an earlier field")
            }
            guard let type = FieldType(rawValue: draft.type) else {
                throw LicensingError(code: .invalidFieldType, detail: "fields[\(index)].type is not one of \(FieldType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard !draft.filterable || type.isFilterable else {
                throw LicensingError(code: .fieldNotFilterable, detail: "fields[\(index)] is \(type.rawValue); only string, integer, boolean and date fields may be filterable")
            }
            fields.append(DatasetField(name: draft.name, type: type, sensitive: draft.sensitive, filterable: draft.filterable))
        }
        return fields
    }

    static func units(_ names: [String]) throws(LicensingError) -> [MeteringUnit] {
        guard !names.isEmpty else { throw LicensingError(code: .unitsRequired, detail: "a dataset is metered in at least one unit") }
        var units = Set<MeteringUnit>()
        for name in names {
            let unit = try unit(name)
            guard units.insert(unit).inserted else {
                throw LicensingError(code: .duplicateUnit, detail: "unit '\(unit.rawValue)' is listed twice")
            }
        }
        return units.sorted()
    }

    static func unit(_ name: String) throws(LicensingError) -> MeteringUnit {
        guard let unit = MeteringUnit(rawValue: name) else {
            throw LicensingError(code: .unknownUnit, detail: "units are call, record and byte")
        }
        return unit
    }

    static func prices(_ texts: [String: String]) throws(LicensingError) -> [MeteringUnit: UnitPrice] {
        var prices: [MeteringUnit: UnitPrice] = [:]
        for (name, text) in texts.sorted(by: { $0.key < $1.key }) {
            let unit = try unit(name)
            guard let price = UnitPrice(text) else {
                throw LicensingError(code: .invalidPrice, detail: "the price for '\(unit.rawValue)' is not a decimal with at most 6 places, at most \(UnitPrice.maximum)")
            }
            prices[unit] = price
        }
        return prices
    }

    static func reason(_ text: String?, maxLength: Int) throws(LicensingError) -> String {
        switch TextRules.reasonProblem(text, maxLength: maxLength) {
        case .missing: throw LicensingError(code: .reasonRequired, detail: "a change to a dataset needs a reason")
        case .tooLong(let problem): throw LicensingError(code: .reasonTooLong, detail: "reason \(problem)")
        case .invalid(let problem): throw LicensingError(code: .invalidReason, detail: "reason \(problem)")
        case nil: return TextRules.trimmed(text) ?? ""
        }
    }
}

/// Identifiers that go into subject strings and report party names: `a-z 0-9 -`, starting with a letter.
enum Identifier {
    static func isValid(_ text: String, maxLength: Int) -> Bool {
        let bytes = Array(text.utf8)
        guard (2...maxLength).contains(bytes.count), (0x61...0x7A).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "-") }
    }
}

/// Field names: `a-z 0-9 _`, 1–64 characters, starting with a letter.
enum FieldName {
    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...64).contains(bytes.count), (0x61...0x7A).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "_") }
    }
}
