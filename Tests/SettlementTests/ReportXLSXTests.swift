import Cryptography
import Foundation
import Licensing
import Metering
import Testing
@testable import Settlement

@Suite("The XLSX report of formats 1–3: a valid ZIP of well-formed parts with numeric amounts")
struct ReportXLSXTests {
    static let partNames = [
        "[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
        "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
    ]

    @Test("CRC-32 is ISO 3309's: the check value of 123456789, and the bitwise reference")
    func crc() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        var random = SplitMix64(seed: 7)
        for length in [1, 2, 3, 255, 256, 1_000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(CRC32.checksum(bytes) == referenceCRC32(bytes))
        }
    }

    @Test("the archive's directory, local headers and CRCs agree, and it holds exactly the workbook's parts")
    func archive() throws {
        let entries = try zipEntries(try SampleReport.report(formatVersion: 3).rendered(as: .xlsx))
        #expect(entries.map(\.name) == Self.partNames)
        for entry in entries {
            #expect(SheetReader.isWellFormed(entry.bytes), "\(entry.name) is well-formed XML")
        }
    }

    @Test("an empty archive is just an end record")
    func emptyArchive() throws {
        #expect(ZIPArchive().bytes() == [0x50, 0x4B, 0x05, 0x06] + Array(repeating: 0, count: 18))
        #expect(try zipEntries(ZIPArchive().bytes()).isEmpty)
    }

    @Test("the Lines sheet has the CSV's columns, numbers as numeric cells with exact decimal text")
    func lines() throws {
        let report = try SampleReport.report(formatVersion: 3)
        let sheet = try SheetReader.read(try #require(xlsxParts(report.rendered(as: .xlsx))["xl/worksheets/sheet2.xml"]))
        let columns = SettlementReport.lineColumns
        #expect(sheet.row(1, columns: columns.count).map { $0?.value } == columns)
        #expect(sheet.rows == Array(1...7))
        let first = Dictionary(uniqueKeysWithValues: zip(columns, sheet.row(2, columns: columns.count)))
        #expect(first["amount"] == SheetCell(type: nil, style: "1", value: "493.80"))
        #expect(first["amount_minor"] == SheetCell(type: nil, style: "2", value: "49380"))
        #expect(first["quantity"] == SheetCell(type: nil, style: "2", value: "12345"))
        #expect(first["unit_price"] == SheetCell(type: nil, style: nil, value: "0.04"))
        #expect(first["operator_id"] == SheetCell(type: "inlineStr", style: nil, value: "op_a"))
        #expect(first["corrects"] == .some(nil), "absent values are empty cells")
        let adjustment = Dictionary(uniqueKeysWithValues: zip(columns, sheet.row(5, columns: columns.count)))
        #expect(adjustment["reason"]??.value == "retries counted twice, see \"ticket 4471\"; 重复计费")
        #expect(adjustment["amount"]??.value == "-12.35")
    }

    @Test("the Summary sheet holds the period, its totals and the parties")
    func summary() throws {
        let report = try SampleReport.report(formatVersion: 3)
        let sheet = try SheetReader.read(try #require(xlsxParts(report.rendered(as: .xlsx))["xl/worksheets/sheet1.xml"]))
        #expect(sheet.row(1, columns: 2).map { $0?.value } == ["period", "2026-10"])
        #expect(sheet.row(4, columns: 2).map { $0?.value } == ["closed_at", "2026-11-03T02:00:00.000Z"])
        #expect(sheet.row(5, columns: 2)[1] == SheetCell(type: nil, style: "2", value: "1000"))
        #expect(sheet.row(10, columns: 3).map { $0?.value } == ["gross", MinorUnits.decimal(report.totals.grossMinor, in: .cny),
                                                                String(report.totals.grossMinor)])
        let partyRows = (16..<(16 + report.parties.count)).map { sheet.row($0, columns: 3) }
        #expect(partyRows.map { $0[0]?.value } == report.parties.map(\.party.description))
        #expect(partyRows.map { $0[2]?.value } == report.parties.map { String($0.amountMinor) })
        #expect(partyRows.allSatisfy { $0[1]?.type == nil && $0[1]?.style == "1" })
    }

    @Test("text is escaped and characters XML cannot hold are replaced")
    func escaping() throws {
        #expect(XLSX.escaped("a<b>&\"c\"") == "a&lt;b&gt;&amp;&quot;c&quot;")
        #expect(XLSX.escaped("tab\tlf\ncr\r") == "tab\tlf\ncr&#13;")
        #expect(XLSX.escaped("bell\u{07}nul\u{00}\u{FFFF}") == "bell\u{FFFD}nul\u{FFFD}\u{FFFD}")
        #expect(XLSX.escaped("北京 😀") == "北京 😀")

        let line = SettlementLine(
            id: "2026-10/adjustment/adj_x", kind: .adjustment, grantID: "g<1>", operatorID: "op&1", datasetID: nil,
            authorityID: "bj", unit: nil, scenario: nil, quantity: 0, unitPrice: nil, tiers: [], amountMinor: 1,
            authorityBPS: 0, platformBPS: 0, authorityMinor: 0, platformMinor: 0, operatorMinor: 1, eventCount: 0,
            logIndexFirst: nil, logIndexLast: nil, corrects: "x", reason: "=1+2\u{01}\r\n\"q\"")
        let report = SettlementReport(period: SampleReport.period, currency: .cny, platformFeeBPS: 0,
                                      closedAt: SampleReport.closedAt, lines: [line], formatVersion: 3)
        let sheet = try SheetReader.read(try #require(xlsxParts(report.rendered(as: .xlsx))["xl/worksheets/sheet2.xml"]))
        let row = Dictionary(uniqueKeysWithValues: zip(SettlementReport.lineColumns, sheet.row(2, columns: SettlementReport.lineColumns.count)))
        #expect(row["grant_id"]??.value == "g<1>" && row["operator_id"]??.value == "op&1")
        // Inline strings are never formulas, so the sheet keeps user text as it was written.
        #expect(row["reason"]??.value == "=1+2\u{FFFD}\r\n\"q\"")
    }

    @Test("column letters run A…Z, AA…", arguments: [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (51, "AZ"), (52, "BA"), (701, "ZZ"), (702, "AAA")])
    func columnLetters(index: Int, letters: String) {
        #expect(XLSX.column(index) == letters)
    }

    @Test("a yen report formats money with no places")
    func yen() throws {
        let jpy = try #require(Currency(code: "JPY"))
        let report = SettlementReport(period: SampleReport.period, currency: jpy, platformFeeBPS: 0, closedAt: SampleReport.closedAt, lines: [], formatVersion: 3)
        let styles = String(decoding: try #require(xlsxParts(report.rendered(as: .xlsx))["xl/styles.xml"]), as: UTF8.self)
        #expect(styles.contains("formatCode=\"0\""))
        #expect(try SampleReport.report(formatVersion: 3).moneyFormat == "0.00")
    }
}
