internal import AuditLog
public import Vetting

// The Vetting module's stores on the shared SQL store: reads on `DatabaseReader`, so they work in
// `database.read` and `database.transaction` alike; writes on `DatabaseTransaction`, which therefore
// is the type that conforms to `AuthorityStore` and `VettingStore`.
//
// Inserts use `ON CONFLICT DO NOTHING` and report a taken id as a `VettingError`: no statement
// fails, so the transaction stays usable and the caller decides whether to roll back.

// MARK: Authorities

extension DatabaseReader {
    static let authorityListing = "authorities"
    static let selectAuthority = "SELECT id, name, region, created_at FROM authorities"

    /// The authority with `id`, or nil.
    public func authority(id: String) async throws -> Authority? {
        try await context.query(Self.selectAuthority + " WHERE id = $1", [.text(id)]).first.map(Self.authority)
    }

    /// Up to `limit` authorities in order of id, after `cursor` (a ``AuthorityPage/nextCursor`` of
    /// this listing; anything else throws `VettingError` `invalid_cursor`).
    public func authorities(after cursor: String?, limit: Int) async throws -> AuthorityPage {
        var sql = Self.selectAuthority
        var binds: [SQLValue] = []
        if let cursor {
            let position = try PageCursor(token: cursor, listing: Self.authorityListing, keyCount: 1)
            sql += " WHERE id > $1"
            binds.append(.text(position.key[0]))
        }
        let page = try await fetchPage(sql + " ORDER BY id", binds, limit: limit, listing: Self.authorityListing,
                                       decode: Self.authority) { [$0.id] }
        return AuthorityPage(authorities: page.items, nextCursor: page.nextCursor)
    }

    static func authority(_ row: SQLRow) throws -> Authority {
        Authority(
            id: try row.text(0),
            name: try row.text(1),
            region: try row.text(2),
            createdAt: Timestamp.date(milliseconds: try row.integer(3))
        )
    }
}

extension DatabaseTransaction: AuthorityStore {
    /// Stores a new authority; throws `VettingError` `authority_exists` when the id is taken.
    public func insertAuthority(_ authority: Authority) async throws {
        let inserted = try await context.query(
            """
            INSERT INTO authorities (id, name, region, created_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            [.text(authority.id), .text(authority.name), .text(authority.region),
             .integer(Timestamp.milliseconds(authority.createdAt))]
        )
        guard !inserted.isEmpty else {
            throw VettingError(code: .authorityExists, detail: "an authority with this id exists")
        }
    }
}

// MARK: Operators

extension DatabaseReader {
    static let operatorListing = "operators"
    static let selectOperator = "SELECT id, status, revision, document FROM operators"

    /// The operator with `id`, or nil.
    public func operatorByID(_ id: String) async throws -> Operator? {
        try await context.query(Self.selectOperator + " WHERE id = $1", [.text(id)]).first.map(Self.operator)
    }

    /// Up to `limit` operators in order of submission time, then id; only those with `status` when
    /// it is given. `cursor` is a ``OperatorPage/nextCursor`` of this listing; anything else throws
    /// `VettingError` `invalid_cursor`.
    public func operators(status: OperatorStatus?, after cursor: String?, limit: Int) async throws -> OperatorPage {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let status {
            binds.append(.text(status.rawValue))
            conditions.append("status = $\(binds.count)")
        }
        if let cursor {
            let (time, id) = try Self.timeAndID(cursor, listing: Self.operatorListing)
            binds += [.integer(time), .text(id)]
            conditions.append("(submitted_at, id) > ($\(binds.count - 1), $\(binds.count))")
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let page = try await fetchPage(Self.selectOperator + filter + " ORDER BY submitted_at, id", binds, limit: limit,
                                       listing: Self.operatorListing, decode: Self.operator) { found in
            [String(Timestamp.milliseconds(found.submittedAt)), found.id]
        }
        return OperatorPage(operators: page.items, nextCursor: page.nextCursor)
    }

    /// The most recently submitted operator whose applicant principal is `principalID`, or nil.
    public func latestOperator(appliedBy principalID: String) async throws -> Operator? {
        try await context.query(
            Self.selectOperator + " WHERE applicant_principal_id = $1 ORDER BY submitted_at DESC, id DESC LIMIT 1",
            [.text(principalID)]
        ).first.map(Self.operator)
    }

    /// The most recently submitted operator with the unified social credit code `uscc`, or nil.
    public func latestOperator(uscc: USCC) async throws -> Operator? {
        try await context.query(
            Self.selectOperator + " WHERE uscc = $1 ORDER BY submitted_at DESC, id DESC LIMIT 1",
            [.text(uscc.value)]
        ).first.map(Self.operator)
    }

    /// Decodes the document and checks it against the columns that were searched on, so that a
    /// row whose copies disagree is reported instead of listed under the wrong status.
    static func `operator`(_ row: SQLRow) throws -> Operator {
        let decoded = try OperatorDocument.decode(try row.text(3))
        guard decoded.id == (try row.text(0)), decoded.status.rawValue == (try row.text(1)),
              Int64(decoded.revision) == (try row.integer(2))
        else {
            throw StorageError.unexpected("an operators row disagrees with its document")
        }
        return decoded
    }
}

extension DatabaseTransaction: VettingStore {
    /// Stores a new operator; throws `VettingError` `operator_exists` when the id is taken.
    public func insert(_ operator: Operator) async throws {
        let inserted = try await context.query(
            """
            INSERT INTO operators (id, status, uscc, applicant_principal_id, submitted_at, revision, document)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            [.text(`operator`.id)] + Self.operatorColumns(`operator`)
        )
        guard !inserted.isEmpty else {
            throw VettingError(code: .operatorExists, detail: "an operator with this id exists")
        }
    }

    /// Replaces the stored operator with the same id, only if it is still at the revision before
    /// `operator`'s; throws `VettingError` `concurrent_update` if it is not, `operator_not_found` if
    /// there is none.
    public func update(_ operator: Operator) async throws {
        // One conditional statement, not a read then a write: on PostgreSQL a concurrent writer's
        // committed change makes the condition false instead of being overwritten.
        let updated = try await context.query(
            """
            UPDATE operators SET status = $3, uscc = $4, applicant_principal_id = $5, submitted_at = $6,
                revision = $7, document = $8
            WHERE id = $1 AND revision = $2 RETURNING id
            """,
            [.text(`operator`.id), .integer(Int64(`operator`.revision) - 1)] + Self.operatorColumns(`operator`)
        )
        guard updated.isEmpty else { return }
        let exists = try await context.query("SELECT 1 FROM operators WHERE id = $1", [.text(`operator`.id)])
        if exists.isEmpty {
            throw VettingError(code: .operatorNotFound, detail: "no operator has this id")
        }
        throw VettingError(
            code: .concurrentUpdate,
            detail: "the stored operator is not at revision \(`operator`.revision - 1)"
        )
    }

    /// status, uscc, applicant, submitted_at, revision, document.
    private static func operatorColumns(_ value: Operator) -> [SQLValue] {
        [
            .text(value.status.rawValue),
            .text(value.application.uscc.value),
            .text(value.application.applicant),
            .integer(Timestamp.milliseconds(value.submittedAt)),
            .integer(Int64(value.revision)),
            .text(OperatorDocument.encode(value)),
        ]
    }
}
