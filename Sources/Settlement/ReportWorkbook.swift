import AuditLog
import Licensing
import Metering

// The XLSX report from format 4 on: a workbook laid out for the accountant who opens it, not for a
// program. Chinese column titles with the contract's English keys on a second header row (the keys
// are the strict CSV's header, so the sheet lines up with the sealed CSV column for column), money as
// numbers shown `#,##0.00`, the period and the close as real dates, an autofilter on the key row and
// the panes frozen under both header rows, and a summary sheet with the totals per authority.
// Still deterministic, and still sealed: `settlement.closed` holds its SHA-256 like the others'.
// Formats 1–3 keep ReportXLSX.swift's layout byte for byte.

extension SettlementReport {
    func workbookBytes() -> [UInt8] {
        let lineCount = lines.count
        let columns = lineColumnNames
        let lastColumn = XLSX.column(columns.count - 1)
        let filterRange = "A2:\(lastColumn)\(lineCount + 2)"
        var archive = ZIPArchive()
        archive.add("[Content_Types].xml", Array(XLSX.contentTypes.utf8))
        archive.add("_rels/.rels", Array(XLSX.rootRelationships.utf8))
        archive.add("xl/workbook.xml", Array(Workbook.workbook(filterRange: filterRange).utf8))
        archive.add("xl/_rels/workbook.xml.rels", Array(XLSX.workbookRelationships.utf8))
        archive.add("xl/styles.xml", Array(Workbook.styles(money: workbookMoneyFormat).utf8))
        archive.add("xl/worksheets/sheet1.xml", Array(Workbook.sheet(workbookSummaryRows, widths: [22, 18, 16, 16, 16, 16, 16]).utf8))
        let header: [[Workbook.Cell]] = [
            columns.map { .header(Workbook.title(ofColumn: $0)) },
            columns.map { .header($0) },
        ]
        archive.add("xl/worksheets/sheet2.xml", Array(Workbook.sheet(
            header + workbookLineRows, widths: columns.map(Workbook.width(ofColumn:)), frozenRows: 2,
            autoFilter: filterRange).utf8))
        return archive.bytes()
    }

    /// `#,##0.00` for a currency with two minor-unit digits, `#,##0` for none.
    var workbookMoneyFormat: String {
        currency.minorUnitDigits == 0 ? "#,##0" : "#,##0." + String(repeating: "0", count: currency.minorUnitDigits)
    }

    /// The `明细 Lines` rows under the two header rows: the CSV's cells, typed for a spreadsheet.
    var workbookLineRows: [[Workbook.Cell]] {
        let columns = lineColumnNames
        return lineRows.map { row in
            zip(columns, row).map { name, cell in
                if name == "period" { return .number(Workbook.serial(of: period), style: Workbook.Style.month) }
                return Workbook.Cell(cell, column: name)
            }
        }
    }

    /// The totals each authority's lines make, in authority id order: what it is owed and what the
    /// lines of its datasets earned in all.
    public var authorityTotals: [AuthorityTotal] {
        var totals: [String: AuthorityTotal] = [:]
        for line in lines {
            totals[line.authorityID, default: AuthorityTotal(authorityID: line.authorityID)].add(line)
        }
        return totals.keys.sorted().compactMap { totals[$0] }
    }

    /// The `汇总 Summary` sheet: the period's facts and totals, the parties, then the totals per
    /// authority. Empty rows (nil) separate the blocks.
    var workbookSummaryRows: [[Workbook.Cell]?] {
        typealias Cell = Workbook.Cell
        func money(_ minor: Int64) -> Cell { Cell(.money(minor, in: currency), column: "amount") }
        func minor(_ value: Int64) -> Cell { Cell(.integer(value), column: "amount_minor") }
        func count(_ value: Int64) -> Cell { Cell(.integer(value), column: "quantity") }
        var rows: [[Cell]?] = [
            ["项目", "item", "金额 / 值", "金额（最小货币单位）"].map(Cell.header),
            [.text("期间"), .text("period"), .number(Workbook.serial(of: period), style: Workbook.Style.month)],
            [.text("币种"), .text("currency"), .text(currency.code)],
            [.text("状态"), .text("status"), .text("closed")],
            [.text("结算关闭时间（UTC）"), .text("closed_at"), .number(Workbook.serial(ofMilliseconds: Timestamp.milliseconds(closedAt)),
                                                                  style: Workbook.Style.dateTime)],
            [.text("平台费率（基点）"), .text("platform_fee_bps"), Cell(.integer(platformFeeBPS), column: "platform_fee_bps")],
            [.text("明细行数"), .text("line_count"), count(Int64(totals.lineCount))],
            [.text("用量事件数"), .text("event_count"), count(totals.eventCount)],
            [.text("总金额"), .text("gross"), money(totals.grossMinor), minor(totals.grossMinor)],
            [.text("数据提供机构分成合计"), .text("authority"), money(totals.authorityMinor), minor(totals.authorityMinor)],
            [.text("平台服务费合计"), .text("platform"), money(totals.platformMinor), minor(totals.platformMinor)],
            [.text("运营方所得合计"), .text("operator"), money(totals.operatorMinor), minor(totals.operatorMinor)],
            nil,
            ["参与方", "party", "金额", "amount_minor"].map(Cell.header),
        ]
        rows += parties.map { party in
            let kind = switch party.party {
            case .authority: "数据提供机构"
            case .platform: "平台"
            case .operator: "运营方"
            }
            return [.text(kind), .text(party.party.description), money(party.amountMinor), minor(party.amountMinor)]
        }
        rows += [
            nil,
            ["按数据提供机构合计", "authority_id", "总金额", "机构分成", "平台服务费", "运营方所得", "明细行数"].map(Cell.header),
            ["", "", "gross", "authority_amount", "platform_amount", "operator_amount", "line_count"].map(Cell.header),
        ]
        let byAuthority = authorityTotals
        rows += byAuthority.map { total in
            [.text("数据提供机构"), .text(total.authorityID), money(total.grossMinor), money(total.authorityMinor),
             money(total.platformMinor), money(total.operatorMinor), count(Int64(total.lineCount))]
        }
        rows.append([.header("合计"), .header("total"), money(totals.grossMinor), money(totals.authorityMinor),
                     money(totals.platformMinor), money(totals.operatorMinor), count(Int64(totals.lineCount))])
        return rows
    }
}

/// What the lines of one authority's datasets (and the clawbacks to it) add up to.
public struct AuthorityTotal: Sendable, Hashable {
    public let authorityID: String
    /// The lines' gross amount.
    public private(set) var grossMinor: Int64 = 0
    /// The authority's own parts: what it is owed, its party amount.
    public private(set) var authorityMinor: Int64 = 0
    public private(set) var platformMinor: Int64 = 0
    public private(set) var operatorMinor: Int64 = 0
    public private(set) var lineCount = 0

    init(authorityID: String) { self.authorityID = authorityID }

    mutating func add(_ line: SettlementLine) {
        grossMinor += line.amountMinor
        authorityMinor += line.authorityMinor
        platformMinor += line.platformMinor
        operatorMinor += line.operatorMinor
        lineCount += 1
    }
}

/// The format-4 workbook's fixed parts and sheet writing; ZIP, escaping and column letters are
/// ``XLSX``'s.
enum Workbook {
    /// Indexes into `cellXfs` of styles.xml.
    enum Style {
        static let general = 0
        static let money = 1
        /// Minor units, basis points, log indexes: digits only, as the CSV writes them.
        static let plain = 2
        static let header = 3
        /// A period: its first day, shown `yyyy-mm`.
        static let month = 4
        /// A moment, shown `yyyy-mm-dd hh:mm:ss`.
        static let dateTime = 5
        /// Quantities and counts, grouped `#,##0`.
        static let count = 6
    }

    enum Cell: ExpressibleByStringLiteral {
        case text(String, bold: Bool = false)
        case number(String, style: Int)

        init(stringLiteral value: String) { self = .text(value) }

        static func header(_ text: String) -> Cell { .text(text, bold: true) }

        /// A report cell in the column `name`: integers that are amounts or ids of a kind stay
        /// plain digits, counts are grouped.
        init(_ cell: ReportCell, column name: String) {
            switch cell {
            case .text(let text): self = .text(text)
            case .empty: self = .text("")
            case .number(let text, .money): self = .number(text, style: Style.money)
            case .number(let text, .general): self = .number(text, style: Style.general)
            case .number(let text, .integer):
                let plain = name.hasSuffix("_minor") || name.hasSuffix("_bps") || name.hasPrefix("log_index")
                self = .number(text, style: plain ? Style.plain : Style.count)
            }
        }
    }

    /// The workbook part: the two sheets, and the filter's range as Excel records it.
    static func workbook(filterRange: String) -> String {
        XLSX.declaration
            + "<workbook xmlns=\"\(XLSX.mainNamespace)\" xmlns:r=\"\(XLSX.relationshipNamespace)\">"
            + "<sheets><sheet name=\"\(summaryName)\" sheetId=\"1\" r:id=\"rId1\"/><sheet name=\"\(linesName)\" sheetId=\"2\" r:id=\"rId2\"/></sheets>"
            + "<definedNames><definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"1\" hidden=\"1\">'\(linesName)'!"
            + absolute(filterRange) + "</definedName></definedNames>"
            + "</workbook>"
    }

    static let summaryName = "汇总 Summary"
    static let linesName = "明细 Lines"

    /// `A2:AG8` → `$A$2:$AG$8`.
    static func absolute(_ range: String) -> String {
        range.split(separator: ":").map { reference in
            let letters = reference.prefix { $0.isLetter }
            return "$\(letters)$\(reference.dropFirst(letters.count))"
        }.joined(separator: ":")
    }

    static func styles(money: String) -> String {
        XLSX.declaration
            + "<styleSheet xmlns=\"\(XLSX.mainNamespace)\">"
            + "<numFmts count=\"3\"><numFmt numFmtId=\"164\" formatCode=\"\(XLSX.escaped(money))\"/>"
            + "<numFmt numFmtId=\"165\" formatCode=\"yyyy\\-mm\"/><numFmt numFmtId=\"166\" formatCode=\"yyyy\\-mm\\-dd hh:mm:ss\"/></numFmts>"
            + "<fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font>"
            + "<font><b/><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>"
            + "<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill></fills>"
            + "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"
            + "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>"
            + "<cellXfs count=\"7\">"
            + "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>"
            + "<xf numFmtId=\"164\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
            + "<xf numFmtId=\"1\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
            + "<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>"
            + "<xf numFmtId=\"165\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
            + "<xf numFmtId=\"166\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
            + "<xf numFmtId=\"3\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
            + "</cellXfs>"
            + "<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>"
            + "</styleSheet>"
    }

    /// A worksheet of `rows` (nil: an empty row), numbered from 1; empty text cells are left out.
    /// `frozenRows` rows stay in view as the sheet scrolls; `autoFilter` puts filter buttons on the
    /// first row of that range.
    static func sheet(_ rows: [[Cell]?], widths: [Int], frozenRows: Int = 0, autoFilter: String? = nil) -> String {
        var xml = XLSX.declaration + "<worksheet xmlns=\"\(XLSX.mainNamespace)\">"
        if frozenRows > 0 {
            xml += "<sheetViews><sheetView workbookViewId=\"0\">"
                + "<pane ySplit=\"\(frozenRows)\" topLeftCell=\"A\(frozenRows + 1)\" activePane=\"bottomLeft\" state=\"frozen\"/>"
                + "<selection pane=\"bottomLeft\" activeCell=\"A\(frozenRows + 1)\" sqref=\"A\(frozenRows + 1)\"/>"
                + "</sheetView></sheetViews>"
        }
        xml += XLSX.grid(rows, widths: widths) { reference, cell in
            switch cell {
            case .text(let text, let bold):
                guard !text.isEmpty else { return nil }
                let style = bold ? " s=\"\(Style.header)\"" : ""
                return "<c r=\"\(reference)\"\(style) t=\"inlineStr\"><is><t xml:space=\"preserve\">\(XLSX.escaped(text))</t></is></c>"
            case .number(let text, let style):
                let attribute = style == Style.general ? "" : " s=\"\(style)\""
                return "<c r=\"\(reference)\"\(attribute)><v>\(text)</v></c>"
            }
        }
        if let autoFilter { xml += "<autoFilter ref=\"\(autoFilter)\"/>" }
        return xml + "</worksheet>"
    }

    /// The Chinese title of a line column, as an accountant in China reads it; the English key
    /// stands under it.
    static func title(ofColumn name: String) -> String {
        titles[name] ?? name
    }

    static let titles: [String: String] = [
        "period": "结算期间", "currency": "币种", "line_id": "明细编号", "kind": "明细类型", "grant_id": "授权编号",
        "operator_id": "运营方编号", "dataset_id": "数据集编号", "authority_id": "数据提供机构", "unit": "计量单位",
        "scenario": "使用场景", "quantity": "数量", "unit_price": "单价", "tiers": "阶梯计价", "amount": "金额",
        "amount_minor": "金额（最小货币单位）", "authority_bps": "机构分成比例（基点）", "authority_amount": "机构分成金额",
        "authority_minor": "机构分成（最小货币单位）", "platform_bps": "平台费率（基点）", "platform_amount": "平台服务费",
        "platform_minor": "平台服务费（最小货币单位）", "operator_amount": "运营方所得", "operator_minor": "运营方所得（最小货币单位）",
        "event_count": "用量事件数", "log_index_first": "首条日志序号", "log_index_last": "末条日志序号", "corrects": "所更正明细",
        "reason": "原因", "source": "用量来源", "declared_quantity": "申报数量", "gateway_quantity": "网关计量数量",
        "upstream_quantity": "接口转发计量数量", "provider_quantity": "提供方报告数量",
    ]

    /// Room for a column's title (Chinese characters take two) and what it usually holds.
    static func width(ofColumn name: String) -> Int {
        max(XLSX.width(ofColumn: name), title(ofColumn: name).count * 2 + 2)
    }

    /// The spreadsheet serial number (days since 1899-12-30) of the period's first day.
    static func serial(of period: Period) -> String {
        String(daysSinceEpoch(year: period.year, month: period.month, day: 1) + 25_569)
    }

    /// The spreadsheet serial number of a moment in UTC, to the millisecond: whole days, then the
    /// day's fraction to ten places, computed in integers.
    static func serial(ofMilliseconds milliseconds: Int64) -> String {
        let day: Int64 = 86_400_000
        var days = milliseconds / day
        var rest = milliseconds % day
        if rest < 0 {
            days -= 1
            rest += day
        }
        let scale: Int64 = 10_000_000_000
        var fraction = (rest * scale + day / 2) / day
        if fraction == scale {
            days += 1
            fraction = 0
        }
        var text = String(days + 25_569)
        if fraction > 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 10 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's
    /// days_from_civil).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
