import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

@Suite("The CSV reports: RFC 4180, quoted only when needed, no formulas")
struct ReportCSVTests {
    @Test("fields are quoted only when they hold a comma, a quote, CR or LF; quotes are doubled", arguments: [
        ("plain", "plain"),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("two\nlines", "\"two\nlines\""),
        ("cr\rhere", "\"cr\rhere\""),
        ("", ""),
        ("北京市大数据中心", "北京市大数据中心"),
        ("北京，上海", "北京，上海"),  // a full-width comma is not a separator
        ("北京,上海", "\"北京,上海\""),
    ])
    func quoting(field: String, expected: String) {
        #expect(CSV.quoted(field) == expected)
    }

    @Test("text a spreadsheet would run as a formula gets a leading apostrophe", arguments: [
        ("=1+2", "'=1+2"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindent", "'\tindent"),
        ("\rx", "'\rx"),
        ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
        ("-5", "-5"),
        ("-0.05", "-0.05"),
        ("+7", "+7"),
        ("-", "'-"),
        ("-.5", "'-.5"),
        ("a=b", "a=b"),
        ("op_1", "op_1"),
        ("＝1+2", "＝1+2"),
    ])
    func formulas(text: String, expected: String) {
        #expect(CSV.defused(text) == expected)
    }

    /// A report of one adjustment line whose user-given reason is `reason`.
    func report(reason: String, operatorID: String = "op_1") -> SettlementReport {
        let line = SettlementLine(
            id: "2026-10/adjustment/adj_1", kind: .adjustment, grantID: "grt_1", operatorID: operatorID, datasetID: "ds",
            authorityID: "bj", unit: .call, scenario: .industry, quantity: 0, unitPrice: nil, tiers: [], amountMinor: -5,
            authorityBPS: 3_000, platformBPS: 1_000, authorityMinor: -2, platformMinor: 0, operatorMinor: -3,
            eventCount: 0, logIndexFirst: nil, logIndexLast: nil, corrects: "2026-09/grt_1/ds/call", reason: reason)
        return SettlementReport(period: SampleReport.period, currency: .cny, platformFeeBPS: 1_000,
                                closedAt: SampleReport.closedAt, lines: [line])
    }

    @Test("user text comes back from a CSV reader as written, apart from the apostrophe", arguments: [
        ("comma, inside", "comma, inside"),
        ("a \"quote\"", "a \"quote\""),
        ("line one\r\nline two\nthree", "line one\r\nline two\nthree"),
        ("重复计费，已退款", "重复计费，已退款"),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("@x, \"y\"\n", "'@x, \"y\"\n"),
    ])
    func userText(reason: String, expected: String) throws {
        let (header, records) = try csvRecords(report(reason: reason, operatorID: "-op").rendered(as: .csv))
        #expect(header == SettlementReport.lineColumns)
        let record = try #require(records.first)
        #expect(record["reason"] == expected)
        #expect(record["operator_id"] == "'-op")
        #expect(record["amount"] == "-0.05" && record["amount_minor"] == "-5")
        #expect(record["authority_amount"] == "-0.02" && record["operator_minor"] == "-3")
    }

    @Test("UTF-8 without a byte order mark, CRLF after every row, the header first")
    func encoding() throws {
        let bytes = try SampleReport.report().rendered(as: .csv)
        #expect(Array(bytes.prefix(3)) != [0xEF, 0xBB, 0xBF])
        #expect(String(validating: bytes, as: UTF8.self) != nil)
        #expect(bytes.suffix(2) == [0x0D, 0x0A])
        let header = SettlementReport.lineColumns.joined(separator: ",") + "\r\n"
        #expect(Array(bytes.prefix(header.utf8.count)) == Array(header.utf8))
        #expect(try csvRows(bytes).count == 7)
    }

    @Test("a line shows its steps, both amount forms and its trace to the log")
    func lineColumns() throws {
        let (_, records) = try csvRecords(try SampleReport.report().rendered(as: .csv))
        let graduated = records[1]
        #expect(graduated["tiers"] == "1-100@0.015=1.50; 101-1000@0.011=9.90; 1001-@0.005=0.01")
        #expect(graduated["unit_price"] == "" && graduated["amount"] == "11.41" && graduated["amount_minor"] == "1141")
        #expect(graduated["log_index_first"] == "120" && graduated["log_index_last"] == "236")
        let zero = records[2]
        #expect(zero["scenario"] == "public_interest" && zero["amount_minor"] == "0" && zero["unit_price"] == "0")
        let adjustment = records[3]
        #expect(adjustment["corrects"] == "2026-09/grt_b2/gz-transit/call")
        #expect(adjustment["amount"] == "-12.35" && adjustment["log_index_first"] == "")
    }

    @Test("the parties CSV has one row per party and no total row")
    func parties() throws {
        let report = try SampleReport.report()
        let (header, records) = try csvRecords(report.partiesCSV())
        #expect(header == ["period", "currency", "party", "amount", "amount_minor"])
        #expect(records.map { $0["party"] } == report.parties.map(\.party.description))
        #expect(try records.reduce(Int64(0)) { try $0 + minorUnits($1["amount"] ?? "") } == report.totals.grossMinor)
    }

    @Test("a statement lists only the lines of its party, and only its total")
    func statement() throws {
        let report = try SampleReport.report()
        let statement = report.statement(for: .authority("sh"))
        let (_, records) = try csvRecords(statement.rendered(as: .csv))
        #expect(records.map { $0["line_id"] } == ["2026-10/grt_a1/sh-weather/record", "2026-10/clawback/op_a/sh"])
        #expect(records.allSatisfy { $0["authority_id"] == "sh" })
        let (_, parties) = try csvRecords(statement.partiesCSV())
        #expect(parties.map { $0["party"] } == ["authority:sh"])
        let owed = records.reduce(Int64(0)) { $0 + (Int64($1["authority_minor"] ?? "") ?? 0) }
        #expect(parties.first?["amount_minor"] == String(owed))
    }
}
