import AuditLog
import Foundation
import Licensing
import Metering

/// A member an entry needs is missing or of the wrong type.
struct MalformedRecord: Error {
    let reason: String
}

/// Typed reads of an entry's `data` members.
struct Fields {
    let members: [String: JSONValue]
    /// Where these members sit, for messages: "" for `data`, "datasets[0]." below it.
    let path: String

    init(_ members: [String: JSONValue], path: String = "") {
        self.members = members
        self.path = path
    }

    private func missing(_ key: String, _ what: String) -> MalformedRecord {
        MalformedRecord(reason: "\(path)\(key) is missing or not \(what)")
    }

    func string(_ key: String) throws(MalformedRecord) -> String {
        guard let value = members[key]?.stringValue else { throw missing(key, "a string") }
        return value
    }

    func optionalString(_ key: String) throws(MalformedRecord) -> String? {
        guard let value = members[key] else { throw missing(key, "a string or null") }
        if value.isNull { return nil }
        guard let text = value.stringValue else { throw missing(key, "a string or null") }
        return text
    }

    func integer(_ key: String) throws(MalformedRecord) -> Int64 {
        guard let value = members[key]?.integerValue else { throw missing(key, "an integer") }
        return Int64(value)
    }

    func bool(_ key: String) throws(MalformedRecord) -> Bool {
        guard let value = members[key]?.boolValue else { throw missing(key, "true or false") }
        return value
    }

    func time(_ key: String) throws(MalformedRecord) -> Date {
        guard let text = members[key]?.stringValue, let milliseconds = Timestamp.parse(text) else {
            throw missing(key, "an RFC 3339 UTC time with milliseconds")
        }
        return Timestamp.date(milliseconds: milliseconds)
    }

    func object(_ key: String) throws(MalformedRecord) -> Fields {
        guard let value = members[key]?.objectValue else { throw missing(key, "an object") }
        return Fields(value, path: "\(path)\(key).")
    }

    func array(_ key: String) throws(MalformedRecord) -> [JSONValue] {
        guard let value = members[key]?.arrayValue else { throw missing(key, "an array") }
        return value
    }

    func strings(_ key: String) throws(MalformedRecord) -> [String] {
        var result: [String] = []
        for element in try array(key) {
            guard let text = element.stringValue else { throw missing(key, "an array of strings") }
            result.append(text)
        }
        return result
    }

    /// A map of string → string under `key`; empty when `key` is absent (records written before it).
    func stringMap(_ key: String) throws(MalformedRecord) -> [String: String] {
        guard let value = members[key] else { return [:] }
        guard let object = value.objectValue else { throw missing(key, "an object of strings") }
        var result: [String: String] = [:]
        for (name, element) in object {
            guard let text = element.stringValue else { throw missing(key, "an object of strings") }
            result[name] = text
        }
        return result
    }

    /// The objects of array `key`, each with its path.
    func objects(_ key: String) throws(MalformedRecord) -> [Fields] {
        var result: [Fields] = []
        for (offset, element) in try array(key).enumerated() {
            guard let members = element.objectValue else { throw missing(key, "an array of objects") }
            result.append(Fields(members, path: "\(path)\(key)[\(offset)]."))
        }
        return result
    }

    func raw<T: RawRepresentable>(_ key: String, as type: T.Type) throws(MalformedRecord) -> T where T.RawValue == String {
        guard let value = T(rawValue: try string(key)) else { throw missing(key, "a known \(T.self) value") }
        return value
    }

    func period(_ key: String) throws(MalformedRecord) -> Period {
        guard let value = Period(try string(key)) else { throw missing(key, "a period YYYY-MM") }
        return value
    }

    func currency(_ key: String) throws(MalformedRecord) -> Currency {
        guard let value = Currency(code: try string(key)) else { throw missing(key, "a known currency") }
        return value
    }

    /// `{unit: "0.05"}`.
    func prices(_ key: String) throws(MalformedRecord) -> [MeteringUnit: UnitPrice] {
        var result: [MeteringUnit: UnitPrice] = [:]
        for (name, value) in try object(key).members {
            guard let unit = MeteringUnit(rawValue: name), let text = value.stringValue, let price = UnitPrice(text) else {
                throw missing(key, "an object of unit prices")
            }
            result[unit] = price
        }
        return result
    }

    /// `{unit: [{"up_to": 100000, "unit_price": "0.04"}, {"up_to": null, "unit_price": "0.03"}]}`.
    func tiers(_ key: String) throws(MalformedRecord) -> [MeteringUnit: [PriceTier]] {
        var result: [MeteringUnit: [PriceTier]] = [:]
        let units = try object(key)
        for name in units.members.keys.sorted() {
            guard let unit = MeteringUnit(rawValue: name) else { throw missing(key, "an object of price steps by unit") }
            var steps: [PriceTier] = []
            for step in try units.objects(name) {
                guard let price = UnitPrice(try step.string("unit_price")) else {
                    throw step.missing("unit_price", "a price")
                }
                let upTo: Int64? = step.members["up_to"]?.isNull == true ? nil : try step.integer("up_to")
                steps.append(PriceTier(upTo: upTo, unitPrice: price))
            }
            result[unit] = steps
        }
        return result
    }

    /// `{unit: 1000}`.
    func quotas(_ key: String) throws(MalformedRecord) -> [MeteringUnit: Int64] {
        var result: [MeteringUnit: Int64] = [:]
        for (name, value) in try object(key).members {
            guard let unit = MeteringUnit(rawValue: name), let quota = value.integerValue else {
                throw missing(key, "an object of quotas")
            }
            result[unit] = Int64(quota)
        }
        return result
    }
}
