public import AuditLog
public import Cryptography
public import Foundation
public import Licensing
public import Persistence
public import Vetting

/// The catalog: publishing datasets and changing their classification or prices, with what a
/// stricter change does to the grants that use them. Each method is one transaction.
public struct CatalogService: Sendable {
    public let context: ServiceContext
    public let catalog: Catalog
    /// What a stricter change does to the grants.
    public let grants: GrantService
    /// Seals the credentials of upstream datasets; without it none can be set.
    public let upstreamKey: AESGCMKey?

    public init(_ context: ServiceContext, catalog: Catalog, grants: GrantService, upstreamKey: AESGCMKey? = nil) {
        self.upstreamKey = upstreamKey
        self.context = context
        self.catalog = catalog
        self.grants = grants
    }

    /// Publishes `draft` as dataset `id` of `authorityID` (`dataset.published`); an `upstream`
    /// dataset's `secret` is sealed and stored in the same transaction.
    public func publish(
        _ draft: DatasetDraft, id: String, authorityID: String, by reviewer: Reviewer, upstreamSecret secret: String? = nil,
        alsoInTransaction finish: AlsoInTransaction<Dataset> = nothingMore
    ) async throws -> Dataset {
        let now = context.clock.now()
        var draft = draft
        if draft.upstream != nil || secret != nil {
            draft.upstream = draft.upstream ?? UpstreamDraft(baseURL: nil, credentialHeader: nil, setsSecret: false)
            draft.upstream?.setsSecret = secret != nil
        }
        return try await context.database.transaction { tx in
            guard try await tx.authority(id: authorityID) != nil else {
                throw MarketplaceError(.authorityNotFound, "No authority '\(authorityID)'.")
            }
            let change = try catalog.publish(draft, id: id, authorityID: authorityID, by: reviewer, at: now)
            try await tx.insertDataset(change.updated)
            if let secret {
                try await tx.storeSealedUpstreamCredential(try seal(secret, datasetID: id), datasetID: id, at: now)
            }
            _ = try await context.log.append(change.records, in: tx)
            try await finish(change.updated, tx)
            return change.updated
        }
    }

    /// Changes dataset `id`'s openness, grade or ceiling prices; a stricter change suspends or ends
    /// the grants it no longer allows. Returns the change and the grants it changed.
    ///
    /// A new `upstreamSecret` replaces the stored one; a dataset that stops being `upstream` loses
    /// its endpoint and its stored secret.
    public func update(_ id: String, with update: DatasetUpdate, by reviewer: Reviewer,
                       upstreamSecret secret: String? = nil) async throws -> (change: CatalogChange, affected: [Grant]) {
        let now = context.clock.now()
        var update = update
        if update.upstream != nil || secret != nil {
            update.upstream = update.upstream ?? UpstreamDraft(baseURL: nil, credentialHeader: nil, setsSecret: false)
            update.upstream?.setsSecret = secret != nil
        }
        return try await context.database.transaction { tx in
            guard let current = try await tx.dataset(id: id) else { throw MarketplaceError(.notFound, "No dataset '\(id)'.") }
            if let authority = reviewer.authorityID, authority != current.authorityID {
                throw MarketplaceError(.authorityNotParty, "Only a reviewer of authority '\(current.authorityID)' may change this dataset.")
            }
            let change = try catalog.update(current, with: update, by: reviewer, at: now)
            try await tx.updateDataset(change.updated)
            if let secret {
                try await tx.storeSealedUpstreamCredential(try seal(secret, datasetID: id), datasetID: id, at: now)
            } else if current.upstream != nil, change.updated.upstream == nil {
                try await tx.deleteSealedUpstreamCredential(datasetID: id)
            }
            _ = try await context.log.append(change.records, in: tx)
            guard change.isStricter else { return (change, []) }
            let reason = "dataset \(id) \(change.records[0].action == "dataset.reclassified" ? "reclassified" : "repriced"): "
                + (TextRules.trimmed(update.reason) ?? "")
            let affected = try await grants.datasetChanged(change.updated, reason: reason, by: reviewer, in: tx, at: now)
            return (change, affected)
        }
    }

    /// `secret` sealed for dataset `datasetID`: checked first, so a bad one is a 400 and nothing
    /// is written; the dataset id is the associated data, so a sealed secret moved to another
    /// dataset does not open.
    private func seal(_ secret: String, datasetID: String) throws -> [UInt8] {
        try UpstreamEndpoint.checkSecret(secret)
        guard let upstreamKey else {
            throw MarketplaceError(.upstreamKeyMissing, "This server has no upstream-key in its data directory; it cannot store a credential.")
        }
        return try upstreamKey.seal(Array(secret.utf8), associatedData: Array(datasetID.utf8), random: context.random)
    }
}
