internal import Foundation

/// The media types a release may be loaded from.
public enum ReleaseMediaType: String, Sendable, Hashable, CaseIterable {
    /// RFC 4180 CSV, UTF-8 with an optional byte-order mark, a header row of field names.
    case csv = "text/csv"
    /// One JSON object per line, its members named by the fields.
    case ndjson = "application/x-ndjson"

    /// The media type of a `Content-Type` value, parameters (`; charset=utf-8`) ignored; nil for any
    /// other type.
    public init?(contentType: String) {
        let essence = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        guard let type = ReleaseMediaType(rawValue: essence) else { return nil }
        self = type
    }

    /// The media type a file name's extension implies: `.csv`, `.ndjson` or `.jsonl`.
    public init?(fileName: String) {
        let lowered = fileName.lowercased()
        if lowered.hasSuffix(".csv") {
            self = .csv
        } else if lowered.hasSuffix(".ndjson") || lowered.hasSuffix(".jsonl") {
            self = .ndjson
        } else {
            return nil
        }
    }
}

/// The limits of loading a release.
public struct ReleasePolicy: Sendable, Hashable {
    /// The largest release, in bytes (`--max-release-bytes`); 1 GiB by default.
    public var maxBytes: Int64
    /// The longest CSV record or NDJSON line, in bytes: what the reader holds at most.
    public var maxRowBytes: Int
    /// Rows written per transaction while loading, so other writers are not kept waiting long.
    public var rowsPerChunk: Int
    /// A load that made no progress for this long is taken to have died: a new load of the same
    /// version may take its place.
    public var staleAfter: Duration

    /// The default limit on a release's size.
    public static let defaultMaxBytes: Int64 = 1 << 30

    public init(maxBytes: Int64 = ReleasePolicy.defaultMaxBytes, maxRowBytes: Int = 1 << 20, rowsPerChunk: Int = 5000,
                staleAfter: Duration = .seconds(600)) {
        self.maxBytes = maxBytes
        self.maxRowBytes = maxRowBytes
        self.rowsPerChunk = rowsPerChunk
        self.staleAfter = staleAfter
    }
}

/// Release versions: chosen by the authority, immutable once published.
public enum ReleaseVersion {
    /// The longest version.
    public static let maxLength = 64

    /// True for 1–64 characters of `A-Z a-z 0-9 . _ -` starting with a letter or digit.
    public static func isValid(_ version: String) -> Bool {
        let bytes = Array(version.utf8)
        guard (1...maxLength).contains(bytes.count), isAlphanumeric(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Throws `invalid_release_version` unless ``isValid(_:)``.
    public static func validate(_ version: String) throws(ReleaseError) {
        guard isValid(version) else {
            throw ReleaseError(.invalidReleaseVersion,
                               "A release version is 1–64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit.")
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}
