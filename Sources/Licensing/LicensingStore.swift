/// What the Licensing module needs from a database transaction for the catalog. The storage module
/// implements it for SQLite and PostgreSQL; the same transaction appends the audit records of each
/// change, so a change and its records are stored together or not at all.
public protocol CatalogStore {
    /// Stores a new dataset; throws ``LicensingError`` `dataset_exists` when the id is taken.
    func insertDataset(_ dataset: Dataset) async throws

    /// Replaces the stored dataset with the same id by `dataset`, whose ``Dataset/version`` must be
    /// exactly one more than the stored one; throws ``LicensingError`` `concurrent_update` otherwise
    /// and `dataset_not_found` when there is none.
    func updateDataset(_ dataset: Dataset) async throws

    /// The dataset with `id`, or nil.
    func dataset(id: String) async throws -> Dataset?

    /// Datasets matching `filter`, by id; `cursor` is nil or a ``DatasetPage/nextCursor`` of the same
    /// listing.
    func datasets(_ filter: DatasetFilter, after cursor: String?, limit: Int) async throws -> DatasetPage
}

/// What the Licensing module needs from a database transaction for grants.
///
/// Every insert and update also stamps the grant with a new generation number, which is how every
/// ``GrantDirectory`` (in this process or another) learns that it changed.
public protocol GrantStore {
    /// Stores a new grant; throws ``LicensingError`` `grant_exists` when the id is taken.
    func insertGrant(_ grant: Grant) async throws

    /// Replaces the stored grant with the same id by `grant`, whose ``Grant/revision`` must be
    /// exactly one more than the stored one; throws ``LicensingError`` `concurrent_update` otherwise
    /// and `grant_not_found` when there is none.
    func updateGrant(_ grant: Grant) async throws

    /// The grant with `id`, or nil.
    func grant(id: String) async throws -> Grant?

    /// Grants matching `filter`, newest request first; `cursor` is nil or a ``GrantPage/nextCursor``
    /// of the same listing.
    func grants(_ filter: GrantFilter, after cursor: String?, limit: Int) async throws -> GrantPage

    /// Every grant that includes dataset `datasetID` and has one of `statuses`.
    func grants(withDataset datasetID: String, statuses: Set<GrantStatus>) async throws -> [Grant]

    /// Every grant of operator `operatorID` with one of `statuses`.
    func grants(ofOperator operatorID: String, statuses: Set<GrantStatus>) async throws -> [Grant]
}
