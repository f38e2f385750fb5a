public import AuditLog

/// Why a release is refused: malformed input, a value that does not fit its field, a release too
/// large, or a version that is taken. One code per rule.
///
/// Equality is by ``code``. ``detail`` names the data row (1-based, the header not counted) and
/// the column where there is one, never the submitted value.
public struct ReleaseError: CodedError {
    /// Stable machine-readable codes: they become the `code` of a problem+json answer.
    public enum Code: String, Sendable, CaseIterable {
        /// CSV that breaks RFC 4180: a stray quote, text after a closing quote, an unclosed quote,
        /// a row with another number of cells than the header, a blank line between rows.
        case invalidCSV = "invalid_csv"
        /// A line that is not one JSON object of scalar members.
        case invalidNDJSON = "invalid_ndjson"
        /// A column or member that names no field of the dataset.
        case unknownColumn = "unknown_column"
        /// A field of the dataset without its column or member.
        case missingColumn = "missing_column"
        /// A column or member named twice.
        case duplicateColumn = "duplicate_column"
        /// A value that does not fit its field's type.
        case invalidValue = "invalid_value"
        /// A line or record longer than ``ReleasePolicy/maxRowBytes``.
        case rowTooLong = "row_too_long"
        /// More bytes than ``ReleasePolicy/maxBytes``.
        case releaseTooLarge = "release_too_large"
        /// A release without a data row.
        case emptyRelease = "empty_release"
        /// A version that is not 1–64 characters of `A-Z a-z 0-9 . _ -` starting with a letter or digit.
        case invalidReleaseVersion = "invalid_release_version"
        /// The dataset has this version already, or a load of it is under way.
        case releaseExists = "release_exists"
        /// A body that is neither `text/csv` nor `application/x-ndjson`.
        case unsupportedMediaType = "unsupported_media_type"
        /// The load was taken over by another after it stalled.
        case loadSuperseded = "load_superseded"
    }

    public let code: Code
    public let detail: String
    /// The 1-based data row the error is in, if it is in one.
    public let row: Int64?
    /// The column (field name) the error is in, if it is in one.
    public let column: String?

    public init(_ code: Code, _ detail: String, row: Int64? = nil, column: String? = nil) {
        self.code = code
        self.detail = detail
        self.row = row
        self.column = column
    }

    /// An error located in `row` (and `column`): the detail starts with where.
    static func at(_ code: Code, row: Int64, column: String? = nil, _ what: String) -> ReleaseError {
        let place = column.map { "row \(row), column '\($0)'" } ?? "row \(row)"
        return ReleaseError(code, "\(place): \(what)", row: row, column: column)
    }
}
