// The CSV reports: RFC 4180, UTF-8 without a byte order mark, CRLF after every row, a header row.
// `Contracts/settlement-report.md` names and explains the columns.

extension SettlementReport {
    func csvBytes() -> [UInt8] {
        CSV.bytes(header: lineColumnNames, rows: lineRows)
    }

    /// Each party's total in the period as CSV (`period,currency,party,amount,amount_minor`), one
    /// row per party sorted by party, and no total row: summing the column gives the period's
    /// gross, and a total row would be counted twice by whoever sums it.
    public func partiesCSV() -> [UInt8] {
        CSV.bytes(header: Self.partyColumns, rows: partyRows)
    }
}

/// RFC 4180 writing, with formula injection kept out of spreadsheet programs.
enum CSV {
    static func bytes(header: [String], rows: [[ReportCell]]) -> [UInt8] {
        var out: [UInt8] = []
        func write(_ fields: [String]) {
            for (index, field) in fields.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += quoted(field).utf8
            }
            out += [0x0D, 0x0A]
        }
        write(header)
        for row in rows {
            write(row.map { cell in
                switch cell {
                case .text(let text): defused(text)
                case .number(let text, _): text
                case .empty: ""
                }
            })
        }
        return out
    }

    /// `field` in double quotes, its quotes doubled, when it holds a comma, a quote, CR or LF;
    /// otherwise as it is.
    static func quoted(_ field: String) -> String {
        guard field.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) else { return field }
        return "\"" + field.replacing("\"", with: "\"\"") + "\""
    }

    /// Text that a spreadsheet program would run as a formula (it starts with `=`, `+`, `-`, `@`,
    /// a tab or CR) gets a leading `'`, unless it is a plain number such as `-5` or `-0.05`.
    /// Ids and reasons come from users; a report must not become a way to run their formulas on
    /// finance's machine.
    static func defused(_ text: String) -> String {
        guard let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first),
              !isNumber(text)
        else { return text }
        return "'" + text
    }

    /// An optional sign, digits, and optionally a point and digits.
    static func isNumber(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        let parts = bytes.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        return !parts.isEmpty && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(isDigit) }
    }
}

/// CSV as the reports write it, for other documents derived from the log (the annual disclosure):
/// RFC 4180 with CRLF, fields quoted where needed, text that a spreadsheet would run as a formula
/// defused.
public enum CSVDocument {
    public static func bytes(header: [String], rows: [[String]]) -> [UInt8] {
        CSV.bytes(header: header, rows: rows.map { $0.map { ReportCell.text($0) } })
    }
}

/// Text made safe as HTML or XML character data or a quoted attribute value (the XLSX sheets'
/// escaping), for pages derived from the log.
public enum MarkupText {
    public static func escaped(_ text: String) -> String { XLSX.escaped(text) }
}
