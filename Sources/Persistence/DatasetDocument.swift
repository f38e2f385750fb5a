internal import AuditLog
internal import Foundation
internal import Licensing

/// The stored form of a ``Dataset``: one JSON object in RFC 8785 canonical form, in the
/// `datasets.document` column.
///
/// A document for the same reasons as ``OperatorDocument``: a dataset is read and written whole,
/// and the conditional update on its `version` guards every part with one row. Members are
/// snake_case like the API; times are integer milliseconds since 1970 UTC, like the columns; prices
/// are ``UnitPrice``'s canonical decimal text, never a JSON number, so they stay exact. `format` is
/// the version of this layout, since `version` is the dataset's own.
///
/// Decoding is strict: a missing, mistyped or unknown member, an unknown enumeration value, or a
/// price not in canonical form fails with `unexpected_data`.
enum DatasetDocument {
    /// The layout written into each document; an `upstream` dataset's carries its endpoint
    /// (`upstream`, never its secret), others none. Format 1, before datasets said how they are delivered,
    /// is read too: its datasets are `declared` and none of its fields filterable, as they were.
    static let format = 2

    /// The canonical JSON text of `dataset`.
    static func encode(_ dataset: Dataset) -> String {
        guard case .object(var members) = dataset.json else { return "" }
        members["format"] = JSONValue(format)
        members["version"] = JSONValue(dataset.version)
        members["published_at"] = milliseconds(dataset.publishedAt)
        members["updated_at"] = milliseconds(dataset.updatedAt)
        let document = JSONValue.object(members)
        // Strings, booleans and integers well inside ±2^53 only: serialization cannot fail.
        return (try? document.canonicalString()) ?? ""
    }

    /// The dataset `text` holds; throws `unexpected_data` naming the first member that is wrong.
    static func decode(_ text: String) throws(StorageError) -> Dataset {
        var root = try root(text, "dataset document")
        let format = try root.integer("format")
        guard format == Self.format || format == 1 else {
            throw StorageError.unexpected("dataset document format \(format); this program reads \(Self.format)")
        }
        var fields: [DatasetField] = []
        for (index, element) in try root.array("fields").enumerated() {
            var members = try JSONMembers(element, at: "fields[\(index)]")
            fields.append(DatasetField(
                name: try members.string("name"),
                type: try members.enumeration("type", FieldType.self),
                sensitive: try members.bool("sensitive"),
                filterable: format == 1 ? false : try members.bool("filterable")
            ))
            try members.finish()
        }
        var units: [MeteringUnit] = []
        for (index, name) in try root.strings("units").enumerated() {
            guard let unit = MeteringUnit(rawValue: name) else {
                throw StorageError.unexpected("dataset document units[\(index)] is not a known MeteringUnit")
            }
            units.append(unit)
        }
        var upstream: UpstreamEndpoint?
        if let value = root.takeIfPresent("upstream") {
            var members = try JSONMembers(value, at: "upstream")
            upstream = UpstreamEndpoint(baseURL: try members.string("base_url"), credentialHeader: try members.string("credential_header"))
            try members.finish()
        }
        let dataset = Dataset(
            id: try root.string("id"),
            title: try root.string("title"),
            description: try root.string("description"),
            authorityID: try root.string("authority_id"),
            theme: try root.string("theme"),
            openness: try root.enumeration("openness", Openness.self),
            grade: try root.enumeration("grade", Grade.self),
            fields: fields,
            units: units,
            currency: try root.currency("currency"),
            ceilingPrices: try root.prices("ceiling_prices"),
            revenueShareBPS: try root.integer("revenue_share_bps"),
            version: try root.integer("version"),
            publishedAt: try root.milliseconds("published_at"),
            updatedAt: try root.milliseconds("updated_at"),
            delivery: format == 1 ? .declared : try root.enumeration("delivery", DeliveryMode.self),
            // Written only when not the default, as the log writes it.
            reconciliationToleranceBPS: try root.takeIfPresent("reconciliation_tolerance_bps").map { value throws(StorageError) in
                guard let bps = value.integerValue, (0...10_000).contains(bps) else {
                    throw StorageError.unexpected("dataset document reconciliation_tolerance_bps is not 0–10000")
                }
                return Int(bps)
            } ?? Dataset.defaultToleranceBPS,
            upstream: upstream
        )
        try root.finish()
        return dataset
    }

    // MARK: Shared with GrantDocument

    /// The members of the object `text` holds.
    static func root(_ text: String, _ what: String) throws(StorageError) -> JSONMembers {
        let value: JSONValue
        do {
            value = try JSONValue.parse(Array(text.utf8))
        } catch {
            throw StorageError.unexpected("a \(what) is not JSON: \(error.code.rawValue)")
        }
        return try JSONMembers(value, at: what)
    }

    static func milliseconds(_ date: Date) -> JSONValue {
        JSONValue(Timestamp.milliseconds(date))
    }

    /// Unit → canonical price text.
    static func prices(_ prices: [MeteringUnit: UnitPrice]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: prices.map { ($0.key.rawValue, .string($0.value.description)) }))
    }
}

extension JSONMembers {
    /// A map of unit → price as ``DatasetDocument/prices(_:)`` writes it: known units, prices in
    /// canonical form (`0.5`, not `0.50`), so that the document reads back to the same text.
    mutating func prices(_ name: String) throws(StorageError) -> [MeteringUnit: UnitPrice] {
        var prices: [MeteringUnit: UnitPrice] = [:]
        for (key, value) in try dictionary(name) {
            guard let unit = MeteringUnit(rawValue: key) else { throw mistyped(name, "keyed by known units") }
            guard let text = value.stringValue, let price = UnitPrice(text), price.description == text else {
                throw mistyped("\(name).\(key)", "a price in canonical decimal form")
            }
            prices[unit] = price
        }
        return prices
    }

    /// Graduated prices as `LicensingRecords.tiers` writes them; absent in grants stored before
    /// graduated prices existed, which read as none.
    mutating func priceTiers(_ name: String) throws(StorageError) -> [MeteringUnit: [PriceTier]] {
        guard let value = takeIfPresent(name) else { return [:] }
        guard let object = value.objectValue else { throw mistyped(name, "an object") }
        var tiers: [MeteringUnit: [PriceTier]] = [:]
        for (key, steps) in object {
            guard let unit = MeteringUnit(rawValue: key) else { throw mistyped(name, "keyed by known units") }
            guard let elements = steps.arrayValue else { throw mistyped("\(name).\(key)", "an array") }
            var checked: [PriceTier] = []
            for (index, element) in elements.enumerated() {
                var step = try JSONMembers(element, at: "\(name).\(key)[\(index)]")
                let bound = try step.take("up_to")
                guard bound.isNull || bound.integerValue != nil else { throw step.mistyped("up_to", "an integer or null") }
                let text = try step.string("unit_price")
                guard let price = UnitPrice(text), price.description == text else {
                    throw step.mistyped("unit_price", "a price in canonical decimal form")
                }
                try step.finish()
                checked.append(PriceTier(upTo: bound.integerValue.map(Int64.init), unitPrice: price))
            }
            tiers[unit] = checked
        }
        return tiers
    }

    /// A map of unit → integer, e.g. quotas.
    mutating func quotas(_ name: String) throws(StorageError) -> [MeteringUnit: Int64] {
        var quotas: [MeteringUnit: Int64] = [:]
        for (key, value) in try dictionary(name) {
            guard let unit = MeteringUnit(rawValue: key) else { throw mistyped(name, "keyed by known units") }
            guard let quota = value.integerValue else { throw mistyped("\(name).\(key)", "an integer") }
            quotas[unit] = Int64(quota)
        }
        return quotas
    }

    /// A map of field → justification, absent in documents without sensitive fields (empty then).
    mutating func justifications(_ name: String) throws(StorageError) -> [String: String] {
        guard let value = takeIfPresent(name) else { return [:] }
        guard let members = value.objectValue else { throw mistyped(name, "an object") }
        var result: [String: String] = [:]
        for (key, text) in members {
            guard let text = text.stringValue else { throw mistyped("\(name).\(key)", "a string") }
            result[key] = text
        }
        return result
    }

    /// A supported currency's code.
    mutating func currency(_ name: String) throws(StorageError) -> Currency {
        guard let currency = Currency(code: try string(name)) else { throw mistyped(name, "a supported currency code") }
        return currency
    }
}
