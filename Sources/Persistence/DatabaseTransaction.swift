public import AuditLog
public import Cryptography
public import Foundation

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

    /// The principal with `id`.
    public func principal(id: String) async throws -> Principal? {
        try await context.query(Self.selectPrincipal + " WHERE id = $1", [.text(id)]).first.map(Self.principal)
    }

    /// Every principal, oldest first.
    public func principals() async throws -> [Principal] {
        try await context.query(Self.selectPrincipal + " ORDER BY created_at, id").map(Self.principal)
    }

    // MARK: Row decoding

    static let selectPrincipal =
        "SELECT id, name, role, authority_id, key_id, key_hash, created_at, expires_at, revoked_at FROM principals"

    static func principal(_ row: SQLRow) throws -> Principal {
        Principal(
            id: try row.text(0),
            name: try row.text(1),
            role: try row.text(2),
            authorityID: try row.optionalText(3),
            keyID: try row.text(4),
            keyHash: try digest(row.blob(5)),
            createdAt: Timestamp.date(milliseconds: try row.integer(6)),
            expiresAt: try row.optionalInteger(7).map(Timestamp.date(milliseconds:)),
            revokedAt: try row.optionalInteger(8).map(Timestamp.date(milliseconds:))
        )
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
    // MARK: Audit log

    /// Reads the head and locks it until the transaction ends (`FOR UPDATE` on PostgreSQL; on
    /// SQLite the write transaction already holds the database's write lock).
    public func lockHead() async throws -> LogHead {
        try await readHead(lock: true)
    }

    /// Inserts entries in one batch.
    public func insertEntries(_ entries: [StoredEntry]) async throws {
        try await context.insert(
            into: "log_entries",
            columns: ["seq", "time", "action", "leaf_hash", "body"],
            rows: entries.map { entry in
                [.integer(Int64(clamping: entry.seq)), .integer(Timestamp.milliseconds(entry.time)), .text(entry.action),
                 .blob(entry.leafHash.bytes), .blob(entry.body)]
            }
        )
    }

    /// Inserts subtree hashes in one batch.
    public func insertNodes(_ nodes: [StoredNode]) async throws {
        try await context.insert(
            into: "log_nodes",
            columns: ["level", "idx", "hash"],
            rows: nodes.map { node in
                [.integer(Int64(node.id.level)), .integer(Int64(clamping: node.id.index)), .blob(node.hash.bytes)]
            }
        )
    }

    /// Replaces the head; the frontier is stored as its hashes concatenated.
    public func updateHead(_ head: LogHead) async throws {
        var frontier: [UInt8] = []
        frontier.reserveCapacity(head.frontier.count * SHA256Digest.byteCount)
        for hash in head.frontier { hash.withUnsafeBytes { frontier.append(contentsOf: $0) } }
        try await context.execute(
            "UPDATE log_head SET size = $1, frontier = $2 WHERE id = 1",
            [.integer(Int64(clamping: head.size)), .blob(frontier)]
        )
    }

    /// Inserts a signed checkpoint.
    public func insertCheckpoint(_ checkpoint: StoredCheckpoint) async throws {
        try await context.insert(
            into: "log_checkpoints",
            columns: ["size", "root", "note", "signed_at"],
            rows: [[.integer(Int64(clamping: checkpoint.size)), .blob(checkpoint.rootHash.bytes), .text(checkpoint.note),
                    .integer(Timestamp.milliseconds(checkpoint.signedAt))]]
        )
    }

    /// Sets a value of the `meta` table, replacing any earlier one.
    public func setMetaValue(_ value: String, forKey key: String) async throws {
        try await context.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [.text(key), .text(value)]
        )
    }

    // MARK: Principals

    /// Inserts a principal; throws `unique_violation` if its id or key id is taken.
    public func insertPrincipal(_ principal: Principal) async throws {
        try await context.insert(
            into: "principals",
            columns: ["id", "name", "role", "authority_id", "key_id", "key_hash", "created_at", "expires_at", "revoked_at"],
            rows: [[
                .text(principal.id), .text(principal.name), .text(principal.role),
                principal.authorityID.map(SQLValue.text) ?? .null,
                .text(principal.keyID), .blob(principal.keyHash.bytes),
                .integer(Timestamp.milliseconds(principal.createdAt)),
                principal.expiresAt.map { .integer(Timestamp.milliseconds($0)) } ?? .null,
                principal.revokedAt.map { .integer(Timestamp.milliseconds($0)) } ?? .null,
            ]]
        )
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
}
