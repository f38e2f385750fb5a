import AuditLog
public import Foundation
public import Licensing
public import Metering

/// Who a part of a line goes to.
public enum Party: Sendable, Hashable, Comparable, CustomStringConvertible {
    case authority(String)
    case platform
    case `operator`(String)

    /// `authority:<id>`, `platform`, `operator:<id>`: how reports name parties.
    public var description: String {
        switch self {
        case .authority(let id): "authority:\(id)"
        case .platform: "platform"
        case .operator(let id): "operator:\(id)"
        }
    }

    /// Parses ``description``; nil for anything else.
    public init?(_ text: String) {
        if text == "platform" {
            self = .platform
        } else if text.hasPrefix("authority:"), text.count > 10 {
            self = .authority(String(text.dropFirst(10)))
        } else if text.hasPrefix("operator:"), text.count > 9 {
            self = .operator(String(text.dropFirst(9)))
        } else {
            return nil
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.description < rhs.description }
}

/// What a line is.
public enum LineKind: String, Sendable, Hashable, CaseIterable {
    /// Usage of one grant, dataset and unit in the period, rated.
    case usage
    /// A correction of a line of an earlier, closed period.
    case adjustment
    /// An operator's income above its annual revenue cap, moved to an authority.
    case clawback
}

/// One line of a settlement: an amount and its split, and where it came from.
public struct SettlementLine: Sendable, Hashable {
    /// Unique in the period and stable: `<period>/<grant>/<dataset>/<unit>` for usage,
    /// `<period>/adjustment/<id>`, `<period>/clawback/<operator>/<authority>`.
    public let id: String
    public let kind: LineKind
    public let grantID: String?
    public let operatorID: String
    public let datasetID: String?
    public let authorityID: String
    public let unit: MeteringUnit?
    public let scenario: Scenario?
    /// Units rated; 0 for adjustments and clawbacks.
    public let quantity: Int64
    /// The per-unit price; nil for graduated prices (see ``tiers``), adjustments and clawbacks.
    public let unitPrice: UnitPrice?
    /// What each step of a graduated price charged; empty otherwise.
    public let tiers: [TierCharge]
    /// The line's gross amount; 0 for a clawback, which only moves money between parties.
    public let amountMinor: Int64
    public let authorityBPS: Int
    public let platformBPS: Int
    public let authorityMinor: Int64
    public let platformMinor: Int64
    public let operatorMinor: Int64
    /// Accepted events behind the line, and the log indexes of the first and last `usage.recorded`
    /// entry that added to it (nil for adjustments and clawbacks).
    public let eventCount: Int64
    public let logIndexFirst: UInt64?
    public let logIndexLast: UInt64?
    /// For an adjustment: the id of the line it corrects, and why.
    public let corrects: String?
    public let reason: String?
    /// Who counted a usage line's quantity; nil for adjustments and clawbacks.
    public let source: LineSource?
    /// How much of ``quantity`` PDX metered as it served the data; 0 for adjustments and clawbacks.
    public let gatewayQuantity: Int64
    /// How much of ``quantity`` PDX metered as it forwarded calls to the authority's interface
    /// (always 0 in formats 1 and 2); 0 for adjustments and clawbacks.
    public let upstreamQuantity: Int64
    /// For a declared usage line (report format 3 on): what the dataset's authority reported for the
    /// same grant, dataset, unit and period (`POST /v1/provider-usage`), nil when it reported nothing.
    /// Always nil for other lines and in formats 1 and 2.
    public let providerQuantity: Int64?

    /// A line; a usage line whose `source` is not given is declared usage.
    public init(id: String, kind: LineKind, grantID: String?, operatorID: String, datasetID: String?, authorityID: String,
                unit: MeteringUnit?, scenario: Scenario?, quantity: Int64, unitPrice: UnitPrice?, tiers: [TierCharge],
                amountMinor: Int64, authorityBPS: Int, platformBPS: Int, authorityMinor: Int64, platformMinor: Int64,
                operatorMinor: Int64, eventCount: Int64, logIndexFirst: UInt64?, logIndexLast: UInt64?,
                corrects: String?, reason: String?, source: LineSource? = nil, gatewayQuantity: Int64 = 0,
                upstreamQuantity: Int64 = 0, providerQuantity: Int64? = nil) {
        self.source = source ?? (kind == .usage ? .declared : nil)
        self.gatewayQuantity = gatewayQuantity
        self.upstreamQuantity = upstreamQuantity
        self.providerQuantity = providerQuantity
        self.id = id
        self.kind = kind
        self.grantID = grantID
        self.operatorID = operatorID
        self.datasetID = datasetID
        self.authorityID = authorityID
        self.unit = unit
        self.scenario = scenario
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.tiers = tiers
        self.amountMinor = amountMinor
        self.authorityBPS = authorityBPS
        self.platformBPS = platformBPS
        self.authorityMinor = authorityMinor
        self.platformMinor = platformMinor
        self.operatorMinor = operatorMinor
        self.eventCount = eventCount
        self.logIndexFirst = logIndexFirst
        self.logIndexLast = logIndexLast
        self.corrects = corrects
        self.reason = reason
    }

    /// The parties this line pays, with their parts.
    public var parts: [(Party, Int64)] {
        [(.authority(authorityID), authorityMinor), (.platform, platformMinor), (.operator(operatorID), operatorMinor)]
    }

    /// True when `party` has a part in this line.
    public func concerns(_ party: Party) -> Bool {
        switch party {
        case .platform: true
        case .authority(let id): id == authorityID
        case .operator(let id): id == operatorID
        }
    }
}

/// A party's total in a period.
public struct PartyAmount: Sendable, Hashable {
    public let party: Party
    public let amountMinor: Int64

    public init(party: Party, amountMinor: Int64) {
        self.party = party
        self.amountMinor = amountMinor
    }
}

/// A period's totals: gross equals the sum of the three parts, to the minor unit.
public struct SettlementTotals: Sendable, Hashable {
    public var grossMinor: Int64 = 0
    public var authorityMinor: Int64 = 0
    public var platformMinor: Int64 = 0
    public var operatorMinor: Int64 = 0
    /// Lines and the events behind them.
    public var lineCount = 0
    public var eventCount: Int64 = 0

    public init() {}

    public init(lines: [SettlementLine]) {
        for line in lines {
            grossMinor += line.amountMinor
            authorityMinor += line.authorityMinor
            platformMinor += line.platformMinor
            operatorMinor += line.operatorMinor
            eventCount += line.eventCount
        }
        lineCount = lines.count
    }
}

/// A closed period's settlement: every line, every party's total, the period's totals. The reports
/// in every format are renderings of this value.
public struct SettlementReport: Sendable, Hashable {
    public let period: Period
    public let currency: Currency
    public let platformFeeBPS: Int
    /// When the period was closed.
    public let closedAt: Date
    public let lines: [SettlementLine]
    /// Sorted by party.
    public let parties: [PartyAmount]
    public let totals: SettlementTotals
    /// The report format it was closed in (``formatVersions``); every rendering follows it.
    public let formatVersion: Int

    /// A report of `lines`; parties and totals are derived from them. `closedAt` is kept to the
    /// millisecond, as every rendering writes it, so a report equals the one read back from its JSON.
    public init(period: Period, currency: Currency, platformFeeBPS: Int, closedAt: Date, lines: [SettlementLine],
                formatVersion: Int = SettlementReport.currentFormatVersion) {
        var sums: [Party: Int64] = [:]
        for line in lines {
            for (party, part) in line.parts { sums[party, default: 0] += part }
        }
        self.init(period: period, currency: currency, platformFeeBPS: platformFeeBPS, closedAt: closedAt, lines: lines,
                  parties: sums.keys.sorted().map { PartyAmount(party: $0, amountMinor: sums[$0] ?? 0) },
                  totals: SettlementTotals(lines: lines), formatVersion: formatVersion)
    }

    /// The statement of one party: only the lines it has a part in, and only its own total.
    public func statement(for party: Party) -> SettlementReport {
        let own = SettlementReport(period: period, currency: currency, platformFeeBPS: platformFeeBPS, closedAt: closedAt,
                                   lines: lines.filter { $0.concerns(party) }, formatVersion: formatVersion)
        return SettlementReport(period: period, currency: currency, platformFeeBPS: platformFeeBPS, closedAt: closedAt,
                                lines: own.lines, parties: own.parties.filter { $0.party == party }, totals: own.totals,
                                formatVersion: formatVersion)
    }

    /// A report with parties and totals as given: a statement's, or one read back from its JSON
    /// after checking that they agree with the lines.
    init(period: Period, currency: Currency, platformFeeBPS: Int, closedAt: Date, lines: [SettlementLine],
         parties: [PartyAmount], totals: SettlementTotals, formatVersion: Int) {
        self.formatVersion = formatVersion
        self.period = period
        self.currency = currency
        self.platformFeeBPS = platformFeeBPS
        self.closedAt = Timestamp.normalized(closedAt)
        self.lines = lines
        self.parties = parties
        self.totals = totals
    }

    /// The line with `id`, if the report has it.
    public func line(_ id: String) -> SettlementLine? { lines.first { $0.id == id } }
}
