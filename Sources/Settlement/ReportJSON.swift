public import AuditLog
import Foundation
import Licensing
import Metering

// The JSON report: `Contracts/settlement-report.md` is its schema. Written in RFC 8785 canonical
// form, so one report has one spelling and its SHA-256 identifies it.

extension SettlementReport {
    /// The report as the JSON value `GET /v1/settlements/{period}/report?format=json` serves.
    public var json: JSONValue {
        var members: [String: JSONValue] = [
            "period": .string(period.description),
            "currency": .string(currency.code),
            "status": "closed",
            "closed_at": .string(Timestamp.format(Timestamp.milliseconds(closedAt))),
            "platform_fee_bps": JSONValue(platformFeeBPS),
            "lines": .array(lines.map { $0.json(in: currency, formatVersion: formatVersion) }),
            "parties": .array(parties.map { $0.json(in: currency) }),
            "totals": totals.json,
        ]
        // Format 1 did not say its version: a report without it is of format 1.
        if formatVersion >= 2 { members["format_version"] = JSONValue(formatVersion) }
        return .object(members)
    }

    func jsonBytes() -> [UInt8] {
        do {
            return try json.canonicalBytes()
        } catch {
            // Only a NaN or an infinity cannot be written, and every number here is an integer.
            preconditionFailure("a report holds only integers: \(error)")
        }
    }
}

extension SettlementLine {
    /// The line as the JSON report writes it: every member present, absent values as null.
    func json(in currency: Currency, formatVersion: Int) -> JSONValue {
        var members: [String: JSONValue] = [
            "line_id": .string(id),
            "kind": .string(kind.rawValue),
            "grant_id": JSONValue(orNull: grantID),
            "operator_id": .string(operatorID),
            "dataset_id": JSONValue(orNull: datasetID),
            "authority_id": .string(authorityID),
            "unit": JSONValue(orNull: unit?.rawValue),
            "scenario": JSONValue(orNull: scenario?.rawValue),
            "quantity": JSONValue(quantity),
            "unit_price": JSONValue(orNull: unitPrice?.description),
            "tiers": .array(tiers.map { $0.json(in: currency) }),
            "amount_minor": JSONValue(amountMinor),
            "amount": .string(MinorUnits.decimal(amountMinor, in: currency)),
            "authority_bps": JSONValue(authorityBPS),
            "platform_bps": JSONValue(platformBPS),
            "authority_minor": JSONValue(authorityMinor),
            "authority_amount": .string(MinorUnits.decimal(authorityMinor, in: currency)),
            "platform_minor": JSONValue(platformMinor),
            "platform_amount": .string(MinorUnits.decimal(platformMinor, in: currency)),
            "operator_minor": JSONValue(operatorMinor),
            "operator_amount": .string(MinorUnits.decimal(operatorMinor, in: currency)),
            "event_count": JSONValue(eventCount),
            "log_index_first": logIndexFirst.map { JSONValue($0) } ?? .null,
            "log_index_last": logIndexLast.map { JSONValue($0) } ?? .null,
            "corrects": JSONValue(orNull: corrects),
            "reason": JSONValue(orNull: reason),
        ]
        if formatVersion >= 2 {
            members["source"] = JSONValue(orNull: source?.rawValue)
            members["declared_quantity"] = JSONValue(declaredQuantity)
            members["gateway_quantity"] = JSONValue(gatewayQuantity)
        }
        if formatVersion >= 3 {
            members["upstream_quantity"] = JSONValue(upstreamQuantity)
            members["provider_quantity"] = providerQuantity.map { JSONValue($0) } ?? .null
        }
        return .object(members)
    }
}

extension TierCharge {
    func json(in currency: Currency) -> JSONValue {
        [
            "from": JSONValue(from),
            "up_to": upTo.map { JSONValue($0) } ?? .null,
            "quantity": JSONValue(quantity),
            "unit_price": .string(unitPrice.description),
            "amount_minor": JSONValue(amountMinor),
            "amount": .string(MinorUnits.decimal(amountMinor, in: currency)),
        ]
    }
}

extension PartyAmount {
    func json(in currency: Currency) -> JSONValue {
        [
            "party": .string(party.description),
            "amount_minor": JSONValue(amountMinor),
            "amount": .string(MinorUnits.decimal(amountMinor, in: currency)),
        ]
    }
}

extension JSONValue {
    fileprivate init(orNull text: String?) {
        self = text.map(JSONValue.string) ?? .null
    }
}

// MARK: - Reading a report back

extension SettlementReport {
    /// Reads a report from the JSON ``rendered(as:)`` writes (in any member order or spacing).
    ///
    /// Every member must be there and no other; amounts must reconcile as the contract says: each
    /// line's parts and steps sum to it, its decimals match its minor units, the totals are the sums
    /// of the lines, each party's amount is the sum of its parts. A full report lists every party of
    /// its lines, a statement only its own. Anything else throws `invalid_report`.
    public init(json bytes: some Collection<UInt8>) throws(SettlementError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw SettlementError(code: .invalidReport, detail: "not JSON: \(error.detail)")
        }
        // The version decides the members: format 1 has no `format_version`, a later one says it.
        let formatVersion: Int
        if let stated = value["format_version"] {
            guard let number = stated.integerValue, SettlementReport.formatVersions.contains(Int(number)), number >= 2 else {
                throw SettlementError(code: .invalidReport, detail: "report.format_version: not a report format this verifier reads (\(SettlementReport.formatVersions.lowerBound + 1)...\(SettlementReport.formatVersions.upperBound); format 1 leaves it out)")
            }
            formatVersion = Int(number)
        } else {
            formatVersion = 1
        }
        let root = try ReportObject(value, at: "report", members: ReportObject.reportMembers(version: formatVersion))
        guard let period = Period(try root.string("period")) else { throw root.invalid("period", "not YYYY-MM") }
        guard let currency = Currency(code: try root.string("currency")) else {
            throw root.invalid("currency", "not a supported currency")
        }
        guard try root.string("status") == "closed" else { throw root.invalid("status", "not closed") }
        guard let closedAt = Timestamp.parse(try root.string("closed_at")) else {
            throw root.invalid("closed_at", "not YYYY-MM-DDTHH:MM:SS.mmmZ")
        }
        let platformFeeBPS = Int(try root.integer("platform_fee_bps", in: 0...10_000))

        var lines: [SettlementLine] = []
        for (index, element) in try root.array("lines").enumerated() {
            lines.append(try SettlementLine(json: element, at: "lines[\(index)]", currency: currency, formatVersion: formatVersion))
        }
        if let failure = SettlementReport.reconciliationFailure(of: lines) {
            throw root.invalid("lines[\(failure.line)].\(failure.field)", failure.problem)
        }
        let derived = SettlementReport(period: period, currency: currency, platformFeeBPS: platformFeeBPS,
                                       closedAt: Timestamp.date(milliseconds: closedAt), lines: lines, formatVersion: formatVersion)

        let owed = Dictionary(uniqueKeysWithValues: derived.parties.map { ($0.party, $0.amountMinor) })
        var parties: [PartyAmount] = []
        for (index, element) in try root.array("parties").enumerated() {
            let path = "parties[\(index)]"
            let object = try ReportObject(element, at: path, members: ["party", "amount_minor", "amount"])
            guard let party = Party(try object.string("party")) else { throw object.invalid("party", "not a party") }
            let amount = try object.amount("amount_minor", currency: currency)
            guard let expected = owed[party] else { throw object.invalid("party", "has no part in any line") }
            guard amount == expected else { throw object.invalid("amount_minor", "is not the sum of the party's parts, \(expected)") }
            if let previous = parties.last, !(previous.party < party) {
                throw object.invalid("party", "parties are not sorted, or one repeats")
            }
            parties.append(PartyAmount(party: party, amountMinor: amount))
        }

        let totals = try SettlementTotals(json: try root.member("totals"), at: "totals")
        guard totals == derived.totals else { throw root.invalid("totals", "are not the sums of the lines") }

        self.init(period: period, currency: currency, platformFeeBPS: platformFeeBPS, closedAt: derived.closedAt,
                  lines: lines, parties: parties, totals: totals, formatVersion: formatVersion)
    }
}

extension SettlementLine {
    fileprivate init(json: JSONValue, at path: String, currency: Currency, formatVersion: Int) throws(SettlementError) {
        let object = try ReportObject(json, at: path, members: ReportObject.lineMembers(version: formatVersion))
        let id = try object.string("line_id")
        guard let kind = LineKind(rawValue: try object.string("kind")) else { throw object.invalid("kind", "not a line kind") }
        let unit: MeteringUnit?
        if let text = try object.optionalString("unit") {
            guard let parsed = MeteringUnit(rawValue: text) else { throw object.invalid("unit", "not a unit") }
            unit = parsed
        } else {
            unit = nil
        }
        let scenario: Scenario?
        if let text = try object.optionalString("scenario") {
            guard let parsed = Scenario(rawValue: text) else { throw object.invalid("scenario", "not a scenario") }
            scenario = parsed
        } else {
            scenario = nil
        }
        let unitPrice = try object.optionalString("unit_price").map { text throws(SettlementError) in
            guard let price = UnitPrice(text) else { throw object.invalid("unit_price", "not a price") }
            return price
        }
        var tiers: [TierCharge] = []
        for (index, element) in try object.array("tiers").enumerated() {
            tiers.append(try TierCharge(json: element, at: "\(path).tiers[\(index)]", currency: currency))
        }
        let amount = try object.amount("amount_minor", currency: currency)
        let authorityBPS = Int(try object.integer("authority_bps", in: 0...10_000))
        let platformBPS = Int(try object.integer("platform_bps", in: 0...10_000))
        let authority = try object.amount("authority_minor", currency: currency)
        let platform = try object.amount("platform_minor", currency: currency)
        let `operator` = try object.amount("operator_minor", currency: currency)
        let quantity = try object.integer("quantity", in: 0...MinorUnits.maximum)
        // Format 1 knew only declared usage.
        var source: LineSource? = kind == .usage ? .declared : nil
        var gatewayQuantity: Int64 = 0
        var upstreamQuantity: Int64 = 0
        var providerQuantity: Int64?
        if formatVersion >= 2 {
            source = try object.optionalString("source").map { text throws(SettlementError) in
                guard let parsed = LineSource(rawValue: text), parsed != .upstream || formatVersion >= 3 else {
                    throw object.invalid("source", "not a line source of report format \(formatVersion)")
                }
                return parsed
            }
            if kind == .usage, source == nil { throw object.invalid("source", "null, but a usage line has a source") }
            gatewayQuantity = try object.integer("gateway_quantity", in: 0...MinorUnits.maximum)
            if formatVersion >= 3 {
                upstreamQuantity = try object.integer("upstream_quantity", in: 0...MinorUnits.maximum)
                providerQuantity = try object.optionalIndex("provider_quantity").map { Int64($0) }
            }
            let declared = try object.integer("declared_quantity", in: 0...MinorUnits.maximum)
            guard Int128(declared) + Int128(gatewayQuantity) + Int128(upstreamQuantity) == Int128(quantity) else {
                throw object.invalid("declared_quantity", formatVersion >= 3
                    ? "with gateway_quantity and upstream_quantity is not the line's quantity"
                    : "with gateway_quantity is not the line's quantity")
            }
        }

        // Whether the parts and steps add up is checked with the other lines: SettlementReport.reconciliationFailure(of:).
        self.init(
            id: id, kind: kind, grantID: try object.optionalString("grant_id"), operatorID: try object.string("operator_id"),
            datasetID: try object.optionalString("dataset_id"), authorityID: try object.string("authority_id"),
            unit: unit, scenario: scenario, quantity: quantity, unitPrice: unitPrice, tiers: tiers, amountMinor: amount,
            authorityBPS: authorityBPS, platformBPS: platformBPS, authorityMinor: authority, platformMinor: platform,
            operatorMinor: `operator`, eventCount: try object.integer("event_count", in: 0...MinorUnits.maximum),
            logIndexFirst: try object.optionalIndex("log_index_first"), logIndexLast: try object.optionalIndex("log_index_last"),
            corrects: try object.optionalString("corrects"), reason: try object.optionalString("reason"),
            source: source, gatewayQuantity: gatewayQuantity, upstreamQuantity: upstreamQuantity,
            providerQuantity: providerQuantity)
    }
}

extension TierCharge {
    fileprivate init(json: JSONValue, at path: String, currency: Currency) throws(SettlementError) {
        let object = try ReportObject(json, at: path, members: ["from", "up_to", "quantity", "unit_price", "amount_minor", "amount"])
        let from = try object.integer("from", in: 1...MinorUnits.maximum)
        let upTo = try object.optionalIndex("up_to").map(Int64.init)
        guard upTo.map({ $0 >= from }) ?? true else { throw object.invalid("up_to", "is below from") }
        guard let price = UnitPrice(try object.string("unit_price")) else { throw object.invalid("unit_price", "not a price") }
        self.init(from: from, upTo: upTo, quantity: try object.integer("quantity", in: 0...MinorUnits.maximum),
                  unitPrice: price, amountMinor: try object.amount("amount_minor", currency: currency))
    }
}

extension SettlementTotals {
    /// Reads a `totals` object, as reports and `settlement.closed` entries write it.
    init(json: JSONValue, at path: String) throws(SettlementError) {
        let object = try ReportObject(json, at: path, members: ReportObject.totalsMembers)
        self.init()
        grossMinor = try object.integer("gross_minor")
        authorityMinor = try object.integer("authority_minor")
        platformMinor = try object.integer("platform_minor")
        operatorMinor = try object.integer("operator_minor")
        lineCount = Int(try object.integer("line_count", in: 0...MinorUnits.maximum))
        eventCount = try object.integer("event_count", in: 0...MinorUnits.maximum)
    }
}

/// One JSON object of a report (or of a `settlement.closed` entry) being read: typed members, errors
/// that say where.
struct ReportObject {
    static let reportMembers: Set<String> = [
        "period", "currency", "status", "closed_at", "platform_fee_bps", "lines", "parties", "totals",
    ]

    /// A report's members in format `version`.
    static func reportMembers(version: Int) -> Set<String> {
        version >= 2 ? reportMembers.union(["format_version"]) : reportMembers
    }

    /// A line's members in format `version`.
    static func lineMembers(version: Int) -> Set<String> {
        var members = lineMembers
        if version >= 2 { members.formUnion(["source", "declared_quantity", "gateway_quantity"]) }
        if version >= 3 { members.formUnion(["upstream_quantity", "provider_quantity"]) }
        return members
    }
    static let totalsMembers: Set<String> = [
        "gross_minor", "authority_minor", "platform_minor", "operator_minor", "line_count", "event_count",
    ]
    static let lineMembers: Set<String> = [
        "line_id", "kind", "grant_id", "operator_id", "dataset_id", "authority_id", "unit", "scenario", "quantity",
        "unit_price", "tiers", "amount_minor", "amount", "authority_bps", "platform_bps", "authority_minor",
        "authority_amount", "platform_minor", "platform_amount", "operator_minor", "operator_amount", "event_count",
        "log_index_first", "log_index_last", "corrects", "reason",
    ]

    let members: [String: JSONValue]
    let path: String

    /// Reads an object with exactly `names` as members.
    init(_ value: JSONValue, at path: String, members names: Set<String>) throws(SettlementError) {
        self.path = path
        guard case .object(let members) = value else {
            throw SettlementError(code: .invalidReport, detail: "\(path): not an object")
        }
        self.members = members
        if let missing = names.subtracting(members.keys).sorted().first { throw invalid(missing, "is missing") }
        if let unknown = Set(members.keys).subtracting(names).sorted().first { throw invalid(unknown, "is not a report member") }
    }

    func invalid(_ name: String, _ problem: String) -> SettlementError {
        SettlementError(code: .invalidReport, detail: "\(path).\(name): \(problem)")
    }

    func member(_ name: String) throws(SettlementError) -> JSONValue {
        guard let value = members[name] else { throw invalid(name, "is missing") }
        return value
    }

    /// A non-empty string.
    func string(_ name: String) throws(SettlementError) -> String {
        guard let text = try member(name).stringValue, !text.isEmpty else { throw invalid(name, "not a non-empty string") }
        return text
    }

    /// Null, or a non-empty string.
    func optionalString(_ name: String) throws(SettlementError) -> String? {
        let value = try member(name)
        if value.isNull { return nil }
        return try string(name)
    }

    func array(_ name: String) throws(SettlementError) -> [JSONValue] {
        guard let elements = try member(name).arrayValue else { throw invalid(name, "not an array") }
        return elements
    }

    /// An integer within `range`; by default any amount a settlement holds.
    func integer(_ name: String, in range: ClosedRange<Int64> = -MinorUnits.maximum...MinorUnits.maximum) throws(SettlementError) -> Int64 {
        guard let number = try member(name).integerValue, range.contains(Int64(number)) else {
            throw invalid(name, "not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return Int64(number)
    }

    /// Null, or a non-negative integer.
    func optionalIndex(_ name: String) throws(SettlementError) -> UInt64? {
        if try member(name).isNull { return nil }
        return UInt64(try integer(name, in: 0...MinorUnits.maximum))
    }

    /// An amount in minor units, checked against its decimal sibling: `amount_minor` and `amount`,
    /// `authority_minor` and `authority_amount`.
    func amount(_ name: String, currency: Currency) throws(SettlementError) -> Int64 {
        let minor = try integer(name)
        let prefix = name.dropLast("_minor".count)
        let sibling = prefix == "amount" ? "amount" : "\(prefix)_amount"
        guard try string(sibling) == MinorUnits.decimal(minor, in: currency) else {
            throw invalid(sibling, "does not match \(MinorUnits.decimal(minor, in: currency)), its minor units")
        }
        return minor
    }
}
