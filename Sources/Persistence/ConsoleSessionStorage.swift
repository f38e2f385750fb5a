internal import AuditLog
public import Foundation

// The console's sessions, kept in the database so that any instance serves any signed-in person and
// a restart signs no one out. Rows are found by the SHA-256 of the session id, never by the id: the
// cookie's value is not in the database, so a copy of the database signs no one in.

/// A console session as stored: who signed in, the session's CSRF token and its times.
public struct StoredConsoleSession: Sendable, Equatable {
    /// SHA-256 of the session id the cookie holds.
    public var idHash: [UInt8]
    /// The API key signed in with (its public id); the key is looked up again on every request.
    public var keyID: String
    /// The principal who signed in, with its role and authority at the time.
    public var principalID: String
    public var role: String
    public var authorityID: String?
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeen: Date
    /// When the session ends however much it is used.
    public var expiresAt: Date

    public init(idHash: [UInt8], keyID: String, principalID: String, role: String, authorityID: String?, csrfToken: String,
                createdAt: Date, lastSeen: Date, expiresAt: Date) {
        self.idHash = idHash
        self.keyID = keyID
        self.principalID = principalID
        self.role = role
        self.authorityID = authorityID
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.lastSeen = lastSeen
        self.expiresAt = expiresAt
    }
}

extension DatabaseReader {
    /// The session whose id hashes to `idHash`, or nil.
    public func consoleSession(idHash: [UInt8]) async throws -> StoredConsoleSession? {
        try await context.query(
            """
            SELECT id_hash, key_id, principal_id, role, authority_id, csrf_token, created_at, last_seen, expires_at
            FROM console_sessions WHERE id_hash = $1
            """, [.blob(idHash)]
        ).first.map { row in
            StoredConsoleSession(
                idHash: try row.blob(0), keyID: try row.text(1), principalID: try row.text(2), role: try row.text(3),
                authorityID: try row.optionalText(4), csrfToken: try row.text(5),
                createdAt: Timestamp.date(milliseconds: try row.integer(6)),
                lastSeen: Timestamp.date(milliseconds: try row.integer(7)),
                expiresAt: Timestamp.date(milliseconds: try row.integer(8)))
        }
    }

    /// How many sessions are stored, live or not yet purged.
    public func consoleSessionCount() async throws -> Int {
        Int(try await context.query("SELECT COUNT(*) FROM console_sessions").first?.integer(0) ?? 0)
    }
}

extension DatabaseTransaction {
    /// Stores a new session.
    public func insertConsoleSession(_ session: StoredConsoleSession) async throws {
        try await context.execute(
            """
            INSERT INTO console_sessions (id_hash, key_id, principal_id, role, authority_id, csrf_token, created_at, last_seen, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """,
            [.blob(session.idHash), .text(session.keyID), .text(session.principalID), .text(session.role),
             session.authorityID.map(SQLValue.text) ?? .null, .text(session.csrfToken),
             .integer(Timestamp.milliseconds(session.createdAt)), .integer(Timestamp.milliseconds(session.lastSeen)),
             .integer(Timestamp.milliseconds(session.expiresAt))])
    }

    /// Moves the session's last use forward to `date` (never back: two instances may touch it at once).
    public func touchConsoleSession(idHash: [UInt8], at date: Date) async throws {
        let time = Timestamp.milliseconds(date)
        try await context.execute("UPDATE console_sessions SET last_seen = $2 WHERE id_hash = $1 AND last_seen < $2",
                                  [.blob(idHash), .integer(time)])
    }

    /// Ends a session: its row and the form tokens it used.
    public func deleteConsoleSession(idHash: [UInt8]) async throws {
        try await context.execute("DELETE FROM console_form_tokens WHERE session_hash = $1", [.blob(idHash)])
        try await context.execute("DELETE FROM console_sessions WHERE id_hash = $1", [.blob(idHash)])
    }

    /// Deletes every session last used at or before `idleSince` or expiring at or before `now`, with
    /// its form tokens; how many sessions went.
    @discardableResult
    public func purgeConsoleSessions(idleSince: Date, now: Date) async throws -> Int {
        let binds: [SQLValue] = [.integer(Timestamp.milliseconds(idleSince)), .integer(Timestamp.milliseconds(now))]
        try await context.execute(
            """
            DELETE FROM console_form_tokens WHERE session_hash IN
            (SELECT id_hash FROM console_sessions WHERE last_seen <= $1 OR expires_at <= $2)
            """, binds)
        return try await context.query(
            "DELETE FROM console_sessions WHERE last_seen <= $1 OR expires_at <= $2 RETURNING id_hash", binds).count
    }

    /// Records that the session used a form's one-time token; false when it had used it before (a
    /// double submission), whichever instance saw the first.
    public func useConsoleFormToken(_ token: String, sessionHash: [UInt8], at date: Date) async throws -> Bool {
        !(try await context.query(
            """
            INSERT INTO console_form_tokens (session_hash, token, used_at) VALUES ($1, $2, $3)
            ON CONFLICT (session_hash, token) DO NOTHING RETURNING token
            """, [.blob(sessionHash), .text(token), .integer(Timestamp.milliseconds(date))]).isEmpty)
    }
}
