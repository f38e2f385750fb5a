public import AuditLog
internal import Cryptography
public import Delivery
public import Foundation
public import Licensing
public import Persistence
public import Vetting

/// How far a load has come, for progress displays.
public struct ReleaseProgress: Sendable, Hashable {
    /// Bytes read so far.
    public var bytes: Int64
    /// Data rows read so far.
    public var rows: Int64
}

/// Loading dataset releases: a reviewer of the dataset's authority streams a CSV or NDJSON file
/// into the database, checked row by row, and publishes it as an immutable version.
///
/// Unlike the other services, a load is several transactions: its rows are written in chunks of
/// ``ReleasePolicy/rowsPerChunk`` under a `loading` release no reader sees, so a large file is never
/// in memory and other writers (usage ingestion) are never kept waiting for the whole load. The last,
/// short transaction locks the log head, publishes the release and appends
/// `dataset.release_published`. On any error the rows loaded so far are deleted.
public struct ReleaseService: Sendable {
    public let context: ServiceContext
    public let policy: ReleasePolicy

    public init(_ context: ServiceContext, policy: ReleasePolicy = ReleasePolicy()) {
        self.context = context
        self.policy = policy
    }

    /// Loads `chunks` as release `version` of dataset `datasetID` in `mediaType` and publishes it.
    ///
    /// - Throws: `ReleaseError` (`invalid_release_version`, `release_exists`, `release_too_large`, the
    ///   reader's codes naming row and column); `MarketplaceError` `not_found` for an unknown dataset,
    ///   `authority_not_party` for a reviewer of another authority.
    public func load<Chunks: AsyncSequence>(
        _ chunks: Chunks, datasetID: String, version: String, mediaType: ReleaseMediaType, by reviewer: Reviewer,
        progress: (@Sendable (ReleaseProgress) -> Void)? = nil
    ) async throws -> Release where Chunks.Element: Collection<UInt8> {
        try ReleaseVersion.validate(version)
        let dataset = try await authorize(datasetID: datasetID, reviewer: reviewer)
        let loadID = Hex.encode(try context.random.bytes(16))
        let fields = dataset.fields.map(\.name)
        let started = context.clock.now()
        try await context.database.transaction { tx in
            try await tx.beginRelease(
                datasetID: datasetID, version: version, mediaType: mediaType, fields: fields, loadedBy: reviewer.principalID,
                loadID: loadID, at: started, staleBefore: started.addingTimeInterval(-Self.seconds(policy.staleAfter)))
        }
        do {
            var reader = ReleaseReader(fields: dataset.fields, mediaType: mediaType, policy: policy)
            var pending: [ReleaseRow] = []
            for try await chunk in chunks {
                pending += try reader.consume(chunk)
                if pending.count >= policy.rowsPerChunk {
                    try await write(pending, datasetID: datasetID, version: version, loadID: loadID)
                    pending.removeAll(keepingCapacity: true)
                }
                progress?(ReleaseProgress(bytes: reader.byteCount, rows: reader.rowCount))
            }
            pending += try reader.finish()
            if !pending.isEmpty {
                try await write(pending, datasetID: datasetID, version: version, loadID: loadID)
            }
            progress?(ReleaseProgress(bytes: reader.byteCount, rows: reader.rowCount))
            let digest = reader.sha256!.hex
            let rows = reader.rowCount, bytes = reader.byteCount
            return try await context.database.transaction { tx in
                _ = try await tx.lockHead()
                let now = Timestamp.normalized(context.clock.now())
                try await tx.publishRelease(datasetID: datasetID, version: version, loadID: loadID, sha256: digest,
                                            rows: rows, bytes: bytes, at: now)
                let release = Release(datasetID: datasetID, version: version, mediaType: mediaType, sha256: digest, rows: rows,
                                      bytes: bytes, fields: fields, publishedAt: now, publishedBy: reviewer.principalID)
                _ = try await context.log.append(DeliveryRecords.published(release, authorityID: dataset.authorityID), in: tx)
                return release
            }
        } catch {
            // In a task of its own, so a cancelled request still cleans up after itself.
            let database = context.database
            _ = await Task {
                try? await database.transaction { tx in
                    try await tx.discardRelease(datasetID: datasetID, version: version, loadID: loadID)
                }
            }.value
            throw error
        }
    }

    /// The dataset, if `reviewer` may load releases of it: the rule of dataset updates (a reviewer of
    /// its authority, or a platform admin).
    public func authorize(datasetID: String, reviewer: Reviewer) async throws -> Dataset {
        guard let dataset = try await context.database.read({ try await $0.dataset(id: datasetID) }) else {
            throw MarketplaceError(.notFound, "No dataset '\(datasetID)'.")
        }
        if let authority = reviewer.authorityID, authority != dataset.authorityID {
            throw MarketplaceError(.authorityNotParty, "Only a reviewer of authority '\(dataset.authorityID)' may load releases of this dataset.")
        }
        return dataset
    }

    private func write(_ rows: [ReleaseRow], datasetID: String, version: String, loadID: String) async throws {
        let now = context.clock.now()
        try await context.database.transaction { tx in
            try await tx.appendReleaseRows(datasetID: datasetID, version: version, loadID: loadID, rows: rows, at: now)
        }
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
