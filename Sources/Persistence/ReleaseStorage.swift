public import Delivery
public import Foundation
internal import AuditLog

// Dataset releases on the shared SQL store. A load writes its rows in chunks, each in its own short
// transaction, under a `loading` row of `releases` that only its load id may write to; publishing
// flips the state in the transaction that appends `dataset.release_published`. Readers see
// published releases only.

extension DatabaseReader {
    static let selectRelease = """
        SELECT dataset_id, version, media_type, sha256, row_count, byte_count, fields, loaded_by, published_at FROM releases
        """

    /// The published releases of a dataset, newest first (by publication time, then version).
    public func releases(datasetID: String) async throws -> [Release] {
        try await context.query(
            Self.selectRelease + " WHERE dataset_id = $1 AND state = 'published' ORDER BY published_at DESC, version DESC",
            [.text(datasetID)]
        ).map(Self.decodeRelease)
    }

    /// The published release `version` of a dataset, or nil.
    public func release(datasetID: String, version: String) async throws -> Release? {
        try await context.query(
            Self.selectRelease + " WHERE dataset_id = $1 AND version = $2 AND state = 'published'",
            [.text(datasetID), .text(version)]
        ).first.map(Self.decodeRelease)
    }

    /// The dataset's most recently published release, or nil.
    public func latestRelease(datasetID: String) async throws -> Release? {
        try await context.query(
            Self.selectRelease + " WHERE dataset_id = $1 AND state = 'published' ORDER BY published_at DESC, version DESC LIMIT 1",
            [.text(datasetID)]
        ).first.map(Self.decodeRelease)
    }

    /// Up to `limit` rows of the published release `version`, by row number, after `rowNumber` (0
    /// for the first page): each row's number and stored document (``ReleaseRow/encoded``).
    ///
    /// - Parameter filters: field and filter key (``ReleaseValue/filterKey(for:text:)``) pairs a row
    ///   must all match; each is an index lookup in `release_values`, never a scan of the rows. The
    ///   caller checks that each field is filterable: a field that is not has no index entries and
    ///   matches nothing.
    public func releaseRows(
        datasetID: String, version: String, after rowNumber: Int64, limit: Int,
        filters: [(field: String, value: String)] = []
    ) async throws -> [(rowNumber: Int64, document: String)] {
        var binds: [SQLValue] = [.text(datasetID), .text(version), .integer(rowNumber)]
        let published = "EXISTS (SELECT 1 FROM releases WHERE dataset_id = $1 AND version = $2 AND state = 'published')"
        let sql: String
        if let first = filters.first {
            // Driven by the first filter's index range (ordered by row number), the others probed;
            // CROSS JOIN keeps SQLite from choosing the rows table as the outer loop.
            binds += [.text(first.field), .text(first.value)]
            var conditions = [
                "v0.dataset_id = $1", "v0.version = $2", "v0.field = $4", "v0.value = $5", "v0.row_number > $3",
                "r.dataset_id = v0.dataset_id", "r.version = v0.version", "r.row_number = v0.row_number", published,
            ]
            for (offset, filter) in filters.dropFirst().enumerated() {
                binds += [.text(filter.field), .text(filter.value)]
                let alias = "v\(offset + 1)"
                conditions.append("""
                    EXISTS (SELECT 1 FROM release_values \(alias) WHERE \(alias).dataset_id = $1 AND \(alias).version = $2 \
                    AND \(alias).field = $\(binds.count - 1) AND \(alias).value = $\(binds.count) AND \(alias).row_number = v0.row_number)
                    """)
            }
            sql = "SELECT r.row_number, r.document FROM release_values v0 CROSS JOIN release_rows r WHERE "
                + conditions.joined(separator: " AND ") + " ORDER BY v0.row_number"
        } else {
            sql = "SELECT row_number, document FROM release_rows WHERE dataset_id = $1 AND version = $2 AND row_number > $3 AND "
                + published + " ORDER BY row_number"
        }
        binds.append(.integer(Int64(min(max(1, limit), 1_000_000))))
        return try await context.query(sql + " LIMIT $\(binds.count)", binds).map { row in
            (rowNumber: try row.integer(0), document: try row.text(1))
        }
    }

    static func decodeRelease(_ row: SQLRow) throws -> Release {
        guard let mediaType = ReleaseMediaType(rawValue: try row.text(2)),
              case .array(let names) = try JSONValue.parse(Array(try row.text(6).utf8)),
              let publishedAt = try row.optionalInteger(8)
        else {
            throw StorageError.unexpected("a releases row has an unknown media type, fields or no publication time")
        }
        let fields = try names.map { name -> String in
            guard case .string(let text) = name else { throw StorageError.unexpected("a releases row names a field by a non-string") }
            return text
        }
        return Release(
            datasetID: try row.text(0), version: try row.text(1), mediaType: mediaType, sha256: try row.optionalText(3) ?? "",
            rows: try row.integer(4), bytes: try row.integer(5), fields: fields,
            publishedAt: Timestamp.date(milliseconds: publishedAt), publishedBy: try row.text(7))
    }
}

extension DatabaseTransaction {
    /// Starts loading release `version` of a dataset as `loadID`: a `loading` row no reader sees.
    ///
    /// A `loading` row that made no progress since `staleBefore` belongs to a load that died; its
    /// rows are deleted and the new load takes its place. Throws `ReleaseError` `release_exists` when
    /// the version is published or another load of it is under way.
    public func beginRelease(
        datasetID: String, version: String, mediaType: ReleaseMediaType, fields: [String], loadedBy: String, loadID: String,
        at now: Date, staleBefore: Date
    ) async throws {
        let fieldsText = try JSONValue.array(fields.map(JSONValue.string)).canonicalString()
        let nowMS = Timestamp.milliseconds(now)
        let inserted = try await context.query(
            """
            INSERT INTO releases (dataset_id, version, state, media_type, fields, loaded_by, load_id, started_at, updated_at)
            VALUES ($1, $2, 'loading', $3, $4, $5, $6, $7, $7)
            ON CONFLICT (dataset_id, version) DO NOTHING RETURNING version
            """,
            [.text(datasetID), .text(version), .text(mediaType.rawValue), .text(fieldsText), .text(loadedBy), .text(loadID), .integer(nowMS)]
        )
        if !inserted.isEmpty { return }
        let taken = try await context.query(
            """
            UPDATE releases SET media_type = $3, fields = $4, loaded_by = $5, load_id = $6, started_at = $7, updated_at = $7
            WHERE dataset_id = $1 AND version = $2 AND state = 'loading' AND updated_at < $8 RETURNING version
            """,
            [.text(datasetID), .text(version), .text(mediaType.rawValue), .text(fieldsText), .text(loadedBy), .text(loadID),
             .integer(nowMS), .integer(Timestamp.milliseconds(staleBefore))]
        )
        guard !taken.isEmpty else {
            throw ReleaseError(.releaseExists, "Dataset '\(datasetID)' has release '\(version)' already, or it is being loaded.")
        }
        try await deleteReleaseData(datasetID: datasetID, version: version)
    }

    /// Stores a chunk of rows of the load `loadID` and notes its progress. Throws `ReleaseError`
    /// `load_superseded` when another load took the version over.
    public func appendReleaseRows(datasetID: String, version: String, loadID: String, rows: [ReleaseRow], at now: Date) async throws {
        try await claimLoad(datasetID: datasetID, version: version, loadID: loadID, at: now)
        // By column, the dataset and version bound once: no per-value `SQLValue` arrays.
        let shared: [SQLValue] = [.text(datasetID), .text(version)]
        try await context.insert(
            into: "release_rows", columns: ["dataset_id", "version", "row_number", "document"], shared: shared,
            values: SQLColumns([.integer(rows.map(\.number)), .text(rows.map(\.encoded))]))
        let entries = rows.reduce(0) { $0 + $1.index.count }
        var fields: [String] = [], values: [String] = [], numbers: [Int64] = []
        fields.reserveCapacity(entries)
        values.reserveCapacity(entries)
        numbers.reserveCapacity(entries)
        for row in rows {
            for entry in row.index {
                fields.append(entry.field)
                values.append(entry.value)
                numbers.append(row.number)
            }
        }
        try await context.insert(
            into: "release_values", columns: ["dataset_id", "version", "field", "value", "row_number"], shared: shared,
            values: SQLColumns([.text(fields), .text(values), .integer(numbers)]))
    }

    /// Publishes the load `loadID` with its digest and counts; the caller appends
    /// `dataset.release_published` in the same transaction.
    public func publishRelease(
        datasetID: String, version: String, loadID: String, sha256: String, rows: Int64, bytes: Int64, at now: Date
    ) async throws {
        let updated = try await context.query(
            """
            UPDATE releases SET state = 'published', sha256 = $4, row_count = $5, byte_count = $6, published_at = $7, updated_at = $7
            WHERE dataset_id = $1 AND version = $2 AND load_id = $3 AND state = 'loading' RETURNING version
            """,
            [.text(datasetID), .text(version), .text(loadID), .text(sha256), .integer(rows), .integer(bytes),
             .integer(Timestamp.milliseconds(now))]
        )
        guard !updated.isEmpty else { throw Self.superseded(datasetID, version) }
    }

    /// Deletes the load `loadID` and its rows, if it still owns the version.
    public func discardRelease(datasetID: String, version: String, loadID: String) async throws {
        let deleted = try await context.query(
            "DELETE FROM releases WHERE dataset_id = $1 AND version = $2 AND load_id = $3 AND state = 'loading' RETURNING version",
            [.text(datasetID), .text(version), .text(loadID)])
        if !deleted.isEmpty { try await deleteReleaseData(datasetID: datasetID, version: version) }
    }

    private func claimLoad(datasetID: String, version: String, loadID: String, at now: Date) async throws {
        let claimed = try await context.query(
            """
            UPDATE releases SET updated_at = $4 WHERE dataset_id = $1 AND version = $2 AND load_id = $3 AND state = 'loading'
            RETURNING version
            """,
            [.text(datasetID), .text(version), .text(loadID), .integer(Timestamp.milliseconds(now))])
        guard !claimed.isEmpty else { throw Self.superseded(datasetID, version) }
    }

    private func deleteReleaseData(datasetID: String, version: String) async throws {
        try await context.execute("DELETE FROM release_rows WHERE dataset_id = $1 AND version = $2", [.text(datasetID), .text(version)])
        try await context.execute("DELETE FROM release_values WHERE dataset_id = $1 AND version = $2", [.text(datasetID), .text(version)])
    }

    private static func superseded(_ datasetID: String, _ version: String) -> ReleaseError {
        ReleaseError(.loadSuperseded, "The load of release '\(version)' of dataset '\(datasetID)' stalled and was taken over.")
    }
}
