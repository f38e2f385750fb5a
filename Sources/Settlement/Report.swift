/// The formats a closed period's report is rendered in. Each rendering is deterministic: the same
/// report always gives the same bytes, so the SHA-256 in the `settlement.closed` entry identifies it.
public enum ReportFormat: String, Sendable, Hashable, CaseIterable {
    case json
    case csv
    case xlsx

    /// The media type to serve it as.
    public var mediaType: String {
        switch self {
        case .json: "application/json"
        case .csv: "text/csv; charset=utf-8; header=present"
        case .xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        }
    }
}

extension SettlementReport {
    /// The report's bytes in `format`.
    public func rendered(as format: ReportFormat) -> [UInt8] {
        switch format {
        case .json: jsonBytes()
        case .csv: csvBytes()
        case .xlsx: formatVersion >= 4 ? workbookBytes() : xlsxBytes()
        }
    }
}

/// The CSV for Excel (`format=csv-excel`): the strict CSV's bytes behind a UTF-8 byte order mark.
/// Excel opens a CSV without one in the machine's legacy code page, which turns Chinese reasons into
/// mojibake; with one it reads UTF-8. Rows already end in CRLF and the columns are the same. It is
/// not sealed: the strict CSV is, and this is that CSV byte for byte after the mark.
public enum ExcelCSV {
    /// The UTF-8 byte order mark, EF BB BF.
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// `strict` (a report, statement or parties CSV) for Excel.
    public static func bytes(_ strict: [UInt8]) -> [UInt8] { byteOrderMark + strict }

    /// The format's name, as `format=` and `--format` take it.
    public static let formatName = "csv-excel"
}
