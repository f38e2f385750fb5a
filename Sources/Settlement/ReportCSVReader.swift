public import AuditLog
public import Foundation
public import Licensing
public import Metering

// Reading the lines CSV back: the exact inverse of `CSV.bytes` over `lineRows`, refusing anything that
// writer could not have written. `Contracts/settlement-report.md` describes the format.

/// A period's close as its `settlement.closed` audit-log entry records it: what a report's lines CSV
/// does not carry (the platform fee, the closing time, the totals and the number of parties) and what
/// its rows repeat (period and currency, which an empty period's header-only CSV has no row to show).
public struct SettlementClose: Sendable, Hashable {
    /// The closed period.
    public var period: Period
    /// The report's currency.
    public var currency: Currency
    /// The platform fee the period was closed with, in basis points.
    public var platformFeeBPS: Int
    /// When the period was closed, to the millisecond.
    public var closedAt: Date
    /// The full report's totals.
    public var totals: SettlementTotals
    /// How many parties the full report has.
    public var partyCount: Int
    /// The lower-case hex SHA-256 of each rendering of the full report, by format name (`json`, `csv`,
    /// `xlsx`, `parties.csv`); empty when not known.
    public var digests: ReportDigests
    /// The report format the period was closed in; its reports are in that format.
    public var formatVersion: Int

    /// A close from its parts.
    public init(period: Period, currency: Currency, platformFeeBPS: Int, closedAt: Date, totals: SettlementTotals,
                partyCount: Int, digests: ReportDigests = [:], formatVersion: Int = SettlementReport.currentFormatVersion) {
        self.formatVersion = formatVersion
        self.period = period
        self.currency = currency
        self.platformFeeBPS = platformFeeBPS
        self.closedAt = Timestamp.normalized(closedAt)
        self.totals = totals
        self.partyCount = partyCount
        self.digests = digests
    }

    /// The close of a full report (not of a statement, whose totals and parties are its party's only).
    public init(_ report: SettlementReport, digests: ReportDigests = [:]) {
        self.init(period: report.period, currency: report.currency, platformFeeBPS: report.platformFeeBPS,
                  closedAt: report.closedAt, totals: report.totals, partyCount: report.parties.count, digests: digests,
                  formatVersion: report.formatVersion)
    }

    /// Reads a `settlement.closed` record, as ``SettlementReport/closedRecord(digests:actor:)`` writes it:
    /// every `data` member there and no other, or `invalid_report`.
    public init(record: AuditRecord) throws(SettlementError) {
        guard record.action == SettlementAction.closed.rawValue else {
            throw SettlementError(code: .invalidReport, detail: "a \(record.action) entry, not \(SettlementAction.closed.rawValue)")
        }
        var members: Set<String> = ["period", "currency", "platform_fee_bps", "closed_at", "totals", "parties", "reports"]
        // Closes in format 1 did not say so; later ones do.
        if record.data["format_version"] != nil { members.insert("format_version") }
        let object = try ReportObject(.object(record.data), at: "settlement.closed", members: members)
        var formatVersion = 1
        if members.contains("format_version") {
            formatVersion = Int(try object.integer("format_version", in: 2...Int64(SettlementReport.formatVersions.upperBound)))
        }
        guard let period = Period(try object.string("period")) else { throw object.invalid("period", "not YYYY-MM") }
        guard let currency = Currency(code: try object.string("currency")) else {
            throw object.invalid("currency", "not a supported currency")
        }
        guard let closedAt = Timestamp.parse(try object.string("closed_at")) else {
            throw object.invalid("closed_at", "not YYYY-MM-DDTHH:MM:SS.mmmZ")
        }
        guard case .object(let reports) = try object.member("reports") else { throw object.invalid("reports", "not an object") }
        var digests: ReportDigests = [:]
        for (name, value) in reports {
            guard let hex = value.stringValue, hex.utf8.count == 64,
                  hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
            else { throw object.invalid("reports.\(name)", "not a lower-case hex SHA-256") }
            digests[name] = hex
        }
        self.init(period: period, currency: currency,
                  platformFeeBPS: Int(try object.integer("platform_fee_bps", in: 0...10_000)),
                  closedAt: Timestamp.date(milliseconds: closedAt),
                  totals: try SettlementTotals(json: try object.member("totals"), at: "settlement.closed.totals"),
                  partyCount: Int(try object.integer("parties", in: 0...MinorUnits.maximum)), digests: digests,
                  formatVersion: formatVersion)
    }
}

extension SettlementReport {
    /// Reads a report from the lines CSV ``rendered(as:)`` writes (`.csv`), of the full report or, with
    /// `party`, of that party's statement.
    ///
    /// The CSV holds the lines and, on every row, the period and currency; the rest of the report (the
    /// platform fee, the closing time) comes from `close`, the period's `settlement.closed` entry, and
    /// the rows' period and currency must be the close's. Parties and totals are derived from the lines,
    /// as the writer derived them; for a full report they must then equal the close's totals and number
    /// of parties, which is what catches a CSV cut short at a row boundary. A statement's lines must each
    /// concern `party`; its totals are its own, so they are not compared with the close.
    ///
    /// Strict: the header must be exactly the writer's columns; fields are quoted only where the writer
    /// quotes them, every row ends with CRLF; the formula guard (a `'` before a leading `=`, `+`, `-`,
    /// `@`, tab or CR) is undone exactly where the writer adds it, and a text cell starting like a formula
    /// without it is refused (the writer leaves only plain numbers such as `-5` unguarded); integers
    /// are plain digits (no `+`, no leading zero, no `-0`) within ±(2^53 − 1); prices and decimals are
    /// in the writer's shortest or fixed form; empty cells only where the writer writes null. Every line
    /// must reconcile as for ``init(json:)``. Anything else throws `invalid_report`, naming the row
    /// (the header is row 1) and the column.
    ///
    /// One kind of text cannot survive the CSV: a text that itself starts with `'` and a formula
    /// character (`'=x`; not `'-5`, since numbers are never guarded) is written unchanged, the same as
    /// the guarded `=x`, and reads back as `=x`, as the contract tells every CSV reader to read it.
    public init(csv bytes: some Collection<UInt8>, close: SettlementClose, party: Party? = nil) throws(SettlementError) {
        let rows = try CSVReading.rows(Array(bytes))
        guard let header = rows.first else { throw CSVReading.invalid("the file is empty: no header row") }
        // The period's report is in the format it was closed in, and so is its header.
        let columns = Self.lineColumns(version: close.formatVersion)
        guard header == columns else {
            let common = min(header.count, columns.count)
            let position = (0..<common).first { header[$0] != columns[$0] } ?? common
            let found = position < header.count ? "\"\(header[position])\"" : "nothing"
            let expected = position < columns.count ? columns[position] : "the end of the row"
            throw CSVReading.invalid("row 1, field \(position + 1): the header has \(found) where the writer of report format \(close.formatVersion) puts \(expected)")
        }
        var lines: [SettlementLine] = []
        lines.reserveCapacity(rows.count - 1)
        for (offset, fields) in rows.dropFirst().enumerated() {
            let row = CSVLineRow(fields: fields, number: offset + 2, currency: close.currency)
            guard fields.count == columns.count else {
                throw row.invalid(nil, "\(fields.count) fields, the header has \(columns.count)")
            }
            let line = try SettlementLine(csv: row, close: close)
            if let party, !line.concerns(party) {
                throw row.invalid(nil, "the line has no part for \(party), whose statement this is")
            }
            lines.append(line)
        }
        if let failure = Self.reconciliationFailure(of: lines) {
            throw CSVReading.invalid("row \(failure.line + 2), column \(failure.field): \(failure.problem)")
        }
        let report = SettlementReport(period: close.period, currency: close.currency, platformFeeBPS: close.platformFeeBPS,
                                      closedAt: close.closedAt, lines: lines, formatVersion: close.formatVersion)
        if let party {
            self = report.statement(for: party)
            return
        }
        if let mismatch = Self.totalsMismatch(report.totals, close.totals) {
            throw CSVReading.invalid("the lines do not add up to the close's totals: \(mismatch)")
        }
        guard report.parties.count == close.partyCount else {
            throw CSVReading.invalid("the lines have \(report.parties.count) parties, the close records \(close.partyCount)")
        }
        self = report
    }

    /// The first total that differs, as `name recorded, summed`.
    private static func totalsMismatch(_ summed: SettlementTotals, _ recorded: SettlementTotals) -> String? {
        let pairs: [(String, Int64, Int64)] = [
            ("line_count", Int64(summed.lineCount), Int64(recorded.lineCount)),
            ("gross_minor", summed.grossMinor, recorded.grossMinor),
            ("authority_minor", summed.authorityMinor, recorded.authorityMinor),
            ("platform_minor", summed.platformMinor, recorded.platformMinor),
            ("operator_minor", summed.operatorMinor, recorded.operatorMinor),
            ("event_count", summed.eventCount, recorded.eventCount),
        ]
        return pairs.first { $0.1 != $0.2 }.map { "\($0.0) \($0.2) recorded, \($0.1) in the lines" }
    }
}

extension SettlementLine {
    fileprivate init(csv row: CSVLineRow, close: SettlementClose) throws(SettlementError) {
        guard try row.requiredText("period") == close.period.description else {
            throw row.invalid("period", "not the closed period \(close.period)")
        }
        guard try row.requiredText("currency") == close.currency.code else {
            throw row.invalid("currency", "not the period's currency \(close.currency.code)")
        }
        let id = try row.requiredText("line_id")
        guard let kind = LineKind(rawValue: try row.requiredText("kind")) else { throw row.invalid("kind", "not a line kind") }
        let unit: MeteringUnit?
        if let text = try row.text("unit") {
            guard let parsed = MeteringUnit(rawValue: text) else { throw row.invalid("unit", "not a unit") }
            unit = parsed
        } else {
            unit = nil
        }
        let scenario: Scenario?
        if let text = try row.text("scenario") {
            guard let parsed = Scenario(rawValue: text) else { throw row.invalid("scenario", "not a scenario") }
            scenario = parsed
        } else {
            scenario = nil
        }
        let quantity = try row.integer("quantity", in: 0...MinorUnits.maximum)
        let tiers = try row.text("tiers").map { text throws(SettlementError) in try row.tiers(text, quantity: quantity) } ?? []
        // Format 1 knew only declared usage.
        var source: LineSource? = kind == .usage ? .declared : nil
        var gatewayQuantity: Int64 = 0
        var upstreamQuantity: Int64 = 0
        var providerQuantity: Int64?
        if close.formatVersion >= 2 {
            source = try row.text("source").map { text throws(SettlementError) in
                guard let parsed = LineSource(rawValue: text), parsed != .upstream || close.formatVersion >= 3 else {
                    throw row.invalid("source", "not a line source of report format \(close.formatVersion)")
                }
                return parsed
            }
            if kind == .usage, source == nil { throw row.invalid("source", "empty, but a usage line has a source") }
            gatewayQuantity = try row.integer("gateway_quantity", in: 0...MinorUnits.maximum)
            if close.formatVersion >= 3 {
                upstreamQuantity = try row.integer("upstream_quantity", in: 0...MinorUnits.maximum)
                providerQuantity = try row.index("provider_quantity").map { Int64($0) }
            }
            // Each part is at most 2^53 − 1, so the sum cannot overflow.
            guard try row.integer("declared_quantity", in: 0...MinorUnits.maximum) + gatewayQuantity + upstreamQuantity == quantity else {
                throw row.invalid("declared_quantity", close.formatVersion >= 3
                    ? "with gateway_quantity and upstream_quantity is not the line's quantity"
                    : "with gateway_quantity is not the line's quantity")
            }
        }
        self.init(
            id: id, kind: kind, grantID: try row.text("grant_id"), operatorID: try row.requiredText("operator_id"),
            datasetID: try row.text("dataset_id"), authorityID: try row.requiredText("authority_id"),
            unit: unit, scenario: scenario, quantity: quantity, unitPrice: try row.price("unit_price"), tiers: tiers,
            amountMinor: try row.amount("amount_minor", decimal: "amount"),
            authorityBPS: Int(try row.integer("authority_bps", in: 0...10_000)),
            platformBPS: Int(try row.integer("platform_bps", in: 0...10_000)),
            authorityMinor: try row.amount("authority_minor", decimal: "authority_amount"),
            platformMinor: try row.amount("platform_minor", decimal: "platform_amount"),
            operatorMinor: try row.amount("operator_minor", decimal: "operator_amount"),
            eventCount: try row.integer("event_count", in: 0...MinorUnits.maximum),
            logIndexFirst: try row.index("log_index_first"), logIndexLast: try row.index("log_index_last"),
            corrects: try row.text("corrects"), reason: try row.text("reason"),
            source: source, gatewayQuantity: gatewayQuantity, upstreamQuantity: upstreamQuantity,
            providerQuantity: providerQuantity)
    }
}

/// One data row of the lines CSV: its fields by column name, read as the writer's cells.
private struct CSVLineRow {
    static let columns = Dictionary(uniqueKeysWithValues: SettlementReport.lineColumns.enumerated().map { ($1, $0) })

    let fields: [String]
    /// The row's number in the file; the header is row 1.
    let number: Int
    let currency: Currency

    func invalid(_ column: String?, _ problem: String) -> SettlementError {
        CSVReading.invalid("row \(number)\(column.map { ", column \($0)" } ?? ""): \(problem)")
    }

    func field(_ column: String) -> String {
        guard let index = Self.columns[column] else { preconditionFailure("\(column) is not a lines CSV column") }
        return fields[index]
    }

    /// A text cell with the formula guard undone; nil when empty (the writer's null).
    func text(_ column: String) throws(SettlementError) -> String? {
        let field = field(column)
        guard let first = field.unicodeScalars.first else { return nil }
        if first == "'", let second = field.unicodeScalars.dropFirst().first, CSVReading.formulaStarts.contains(second) {
            let text = String(field.unicodeScalars.dropFirst())
            // The writer never guards a plain number such as -5, so `'-5` can only be the text `'-5` itself.
            return CSV.isNumber(text) ? field : text
        }
        if CSVReading.formulaStarts.contains(first), !CSV.isNumber(field) {
            throw invalid(column, "starts like a formula without the writer's leading apostrophe")
        }
        return field
    }

    /// A text cell that must not be empty.
    func requiredText(_ column: String) throws(SettlementError) -> String {
        guard let text = try text(column) else { throw invalid(column, "empty, and it cannot be") }
        return text
    }

    /// An integer as the writer prints one: optional `-`, no `+`, no leading zero, no `-0`, within `range`.
    func integer(_ column: String, in range: ClosedRange<Int64> = -MinorUnits.maximum...MinorUnits.maximum) throws(SettlementError) -> Int64 {
        guard let value = CSVReading.integer(field(column)), range.contains(value) else {
            throw invalid(column, "not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// Empty, or a non-negative integer.
    func index(_ column: String) throws(SettlementError) -> UInt64? {
        if field(column).isEmpty { return nil }
        return UInt64(try integer(column, in: 0...MinorUnits.maximum))
    }

    /// Empty, or a price in its shortest exact form.
    func price(_ column: String) throws(SettlementError) -> UnitPrice? {
        let text = field(column)
        if text.isEmpty { return nil }
        guard let price = CSVReading.price(text) else { throw invalid(column, "not a price in its shortest form") }
        return price
    }

    /// Minor units, checked against their decimal column (`amount_minor` and `amount`).
    func amount(_ column: String, decimal: String) throws(SettlementError) -> Int64 {
        let minor = try integer(column)
        guard field(decimal) == MinorUnits.decimal(minor, in: currency) else {
            throw invalid(decimal, "does not match \(MinorUnits.decimal(minor, in: currency)), its minor units")
        }
        return minor
    }

    /// `1-100@0.015=1.50; 101-1000@0.011=9.90; 1001-@0.005=0.01` back into steps. Each step's quantity is
    /// not written: it is the units of the line's `quantity` that fall between its bounds, as the rating
    /// counts them. So the steps must be the rating's: consecutive from unit 1, only the last open, each
    /// reached by the quantity.
    func tiers(_ text: String, quantity: Int64) throws(SettlementError) -> [TierCharge] {
        var tiers: [TierCharge] = []
        var next: Int64 = 1
        for (position, step) in text.split(separator: "; ", omittingEmptySubsequences: false).enumerated() {
            let problem = "step \(position + 1) is not from-up_to@price=amount as the writer writes it"
            guard let at = step.firstIndex(of: "@"), let dash = step[..<at].firstIndex(of: "-"),
                  let equals = step[at...].firstIndex(of: "="),
                  let from = CSVReading.integer(String(step[..<dash])), from >= 1,
                  let price = CSVReading.price(String(step[step.index(after: at)..<equals])),
                  let amount = CSVReading.minorUnits(String(step[step.index(after: equals)...]), in: currency)
            else { throw invalid("tiers", problem) }
            let upToText = step[step.index(after: dash)..<at]
            let upTo = upToText.isEmpty ? nil : CSVReading.integer(String(upToText))
            guard upToText.isEmpty || upTo.map({ $0 >= from && $0 <= MinorUnits.maximum }) == true else {
                throw invalid("tiers", problem)
            }
            guard from == next, tiers.last.map({ $0.upTo != nil }) ?? true else {
                throw invalid("tiers", "step \(position + 1) does not start where the step before it ends")
            }
            guard from <= quantity else { throw invalid("tiers", "step \(position + 1) starts beyond the line's quantity") }
            let last = upTo.map { min($0, quantity) } ?? quantity
            tiers.append(TierCharge(from: from, upTo: upTo, quantity: last - from + 1, unitPrice: price, amountMinor: amount))
            next = (upTo ?? MinorUnits.maximum) + 1
        }
        // What is left (spacing, a sign, another separator) would not print the same.
        guard SettlementReport.tiersText(tiers, currency: currency) == text else {
            throw invalid("tiers", "not in the form the writer writes")
        }
        return tiers
    }
}

/// RFC 4180 reading, strict: only what `CSV.bytes` writes.
enum CSVReading {
    /// What a text cell may not start with unless the writer guarded it (`CSV.defused`).
    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    static func invalid(_ detail: String) -> SettlementError {
        SettlementError(code: .invalidReport, detail: "CSV \(detail)")
    }

    /// The rows and their fields, quotes undone. Refuses a byte order mark, invalid UTF-8, a row not
    /// ended by CRLF, a bare CR or LF outside quotes, a quote inside an unquoted field, text after a
    /// closing quote, and quotes around a field that needs none (the writer quotes only a comma, a
    /// quote, CR or LF).
    static func rows(_ bytes: [UInt8]) throws(SettlementError) -> [[String]] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr: UInt8 = 0x0D, lf: UInt8 = 0x0A
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw invalid("row 1: starts with a byte order mark") }
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var index = 0
        func at(_ problem: String) -> SettlementError {
            invalid("row \(rows.count + 1), field \(row.count + 1): \(problem)")
        }
        while index < bytes.count {
            field.removeAll(keepingCapacity: true)
            if bytes[index] == quote {
                index += 1
                var closed = false
                while index < bytes.count {
                    if bytes[index] == quote {
                        if index + 1 < bytes.count, bytes[index + 1] == quote {
                            field.append(quote)
                            index += 2
                            continue
                        }
                        closed = true
                        index += 1
                        break
                    }
                    field.append(bytes[index])
                    index += 1
                }
                guard closed else { throw at("a quoted field that is never closed") }
                guard field.contains(where: { $0 == comma || $0 == quote || $0 == cr || $0 == lf }) else {
                    throw at("quoted, though it holds no comma, quote, CR or LF")
                }
            } else {
                while index < bytes.count, bytes[index] != comma, bytes[index] != cr {
                    guard bytes[index] != quote else { throw at("a quote inside an unquoted field") }
                    guard bytes[index] != lf else { throw at("a line feed without a carriage return") }
                    field.append(bytes[index])
                    index += 1
                }
            }
            guard let text = String(validating: field, as: UTF8.self) else { throw at("not UTF-8") }
            row.append(text)
            guard index < bytes.count else { throw at("the row does not end with CRLF") }
            if bytes[index] == comma {
                index += 1
                // A comma at the very end leaves an empty field and no CRLF.
                guard index < bytes.count else { throw at("the row does not end with CRLF") }
            } else if bytes[index] == cr, index + 1 < bytes.count, bytes[index + 1] == lf {
                rows.append(row)
                row = []
                index += 2
            } else {
                throw at(bytes[index] == cr ? "a carriage return without a line feed" : "text after a closing quote")
            }
        }
        return rows
    }

    /// An integer as `String(Int64)` prints it, within ±(2^53 − 1); nil otherwise.
    static func integer(_ text: String) -> Int64? {
        var digits = Substring(text)
        let negative = digits.first == "-"
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.count <= 16, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              digits == "0" || digits.first != "0", !(negative && digits == "0"),
              let magnitude = Int64(digits), magnitude <= MinorUnits.maximum
        else { return nil }
        return negative ? -magnitude : magnitude
    }

    /// A price as the writer prints it: its shortest exact form (`0.04`, not `0.040` or `.04`).
    static func price(_ text: String) -> UnitPrice? {
        guard let price = UnitPrice(text), price.description == text else { return nil }
        return price
    }

    /// Minor units from a decimal as ``MinorUnits/decimal(_:in:)`` prints it; nil for any other spelling.
    static func minorUnits(_ text: String, in currency: Currency) -> Int64? {
        var body = Substring(text)
        let negative = body.first == "-"
        if negative { body = body.dropFirst() }
        // The digits without the point: the minor units, whose spelling is then checked by printing them.
        let digits = body.utf8.filter { $0 != UInt8(ascii: ".") }.drop { $0 == UInt8(ascii: "0") }
        guard digits.count <= 16, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let magnitude = digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
        guard magnitude <= MinorUnits.maximum else { return nil }
        let value = negative ? -magnitude : magnitude
        return MinorUnits.decimal(value, in: currency) == text ? value : nil
    }
}
