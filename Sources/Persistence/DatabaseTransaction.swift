public import AuditLog
public import Cryptography
public import Foundation
public import Identity
internal import Synchronization
internal import Vetting

/// Reads inside one read-only transaction, for every store.
///
/// Valid only inside the `read` (or `transaction`) call that handed it out; afterwards every call
/// throws `transaction_closed`.
public class DatabaseReader: LogReader, @unchecked Sendable {
    // Unchecked: the only state is the context, which is itself thread-safe.
    let context: SQLTransactionContext

    init(context: SQLTransactionContext) {
        self.context = context
    }

    // MARK: Audit log

    /// The log head as committed, unlocked.
    public func head() async throws -> LogHead {
        try await readHead(lock: false)
    }

    func readHead(lock: Bool) async throws -> LogHead {
        let rows = try await context.query("SELECT size, frontier FROM log_head WHERE id = 1" + (lock ? context.dialect.forUpdate : ""))
        guard let row = rows.first else { throw StorageError.unexpected("log_head has no row") }
        let size = try row.integer(0)
        let bytes = try row.blob(1)
        guard size >= 0, bytes.count % SHA256Digest.byteCount == 0 else {
            throw StorageError.unexpected("log_head holds size \(size) and \(bytes.count) frontier bytes")
        }
        let frontier = stride(from: 0, to: bytes.count, by: SHA256Digest.byteCount).map { offset in
            SHA256Digest(bytes: bytes[offset..<(offset + SHA256Digest.byteCount)])!
        }
        return LogHead(size: UInt64(size), frontier: frontier)
    }

    /// Up to `limit` entries from index `start`, in order.
    public func entries(from start: UInt64, limit: Int) async throws -> [StoredEntry] {
        let rows = try await context.query(
            "SELECT seq, time, action, leaf_hash, body FROM log_entries WHERE seq >= $1 ORDER BY seq LIMIT $2",
            [.integer(Int64(clamping: start)), .integer(Int64(max(0, limit)))]
        )
        return try rows.map { row in
            StoredEntry(
                seq: try Self.unsigned(row.integer(0)),
                time: Timestamp.date(milliseconds: try row.integer(1)),
                action: try row.text(2),
                leafHash: try Self.digest(row.blob(3)),
                body: try row.blob(4)
            )
        }
    }

    /// The stored subtree hashes among `ids`, level 0 from the entries, in one statement.
    public func nodeHashes(_ ids: [MerkleNodeID]) async throws -> [MerkleNodeID: SHA256Digest] {
        let leaves = ids.filter { $0.level == 0 }
        let inner = ids.filter { $0.level > 0 }
        guard !ids.isEmpty else { return [:] }
        // One statement for both kinds: proofs are served per request, round trips count.
        var binds: [SQLValue] = []
        var parts: [String] = []
        if !leaves.isEmpty {
            let list = leaves.map { id -> String in
                binds.append(.integer(Int64(clamping: id.index)))
                return "$\(binds.count)"
            }
            parts.append("SELECT 0, seq, leaf_hash FROM log_entries WHERE seq IN (\(list.joined(separator: ", ")))")
        }
        if !inner.isEmpty {
            let conditions = inner.map { id -> String in
                binds.append(.integer(Int64(id.level)))
                binds.append(.integer(Int64(clamping: id.index)))
                return "(level = $\(binds.count - 1) AND idx = $\(binds.count))"
            }
            parts.append("SELECT level, idx, hash FROM log_nodes WHERE \(conditions.joined(separator: " OR "))")
        }
        let rows = try await context.query(parts.joined(separator: " UNION ALL "), binds)
        var result: [MerkleNodeID: SHA256Digest] = [:]
        for row in rows {
            let id = MerkleNodeID(level: Int(try row.integer(0)), index: try Self.unsigned(row.integer(1)))
            result[id] = try Self.digest(row.blob(2))
        }
        return result
    }

    /// The checkpoint with the largest size.
    public func latestCheckpoint() async throws -> StoredCheckpoint? {
        try await context.query("SELECT size, root, note, signed_at FROM log_checkpoints ORDER BY size DESC LIMIT 1")
            .first.map(Self.checkpoint)
    }

    /// Up to `limit` checkpoints with size at least `start`, by size.
    public func checkpoints(from start: UInt64, limit: Int) async throws -> [StoredCheckpoint] {
        try await context.query(
            "SELECT size, root, note, signed_at FROM log_checkpoints WHERE size >= $1 ORDER BY size LIMIT $2",
            [.integer(Int64(clamping: start)), .integer(Int64(max(0, limit)))]
        ).map(Self.checkpoint)
    }

    /// A value of the `meta` table.
    public func metaValue(forKey key: String) async throws -> String? {
        try await context.query("SELECT value FROM meta WHERE key = $1", [.text(key)]).first?.text(0)
    }

    // MARK: Principals

    /// The principal whose API key has `keyID`, revoked or expired ones included (the caller
    /// decides with `Principal/isActive(at:)`).
    public func principal(keyID: String) async throws -> Principal? {
        try await context.query(Self.selectPrincipal + " WHERE key_id = $1", [.text(keyID)]).first.map(Self.principal)
    }

    /// How many committed changes to principals and operators there have been: the value moves on
    /// with every one (database triggers bump it in the writer's transaction), so a principal read
    /// at one value is current for as long as the value is unchanged.
    public func principalGeneration() async throws -> Int64 {
        guard let row = try await context.query("SELECT value FROM principal_generation WHERE id = 1").first else {
            throw StorageError.unexpected("principal_generation has no row")
        }
        return try row.integer(0)
    }

    /// The principal with `id`.
    public func principal(id: String) async throws -> Principal? {
        try await context.query(Self.selectPrincipal + " WHERE id = $1", [.text(id)]).first.map(Self.principal)
    }

    /// Every principal, oldest first.
    public func principals() async throws -> [Principal] {
        try await context.query(Self.selectPrincipal + " ORDER BY created_at, id").map(Self.principal)
    }

    /// Up to `limit` principals, oldest first (by creation time, then id).
    ///
    /// - Parameters:
    ///   - cursor: nil for the first page, else a ``PrincipalPage/nextCursor`` from this listing;
    ///     anything else throws `VettingError` `invalid_cursor`.
    ///   - limit: at most this many, at least 1.
    public func principals(after cursor: String?, limit: Int) async throws -> PrincipalPage {
        var sql = Self.selectPrincipal
        var binds: [SQLValue] = []
        if let cursor {
            let (time, id) = try Self.timeAndID(cursor, listing: Self.principalListing)
            sql += " WHERE (created_at, id) > ($1, $2)"
            binds += [.integer(time), .text(id)]
        }
        let page = try await fetchPage(sql + " ORDER BY created_at, id", binds, limit: limit,
                                       listing: Self.principalListing, decode: Self.principal) { principal in
            [String(Timestamp.milliseconds(principal.createdAt)), principal.id]
        }
        return PrincipalPage(principals: page.items, nextCursor: page.nextCursor)
    }

    // MARK: Paging

    static let principalListing = "principals"

    /// Runs `sql` (ordered, without LIMIT) for one page of `limit` rows, reading one row more to
    /// learn whether another page follows; `key` gives a row's position for the next cursor.
    func fetchPage<Item>(
        _ sql: String,
        _ binds: [SQLValue],
        limit: Int,
        listing: String,
        decode: (SQLRow) throws -> Item,
        key: (Item) -> [String]
    ) async throws -> (items: [Item], nextCursor: String?) {
        // The caller caps the limit; the bound here only keeps `count + 1` from overflowing.
        let count = min(max(1, limit), 1_000_000)
        let rows = try await context.query(sql + " LIMIT $\(binds.count + 1)", binds + [.integer(Int64(count + 1))])
        let items = try rows.prefix(count).map(decode)
        guard rows.count > count, let last = items.last else { return (items, nil) }
        return (items, PageCursor(listing: listing, key: key(last)).token)
    }

    /// The (milliseconds, id) position a cursor of `listing` holds.
    static func timeAndID(_ cursor: String, listing: String) throws(VettingError) -> (Int64, String) {
        let position = try PageCursor(token: cursor, listing: listing, keyCount: 2)
        guard let time = Int64(position.key[0]) else {
            throw VettingError(code: .invalidCursor, detail: "the cursor was not handed out by this listing")
        }
        return (time, position.key[1])
    }

    // MARK: Row decoding

    static let selectPrincipal = """
        SELECT id, (SELECT value FROM personal_data WHERE personal_data.id = principals.name_ref), role, authority_id, \
        key_id, key_hash, created_at, expires_at, revoked_at, \
        (SELECT value FROM personal_data WHERE personal_data.id = principals.email_ref), operator_id, name_ref, email_ref \
        FROM principals
        """

    static func role(_ text: String) throws -> Role {
        guard let role = Role(rawValue: text) else {
            throw StorageError(code: .unexpectedData, detail: "unknown role '\(text)' in principals")
        }
        return role
    }

    static func principal(_ row: SQLRow) throws -> Principal {
        var principal = Principal(
            id: try row.text(0),
            name: try row.optionalText(1),
            role: try role(row.text(2)),
            authorityID: try row.optionalText(3),
            keyID: try row.text(4),
            keyHash: try digest(row.blob(5)),
            createdAt: Timestamp.date(milliseconds: try row.integer(6)),
            expiresAt: try row.optionalInteger(7).map(Timestamp.date(milliseconds:)),
            revokedAt: try row.optionalInteger(8).map(Timestamp.date(milliseconds:)),
            email: try row.optionalText(9),
            operatorID: try row.optionalText(10)
        )
        principal.nameReference = try row.optionalText(11)
        principal.emailReference = try row.optionalText(12)
        return principal
    }

    static func checkpoint(_ row: SQLRow) throws -> StoredCheckpoint {
        StoredCheckpoint(
            size: try unsigned(row.integer(0)),
            rootHash: try digest(row.blob(1)),
            note: try row.text(2),
            signedAt: Timestamp.date(milliseconds: try row.integer(3))
        )
    }

    static func digest(_ bytes: [UInt8]) throws(StorageError) -> SHA256Digest {
        guard let digest = SHA256Digest(bytes: bytes) else {
            throw StorageError.unexpected("a stored hash has \(bytes.count) bytes, not 32")
        }
        return digest
    }

    static func unsigned(_ value: Int64) throws(StorageError) -> UInt64 {
        guard value >= 0 else { throw StorageError.unexpected("a stored index is negative: \(value)") }
        return UInt64(value)
    }
}

/// Reads and writes inside one read-write transaction, for every store: the audit log's
/// `LogTransaction` and the marketplace's own tables.
///
/// Valid only inside the `transaction` call that handed it out; afterwards every call throws
/// `transaction_closed`. After a failed statement every further call throws
/// `transaction_aborted` and the transaction rolls back.
public final class DatabaseTransaction: DatabaseReader, LogTransaction, @unchecked Sendable {
    /// What this transaction knows of the log's rows while it holds the head: no other writer can
    /// change them until it ends, so they are read once and then kept as this transaction writes
    /// them. The usage path locks the head first and the log locks it again to append; on
    /// PostgreSQL each read is a round trip made while every other appender waits.
    private struct Known {
        var head: LogHead?
        /// The latest checkpoint once read: nil when not read yet, `.some(nil)` when there is none.
        var checkpoint: StoredCheckpoint??
    }

    private let known = Mutex(Known())

    // MARK: Audit log

    /// Reads the head and locks it until the transaction ends (`FOR UPDATE` on PostgreSQL; on
    /// SQLite the write transaction already holds the database's write lock). Once locked, the
    /// head is answered from memory: this transaction is then its only writer.
    public func lockHead() async throws -> LogHead {
        if let head = known.withLock({ $0.head }) { return head }
        let head = try await readHead(lock: true)
        known.withLock { $0.head = head }
        return head
    }

    /// The checkpoint with the largest size; read once, then kept as this transaction inserts
    /// checkpoints (it holds the head, so no other writer signs one meanwhile).
    public override func latestCheckpoint() async throws -> StoredCheckpoint? {
        if let checkpoint = known.withLock({ $0.checkpoint }) { return checkpoint }
        let checkpoint = try await super.latestCheckpoint()
        // Kept only under the head lock: before it, another writer may still sign one.
        known.withLock { if $0.head != nil { $0.checkpoint = .some(checkpoint) } }
        return checkpoint
    }

    /// Inserts entries in one batch.
    public func insertEntries(_ entries: [StoredEntry]) async throws {
        // By column, as the usage events: one statement of five arrays on PostgreSQL.
        try await context.insert(
            into: "log_entries",
            columns: ["seq", "time", "action", "leaf_hash", "body"],
            shared: [],
            values: SQLColumns([
                .integer(entries.map { Int64(clamping: $0.seq) }), .integer(entries.map { Timestamp.milliseconds($0.time) }),
                .text(entries.map(\.action)), .blob(entries.map(\.leafHash.bytes)), .blob(entries.map(\.body)),
            ])
        )
    }

    /// Inserts subtree hashes in one batch.
    public func insertNodes(_ nodes: [StoredNode]) async throws {
        try await context.insert(
            into: "log_nodes",
            columns: ["level", "idx", "hash"],
            shared: [],
            values: SQLColumns([
                .integer(nodes.map { Int64($0.id.level) }), .integer(nodes.map { Int64(clamping: $0.id.index) }),
                .blob(nodes.map(\.hash.bytes)),
            ])
        )
    }

    /// Inserts the entries and nodes of one append and replaces the head: on PostgreSQL one
    /// statement (the inserts as data-modifying `WITH` parts of the head's `UPDATE`, each of
    /// arrays), so an append is one round trip made while other appenders wait for the head.
    public func write(entries: [StoredEntry], nodes: [StoredNode], head: LogHead) async throws {
        guard context.dialect == .postgres else {
            try await insertEntries(entries)
            if !nodes.isEmpty {
                try await insertNodes(nodes)
            }
            try await updateHead(head)
            return
        }
        try await context.execute(
            """
            WITH entries AS (INSERT INTO log_entries (seq, time, action, leaf_hash, body)
                SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::bytea[], $5::bytea[])),
            nodes AS (INSERT INTO log_nodes (level, idx, hash) SELECT * FROM unnest($6::int8[], $7::int8[], $8::bytea[]))
            UPDATE log_head SET size = $9, frontier = $10 WHERE id = 1
            """,
            [.array(.integer(entries.map { Int64(clamping: $0.seq) })), .array(.integer(entries.map { Timestamp.milliseconds($0.time) })),
             .array(.text(entries.map(\.action))), .array(.blob(entries.map(\.leafHash.bytes))), .array(.blob(entries.map(\.body))),
             .array(.integer(nodes.map { Int64($0.id.level) })), .array(.integer(nodes.map { Int64(clamping: $0.id.index) })),
             .array(.blob(nodes.map(\.hash.bytes))),
             .integer(Int64(clamping: head.size)), .blob(Self.frontierBytes(head))]
        )
        known.withLock { if $0.head != nil { $0.head = head } }
    }

    /// Replaces the head; the frontier is stored as its hashes concatenated.
    public func updateHead(_ head: LogHead) async throws {
        try await context.execute(
            "UPDATE log_head SET size = $1, frontier = $2 WHERE id = 1",
            [.integer(Int64(clamping: head.size)), .blob(Self.frontierBytes(head))]
        )
        known.withLock { if $0.head != nil { $0.head = head } }
    }

    /// The head's frontier as stored: its hashes concatenated.
    private static func frontierBytes(_ head: LogHead) -> [UInt8] {
        var frontier: [UInt8] = []
        frontier.reserveCapacity(head.frontier.count * SHA256Digest.byteCount)
        for hash in head.frontier { hash.withUnsafeBytes { frontier.append(contentsOf: $0) } }
        return frontier
    }

    /// Inserts a signed checkpoint.
    public func insertCheckpoint(_ checkpoint: StoredCheckpoint) async throws {
        try await context.insert(
            into: "log_checkpoints",
            columns: ["size", "root", "note", "signed_at"],
            rows: [[.integer(Int64(clamping: checkpoint.size)), .blob(checkpoint.rootHash.bytes), .text(checkpoint.note),
                    .integer(Timestamp.milliseconds(checkpoint.signedAt))]]
        )
        known.withLock { known in
            if case .some(let latest) = known.checkpoint, (latest?.size ?? 0) <= checkpoint.size {
                known.checkpoint = .some(checkpoint)
            }
        }
    }

    /// Sets a value of the `meta` table, replacing any earlier one.
    public func setMetaValue(_ value: String, forKey key: String) async throws {
        try await context.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [.text(key), .text(value)]
        )
    }

    // MARK: Principals

    /// Inserts a principal, its name and e-mail address sealed into the personal-data store under
    /// fresh salts from `random`; returns the commitments the log may hold. Throws
    /// `unique_violation` if its id or key id is taken.
    @discardableResult
    public func insertPrincipal(_ principal: Principal, random: any RandomSource = SecureRandom())
        async throws -> (name: PersonalDataCommitment?, email: PersonalDataCommitment?) {
        let subject = "principal:\(principal.id)"
        let name = try principal.name.map {
            try PersonalDatum.seal($0, subject: subject, field: "name", at: principal.createdAt, random: random)
        }
        let email = try principal.email.map {
            try PersonalDatum.seal($0, subject: subject, field: "email", at: principal.createdAt, random: random)
        }
        try await context.insert(
            into: "principals",
            columns: ["id", "role", "authority_id", "key_id", "key_hash", "created_at", "expires_at", "revoked_at",
                      "operator_id", "name_ref", "email_ref"],
            rows: [[
                .text(principal.id), .text(principal.role.rawValue),
                principal.authorityID.map(SQLValue.text) ?? .null,
                .text(principal.keyID), .blob(principal.keyHash.bytes),
                .integer(Timestamp.milliseconds(principal.createdAt)),
                principal.expiresAt.map { .integer(Timestamp.milliseconds($0)) } ?? .null,
                principal.revokedAt.map { .integer(Timestamp.milliseconds($0)) } ?? .null,
                principal.operatorID.map(SQLValue.text) ?? .null,
                name.map { .text($0.id) } ?? .null,
                email.map { .text($0.id) } ?? .null,
            ]]
        )
        try await insertPersonalData([name, email].compactMap { $0 })
        return (name?.reference, email?.reference)
    }

    /// Marks a principal revoked at `time`; returns false if there is no such principal or it was
    /// already revoked (the first revocation time stays).
    @discardableResult
    public func revokePrincipal(id: String, at time: Date) async throws -> Bool {
        !(try await context.query(
            "UPDATE principals SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id",
            [.integer(Timestamp.milliseconds(time)), .text(id)]
        ).isEmpty)
    }

    /// Records that the principal `id` applied as the operator `operatorID`, replacing an earlier
    /// binding (an applicant whose application was rejected may apply again under a new id);
    /// returns false if there is no such principal.
    @discardableResult
    public func bindPrincipal(id: String, toOperator operatorID: String) async throws -> Bool {
        !(try await context.query(
            "UPDATE principals SET operator_id = $1 WHERE id = $2 RETURNING id",
            [.text(operatorID), .text(id)]
        ).isEmpty)
    }

    /// Marks every not yet revoked principal bound to `operatorID` revoked at `time`, as revoking
    /// the operator requires; returns the ids newly revoked, sorted.
    public func revokePrincipals(boundToOperator operatorID: String, at time: Date) async throws -> [String] {
        try await context.query(
            "UPDATE principals SET revoked_at = $1 WHERE operator_id = $2 AND revoked_at IS NULL RETURNING id",
            [.integer(Timestamp.milliseconds(time)), .text(operatorID)]
        ).map { try $0.text(0) }.sorted()
    }
}
