internal import AuditLog
public import Foundation

// The sealed credentials of upstream datasets: opaque bytes to the store, which neither seals nor
// opens them (the key lives in the data directory, not in the database).

extension DatabaseReader {
    /// The sealed credential of dataset `datasetID`, or nil.
    public func sealedUpstreamCredential(datasetID: String) async throws -> [UInt8]? {
        try await context.query("SELECT sealed FROM upstream_credentials WHERE dataset_id = $1", [.text(datasetID)])
            .first.map { try $0.blob(0) }
    }
}

extension DatabaseTransaction {
    /// Stores (or replaces) the sealed credential of dataset `datasetID`.
    public func storeSealedUpstreamCredential(_ sealed: [UInt8], datasetID: String, at now: Date) async throws {
        try await context.execute(
            """
            INSERT INTO upstream_credentials (dataset_id, sealed, updated_at) VALUES ($1, $2, $3)
            ON CONFLICT (dataset_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
            """,
            [.text(datasetID), .blob(sealed), .integer(Timestamp.milliseconds(now))])
    }

    /// Deletes the sealed credential of dataset `datasetID`, if any.
    public func deleteSealedUpstreamCredential(datasetID: String) async throws {
        try await context.execute("DELETE FROM upstream_credentials WHERE dataset_id = $1", [.text(datasetID)])
    }
}
