import AuditLog
import Cryptography
import Foundation
import Identity
import Persistence

/// A signed-in person: what the console keeps on the server for the session cookie's id.
struct ConsoleSession: Sendable {
    /// The cookie's value: 32 random bytes, hex. Only its SHA-256 is stored.
    let id: String
    /// The key signed in with, looked up again on every request so that revocation and expiry end
    /// the session at once. The key's secret is not kept.
    let keyID: String
    /// Who signed in, as of this request.
    var principal: Principal
    /// Sent with every form and compared with the session's.
    let csrfToken: String
    let startedAt: Date
    var lastSeen: Date

    init(id: String, keyID: String, principal: Principal, csrfToken: String, startedAt: Date, lastSeen: Date) {
        self.id = id
        self.keyID = keyID
        self.principal = principal
        self.csrfToken = csrfToken
        self.startedAt = startedAt
        self.lastSeen = lastSeen
    }

    /// The session `stored` under `id`, held now by `principal`.
    init(id: String, stored: StoredConsoleSession, principal: Principal) {
        self.init(id: id, keyID: stored.keyID, principal: principal, csrfToken: stored.csrfToken,
                  startedAt: stored.createdAt, lastSeen: stored.lastSeen)
    }

    /// The name shown in the header: the person's name, else the principal id.
    var displayName: String { principal.name ?? principal.id }
}

/// The console's sessions, in the database: a person signed in through one instance is signed in on
/// every instance sharing the database, and stays signed in across restarts.
struct ConsoleSessions: Sendable {
    let database: any Database
    /// How long a session lives without a request.
    let idleTimeout: TimeInterval
    /// How long a session lives at most.
    let lifetime: TimeInterval

    init(database: any Database, idleTimeout: TimeInterval, lifetime: TimeInterval) {
        self.database = database
        self.idleTimeout = idleTimeout
        self.lifetime = lifetime
    }

    /// How stale the stored last use may be before a request writes it again: a fifteenth of the idle
    /// timeout (a minute of fifteen), so a page costs a write only now and then. A session therefore
    /// ends at most this much before its idle timeout, never after it.
    var touchInterval: TimeInterval { idleTimeout / 15 }

    /// The stored key of a session id: its SHA-256.
    static func hash(_ id: String) -> [UInt8] {
        SHA256.hash(Array(id.utf8)).bytes
    }

    /// A new session for `principal`; sessions past their time are purged first.
    func start(_ principal: Principal, now: Date, random: any RandomSource) async throws -> ConsoleSession {
        let id = Hex.encode(try random.bytes(32))
        let csrf = Hex.encode(try random.bytes(32))
        let stored = StoredConsoleSession(
            idHash: Self.hash(id), keyID: principal.keyID, principalID: principal.id, role: principal.role.rawValue,
            authorityID: principal.authorityID, csrfToken: csrf, createdAt: now, lastSeen: now,
            expiresAt: now.addingTimeInterval(lifetime))
        try await database.transaction { tx in
            try await tx.purgeConsoleSessions(idleSince: now.addingTimeInterval(-idleTimeout), now: now)
            try await tx.insertConsoleSession(stored)
        }
        return ConsoleSession(id: id, keyID: principal.keyID, principal: principal, csrfToken: csrf, startedAt: now, lastSeen: now)
    }

    /// The live session with `id` as stored, its last use moved to `now` when the stored one is older
    /// than ``touchInterval``; nil (and deleted) if it is unknown, idle too long or too old.
    func resume(_ id: String, now: Date) async throws -> StoredConsoleSession? {
        guard id.utf8.count == 64 else { return nil }
        let hash = Self.hash(id)
        guard var stored = try await database.read({ try await $0.consoleSession(idHash: hash) }) else { return nil }
        guard now.timeIntervalSince(stored.lastSeen) < idleTimeout, now < stored.expiresAt else {
            try await end(id)
            return nil
        }
        if now.timeIntervalSince(stored.lastSeen) >= touchInterval {
            try await database.transaction { try await $0.touchConsoleSession(idHash: hash, at: now) }
            stored.lastSeen = now
        }
        return stored
    }

    /// Marks a form's one-time token used; false when this session used it before (a double
    /// submission, on this instance or another) or the session is gone.
    func consume(_ id: String, once token: String, now: Date) async throws -> Bool {
        let hash = Self.hash(id)
        return try await database.transaction { tx in
            guard try await tx.consoleSession(idHash: hash) != nil else { return false }
            return try await tx.useConsoleFormToken(token, sessionHash: hash, at: now)
        }
    }

    /// Ends a session on every instance.
    func end(_ id: String) async throws {
        let hash = Self.hash(id)
        try await database.transaction { try await $0.deleteConsoleSession(idHash: hash) }
    }
}
