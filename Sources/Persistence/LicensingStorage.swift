internal import AuditLog
public import Foundation
public import Licensing
public import Vetting

// The Licensing module's stores on the shared SQL store, laid out like the Vetting module's: reads
// on `DatabaseReader`, so they work in `database.read` and `database.transaction` alike; writes on
// `DatabaseTransaction`, which therefore is the type that conforms to `CatalogStore` and
// `GrantStore`. Inserts use `ON CONFLICT DO NOTHING` and report a taken id as a `LicensingError`;
// updates are one conditional statement on the version or revision they were computed from.

// MARK: Datasets

extension DatabaseReader {
    static let datasetListing = "datasets"
    static let selectDataset = "SELECT id, authority_id, version, document FROM datasets"

    /// The dataset with `id`, or nil.
    public func dataset(id: String) async throws -> Dataset? {
        try await context.query(Self.selectDataset + " WHERE id = $1", [.text(id)]).first.map(Self.dataset)
    }

    /// How each dataset among `ids` is delivered; ids of no dataset are left out. One statement.
    public func deliveries(of ids: Set<String>) async throws -> [String: DeliveryMode] {
        guard !ids.isEmpty else { return [:] }
        let sorted = ids.sorted()
        let placeholders = sorted.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
        let rows = try await context.query(Self.selectDataset + " WHERE id IN (\(placeholders))", sorted.map(SQLValue.text))
        var deliveries: [String: DeliveryMode] = [:]
        for row in rows {
            let dataset = try Self.dataset(row)
            deliveries[dataset.id] = dataset.delivery
        }
        return deliveries
    }

    /// Up to `limit` datasets matching `filter`, in order of id, after `cursor` (a
    /// ``DatasetPage/nextCursor`` of this listing; anything else throws `LicensingError`
    /// `invalid_cursor`).
    ///
    /// The text filter matches a dataset whose id, title or description contains it after both are
    /// lower-cased (``searchFolded(_:)``), in any script: `交通` finds `北京市交通流量`.
    public func datasets(_ filter: DatasetFilter, after cursor: String?, limit: Int) async throws -> DatasetPage {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        func equal(_ column: String, _ value: String?) {
            guard let value else { return }
            binds.append(.text(value))
            conditions.append("\(column) = $\(binds.count)")
        }
        equal("authority_id", filter.authorityID)
        equal("theme", filter.theme)
        equal("openness", filter.openness?.rawValue)
        equal("grade", filter.grade?.rawValue)
        if let text = filter.text {
            let needle = Self.searchFolded(text)
            // The separator is in no id, title or description, so a needle holding it matches nothing
            // (and must not match across two of them).
            guard !needle.contains(Self.searchSeparator) else { return DatasetPage(datasets: [], nextCursor: nil) }
            binds.append(.text(needle))
            conditions.append(context.dialect.contains("search_text", "$\(binds.count)"))
        }
        if let cursor {
            let position = try Self.licensingCursor(cursor, listing: Self.datasetListing, keyCount: 1)
            binds.append(.text(position.key[0]))
            conditions.append("id > $\(binds.count)")
        }
        let filtered = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let page = try await fetchPage(Self.selectDataset + filtered + " ORDER BY id", binds, limit: limit,
                                       listing: Self.datasetListing, decode: Self.dataset) { [$0.id] }
        return DatasetPage(datasets: page.items, nextCursor: page.nextCursor)
    }

    /// Separates id, title and description in `datasets.search_text`: a control character, which
    /// the catalog allows in none of them.
    static let searchSeparator = "\u{1F}"

    /// What the text search compares: `text` lower-cased, then in Unicode normalization form C.
    /// Done here rather than with SQL `lower()`, which folds only ASCII on SQLite and follows the
    /// server's locale on PostgreSQL.
    static func searchFolded(_ text: String) -> String {
        text.lowercased().precomposedStringWithCanonicalMapping
    }

    /// The `search_text` column of `dataset`.
    static func searchText(_ dataset: Dataset) -> String {
        [dataset.id, dataset.title, dataset.description].map(searchFolded).joined(separator: searchSeparator)
    }

    /// Decodes the document and checks it against the columns that were searched on.
    static func dataset(_ row: SQLRow) throws -> Dataset {
        let decoded = try DatasetDocument.decode(try row.text(3))
        guard decoded.id == (try row.text(0)), decoded.authorityID == (try row.text(1)),
              Int64(decoded.version) == (try row.integer(2))
        else {
            throw StorageError.unexpected("a datasets row disagrees with its document")
        }
        return decoded
    }

    /// A cursor of `listing`; a foreign one is the Licensing module's `invalid_cursor`, as the
    /// Vetting listings report theirs as the Vetting module's.
    static func licensingCursor(_ token: String, listing: String, keyCount: Int) throws(LicensingError) -> PageCursor {
        do {
            return try PageCursor(token: token, listing: listing, keyCount: keyCount)
        } catch {
            throw LicensingError(code: .invalidCursor, detail: error.detail)
        }
    }
}

extension DatabaseTransaction: CatalogStore {
    /// Stores a new dataset; throws `LicensingError` `dataset_exists` when the id is taken.
    public func insertDataset(_ dataset: Dataset) async throws {
        let inserted = try await context.query(
            """
            INSERT INTO datasets (id, authority_id, theme, openness, grade, version, published_at, search_text, document)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            [.text(dataset.id)] + Self.datasetColumns(dataset)
        )
        guard !inserted.isEmpty else {
            throw LicensingError(code: .datasetExists, detail: "a dataset with this id exists")
        }
    }

    /// Replaces the stored dataset with the same id, only if it is still at the version before
    /// `dataset`'s; throws `LicensingError` `concurrent_update` if it is not, `dataset_not_found` if
    /// there is none.
    public func updateDataset(_ dataset: Dataset) async throws {
        // One conditional statement, as for operators: a concurrent writer's committed change makes
        // the condition false instead of being overwritten.
        let updated = try await context.query(
            """
            UPDATE datasets SET authority_id = $3, theme = $4, openness = $5, grade = $6, version = $7,
                published_at = $8, search_text = $9, document = $10
            WHERE id = $1 AND version = $2 RETURNING id
            """,
            [.text(dataset.id), .integer(Int64(dataset.version) - 1)] + Self.datasetColumns(dataset)
        )
        guard updated.isEmpty else { return }
        if try await context.query("SELECT 1 FROM datasets WHERE id = $1", [.text(dataset.id)]).isEmpty {
            throw LicensingError(code: .datasetNotFound, detail: "no dataset has this id")
        }
        throw LicensingError(code: .concurrentUpdate, detail: "the stored dataset is not at version \(dataset.version - 1)")
    }

    /// authority_id, theme, openness, grade, version, published_at, search_text, document.
    private static func datasetColumns(_ dataset: Dataset) -> [SQLValue] {
        [
            .text(dataset.authorityID),
            .text(dataset.theme),
            .text(dataset.openness.rawValue),
            .text(dataset.grade.rawValue),
            .integer(Int64(dataset.version)),
            .integer(Timestamp.milliseconds(dataset.publishedAt)),
            .text(searchText(dataset)),
            .text(DatasetDocument.encode(dataset)),
        ]
    }
}

// MARK: Grants

extension DatabaseReader {
    static let grantListing = "grants"
    static let selectGrant = "SELECT id, operator_id, status, revision, document FROM grants"

    /// The grant with `id`, or nil.
    public func grant(id: String) async throws -> Grant? {
        try await context.query(Self.selectGrant + " WHERE id = $1", [.text(id)]).first.map(Self.grant)
    }

    /// The grants with `ids`, by id; ids of no grant are absent. Any number, looked up in chunks.
    public func grants(ids: [String]) async throws -> [String: Grant] {
        try await records(Self.selectGrant, ids: ids, Self.grant)
    }

    /// The datasets with `ids`, by id; ids of no dataset are absent.
    public func datasets(ids: [String]) async throws -> [String: Dataset] {
        try await records(Self.selectDataset, ids: ids, Self.dataset)
    }

    /// The records `select` reads whose `id` is one of `ids`, decoded by `decode`, by id; any
    /// number of ids, looked up in chunks.
    private func records<Record: Identifiable>(
        _ select: String, ids: [String], _ decode: (SQLRow) throws -> Record
    ) async throws -> [String: Record] where Record.ID == String {
        var found: [String: Record] = [:]
        for chunk in Self.inLists(ids, limit: Self.inListLimit) {
            for row in try await context.query(select + " WHERE id IN (\(Self.placeholders(1, chunk.count)))", chunk.map(SQLValue.text)) {
                let record = try decode(row)
                found[record.id] = record
            }
        }
        return found
    }

    /// Up to `limit` grants matching `filter`, newest request first (then by id, descending),
    /// after `cursor` (a ``GrantPage/nextCursor`` of this listing; anything else throws
    /// `LicensingError` `invalid_cursor`).
    public func grants(_ filter: GrantFilter, after cursor: String?, limit: Int) async throws -> GrantPage {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let operatorID = filter.operatorID {
            binds.append(.text(operatorID))
            conditions.append("operator_id = $\(binds.count)")
        }
        if let status = filter.status {
            binds.append(.text(status.rawValue))
            conditions.append("status = $\(binds.count)")
        }
        if let authorityID = filter.authorityID {
            binds.append(.text(authorityID))
            conditions.append("id IN (SELECT grant_id FROM grant_datasets WHERE authority_id = $\(binds.count))")
        }
        if let datasetID = filter.datasetID {
            binds.append(.text(datasetID))
            conditions.append("id IN (SELECT grant_id FROM grant_datasets WHERE dataset_id = $\(binds.count))")
        }
        if let authorityID = filter.awaitingAuthorityID {
            binds += [.text(GrantStatus.pending.rawValue), .text(authorityID)]
            conditions.append("status = $\(binds.count - 1)")
            conditions.append("id IN (SELECT grant_id FROM grant_datasets WHERE authority_id = $\(binds.count))")
        }
        var position: (time: Int64, id: String)?
        if let cursor {
            let decoded = try Self.licensingCursor(cursor, listing: Self.grantListing, keyCount: 2)
            guard let time = Int64(decoded.key[0]) else {
                throw LicensingError(code: .invalidCursor, detail: "the cursor was not handed out by this listing")
            }
            position = (time, decoded.key[1])
        }
        let key = { (found: Grant) in [String(Timestamp.milliseconds(found.requestedAt)), found.id] }
        guard let awaiting = filter.awaitingAuthorityID else {
            if let position {
                binds += [.integer(position.time), .text(position.id)]
                conditions.append("(requested_at, id) < ($\(binds.count - 1), $\(binds.count))")
            }
            let filtered = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            let page = try await fetchPage(Self.selectGrant + filtered + " ORDER BY requested_at DESC, id DESC", binds,
                                           limit: limit, listing: Self.grantListing, decode: Self.grant, key: key)
            return GrantPage(grants: page.items, nextCursor: page.nextCursor)
        }
        // Which authorities have decided is in the grant's document, not in a column: read the
        // authority's pending grants in batches and keep those still waiting for it, until one more
        // than a page is found (so the cursor is only handed out when a next page exists).
        let count = min(max(1, limit), 1_000)
        let batch = 200
        var found: [Grant] = []
        while found.count <= count {
            var batchBinds = binds
            var batchConditions = conditions
            if let position {
                batchBinds += [.integer(position.time), .text(position.id)]
                batchConditions.append("(requested_at, id) < ($\(batchBinds.count - 1), $\(batchBinds.count))")
            }
            batchBinds.append(.integer(Int64(batch)))
            let rows = try await context.query(
                Self.selectGrant + " WHERE " + batchConditions.joined(separator: " AND ")
                    + " ORDER BY requested_at DESC, id DESC LIMIT $\(batchBinds.count)", batchBinds)
            let grants = try rows.map(Self.grant)
            found += grants.filter { $0.awaitsDecision(of: awaiting) }
            guard rows.count == batch, let last = grants.last else { break }
            position = (Timestamp.milliseconds(last.requestedAt), last.id)
        }
        let items = Array(found.prefix(count))
        let next = found.count > count ? items.last.map { PageCursor(listing: Self.grantListing, key: key($0)).token } : nil
        return GrantPage(grants: items, nextCursor: next)
    }

    /// Every grant that includes dataset `datasetID` and has one of `statuses`, oldest request first.
    public func grants(withDataset datasetID: String, statuses: Set<GrantStatus>) async throws -> [Grant] {
        try await grants(where: "id IN (SELECT grant_id FROM grant_datasets WHERE dataset_id = $1)",
                         [.text(datasetID)], statuses: statuses)
    }

    /// The operators and datasets of every grant that includes dataset `datasetID` and has one of
    /// `statuses`, by id: what judging those grants again needs, in two statements however many
    /// grants there are (a cascade over 900 grants read each one's operator and datasets in turn).
    public func context(ofGrantsWithDataset datasetID: String,
                        statuses: Set<GrantStatus>) async throws -> (operators: [String: Operator], datasets: [String: Dataset]) {
        guard !statuses.isEmpty else { return ([:], [:]) }
        var binds: [SQLValue] = [.text(datasetID)]
        let status = Self.statusCondition(statuses, &binds)
        let grants = "SELECT id FROM grants WHERE id IN (SELECT grant_id FROM grant_datasets WHERE dataset_id = $1) AND \(status)"
        var operators: [String: Operator] = [:]
        for row in try await context.query(
            Self.selectOperator + " WHERE id IN (SELECT operator_id FROM grants WHERE id IN (\(grants)))", binds) {
            let found = try Self.operator(row)
            operators[found.id] = found
        }
        var datasets: [String: Dataset] = [:]
        for row in try await context.query(
            Self.selectDataset + " WHERE id IN (SELECT dataset_id FROM grant_datasets WHERE grant_id IN (\(grants)))", binds) {
            let found = try Self.dataset(row)
            datasets[found.id] = found
        }
        return (operators, datasets)
    }

    /// Every grant of operator `operatorID` with one of `statuses`, oldest request first.
    public func grants(ofOperator operatorID: String, statuses: Set<GrantStatus>) async throws -> [Grant] {
        try await grants(where: "operator_id = $1", [.text(operatorID)], statuses: statuses)
    }

    /// Up to `limit` grants with one of `statuses` whose term ends at or before `date`, the
    /// earliest end first (then by id): what an expiry sweep records as expired.
    public func grantsEnding(atOrBefore date: Date, statuses: Set<GrantStatus>, limit: Int) async throws -> [Grant] {
        guard !statuses.isEmpty, limit > 0 else { return [] }
        var binds: [SQLValue] = [.integer(Timestamp.milliseconds(date))]
        let condition = Self.statusCondition(statuses, &binds)
        binds.append(.integer(Int64(limit)))
        return try await context.query(
            Self.selectGrant + " WHERE ends_at <= $1 AND \(condition) ORDER BY ends_at, id LIMIT $\(binds.count)", binds
        ).map(Self.grant)
    }

    /// The newest grant generation committed (0 before the first grant was stored); as seen by this
    /// transaction.
    public func grantGeneration() async throws -> Int64 {
        guard let row = try await context.query("SELECT value FROM grant_generation WHERE id = 1").first else {
            throw StorageError.unexpected("grant_generation has no row")
        }
        return try row.integer(0)
    }

    /// Brings `directory` up to date: when the stored generation is past the directory's, applies
    /// every grant changed since (every grant, the first time).
    ///
    /// Call it in `database.read`, or in a transaction before it changes any grant: a transaction
    /// sees its own changes, and a directory refreshed from them would keep them were it to roll
    /// back.
    public func refresh(_ directory: GrantDirectory) async throws {
        let seen = directory.generation
        let current = try await grantGeneration()
        guard current > seen else { return }
        // Grant writers hold the generation row until they commit, so every grant stamped up to
        // `current` is committed and visible below. In a `read` both statements see one snapshot.
        // In a read-committed PostgreSQL transaction the second statement may also see grants
        // committed since the first, stamped above `current`: applying them early is harmless,
        // since the next refresh loads them again (as they are by then) for being above `current`.
        let changed = try await context.query(Self.selectGrant + " WHERE generation > $1", [.integer(seen)]).map(Self.grant)
        directory.apply(changed, generation: current)
    }

    /// The grants matching `condition` (whose binds are `binds`) with one of `statuses`, oldest
    /// request first.
    private func grants(where condition: String, _ binds: [SQLValue], statuses: Set<GrantStatus>) async throws -> [Grant] {
        guard !statuses.isEmpty else { return [] }
        var binds = binds
        let statusCondition = Self.statusCondition(statuses, &binds)
        return try await context.query(
            Self.selectGrant + " WHERE \(condition) AND \(statusCondition) ORDER BY requested_at, id", binds
        ).map(Self.grant)
    }

    /// `status IN (…)` for `statuses`, not empty, appending their binds in a stable order.
    private static func statusCondition(_ statuses: Set<GrantStatus>, _ binds: inout [SQLValue]) -> String {
        let placeholders = statuses.map(\.rawValue).sorted().map { status -> String in
            binds.append(.text(status))
            return "$\(binds.count)"
        }
        return "status IN (\(placeholders.joined(separator: ", ")))"
    }

    /// Decodes the document and checks it against the columns that were searched on.
    static func grant(_ row: SQLRow) throws -> Grant {
        let decoded = try GrantDocument.decode(try row.text(4))
        guard decoded.id == (try row.text(0)), decoded.operatorID == (try row.text(1)),
              decoded.status.rawValue == (try row.text(2)), Int64(decoded.revision) == (try row.integer(3))
        else {
            throw StorageError.unexpected("a grants row disagrees with its document")
        }
        return decoded
    }
}

extension DatabaseTransaction: GrantStore {
    /// Stores a new grant and its datasets, stamped with a new generation; throws `LicensingError`
    /// `grant_exists` when the id is taken.
    public func insertGrant(_ grant: Grant) async throws {
        let generation = try await nextGrantGeneration()
        let inserted = try await context.query(
            """
            INSERT INTO grants (id, operator_id, status, requested_at, ends_at, revision, generation, document)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            [.text(grant.id)] + Self.grantColumns(grant, generation: generation)
        )
        guard !inserted.isEmpty else {
            throw LicensingError(code: .grantExists, detail: "a grant with this id exists")
        }
        try await context.insert(
            into: "grant_datasets",
            columns: ["grant_id", "dataset_id", "authority_id"],
            rows: grant.items.map { [.text(grant.id), .text($0.datasetID), .text($0.authorityID)] }
        )
    }

    /// Replaces the stored grant with the same id, only if it is still at the revision before
    /// `grant`'s, and stamps it with a new generation; throws `LicensingError` `concurrent_update` if
    /// it is not, `grant_not_found` if there is none. Its datasets are not rewritten: a grant's items
    /// never change.
    public func updateGrant(_ grant: Grant) async throws {
        let generation = try await nextGrantGeneration()
        let updated = try await context.query(
            """
            UPDATE grants SET operator_id = $3, status = $4, requested_at = $5, ends_at = $6, revision = $7,
                generation = $8, document = $9
            WHERE id = $1 AND revision = $2 RETURNING id
            """,
            [.text(grant.id), .integer(Int64(grant.revision) - 1)] + Self.grantColumns(grant, generation: generation)
        )
        guard updated.isEmpty else { return }
        if try await context.query("SELECT 1 FROM grants WHERE id = $1", [.text(grant.id)]).isEmpty {
            throw LicensingError(code: .grantNotFound, detail: "no grant has this id")
        }
        throw LicensingError(code: .concurrentUpdate, detail: "the stored grant is not at revision \(grant.revision - 1)")
    }

    /// Takes the next grant generation.
    ///
    /// Taken before the grant's row is written, so every grant writer locks the generation row
    /// first and then grant rows, in one order. On PostgreSQL the row stays locked until the
    /// transaction ends, so a writer takes its generation only after every writer with a lower one
    /// has committed or rolled back (a rolled-back writer's generation is taken again). A write
    /// that is then refused (a taken id, a stale revision) leaves the generation one higher with
    /// no grant stamped with it, which costs a directory nothing.
    private func nextGrantGeneration() async throws -> Int64 {
        guard let row = try await context.query("UPDATE grant_generation SET value = value + 1 WHERE id = 1 RETURNING value").first else {
            throw StorageError.unexpected("grant_generation has no row")
        }
        return try row.integer(0)
    }

    /// operator_id, status, requested_at, ends_at, revision, generation, document.
    private static func grantColumns(_ grant: Grant, generation: Int64) -> [SQLValue] {
        [
            .text(grant.operatorID),
            .text(grant.status.rawValue),
            .integer(Timestamp.milliseconds(grant.requestedAt)),
            .integer(Timestamp.milliseconds(grant.endsAt)),
            .integer(Int64(grant.revision)),
            .integer(generation),
            .text(GrantDocument.encode(grant)),
        ]
    }
}
