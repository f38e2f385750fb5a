public import AuditLog
public import Foundation

/// A published release of a dataset: immutable, identified by its dataset and version.
public struct Release: Sendable, Hashable {
    /// The dataset it is a release of.
    public var datasetID: String
    /// Its version, chosen by the authority (``ReleaseVersion``).
    public var version: String
    /// The format it was loaded from.
    public var mediaType: ReleaseMediaType
    /// The SHA-256 of the bytes loaded.
    public var sha256: SHA256Hex
    /// Its data rows.
    public var rows: Int64
    /// The bytes loaded.
    public var bytes: Int64
    /// The dataset's field names at loading, in order: the order of each stored row's values.
    public var fields: [String]
    /// When it was published, to the millisecond.
    public var publishedAt: Date
    /// The principal who loaded it.
    public var publishedBy: String

    public init(datasetID: String, version: String, mediaType: ReleaseMediaType, sha256: SHA256Hex, rows: Int64, bytes: Int64,
                fields: [String], publishedAt: Date, publishedBy: String) {
        self.datasetID = datasetID
        self.version = version
        self.mediaType = mediaType
        self.sha256 = sha256
        self.rows = rows
        self.bytes = bytes
        self.fields = fields
        self.publishedAt = publishedAt
        self.publishedBy = publishedBy
    }
}

/// A SHA-256 digest as lower-case hex, as releases and the log write it.
public typealias SHA256Hex = String

/// The audit-log actions of the Delivery module.
public enum DeliveryAction: String, Sendable, Hashable, CaseIterable {
    case releasePublished = "dataset.release_published"
}

/// Builds the records of the Delivery module.
public enum DeliveryRecords {
    /// `dataset.release_published`: `dataset_id`, `authority_id`, `release`, `media_type`, `sha256`,
    /// `rows`, `bytes`, `fields`, `at`; subject `dataset:<id>`; actor the loader.
    public static func published(_ release: Release, authorityID: String) -> AuditRecord {
        AuditRecord(
            actor: release.publishedBy,
            action: DeliveryAction.releasePublished.rawValue,
            subjects: ["dataset:\(release.datasetID)"],
            data: [
                "dataset_id": .string(release.datasetID),
                "authority_id": .string(authorityID),
                "release": .string(release.version),
                "media_type": .string(release.mediaType.rawValue),
                "sha256": .string(release.sha256),
                "rows": JSONValue(release.rows),
                "bytes": JSONValue(release.bytes),
                "fields": .array(release.fields.map(JSONValue.string)),
                "at": .string(Timestamp.format(Timestamp.milliseconds(release.publishedAt))),
            ])
    }
}
