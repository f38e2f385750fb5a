public import AuditLog
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

    public init(_ context: ServiceContext, catalog: Catalog, grants: GrantService) {
        self.context = context
        self.catalog = catalog
        self.grants = grants
    }

    /// Publishes `draft` as dataset `id` of `authorityID` (`dataset.published`).
    public func publish(
        _ draft: DatasetDraft, id: String, authorityID: String, by reviewer: Reviewer,
        alsoInTransaction finish: AlsoInTransaction<Dataset> = nothingMore
    ) async throws -> Dataset {
        let now = context.clock.now()
        return try await context.database.transaction { tx in
            guard try await tx.authority(id: authorityID) != nil else {
                throw MarketplaceError(.authorityNotFound, "No authority '\(authorityID)'.")
            }
            let change = try catalog.publish(draft, id: id, authorityID: authorityID, by: reviewer, at: now)
            try await tx.insertDataset(change.updated)
            _ = try await context.log.append(change.records, in: tx)
            try await finish(change.updated, tx)
            return change.updated
        }
    }

    /// Changes dataset `id`'s openness, grade or ceiling prices; a stricter change suspends or ends
    /// the grants it no longer allows. Returns the change and the grants it changed.
    public func update(_ id: String, with update: DatasetUpdate, by reviewer: Reviewer) async throws -> (change: CatalogChange, affected: [Grant]) {
        let now = context.clock.now()
        return try await context.database.transaction { tx in
            guard let current = try await tx.dataset(id: id) else { throw MarketplaceError(.notFound, "No dataset '\(id)'.") }
            if let authority = reviewer.authorityID, authority != current.authorityID {
                throw MarketplaceError(.authorityNotParty, "Only a reviewer of authority '\(current.authorityID)' may change this dataset.")
            }
            let change = try catalog.update(current, with: update, by: reviewer, at: now)
            try await tx.updateDataset(change.updated)
            _ = try await context.log.append(change.records, in: tx)
            guard change.isStricter else { return (change, []) }
            let reason = "dataset \(id) \(change.records[0].action == "dataset.reclassified" ? "reclassified" : "repriced"): "
                + (TextRules.trimmed(update.reason) ?? "")
            let affected = try await grants.datasetChanged(change.updated, reason: reason, by: reviewer, in: tx, at: now)
            return (change, affected)
        }
    }
}
