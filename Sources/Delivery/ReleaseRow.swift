/// One record of a release, as it is stored: its row number, its values' JSON texts, and the keys
/// its filterable fields are indexed under.
public struct ReleaseRow: Sendable, Hashable {
    /// Separates the values in ``encoded``: the unit separator, which JSON text never holds
    /// unescaped.
    public static let separator: UInt8 = 0x1F

    /// The 1-based position of the row in the release (the CSV header is not counted).
    public let number: Int64
    /// The JSON text of each value, in the dataset's field order, joined by 0x1F: strings as JSON
    /// strings, integers, decimals and booleans as their text, dates, date-times, geometry and
    /// base64 as JSON strings, a missing value as `null`.
    public let encoded: String
    /// The filter key (``ReleaseValue/filterKey(for:text:)``) of each non-null value of a filterable
    /// field.
    public let index: [IndexedValue]

    /// Creates a row.
    public init(number: Int64, encoded: String, index: [IndexedValue]) {
        self.number = number
        self.encoded = encoded
        self.index = index
    }

    /// The JSON texts of the values of a stored row, in field order, without copying: the data API
    /// writes `{"field":fragment,…}` from them.
    public static func fragments(of encoded: String) -> [Substring] {
        encoded.utf8.split(separator: separator, omittingEmptySubsequences: false).map { Substring($0) }
    }
}

/// A value of a filterable field as the index holds it.
public struct IndexedValue: Sendable, Hashable {
    /// The field name.
    public let field: String
    /// Its filter key.
    public let value: String

    public init(field: String, value: String) {
        self.field = field
        self.value = value
    }
}
