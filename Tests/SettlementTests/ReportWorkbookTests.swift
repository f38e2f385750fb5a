import AuditLog
import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

/// The XLSX of format 4: laid out for a Chinese accountant, and still the report the strict CSV is.
/// `Tests/Office/check_xlsx.py` opens it with openpyxl and LibreOffice (`ReportOfficeTests`).
@Suite("The XLSX for its readers (format 4)")
struct ReportWorkbookTests {
    static func sheets(_ report: SettlementReport) throws -> (summary: SheetReader, lines: SheetReader, xml: String, workbook: String) {
        let parts = try xlsxParts(report.rendered(as: .xlsx))
        let linesXML = try #require(parts["xl/worksheets/sheet2.xml"])
        return (try SheetReader.read(try #require(parts["xl/worksheets/sheet1.xml"])), try SheetReader.read(linesXML),
                String(decoding: linesXML, as: UTF8.self), String(decoding: try #require(parts["xl/workbook.xml"]), as: UTF8.self))
    }

    @Test("Chinese titles over the CSV's keys, an autofilter on the key row, panes frozen under both")
    func headers() throws {
        let report = try SampleReport.report()
        let (_, lines, xml, workbook) = try Self.sheets(report)
        let columns = SettlementReport.lineColumns
        let titles = lines.row(1, columns: columns.count).map { $0?.value }
        #expect(titles.first == "结算期间")
        #expect(titles[columns.firstIndex(of: "amount") ?? 0] == "金额")
        #expect(titles.allSatisfy { title in title.map { $0.unicodeScalars.contains { $0.value >= 0x4E00 } } ?? false },
                "every column has a Chinese title")
        #expect(lines.row(2, columns: columns.count).map { $0?.value } == columns, "the second row is the strict CSV's header")
        #expect(lines.rows == Array(1...(2 + report.lines.count)))
        let last = XLSX.column(columns.count - 1)
        #expect(xml.contains("<autoFilter ref=\"A2:\(last)\(2 + report.lines.count)\"/>"))
        #expect(xml.contains("<pane ySplit=\"2\" topLeftCell=\"A3\" activePane=\"bottomLeft\" state=\"frozen\"/>"))
        #expect(workbook.contains("<sheet name=\"汇总 Summary\"") && workbook.contains("<sheet name=\"明细 Lines\""))
        #expect(workbook.contains("'明细 Lines'!$A$2:$\(last)$\(2 + report.lines.count)"))
    }

    @Test("money is numbers in #,##0.00, the period a date, counts grouped, ids and minor units plain")
    func types() throws {
        let report = try SampleReport.report()
        let (_, lines, _, _) = try Self.sheets(report)
        let columns = SettlementReport.lineColumns
        let first = Dictionary(uniqueKeysWithValues: zip(columns, lines.row(3, columns: columns.count)))
        #expect(first["amount"] == SheetCell(type: nil, style: "1", value: "493.80"))
        #expect(first["authority_amount"] == SheetCell(type: nil, style: "1", value: "148.14"))
        #expect(first["amount_minor"] == SheetCell(type: nil, style: "2", value: "49380"))
        #expect(first["quantity"] == SheetCell(type: nil, style: "6", value: "12345"))
        #expect(first["log_index_first"] == SheetCell(type: nil, style: "2", value: "110"))
        // 2026-10-01 is day 46296 since 1899-12-30.
        #expect(first["period"] == SheetCell(type: nil, style: "4", value: "46296"))
        #expect(first["operator_id"] == SheetCell(type: "inlineStr", style: nil, value: "op_a"))
        let adjustment = Dictionary(uniqueKeysWithValues: zip(columns, lines.row(6, columns: columns.count)))
        #expect(adjustment["amount"]??.value == "-12.35")
        #expect(adjustment["reason"]??.value == "retries counted twice, see \"ticket 4471\"; 重复计费")
        let styles = String(decoding: try #require(try xlsxParts(report.rendered(as: .xlsx))["xl/styles.xml"]), as: UTF8.self)
        #expect(styles.contains(##"<numFmt numFmtId="164" formatCode="#,##0.00"/>"##))
        #expect(styles.contains(#"formatCode="yyyy\-mm""#))
    }

    @Test("the summary has the close as a date, the totals, the parties and the totals per authority")
    func summary() throws {
        let report = try SampleReport.report()
        let (summary, _, _, _) = try Self.sheets(report)
        #expect(summary.row(2, columns: 3).map { $0?.value } == ["期间", "period", "46296"])
        // 2026-11-03T02:00:00.000Z: day 46329 and 2/24 of a day.
        #expect(summary.row(5, columns: 3)[2] == SheetCell(type: nil, style: "5", value: "46329.0833333333"))
        #expect(summary.row(9, columns: 4).map { $0?.value } == ["总金额", "gross", "492.86", "49286"])
        var byKey: [String: [SheetCell?]] = [:]
        for row in summary.rows { if let key = summary.row(row, columns: 2)[1]?.value { byKey[key] = summary.row(row, columns: 7) } }
        // Each authority's own part is its party amount; the totals row adds up to the period's.
        for total in report.authorityTotals {
            let row = try #require(byKey[total.authorityID], "a row for \(total.authorityID)")
            let party = try #require(report.parties.first { $0.party == .authority(total.authorityID) })
            #expect(row[3]?.value == MinorUnits.decimal(party.amountMinor, in: .cny))
            #expect(row[2]?.value == MinorUnits.decimal(total.grossMinor, in: .cny))
        }
        #expect(report.authorityTotals.map(\.authorityID) == ["bj", "gz", "sh"])
        #expect(report.authorityTotals.map(\.grossMinor).reduce(0, +) == report.totals.grossMinor)
        #expect(byKey["total"]?[2]?.value == "492.86")
        #expect(byKey["operator:op_a"]?[0]?.value == "运营方")
    }

    @Test("the strict CSV of format 4 is format 3's byte for byte; only the XLSX changed")
    func csvUnchanged() throws {
        let four = try SampleReport.report()
        let three = try SampleReport.report(formatVersion: 3)
        #expect(four.rendered(as: .csv) == three.rendered(as: .csv))
        #expect(four.partiesCSV() == three.partiesCSV())
        #expect(four.rendered(as: .xlsx) != three.rendered(as: .xlsx))
        #expect(try Vectors.bytes("settlement/report.csv") == Vectors.bytes("settlement/format-3/report.csv"))
    }

    @Test("the CSV for Excel is the strict CSV behind a UTF-8 byte order mark, CRLF kept")
    func excelCSV() throws {
        let strict = try SampleReport.report().rendered(as: .csv)
        let excel = ExcelCSV.bytes(strict)
        #expect(Array(excel.prefix(3)) == [0xEF, 0xBB, 0xBF])
        #expect(Array(excel.dropFirst(3)) == strict)
        #expect(!strict.starts(with: [0xEF, 0xBB, 0xBF]))
        let text = String(decoding: excel.dropFirst(3), as: UTF8.self)
        #expect(text.split(separator: "\r\n", omittingEmptySubsequences: false).count == (try SampleReport.report()).lines.count + 2)
    }

    @Test("serial dates: the spreadsheet epoch, leap years, the millisecond",
          arguments: [(0, "25569"), (86_400_000, "25570"), (951_782_400_000, "36585"), (1_793_671_200_000, "46329.0833333333"),
                      (1, "25569.0000000116"), (-1, "25568.9999999884")] as [(Int64, String)])
    func serials(milliseconds: Int64, serial: String) {
        #expect(Workbook.serial(ofMilliseconds: milliseconds) == serial)
    }

    @Test("a period's serial is its first day", arguments: [(1970, 1, "25569"), (2000, 3, "36586"), (2026, 10, "46296"), (9999, 12, "2958435")])
    func periodSerial(year: Int, month: Int, serial: String) throws {
        #expect(Workbook.serial(of: try #require(Period(year: year, month: month))) == serial)
    }
}
