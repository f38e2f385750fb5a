import AuditLog
import Metering
import Licensing

// The XLSX report: a minimal Office Open XML (ECMA-376) workbook with two sheets, `Summary` and
// `Lines`, written by hand so that the same report always gives the same bytes. Numbers are numeric
// cells holding exact decimal text; text is inline strings, so no cell is ever a formula.

extension SettlementReport {
    func xlsxBytes() -> [UInt8] {
        var archive = ZIPArchive()
        archive.add("[Content_Types].xml", Array(XLSX.contentTypes.utf8))
        archive.add("_rels/.rels", Array(XLSX.rootRelationships.utf8))
        archive.add("xl/workbook.xml", Array(XLSX.workbook.utf8))
        archive.add("xl/_rels/workbook.xml.rels", Array(XLSX.workbookRelationships.utf8))
        archive.add("xl/styles.xml", Array(XLSX.styles(moneyFormat: moneyFormat).utf8))
        archive.add("xl/worksheets/sheet1.xml", Array(XLSX.sheet(summaryRows, widths: [18, 16, 16], frozenHeader: false).utf8))
        archive.add("xl/worksheets/sheet2.xml", Array(XLSX.sheet(
            [lineColumnNames.map(XLSX.Cell.header)] + lineRows.map { $0.map(XLSX.Cell.init) },
            widths: lineColumnNames.map(XLSX.width(ofColumn:)), frozenHeader: true).utf8))
        return archive.bytes()
    }

    /// `0.00` for a currency with two minor-unit digits, `0` for none.
    var moneyFormat: String {
        currency.minorUnitDigits == 0 ? "0" : "0." + String(repeating: "0", count: currency.minorUnitDigits)
    }

    /// The `Summary` sheet: the period's facts, its totals, then the parties table. Empty rows
    /// (nil) separate the blocks.
    var summaryRows: [[XLSX.Cell]?] {
        func fact(_ name: String, _ cell: ReportCell) -> [XLSX.Cell] { [.header(name), XLSX.Cell(cell)] }
        func total(_ name: String, _ minor: Int64) -> [XLSX.Cell] {
            [.header(name), XLSX.Cell(.money(minor, in: currency)), XLSX.Cell(.integer(minor))]
        }
        var rows: [[XLSX.Cell]?] = [
            fact("period", .text(period.description)),
            fact("currency", .text(currency.code)),
            fact("status", .text("closed")),
            fact("closed_at", .text(Timestamp.format(Timestamp.milliseconds(closedAt)))),
            fact("platform_fee_bps", .integer(platformFeeBPS)),
            fact("line_count", .integer(totals.lineCount)),
            fact("event_count", .integer(totals.eventCount)),
            nil,
            ["total", "amount", "amount_minor"].map(XLSX.Cell.header),
            total("gross", totals.grossMinor),
            total("authority", totals.authorityMinor),
            total("platform", totals.platformMinor),
            total("operator", totals.operatorMinor),
            nil,
            ["party", "amount", "amount_minor"].map(XLSX.Cell.header),
        ]
        rows += parties.map { party in
            [XLSX.Cell(.text(party.party.description)), XLSX.Cell(.money(party.amountMinor, in: currency)),
             XLSX.Cell(.integer(party.amountMinor))]
        }
        return rows
    }
}

/// The fixed parts of the workbook and the writing of sheets.
enum XLSX {
    /// A cell as a sheet holds it: a report cell, with header text shown bold.
    struct Cell {
        let value: ReportCell
        let isHeader: Bool

        init(_ value: ReportCell) {
            self.value = value
            isHeader = false
        }

        static func header(_ text: String) -> Cell {
            Cell(value: .text(text), isHeader: true)
        }

        private init(value: ReportCell, isHeader: Bool) {
            self.value = value
            self.isHeader = isHeader
        }

        /// The index into `cellXfs` of styles.xml.
        var style: Int {
            switch value {
            case .number(_, .money): 1
            case .number(_, .integer): 2
            case .number(_, .general), .empty: 0
            case .text: isHeader ? 3 : 0
            }
        }
    }

    static let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
    static let mainNamespace = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    static let relationshipNamespace = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    static let packageRelationshipNamespace = "http://schemas.openxmlformats.org/package/2006/relationships"

    static let contentTypes = declaration
        + "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
        + "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
        + "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
        + "<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
        + "<Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>"
        + "<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        + "<Override PartName=\"/xl/worksheets/sheet2.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        + "</Types>"

    static let rootRelationships = declaration
        + "<Relationships xmlns=\"\(packageRelationshipNamespace)\">"
        + "<Relationship Id=\"rId1\" Type=\"\(relationshipNamespace)/officeDocument\" Target=\"xl/workbook.xml\"/>"
        + "</Relationships>"

    static let workbook = declaration
        + "<workbook xmlns=\"\(mainNamespace)\" xmlns:r=\"\(relationshipNamespace)\">"
        + "<sheets><sheet name=\"Summary\" sheetId=\"1\" r:id=\"rId1\"/><sheet name=\"Lines\" sheetId=\"2\" r:id=\"rId2\"/></sheets>"
        + "</workbook>"

    static let workbookRelationships = declaration
        + "<Relationships xmlns=\"\(packageRelationshipNamespace)\">"
        + "<Relationship Id=\"rId1\" Type=\"\(relationshipNamespace)/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
        + "<Relationship Id=\"rId2\" Type=\"\(relationshipNamespace)/worksheet\" Target=\"worksheets/sheet2.xml\"/>"
        + "<Relationship Id=\"rId3\" Type=\"\(relationshipNamespace)/styles\" Target=\"styles.xml\"/>"
        + "</Relationships>"

    /// Four cell formats: 0 general, 1 money (`moneyFormat`, e.g. `0.00`), 2 whole number (`0`),
    /// 3 bold header text.
    static func styles(moneyFormat: String) -> String {
        declaration
            + "<styleSheet xmlns=\"\(mainNamespace)\">"
            + "<numFmts count=\"1\"><numFmt numFmtId=\"164\" formatCode=\"\(escaped(moneyFormat))\"/></numFmts>"
            + "<fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font>"
            + "<font><b/><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>"
            + "<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill></fills>"
            + "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"
            + "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>"
            + "<cellXfs count=\"4\">"
            + "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>"
            + "<xf numFmtId=\"164\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
            + "<xf numFmtId=\"1\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
            + "<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>"
            + "</cellXfs>"
            + "<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>"
            + "</styleSheet>"
    }

    /// A worksheet of `rows` (nil: an empty row), numbered from 1; empty cells are left out.
    static func sheet(_ rows: [[Cell]?], widths: [Int], frozenHeader: Bool) -> String {
        var xml = declaration + "<worksheet xmlns=\"\(mainNamespace)\">"
        if frozenHeader {
            xml += "<sheetViews><sheetView workbookViewId=\"0\">"
                + "<pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>"
                + "</sheetView></sheetViews>"
        }
        xml += grid(rows, widths: widths) { reference, cell in
            let style = cell.style == 0 ? "" : " s=\"\(cell.style)\""
            switch cell.value {
            case .empty:
                return nil
            case .number(let text, _):
                return "<c r=\"\(reference)\"\(style)><v>\(text)</v></c>"
            case .text(let text):
                return "<c r=\"\(reference)\"\(style) t=\"inlineStr\"><is><t xml:space=\"preserve\">\(escaped(text))</t></is></c>"
            }
        }
        return xml + "</worksheet>"
    }

    /// A sheet's `<cols>` for `widths` and its `<sheetData>`: the rows numbered from 1 (nil: an
    /// empty row, written as none), each cell as `cell` writes it given its reference (`B7`), or
    /// left out where `cell` gives nil.
    static func grid<Value>(_ rows: [[Value]?], widths: [Int], cell: (String, Value) -> String?) -> String {
        var xml = "<cols>"
        for (index, width) in widths.enumerated() {
            xml += "<col min=\"\(index + 1)\" max=\"\(index + 1)\" width=\"\(width)\" customWidth=\"1\"/>"
        }
        xml += "</cols><sheetData>"
        for (rowIndex, row) in rows.enumerated() {
            guard let row else { continue }
            let number = rowIndex + 1
            xml += "<row r=\"\(number)\">"
            for (columnIndex, value) in row.enumerated() {
                if let written = cell("\(column(columnIndex))\(number)", value) { xml += written }
            }
            xml += "</row>"
        }
        return xml + "</sheetData>"
    }

    /// `A`…`Z`, `AA`…: the letters of the zero-based column `index`.
    static func column(_ index: Int) -> String {
        var index = index + 1
        var letters: [Character] = []
        while index > 0 {
            index -= 1
            letters.insert(Character(Unicode.Scalar(UInt8(ascii: "A") + UInt8(index % 26))), at: 0)
            index /= 26
        }
        return String(letters)
    }

    /// Room for what a column usually holds, in characters.
    static func width(ofColumn name: String) -> Int {
        switch name {
        case "line_id", "corrects", "reason", "tiers": 40
        case "period", "currency", "kind", "unit", "source": 10
        default: 16
        }
    }

    /// `text` as XML character data: markup characters escaped, CR kept as a reference (a parser
    /// would turn a raw one into LF), and characters XML 1.0 cannot hold (controls other than tab,
    /// LF and CR; U+FFFE, U+FFFF) replaced by U+FFFD.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out.unicodeScalars.append("\u{FFFD}")
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
