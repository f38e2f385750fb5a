import AuditLog
import Cryptography
import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

@Suite("Every rendering reconciles: random reports, seeded")
struct ReportPropertyTests {
    static let seeds: [UInt64] = Array(0..<60) + [0xDEAD_BEEF, 0x5EED_0000_0000_0001]

    @Test("renderings are deterministic: the same report gives the same bytes", arguments: seeds.prefix(20))
    func deterministic(seed: UInt64) throws {
        for format in ReportFormat.allCases {
            #expect(try randomReport(seed: seed).rendered(as: format) == randomReport(seed: seed).rendered(as: format))
        }
        #expect(try randomReport(seed: seed).partiesCSV() == randomReport(seed: seed).partiesCSV())
    }

    @Test("CSV, JSON and XLSX agree with the totals to the minor unit", arguments: seeds)
    func reconcile(seed: UInt64) throws {
        let report = try randomReport(seed: seed)
        let totals = report.totals

        // CSV: each column of minor units sums to its total, and each decimal equals its minor units.
        let (_, records) = try csvRecords(report.rendered(as: .csv))
        #expect(records.count == totals.lineCount)
        func sum(_ column: String) throws -> Int64 { try records.reduce(0) { $0 + (try #require(Int64($1[column] ?? ""))) } }
        #expect(try sum("amount_minor") == totals.grossMinor)
        #expect(try sum("authority_minor") == totals.authorityMinor)
        #expect(try sum("platform_minor") == totals.platformMinor)
        #expect(try sum("operator_minor") == totals.operatorMinor)
        #expect(try sum("event_count") == totals.eventCount)
        for record in records {
            for (decimal, minor) in [("amount", "amount_minor"), ("authority_amount", "authority_minor"),
                                     ("platform_amount", "platform_minor"), ("operator_amount", "operator_minor")] {
                #expect(try minorUnits(record[decimal] ?? "") == Int64(record[minor] ?? ""))
            }
        }

        // JSON parties: each party's amount is the CSV's sum of its parts; the parties CSV says the same.
        var owed: [String: Int64] = [:]
        for record in records {
            owed["authority:\(record["authority_id"] ?? "")", default: 0] += Int64(record["authority_minor"] ?? "") ?? 0
            owed["platform", default: 0] += Int64(record["platform_minor"] ?? "") ?? 0
            owed["operator:\(record["operator_id"] ?? "")", default: 0] += Int64(record["operator_minor"] ?? "") ?? 0
        }
        let json = try JSONValue.parse(report.rendered(as: .json))
        let parties = try #require(json["parties"]?.arrayValue)
        #expect(parties.count == owed.count)
        for party in parties {
            let name = try #require(party["party"]?.stringValue)
            #expect(party["amount_minor"]?.integerValue.map(Int64.init) == owed[name], "\(name)")
        }
        let (_, partyRecords) = try csvRecords(report.partiesCSV())
        #expect(partyRecords.map { $0["party"] ?? "" } == parties.map { $0["party"]?.stringValue ?? "" })
        #expect(partyRecords.map { Int64($0["amount_minor"] ?? "") } == parties.map { $0["amount_minor"]?.integerValue.map(Int64.init) })
        #expect(json["totals"] == totals.json)

        // XLSX: the Lines sheet's numeric cells sum to the same totals, in both forms.
        let sheet = try SheetReader.read(try #require(xlsxParts(report.rendered(as: .xlsx))["xl/worksheets/sheet2.xml"]))
        let columns = SettlementReport.lineColumns
        // Format 4 has two header rows (titles, keys); earlier formats one.
        let firstRow = report.formatVersion >= 4 ? 3 : 2
        func column(_ name: String) throws -> [SheetCell] {
            let index = try #require(columns.firstIndex(of: name))
            return try (0..<totals.lineCount).map { try #require(sheet.cells["\(XLSX.column(index))\($0 + firstRow)"]) }
        }
        let minor = try column("amount_minor")
        #expect(minor.allSatisfy { $0.type == nil })
        #expect(try minor.reduce(Int64(0)) { $0 + (try #require(Int64($1.value))) } == totals.grossMinor)
        #expect(try column("amount").reduce(Int64(0)) { $0 + (try minorUnits($1.value)) } == totals.grossMinor)
        #expect(try column("operator_minor").reduce(Int64(0)) { $0 + (try #require(Int64($1.value))) } == totals.operatorMinor)
    }

    @Test("each line's parts sum to it, each within one minor unit of its exact share", arguments: seeds)
    func largestRemainder(seed: UInt64) throws {
        for line in try randomReport(seed: seed).lines where line.kind != .clawback {
            #expect(line.authorityMinor + line.platformMinor + line.operatorMinor == line.amountMinor)
            let operatorBPS = 10_000 - line.authorityBPS - line.platformBPS
            for (part, bps) in [(line.authorityMinor, line.authorityBPS), (line.platformMinor, line.platformBPS),
                                (line.operatorMinor, operatorBPS)] {
                let exact = Double(line.amountMinor) * Double(bps) / 10_000
                #expect(abs(Double(part) - exact) < 1, "\(line.id): \(part) for \(exact)")
                #expect(part == 0 || (part < 0) == (line.amountMinor < 0), "a part has the line's sign")
            }
        }
    }

    @Test("a negative amount splits as the mirror of its positive", arguments: seeds.prefix(20))
    func mirror(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let authority = Int.random(in: 0...10_000, using: &random)
        let split = ShareSplit(revenueShareBPS: authority, platformFeeBPS: Int.random(in: 0...10_000, using: &random))
        let amount = Int64.random(in: 1...10_000_000, using: &random)
        let positive = split.split(amount), negative = split.split(-amount)
        #expect(negative.authority == -positive.authority && negative.platform == -positive.platform
            && negative.operator == -positive.operator)
        #expect(split.authorityBPS + split.platformBPS <= 10_000)
        #expect(split.authorityBPS == authority, "the authority's share comes first")
    }

    @Test("an adjustment mirrors the split of the line it corrects", arguments: seeds.prefix(30))
    func adjustments(seed: UInt64) throws {
        let input = randomInput(seed: seed)
        let report = try PeriodClose.settle(input, closedAt: SampleReport.closedAt)
        for adjustment in input.adjustments {
            let line = try #require(report.line("\(input.period)/adjustment/\(adjustment.id)"))
            let split = ShareSplit(revenueShareBPS: adjustment.corrected.authorityBPS, platformFeeBPS: adjustment.corrected.platformBPS)
            let parts = split.split(adjustment.amountMinor)
            #expect(line.amountMinor == adjustment.amountMinor && line.corrects == adjustment.corrected.id)
            #expect(line.authorityMinor == parts.authority && line.platformMinor == parts.platform && line.operatorMinor == parts.operator)
        }
    }

    @Test("clawbacks move exactly the excess over the cap from the operator to its authorities", arguments: seeds)
    func clawbacks(seed: UInt64) throws {
        let input = randomInput(seed: seed)
        let report = try PeriodClose.settle(input, closedAt: SampleReport.closedAt)
        for operatorID in Set(report.lines.map(\.operatorID)) {
            let own = report.lines.filter { $0.operatorID == operatorID }
            let claws = own.filter { $0.kind == .clawback }
            let earned = own.filter { $0.kind != .clawback }.reduce(Int64(0)) { $0 + $1.operatorMinor }
            guard let cap = input.revenueCaps[operatorID] else {
                #expect(claws.isEmpty)
                continue
            }
            let room = max(0, cap - (input.incomeBefore[operatorID] ?? 0))
            let excess = max(0, earned - room)
            #expect(claws.reduce(Int64(0)) { $0 + $1.authorityMinor } == excess)
            #expect(claws.allSatisfy { $0.amountMinor == 0 && $0.platformMinor == 0 && $0.operatorMinor == -$0.authorityMinor && $0.authorityMinor > 0 })
            if excess > 0 { #expect(earned + claws.reduce(Int64(0)) { $0 + $1.operatorMinor } == room) }
        }
    }

    @Test("a statement's renderings hold only its party's lines and total", arguments: seeds.prefix(20))
    func statements(seed: UInt64) throws {
        let report = try randomReport(seed: seed)
        for party in report.parties.map(\.party) {
            let statement = report.statement(for: party)
            #expect(statement.lines.allSatisfy { $0.concerns(party) })
            #expect(statement.parties.map(\.party) == [party])
            let (_, records) = try csvRecords(statement.rendered(as: .csv))
            #expect(records.map { $0["line_id"] } == report.lines.filter { $0.concerns(party) }.map(\.id))
            let (_, partyRecords) = try csvRecords(statement.partiesCSV())
            #expect(partyRecords.map { $0["party"] } == [party.description])
            #expect(try SettlementReport(json: statement.rendered(as: .json)) == statement)
        }
    }
}
