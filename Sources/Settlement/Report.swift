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
        case .xlsx: xlsxBytes()
        }
    }
}
