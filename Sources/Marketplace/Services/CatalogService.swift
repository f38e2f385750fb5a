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
    /// its endpoint and its stored secret. With `expectedVersion`, a dataset at another version is
    /// refused (`concurrent_update`) and nothing is written: the change was judged on what the
    /// caller saw.
    public func update(_ id: String, with update: DatasetUpdate, by reviewer: Reviewer,
                       upstreamSecret secret: String? = nil,
                       expectedVersion: Int? = nil) async throws -> (change: CatalogChange, affected: [Grant]) {
        let now = context.clock.now()
        var update = update
        if update.upstream != nil || secret != nil {
            update.upstream = update.upstream ?? UpstreamDraft(baseURL: nil, credentialHeader: nil, setsSecret: false)
            update.upstream?.setsSecret = secret != nil
        }
        return try await context.database.transaction { tx in
            let current = try await Self.changeable(id, by: reviewer, in: tx)
            if let expectedVersion, expectedVersion != current.version {
                throw LicensingError(code: .concurrentUpdate,
                                     detail: "dataset \(id) is at version \(current.version) now, not \(expectedVersion)")
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
            let affected = try await grants.datasetChanged(change.updated, reason: Self.cascadeReason(change, update), by: reviewer,
                                                           in: tx, at: now)
            return (change, affected)
        }
    }

    /// What ``update(_:with:by:upstreamSecret:expectedVersion:)`` would do now, writing nothing: the
    /// dataset as it is, the change (or the refusal ``update`` would throw), and each grant the change
    /// would suspend or deny, as it would be after. A secret is not asked for: a preview never stores one.
    public func preview(_ id: String, with update: DatasetUpdate, by reviewer: Reviewer) async throws -> CatalogPreview {
        let now = context.clock.now()
        return try await context.database.read { reader in
            let current = try await Self.changeable(id, by: reviewer, in: reader)
            let change = try catalog.update(current, with: update, by: reviewer, at: now)
            guard change.isStricter else { return CatalogPreview(current: current, change: change, affected: []) }
            let steps = try await grants.cascade(of: change.updated, reason: Self.cascadeReason(change, update), by: reviewer,
                                                 in: reader, at: now)
            return CatalogPreview(current: current, change: change, affected: steps.map { ($0.before.status(at: now), $0.step.updated) })
        }
    }

    /// Dataset `id`, which `reviewer` may change: one of its own authority's.
    private static func changeable(_ id: String, by reviewer: Reviewer, in reader: DatabaseReader) async throws -> Dataset {
        guard let current = try await reader.dataset(id: id) else { throw MarketplaceError(.notFound, "No dataset '\(id)'.") }
        if let authority = reviewer.authorityID, authority != current.authorityID {
            throw MarketplaceError(.authorityNotParty, "Only a reviewer of authority '\(current.authorityID)' may change this dataset.")
        }
        return current
    }

    /// The reason a grant suspended or denied by `change` carries.
    private static func cascadeReason(_ change: CatalogChange, _ update: DatasetUpdate) -> String {
        "dataset \(change.updated.id) \(change.records[0].action == "dataset.reclassified" ? "reclassified" : "repriced"): "
            + (TextRules.trimmed(update.reason) ?? "")
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

/// A dataset change as it would be made now, for a person to confirm: see ``CatalogService/preview(_:with:by:)``.
public struct CatalogPreview: Sendable {
    /// The dataset as it is; its `version` is what a confirmation must still find.
    public let current: Dataset
    /// The change, with the dataset after it.
    public let change: CatalogChange
    /// The grants the change would suspend (active ones) or deny (pending ones): each one's status now,
    /// and the grant as it would be after.
    public let affected: [(statusBefore: GrantStatus, after: Grant)]
}
