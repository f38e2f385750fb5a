import Licensing
import Metering

/// One cell of a report table, as the CSV and the XLSX writers share it: text, or a number held as
/// its exact decimal text so that no amount ever passes through floating point.
enum ReportCell: Hashable {
    /// How a spreadsheet shows a number.
    enum Style: Hashable {
        /// Counts, basis points, log indexes, minor units: a whole number.
        case integer
        /// An amount in currency units, with the currency's minor-unit places.
        case money
        /// A unit price: as many places as it has.
        case general
    }

    case text(String)
    case number(String, Style)
    case empty

    static func text(_ value: String?) -> Self { value.map(Self.text) ?? .empty }
    static func integer(_ value: Int64) -> Self { .number(String(value), .integer) }
    static func integer(_ value: Int) -> Self { .number(String(value), .integer) }
    static func index(_ value: UInt64?) -> Self { value.map { .number(String($0), .integer) } ?? .empty }
    static func money(_ minor: Int64, in currency: Currency) -> Self { .number(MinorUnits.decimal(minor, in: currency), .money) }
    static func price(_ price: UnitPrice?) -> Self { price.map { .number($0.description, .general) } ?? .empty }
}

extension SettlementReport {
    /// The columns of the lines CSV and of the XLSX `Lines` sheet in the current format, in order.
    static let lineColumns = lineColumns(version: currentFormatVersion)

    /// The columns of format 1; later formats append theirs, so that a reader that finds columns
    /// by position still finds the earlier ones where they were.
    static let lineColumnsV1 = [
        "period", "currency", "line_id", "kind", "grant_id", "operator_id", "dataset_id", "authority_id", "unit",
        "scenario", "quantity", "unit_price", "tiers", "amount", "amount_minor", "authority_bps", "authority_amount",
        "authority_minor", "platform_bps", "platform_amount", "platform_minor", "operator_amount", "operator_minor",
        "event_count", "log_index_first", "log_index_last", "corrects", "reason",
    ]

    /// The columns of format `version`, in order.
    static func lineColumns(version: Int) -> [String] {
        var columns = lineColumnsV1
        if version >= 2 { columns += ["source", "declared_quantity", "gateway_quantity"] }
        if version >= 3 { columns += ["upstream_quantity", "provider_quantity"] }
        return columns
    }

    /// The columns of this report's format.
    var lineColumnNames: [String] { Self.lineColumns(version: formatVersion) }

    /// The columns of the parties CSV and of the parties table on the `Summary` sheet.
    static let partyColumns = ["period", "currency", "party", "amount", "amount_minor"]

    /// One row per line, in the report's order, cells as ``lineColumnNames`` names them.
    var lineRows: [[ReportCell]] {
        lines.map { line in
            var row: [ReportCell] = [
                .text(period.description), .text(currency.code), .text(line.id), .text(line.kind.rawValue),
                .text(line.grantID), .text(line.operatorID), .text(line.datasetID), .text(line.authorityID),
                .text(line.unit?.rawValue), .text(line.scenario?.rawValue), .integer(line.quantity), .price(line.unitPrice),
                line.tiers.isEmpty ? .empty : .text(Self.tiersText(line.tiers, currency: currency)),
                .money(line.amountMinor, in: currency), .integer(line.amountMinor),
                .integer(line.authorityBPS), .money(line.authorityMinor, in: currency), .integer(line.authorityMinor),
                .integer(line.platformBPS), .money(line.platformMinor, in: currency), .integer(line.platformMinor),
                .money(line.operatorMinor, in: currency), .integer(line.operatorMinor),
                .integer(line.eventCount), .index(line.logIndexFirst), .index(line.logIndexLast),
                .text(line.corrects), .text(line.reason),
            ]
            if formatVersion >= 2 {
                row += [.text(line.source?.rawValue), .integer(line.declaredQuantity), .integer(line.gatewayQuantity)]
            }
            if formatVersion >= 3 {
                row += [.integer(line.upstreamQuantity), line.providerQuantity.map { .integer($0) } ?? .empty]
            }
            return row
        }
    }

    /// One row per party, sorted by party, cells as ``partyColumns`` names them.
    var partyRows: [[ReportCell]] {
        parties.map { party in
            [
                .text(period.description), .text(currency.code), .text(party.party.description),
                .money(party.amountMinor, in: currency), .integer(party.amountMinor),
            ]
        }
    }

    /// `1-100@0.015=1.50; 101-1000@0.011=9.90; 1001-@0.005=0.01`: each step's units, price and
    /// amount, an open last step without an upper bound.
    static func tiersText(_ tiers: [TierCharge], currency: Currency) -> String {
        tiers.map { tier in
            "\(tier.from)-\(tier.upTo.map(String.init) ?? "")@\(tier.unitPrice)=\(MinorUnits.decimal(tier.amountMinor, in: currency))"
        }.joined(separator: "; ")
    }
}
